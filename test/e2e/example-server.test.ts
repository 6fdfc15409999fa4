/**
 * `npm start` (examples/server.ts) starts and self-tests a working fallback with every subset of
 * the real-provider keys: none, each one alone, each pair, all three. Where a key is set, the
 * "real" provider is a fake on 127.0.0.1 (OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT,
 * ANTHROPIC_BASE_URL), so nothing leaves the machine; where it is not, the demo upstream plays it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFake, type Fake, type FakeKind } from '../helpers/fake-providers.js';
import { startExample, type RunningExample } from './examples-child.js';

type Role = 'openai' | 'azure' | 'anthropic';
const ROLES: readonly Role[] = ['openai', 'azure', 'anthropic'];
const PROVIDER: Record<Role, string> = { openai: 'openai', azure: 'azure-openai', anthropic: 'anthropic' };
const KEY: Record<Role, string> = { openai: 'sk-test-openai-key', azure: 'test-azure-key', anthropic: 'sk-ant-test-key' };

/** The environment that makes `role` real, pointed at its fake. */
function envFor(role: Role, fake: Fake): Record<string, string> {
  switch (role) {
    case 'openai':
      return { OPENAI_API_KEY: KEY.openai, OPENAI_BASE_URL: fake.baseURL };
    case 'azure':
      return { AZURE_OPENAI_API_KEY: KEY.azure, AZURE_OPENAI_ENDPOINT: fake.origin, AZURE_OPENAI_DEPLOYMENT: 'my-gpt4o' };
    case 'anthropic':
      // As the Anthropic SDK reads it: the origin, without /v1.
      return { ANTHROPIC_API_KEY: KEY.anthropic, ANTHROPIC_BASE_URL: fake.origin };
  }
}

/** The credential the fake of `role` must have received. */
function assertCredential(role: Role, headers: Record<string, unknown>): void {
  if (role === 'openai') assert.equal(headers.authorization, `Bearer ${KEY.openai}`);
  if (role === 'azure') assert.equal(headers['api-key'], KEY.azure);
  if (role === 'anthropic') assert.equal(headers['x-api-key'], KEY.anthropic);
}

const subsets: Role[][] = [[], ['openai'], ['azure'], ['anthropic'], ['openai', 'azure'], ['openai', 'anthropic'], ['azure', 'anthropic'], ['openai', 'azure', 'anthropic']];

interface Started {
  readonly run: RunningExample;
  readonly base: string;
  readonly fakes: Record<Role, Fake>;
}

async function startWith(realRoles: readonly Role[], extraEnv: Record<string, string> = {}): Promise<Started> {
  const fakes = {} as Record<Role, Fake>;
  for (const role of ROLES) fakes[role] = await startFake(role as FakeKind, `real-${role}`);
  const env: Record<string, string> = { PORT: '0', ...extraEnv };
  for (const role of realRoles) Object.assign(env, envFor(role, fakes[role]));
  const run = startExample('examples/server.ts', env);
  try {
    await run.waitFor(/Ctrl-C to stop/, 90_000);
  } catch (err) {
    await run.stop();
    await Promise.all(ROLES.map((r) => fakes[r].close()));
    throw err;
  }
  const base = /gateway on (http:\/\/localhost:\d+\/v1)\n/.exec(run.output())?.[1];
  assert.ok(base, run.output());
  return { run, base, fakes };
}

async function stopAll(s: Started): Promise<void> {
  await s.run.stop();
  await Promise.all(ROLES.map((r) => s.fakes[r].close()));
}

async function chat(base: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key', ...headers },
    body: JSON.stringify(body),
  });
}

