/**
 * The README and examples/ cannot drift apart: every TypeScript block of the README appears in a
 * file under examples/, every example file runs (against the example server or fakes on
 * 127.0.0.1), every curl of the README answers 200 against `npm start`, and the reference sections
 * name every option, config field and error code the code has.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ERROR_CODES, OptionsError, createFallbackRouter } from '../../lib/index.js';
import { NODE_KEYS, targetSchema } from '../../lib/config/schema.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { REPO_ROOT, runExample, startExample, type RunningExample } from './examples-child.js';

const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const exampleFiles = readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.ts'));
const exampleText = new Map(exampleFiles.map((f) => [f, readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8')]));

/** The fenced blocks of one language, with the line each starts on. */
function blocks(lang: string): Array<{ code: string; line: number }> {
  const out: Array<{ code: string; line: number }> = [];
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm');
  for (let m = re.exec(readme); m; m = re.exec(readme)) {
    out.push({ code: m[1]!, line: readme.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** The text of one `## ` section (up to the next `## `). */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Waits until something accepts HTTP on the URL (any status). */
async function waitForHttp(url: string, run: RunningExample): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (run.child.exitCode !== null) throw new Error(`example exited with ${run.child.exitCode}:\n${run.output()}`);
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`nothing answered on ${url}:\n${run.output()}`);
}

describe('README', () => {
  test('the two commands a newcomer needs come first, and are what package.json runs', () => {
    const first = blocks('sh')[0]!;
    assert.ok(first.line < 12, 'the first code block is near the top');
    assert.match(first.code, /^npm install && npm start +#/m);
    assert.match(first.code, /^npm test +#/m);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.start!, /examples\/server\.ts/);
    assert.ok(pkg.scripts.test);
    assert.match(readme, /npm install express-llm-fallback express/);
    assert.match(readme, /@types\/express/);
    assert.match(readme, /logs page: http:\/\/localhost:8787\/v1\/logs\/ui/);
  });

  test('every TypeScript block is (part of) a file under examples/, named just above it', () => {
    const ts = blocks('ts');
    assert.ok(ts.length >= 5, `found ${ts.length} ts blocks`);
    for (const { code, line } of ts) {
      const asInRepo = code.replaceAll("from 'express-llm-fallback'", "from '../lib/index.js'");
      const file = exampleFiles.find((f) => exampleText.get(f)!.includes(asInRepo));
      assert.ok(file, `the README ts block at line ${line} is in no examples/*.ts file (edit the file and the README together):\n${code}`);
      const before = readme.split('\n').slice(Math.max(0, line - 8), line).join('\n');
      assert.ok(before.includes(`examples/${file}`), `the README names examples/${file} just above the block at line ${line}`);
    }
  });

  test('the examples table lists every example file', () => {
    const table = section('The examples');
    for (const f of exampleFiles) assert.ok(table.includes(`\`examples/${f}\``), `examples/${f} is in "The examples"`);
  });

  test('the Azure variables have one name everywhere', () => {
    const texts = [readme, ...exampleText.values()];
    for (const text of texts) {
      assert.doesNotMatch(text, /\bAZURE_API_KEY\b|\bAZURE_OPENAI_KEY\b|\bAZURE_RESOURCE\b|\bAZURE_DEPLOYMENT\b/);
    }
    for (const name of ['AZURE_OPENAI_API_KEY', 'AZURE_OPENAI_RESOURCE', 'AZURE_OPENAI_DEPLOYMENT', 'AZURE_OPENAI_ENDPOINT']) {
      assert.ok(readme.includes(name), `README names ${name}`);
      assert.ok(exampleText.get('server.ts')!.includes(name), `examples/server.ts reads ${name}`);
    }
  });

  test('the Options reference names every option of RouterOptions, LogsOptions, HooksOptions and DefaultsOptions', () => {
    const source = readFileSync(path.join(REPO_ROOT, 'lib/options.ts'), 'utf8');
    const keysOf = (iface: string): string[] => {
      const start = source.indexOf(`export interface ${iface} {`);
      assert.ok(start >= 0, `lib/options.ts has ${iface}`);
      const body = source.slice(start, source.indexOf('\n}\n', start));
      return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
    };
    const ref = section('Options reference');
    const names = [
      ...keysOf('RouterOptions').filter((k) => !['logs', 'hooks', 'defaults'].includes(k)),
      ...keysOf('LogsOptions').map((k) => `logs.${k}`),
      ...keysOf('HooksOptions').map((k) => `hooks.${k}`),
      ...keysOf('DefaultsOptions').map((k) => `defaults.${k}`),
      // being added to lib by another change; documented already
      'onError',
    ];
    assert.ok(names.length > 35, names.join(', '));
    for (const name of names) assert.ok(ref.includes(`| \`${name}\` |`), `the Options reference has a row for ${name}`);
  });

  test('the Configs reference names every config field', () => {
    const ref = readme.slice(readme.indexOf('### Configs reference'), readme.indexOf('### When it fails over'));
    for (const key of NODE_KEYS) assert.ok(ref.includes(`\`${key}\``), `the Configs reference names ${key}`);
    const described = targetSchema.describe() as { keys: Record<string, { keys?: Record<string, unknown> }> };
    for (const key of Object.keys(described.keys.strategy!.keys!)) assert.ok(ref.includes(`\`strategy.${key}\``), `the Configs reference names strategy.${key}`);
    for (const key of Object.keys(described.keys.retry!.keys!)) assert.ok(ref.includes(key), `the Configs reference names retry.${key}`);
  });

  test('Errors lists every code of ERROR_CODES with its status', () => {
    const errors = section('Errors');
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      const row = new RegExp(`^\\| \`${code}\` \\| ([^|]*) \\|`, 'm').exec(errors);
      assert.ok(row, `Errors has a row for ${code}`);
      if (code !== 'invalid_options' && code !== 'upstream_stream_error') assert.equal(row[1]!.trim(), String(status), `status of ${code}`);
    }
  });

  test('the sections a newcomer looks for are there', () => {
    for (const title of ['Install', 'Mount it', 'Options reference', 'Errors', 'Production checklist', 'FAQ / troubleshooting']) section(title);
    const checklist = section('Production checklist');
    for (const word of ['auth', 'on_status_codes', 'request_timeout', 'total_timeout', 'breaker', 'traceStore', 'maxAttemptsPerRequest', 'logs: { enabled: false }', 'x-should-retry']) {
      assert.ok(checklist.includes(word), `the checklist mentions ${word}`);
    }
    const faq = section('FAQ / troubleshooting');
    for (const word of ['x-should-retry: false', 'retry-after', 'unpriced', 'must not be a sparse array item', 'include_usage', '503 `overloaded`']) {
      assert.ok(faq.includes(word), `the FAQ mentions ${word}`);
    }
  });
});

describe('the README examples run', () => {
  let server: RunningExample;
  let base: string;
  before(async () => {
    server = startExample('examples/server.ts', { PORT: '0' });
    await server.waitFor(/Ctrl-C to stop/, 90_000);
    base = /gateway on (http:\/\/localhost:\d+\/v1)\n/.exec(server.output())![1]!;
  });
  after(async () => {
    await server.stop();
  });

  test('examples/openai-sdk.ts against npm start: OpenAI 429, Anthropic answers', { timeout: 90_000 }, async () => {
    const { code, output } = await runExample('examples/openai-sdk.ts', { GATEWAY_URL: base }, 60_000);
    assert.equal(code, 0, output);
    assert.match(output, /^Demo Anthropic answering: "Hello" \| served by anthropic$/m);
  });

  test('examples/portkey-sdk.ts against npm start: the saved config pc-demo-fallback', { timeout: 90_000 }, async () => {
    const { code, output } = await runExample('examples/portkey-sdk.ts', { GATEWAY_URL: base }, 60_000);
    assert.equal(code, 0, output);
    assert.match(output, /^Demo Anthropic answering: "Hello" \| served by anthropic$/m);
  });

  test('every curl of the README answers 200 against npm start', { timeout: 60_000, skip: existsSync('/usr/bin/curl') ? false : 'no curl' }, async () => {
    const origin = new URL(base).origin;
    const curls = blocks('sh').filter((b) => b.code.includes('curl '));
    assert.ok(curls.length >= 6);
    for (const { code, line } of curls) {
      // Each curl prints only its status; the README's own flags (-s, -i, -N, -H, -d) are kept.
      const script = `curl() { command curl -o /dev/null -w 'HTTP %{http_code}\\n' "$@"; }\n${code.replaceAll('http://localhost:8787', origin)}`;
      const { stdout } = await promisify(execFile)('sh', ['-c', script]);
      const statuses = stdout.trim().split('\n');
      assert.equal(statuses.length, (code.match(/^curl /gm) ?? []).length, `README line ${line}: ${stdout}`);
      for (const s of statuses) assert.equal(s, 'HTTP 200', `README line ${line}:\n${code}`);
    }
  });

  test('examples/hooks.ts: the hooks see both attempts and the fallback, GET /logs/:traceId the trace', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/hooks.ts');
    assert.equal(code, 0, output);
    assert.match(output, /^attempt config\.targets\[0\]: openai 429 in \d+ ms$/m);
    assert.match(output, /^fallback config\.targets\[0\] -> config\.targets\[1\] \(429 rate_limit\)$/m);
    assert.match(output, /^attempt config\.targets\[1\]: azure-openai 200 in \d+ ms$/m);
    assert.match(output, /^trace \S+: HTTP 200 from azure-openai, 21 tokens, \$/m);
    assert.match(output, /^HTTP 200: Demo Azure OpenAI answering: "Say hello"$/m);
    assert.match(output, /^GET \/v1\/logs\/\S+: openai 429, azure-openai 200$/m);
    assert.doesNotMatch(output, /no auth option/, 'the example sets auth');
  });

  test('examples/logs-elsewhere.ts: no /v1/logs, the trace under /admin/llm/logs', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/logs-elsewhere.ts');
    assert.equal(code, 0, output);
    assert.match(output, /^POST \/v1\/chat\/completions: HTTP 200 from azure-openai$/m);
    assert.match(output, /^GET \/v1\/logs: HTTP 404$/m);
    assert.match(output, /^GET \/admin\/llm\/logs\/\S+: HTTP 200, served by azure-openai after 2 attempts$/m);
  });

  test('examples/custom-adapter.ts: a provider we do not ship, signed asynchronously, serves the fallback and a stream', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/custom-adapter.ts');
    assert.equal(code, 0, output);
    assert.match(output, /^HTTP 200 from acme after 2 attempts: Acme answering: "Say hello" \(13 tokens\)$/m);
    assert.match(output, /^streamed from acme: Acme answering: "Stream it" \[DONE\]$/m);
  });

  test('examples/trace-store.ts: the stored trace', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/trace-store.ts');
    assert.equal(code, 0, output);
    assert.match(output, /^HTTP 200, served by azure-openai \(config\.targets\[1\]\) after 2 attempts/m);
  });
});

