/**
 * Secrets never leak (SPEC §8, §10): requests that carry distinctive keys (server-side provider
 * keys, virtual key secrets, a client config `api_key`, a Bearer key, a legacy body config key,
 * the gateway key) succeed, fail, time out, hit a refused port and are rejected as invalid, in a
 * child process started with DEBUG=express-llm-fallback:*. Everything that process prints is
 * collected: every debug line, the router's logger, every response status, header and body,
 * every hook payload, and the whole trace store (GET /logs and GET /logs/:traceId, with
 * captureBodies on). None of it may hold any of the keys.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';

const SECRETS = {
  openaiServer: 'sk-SECRET-openai-7f3a',
  azureServer: 'azSECRETazure6b0d',
  vkOpenai: 'sk-SECRET-vk-openai-0e77',
  vkAnthropic: 'sk-ant-SECRET-vk-91c2',
  clientConfig: 'sk-SECRET-client-cfg-5d1e',
  bearer: 'sk-SECRET-bearer-b4e8',
  legacyBody: 'sk-SECRET-legacy-body-2a9c',
  gateway: 'gw-SECRET-gateway-33aa',
};

/** The scenario, run by the child (plain JS module; resolved from the package root). */
const SCENARIO = `
const S = JSON.parse(process.env.SECRETS_JSON);
const express = (await import('express')).default;
const { createFallbackRouter } = await import('./lib/index.ts');
const { startFake, refusedOrigin } = await import('./test/helpers/fake-providers.ts');

const [openai, azure, anthropic] = await Promise.all([startFake('openai'), startFake('azure'), startFake('anthropic')]);
const refused = await refusedOrigin();
const out = (label, value) => process.stdout.write('REPORT ' + label + ' ' + JSON.stringify(value) + '\\n');
const logger = {
  warn: (...a) => out('logger.warn', a.map((x) => (x instanceof Error ? x.stack : String(x)))),
  error: (...a) => out('logger.error', a.map((x) => (x instanceof Error ? x.stack : String(x)))),
};

const app = express();
app.use('/v1', createFallbackRouter({
  providers: {
    openai: { apiKey: S.openaiServer, baseURL: openai.baseURL },
    azure_openai: { apiKey: S.azureServer, baseURL: azure.baseURL, deploymentId: 'gpt4o' },
    anthropic: { baseURL: anthropic.baseURL },
  },
  virtualKeys: {
    'openai-vk': { provider: 'openai', apiKey: S.vkOpenai, baseURL: openai.baseURL },
    'anthropic-vk': { provider: 'anthropic', apiKey: S.vkAnthropic, baseURL: anthropic.baseURL },
  },
  customHostAllowlist: [openai.origin, anthropic.origin, refused],
  auth: { apiKeys: [S.gateway] },
  logs: { captureBodies: true },
  pricing: { 'gpt-4o': { input: 2.5, output: 10 } },
  logger,
  hooks: {
    onAttempt: (r) => out('hook.onAttempt', r),
    onFallback: (i) => out('hook.onFallback', i),
    onTrace: (t) => out('hook.onTrace', t),
  },
}));
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = 'http://127.0.0.1:' + server.address().port + '/v1';
const messages = [{ role: 'user', content: 'hello' }];

async function call(label, path, headers, body, method = 'POST') {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': S.gateway, ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  out('response ' + label, { status: res.status, headers: Object.fromEntries(res.headers), body: text });
  return { status: res.status, text };
}
const config = (c) => ({ 'x-portkey-config': JSON.stringify(c) });
const statuses = {};

// 1. server-side keys: openai 503, azure serves
openai.script({ kind: 'status', status: 503 });
statuses.serverKeys = (await call('server-keys', '/chat/completions', { 'x-portkey-fallback': 'openai,azure_openai' }, { model: 'gpt-4o', messages })).status;
// 2. virtual keys: openai 401, anthropic serves
openai.script({ kind: 'status', status: 401 });
statuses.virtualKeys = (await call('virtual-keys', '/chat/completions', config({ strategy: { mode: 'fallback' }, targets: [
  { virtual_key: 'openai-vk', override_params: { model: 'gpt-4o' } },
  { virtual_key: 'anthropic-vk', override_params: { model: 'claude-3-5-sonnet-20240620' } },
] }), { messages })).status;
// 3. a client key: timeout, refused port, then a 500: everything fails
openai.script({ kind: 'hang' });
anthropic.script({ kind: 'status', status: 500 });
statuses.clientKeyAllFail = (await call('client-key-all-fail', '/chat/completions', config({ strategy: { mode: 'fallback' }, request_timeout: 80, targets: [
  { provider: 'openai', api_key: S.clientConfig, custom_host: openai.baseURL },
  { provider: 'openai', api_key: S.clientConfig, custom_host: refused + '/v1' },
  { provider: 'anthropic', api_key: S.clientConfig, custom_host: anthropic.baseURL + '/', override_params: { model: 'claude-3-haiku' } },
] }), { messages })).status;
// 4. a Bearer key with x-portkey-provider: served, then rate limited
statuses.bearerOk = (await call('bearer-ok', '/chat/completions', { 'x-portkey-provider': 'openai', authorization: 'Bearer ' + S.bearer }, { model: 'gpt-4o', messages })).status;
openai.script({ kind: 'status', status: 429 });
statuses.bearer429 = (await call('bearer-429', '/chat/completions', { 'x-portkey-provider': 'openai', authorization: 'Bearer ' + S.bearer }, { model: 'gpt-4o', messages })).status;
// 5. legacy body config with a key
statuses.legacy = (await call('legacy-body', '/chatComplete', {}, { config: { mode: 'fallback', options: [{ provider: 'openai', api_key: S.legacyBody, custom_host: openai.baseURL }] }, params: { model: 'gpt-4o', messages } })).status;
// 6. body config field with a key (removed before forwarding)
statuses.bodyConfig = (await call('body-config', '/chat/completions', {}, { model: 'gpt-4o', messages, config: { provider: 'openai', api_key: S.clientConfig, custom_host: openai.baseURL } })).status;
// 7. invalid configs that hold a key
statuses.invalidJoi = (await call('invalid-joi', '/chat/completions', config({ provider: 'openai', api_key: S.clientConfig, retry: { attempts: 9 } }), { messages })).status;
statuses.invalidJson = (await call('invalid-json', '/chat/completions', { 'x-portkey-config': '{"provider":"openai","api_key":"' + S.clientConfig + '",}' }, { messages })).status;
statuses.invalidJsonBare = (await call('invalid-json-bare', '/chat/completions', { 'x-portkey-config': '{"provider":"openai","api_key":' + S.clientConfig + '}' }, { messages })).status;
statuses.crlfKey = (await call('crlf-key', '/chat/completions', {}, { messages, config: { provider: 'openai', api_key: S.clientConfig + '\\r\\nx-evil: 1', custom_host: openai.baseURL } })).status;
statuses.unknownProvider = (await call('unknown-provider', '/chat/completions', config({ provider: 'nope', api_key: S.clientConfig }), { messages })).status;
statuses.hostNotAllowed = (await call('host-not-allowed', '/chat/completions', config({ provider: 'openai', api_key: S.clientConfig, custom_host: 'http://10.1.2.3:9/v1' }), { messages })).status;
statuses.keyAsConfigId = (await call('key-as-config-id', '/chat/completions', { 'x-portkey-config': S.clientConfig }, { messages })).status;
statuses.noMessages = (await call('no-messages', '/chat/completions', config({ provider: 'openai', api_key: S.clientConfig, custom_host: openai.baseURL }), { model: 'gpt-4o' })).status;
// 8. the gateway key: wrong and right
statuses.wrongGateway = (await call('wrong-gateway', '/logs', { 'x-portkey-api-key': 'not-the-key' }, undefined, 'GET')).status;

// Did the keys really go upstream? (prints yes/no, never the key)
const sent = (fake, header, value) => fake.received.some((r) => String(r.headers[header] ?? '').includes(value));
out('keys-used', {
  openaiServer: sent(openai, 'authorization', S.openaiServer),
  azureServer: sent(azure, 'api-key', S.azureServer),
  vkOpenai: sent(openai, 'authorization', S.vkOpenai),
  vkAnthropic: sent(anthropic, 'x-api-key', S.vkAnthropic),
  clientConfig: sent(openai, 'authorization', S.clientConfig) && sent(anthropic, 'x-api-key', S.clientConfig),
  bearer: sent(openai, 'authorization', S.bearer),
  legacyBody: sent(openai, 'authorization', S.legacyBody),
});
out('statuses', statuses);

// 9. the whole trace store
await new Promise((r) => setImmediate(r));
const list = await call('logs-list', '/logs?limit=500', {}, undefined, 'GET');
const traces = JSON.parse(list.text).data;
out('trace-count', traces.length);
for (const t of traces) await call('logs-get', '/logs/' + encodeURIComponent(t.traceId), {}, undefined, 'GET');

server.close();
server.closeAllConnections();
await Promise.all([openai.close(), azure.close(), anthropic.close()]);
`;