describe('npm start with each subset of the provider keys', { concurrency: 4 }, () => {
  for (const real of subsets) {
    const name = real.length === 0 ? 'no keys' : real.map((r) => PROVIDER[r]).join(' + ');
    test(`${name}: starts, says who plays each provider, and the self-test falls over`, { timeout: 120_000 }, async () => {
      const s = await startWith(real);
      try {
        const out = s.run.output();
        // Who plays each provider.
        for (const role of ROLES) {
          const line = new RegExp(`^  ${PROVIDER[role]} +(.*)$`, 'm').exec(out)?.[1] ?? '';
          if (real.includes(role)) assert.match(line, new RegExp(`${role === 'azure' ? 'AZURE_OPENAI_API_KEY' : `${role.toUpperCase()}_API_KEY`}, http://127\\.0\\.0\\.1:`), out);
          else assert.match(line, /^demo upstream on 127\.0\.0\.1/, out);
        }
        assert.match(out, /^logs page: http:\/\/localhost:\d+\/v1\/logs\/ui/m);

        // The self-test: the rate-limited demo, then the first real provider (or the demo Azure).
        const served: Role = real[0] ?? 'azure';
        assert.match(
          out,
          new RegExp(`self-test: x-portkey-config: pc-self-test -> HTTP 200, served by ${PROVIDER[served]} \\(config\\.targets\\[1\\]\\), 2 attempts`),
          out,
        );
        assert.match(out, /config\.targets\[0\]  rate-limited demo OpenAI \(always 429\) .* 429 rate_limit/);
        assert.match(out, new RegExp(`config\\.targets\\[1\\]  ${PROVIDER[served]} \\(${real.length > 0 ? 'your key' : 'demo'}\\) .* 200 `));
        assert.match(out, real.length > 0 ? new RegExp(`answer: Hello from real-${served}`) : /answer: Demo Azure OpenAI answering: "Say hello"/);

        // Only the fake of the serving provider was called, once, with its own key.
        for (const role of ROLES) {
          const got = s.fakes[role].received;
          if (role === served && real.length > 0) {
            assert.equal(got.length, 1, `${role} fake calls`);
            assertCredential(role, got[0]!.headers);
            if (role === 'azure') assert.match(got[0]!.url, /^\/openai\/deployments\/my-gpt4o\/chat\/completions\?api-version=/);
            if (role === 'anthropic') assert.equal(got[0]!.url, '/v1/messages');
          } else {
            assert.equal(got.length, 0, `${role} fake calls`);
          }
        }

        // The README's commands against it: the saved config and the provider list answer 200.
        const saved = await chat(s.base, { 'x-portkey-config': 'pc-demo-fallback' }, { messages: [{ role: 'user', content: 'Hello' }] });
        assert.equal(saved.status, 200, await saved.clone().text());
        assert.equal(saved.headers.get('x-portkey-provider'), real.includes('openai') ? 'openai' : 'anthropic');
        const list = await chat(s.base, { 'x-portkey-fallback': 'openai,azure_openai' }, { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] });
        assert.equal(list.status, 200, await list.clone().text());
        assert.equal(list.headers.get('x-portkey-provider'), real.includes('openai') ? 'openai' : 'azure-openai');
        // The self-test's replay, as printed.
        const replay = await chat(s.base, { 'x-portkey-config': 'pc-self-test' }, { messages: [{ role: 'user', content: 'Say hello' }] });
        assert.equal(replay.status, 200);
        assert.equal(replay.headers.get('x-portkey-provider'), PROVIDER[served]);
        // The logs page answers (a browser without the key gets the page's key form).
        const page = await fetch(`${s.base}/logs/ui`, { headers: { 'x-portkey-api-key': 'demo-gateway-key' } });
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /text\/html/);
        await page.arrayBuffer();
      } finally {
        await stopAll(s);
      }
    });
  }

  test('a real key the provider refuses: the self-test shows the 401 and falls over to the demo', { timeout: 120_000 }, async () => {
    const fake = await startFake('openai', 'real-openai');
    fake.always({ kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } });
    const run = startExample('examples/server.ts', { PORT: '0', OPENAI_API_KEY: 'sk-wrong', OPENAI_BASE_URL: fake.baseURL });
    try {
      await run.waitFor(/Ctrl-C to stop/, 90_000);
      const out = run.output();
      assert.match(out, /served by azure-openai \(config\.targets\[2\]\), 3 attempts/, out);
      assert.match(out, /config\.targets\[1\]  openai \(your key\) .* 401 auth invalid_api_key/, out);
      assert.equal(fake.received.length, 1);
    } finally {
      await run.stop();
      await fake.close();
    }
  });

  test('AZURE_OPENAI_API_KEY without its deployment or resource: a clear message, exit 1', { timeout: 120_000 }, async () => {
    const noDeployment = startExample('examples/server.ts', { PORT: '0', AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_RESOURCE: 'acme' });
    assert.equal(await noDeployment.exited, 1);
    assert.match(noDeployment.output(), /AZURE_OPENAI_DEPLOYMENT/);
    const noResource = startExample('examples/server.ts', { PORT: '0', AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_DEPLOYMENT: 'd' });
    assert.equal(await noResource.exited, 1);
    assert.match(noResource.output(), /AZURE_OPENAI_RESOURCE .*AZURE_OPENAI_ENDPOINT/);
  });

  test('GATEWAY_API_KEY replaces the demo key, and is never printed', { timeout: 120_000 }, async () => {
    const run = startExample('examples/server.ts', { PORT: '0', GATEWAY_API_KEY: 'gw-secret-for-test' });
    try {
      await run.waitFor(/Ctrl-C to stop/, 90_000);
      const out = run.output();
      assert.match(out, /HTTP 200, served by azure-openai/);
      assert.ok(!out.includes('gw-secret-for-test'), out);
      assert.match(out, /x-portkey-api-key: \$GATEWAY_API_KEY/);
      const base = /gateway on (http:\/\/localhost:\d+\/v1)\n/.exec(out)![1]!;
      assert.equal((await chat(base, { 'x-portkey-config': 'pc-demo-fallback' }, { messages: [{ role: 'user', content: 'Hi' }] })).status, 401);
      const ok = await chat(base, { 'x-portkey-api-key': 'gw-secret-for-test', 'x-portkey-config': 'pc-demo-fallback' }, { messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal(ok.status, 200);
    } finally {
      await run.stop();
    }
  });
});

describe('npm start', () => {
  let s: Started;
  before(async () => {
    s = await startWith([]);
  });
  after(async () => {
    await stopAll(s);
  });

  test('the README curl of the three config forms and the stream work against it', async () => {
    // 1. the provider list
    const list = await chat(s.base, { 'x-portkey-fallback': 'openai,azure_openai' }, { model: 'gpt-4o', messages: [{ role: 'user', content: 'What are the top 10 happiest countries in the world?' }] });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-portkey-last-used-option-index'), 'config.targets[1]');
    // 3. strategy + targets, on 429 only
    const config = {
      strategy: { mode: 'fallback', on_status_codes: [429] },
      targets: [
        { virtual_key: 'openai-virtual-key', override_params: { model: 'gpt-4o' } },
        { virtual_key: 'anthropic-virtual-key', override_params: { model: 'claude-sonnet-4-5' } },
      ],
    };
    const targets = await chat(s.base, { 'x-portkey-config': JSON.stringify(config) }, { messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(targets.status, 200);
    assert.equal(targets.headers.get('x-portkey-provider'), 'anthropic');
    // the stream
    const stream = await chat(s.base, { 'x-portkey-config': 'pc-demo-fallback' }, { stream: true, messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(stream.status, 200);
    const text = await stream.text();
    assert.match(text, /Demo/);
    assert.match(text, /data: \[DONE\]/);
  });
});