describe('examples/mount.ts (the README mount snippet)', () => {
  let openai: Fake;
  let anthropic: Fake;
  before(async () => {
    openai = await startFake('openai', 'fake-openai');
    anthropic = await startFake('anthropic', 'fake-anthropic');
  });
  after(async () => {
    await openai.close();
    await anthropic.close();
  });

  test('without GATEWAY_API_KEY it stops at once, saying what to set', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/mount.ts', { PORT: String(await freePort()) });
    assert.notEqual(code, 0);
    assert.match(output, /Set GATEWAY_API_KEY/);
  });

  test('the unguarded form, apiKeys: [process.env.GATEWAY_API_KEY!] with the variable unset, throws naming the option', () => {
    const unset: string | undefined = undefined;
    assert.throws(
      () => createFallbackRouter({ auth: { apiKeys: [unset!] } }),
      (err: unknown) => err instanceof OptionsError && /options\.auth\.apiKeys\[0\]/.test(err.message),
    );
  });

  test('with the keys: auth, and OpenAI 429 -> Anthropic through the virtual keys', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const run = startExample('examples/mount.ts', {
      PORT: String(port),
      GATEWAY_API_KEY: 'gw-test-key',
      OPENAI_API_KEY: 'sk-mount-openai',
      OPENAI_BASE_URL: openai.baseURL,
      ANTHROPIC_API_KEY: 'sk-ant-mount',
      ANTHROPIC_BASE_URL: anthropic.baseURL,
    });
    try {
      await run.waitFor(new RegExp(`LLM gateway on http://localhost:${port}/v1`), 60_000);
      const url = `http://127.0.0.1:${port}/v1/chat/completions`;
      await waitForHttp(url, run);
      const config = {
        strategy: { mode: 'fallback', on_status_codes: [429] },
        targets: [
          { virtual_key: 'openai-virtual-key', override_params: { model: 'gpt-4o' } },
          { virtual_key: 'anthropic-virtual-key', override_params: { model: 'claude-sonnet-4-5' } },
        ],
      };
      const send = (key: string): Promise<Response> =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-portkey-api-key': key, 'x-portkey-config': JSON.stringify(config) },
          body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
        });
      const denied = await send('wrong');
      assert.equal(denied.status, 401);
      await denied.arrayBuffer();
      openai.reset();
      anthropic.reset();
      openai.script({ kind: 'status', status: 429 });
      const res = await send('gw-test-key');
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-portkey-provider'), 'anthropic');
      assert.equal(body.choices[0]!.message.content, 'Hello from fake-anthropic');
      assert.equal(openai.received.length, 1);
      assert.equal(openai.received[0]!.headers.authorization, 'Bearer sk-mount-openai');
      assert.equal(anthropic.received.length, 1);
      assert.equal(anthropic.received[0]!.headers['x-api-key'], 'sk-ant-mount');
    } finally {
      await run.stop();
    }
  });
});