function runChild(): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCENARIO], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, DEBUG: 'express-llm-fallback:*', DEBUG_COLORS: 'no', SECRETS_JSON: JSON.stringify(SECRETS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

function report(stdout: string, label: string): unknown {
  const line = stdout.split('\n').find((l) => l.startsWith(`REPORT ${label} `));
  assert.ok(line, `no ${label} in the child's output`);
  return JSON.parse(line.slice(`REPORT ${label} `.length));
}

describe('secrets never appear in traces, logs, debug output or responses', () => {
  test('every output of a run with DEBUG=express-llm-fallback:* is free of every key', async () => {
    const { stdout, stderr, code } = await runChild();
    assert.equal(code, 0, `child failed:\n${stderr.slice(-4000)}`);

    // The run really exercised what it claims.
    assert.deepEqual(report(stdout, 'keys-used'), {
      openaiServer: true,
      azureServer: true,
      vkOpenai: true,
      vkAnthropic: true,
      clientConfig: true,
      bearer: true,
      legacyBody: true,
    });
    assert.deepEqual(report(stdout, 'statuses'), {
      serverKeys: 200,
      virtualKeys: 200,
      clientKeyAllFail: 500,
      bearerOk: 200,
      bearer429: 429,
      legacy: 200,
      bodyConfig: 200,
      invalidJoi: 400,
      invalidJson: 400,
      invalidJsonBare: 400,
      crlfKey: 400,
      unknownProvider: 400,
      hostNotAllowed: 400,
      keyAsConfigId: 400,
      noMessages: 400,
      wrongGateway: 401,
    });
    const traceCount = report(stdout, 'trace-count') as number;
    assert.equal(traceCount, 15, 'one trace per request that reached the endpoint (not the 401)');
    assert.equal(stdout.split('\n').filter((l) => l.startsWith('REPORT response logs-get ')).length, traceCount);
    assert.ok(stdout.includes('REPORT hook.onTrace '));
    assert.ok(stdout.includes('REPORT hook.onFallback '));
    const list = report(stdout, 'response logs-list') as { body: string };
    assert.ok(list.body.includes('"attempts"') && list.body.includes('"request"'), 'the store was read, bodies captured');
    assert.ok(list.body.includes('"errorClass":"timeout"') && list.body.includes('"errorClass":"network"'));

    // Debug output was really on, for every namespace, and names the providers.
    for (const ns of ['express-llm-fallback:router', 'express-llm-fallback:engine', 'express-llm-fallback:provider:openai', 'express-llm-fallback:provider:azure-openai', 'express-llm-fallback:provider:anthropic']) {
      assert.ok(stderr.includes(ns), `no ${ns} debug output`);
    }

    const everything = `${stdout}\n${stderr}`;
    for (const [name, secret] of Object.entries(SECRETS)) {
      const at = everything.indexOf(secret);
      assert.equal(at, -1, `${name} leaked: …${everything.slice(Math.max(0, at - 300), at + 100)}…`);
    }
  });
});
