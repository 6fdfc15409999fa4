/**
 * Bad input at every public entry (SPEC §2, §3, §10): each is answered with a clear OpenAI-format
 * error, never a crash, never a 5xx for client mistakes, and the fake upstream is never called when
 * the request is refused. Hostile upstream replies become failed attempts that fail over (§4).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ERROR_CLASSES, type RouterOptions } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

type App = ReturnType<typeof createApp>;
type Logger = ReturnType<typeof quietLogger>;

/** What every assertion below reads from a response. */
interface Reply {
  status: number;
  text: string;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const SERVER_KEY = 'sk-server-openai-key';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let primary: Fake; // options.providers.openai and virtual key vk-a
let secondary: Fake; // virtual key vk-b
let customHost: Fake; // only reachable through a request's custom_host
let redirectTarget: Fake; // where a hostile 302 points: must never be followed
let azure: Fake;
let fakes: Fake[] = [];

before(async () => {
  primary = await startFake('openai', 'primary');
  secondary = await startFake('openai', 'secondary');
  customHost = await startFake('openai', 'custom-host');
  redirectTarget = await startFake('openai', 'redirect-target');
  azure = await startFake('azure', 'azure');
  fakes = [primary, secondary, customHost, redirectTarget, azure];
});

after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

beforeEach(() => {
  for (const fake of fakes) fake.reset();
});

/** The router options most tests share; `extra` is spread over them. */
function baseOptions(logger: Logger, extra: RouterOptions = {}): RouterOptions {
  return {
    logger,
    providers: {
      openai: { apiKey: SERVER_KEY, baseURL: primary.baseURL },
      azure_openai: { apiKey: 'az-server-key', baseURL: azure.baseURL, deploymentId: 'gpt4o' },
    },
    virtualKeys: {
      'vk-a': { provider: 'openai', apiKey: 'sk-vk-a', baseURL: primary.baseURL },
      'vk-b': { provider: 'openai', apiKey: 'sk-vk-b', baseURL: secondary.baseURL },
    },
    ...extra,
  };
}

/** No fake upstream received anything. */
function assertNoUpstreamCall(): void {
  for (const fake of fakes) {
    assert.equal(fake.received.length, 0, `fake ${fake.name} must not be called, got ${fake.received.map((r) => r.url).join(', ')}`);
  }
}

/**
 * The response is an OpenAI-format JSON error with exactly these fields. `message` is the exact
 * text, or a RegExp it must match.
 */
function assertError(
  res: Reply,
  status: number,
  expected: { code: string | null; type?: string; param?: string | null; message?: string | RegExp; provider?: string },
): void {
  assert.equal(res.status, status, `status (body: ${res.text})`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.text) as { error: Record<string, unknown> };
  assert.ok(body && typeof body.error === 'object' && body.error !== null, `OpenAI error body expected, got ${res.text}`);
  const keys = Object.keys(body.error).sort();
  const wanted = ['code', 'message', 'param', 'type', ...(expected.provider !== undefined ? ['provider'] : [])].sort();
  assert.deepEqual(keys, wanted, 'error body fields');
  assert.equal(body.error.code, expected.code);
  assert.equal(body.error.type, expected.type ?? 'invalid_request_error');
  if (expected.param !== undefined) assert.equal(body.error.param, expected.param);
  assert.equal(typeof body.error.message, 'string');
  if (typeof expected.message === 'string') assert.equal(body.error.message, expected.message);
  else if (expected.message) assert.match(body.error.message as string, expected.message);
  if (expected.provider !== undefined) assert.equal(body.error.provider, expected.provider);
}

/** A successful chat completion served by the named fake. */
function assertServedBy(res: Reply, fake: Fake): void {
  assert.equal(res.status, 200, `status (body: ${res.text})`);
  assert.equal(res.body.object, 'chat.completion');
  assert.equal(res.body.choices[0].message.content, `Hello from ${fake.name}`);
}

/**
 * Sends a request with exactly the given headers (supertest would add a content-type of its
 * own), through a server started and closed here.
 */
async function rawRequest(
  app: App,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string> = { connection: 'close', ...opts.headers };
      if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
      const req = http.request({ host: '127.0.0.1', port, method: opts.method, path: opts.path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, body, headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (opts.body !== undefined) req.write(opts.body);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const validConfigHeader = JSON.stringify({ provider: 'openai' });

/** A config nested `levels` strategies deep around one target. */
function nestedConfig(levels: number): Record<string, unknown> {
  let node: Record<string, unknown> = { provider: 'openai' };
  for (let i = 0; i < levels; i++) node = { strategy: { mode: 'fallback' }, targets: [node] };
  return node;
}

/** One invalid config, sent both in the header and in the body `config` field. */
interface BadConfig {
  name: string;
  config: unknown;
  code?: string;
  param: string | null;
  message: string | RegExp;
  /** Text the error must not contain (secrets, injected header lines). */
  mustNotContain?: string;
}

const TWO = (second: Record<string, unknown>): Record<string, unknown> => ({
  strategy: { mode: 'fallback' },
  targets: [{ provider: 'openai' }, { provider: 'openai', ...second }],
});

const BAD_CONFIGS: BadConfig[] = [
  {
    name: 'retry.attempts 9 on the second target',
    config: TWO({ retry: { attempts: 9 } }),
    param: 'config.targets[1].retry.attempts',
    message: 'config.targets[1].retry.attempts must be less than or equal to 5',
  },
  {
    name: 'retry.attempts -1',
    config: { provider: 'openai', retry: { attempts: -1 } },
    param: 'config.retry.attempts',
    message: 'config.retry.attempts must be greater than or equal to 0',
  },
  {
    name: 'retry.attempts "two"',
    config: { provider: 'openai', retry: { attempts: 'two' } },
    param: 'config.retry.attempts',
    message: 'config.retry.attempts must be a number',
  },
  {
    name: 'strategy.mode "roundrobin"',
    config: { strategy: { mode: 'roundrobin' }, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.mode',
    message: 'config.strategy.mode must be one of [fallback, loadbalance, single]',
  },
  {
    name: 'strategy without mode',
    config: { strategy: {}, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.mode',
    message: 'config.strategy.mode is required',
  },
  {
    name: 'strategy without targets',
    config: { strategy: { mode: 'fallback' }, provider: 'openai' },
    param: 'config.targets',
    message: 'config.strategy needs config.targets to choose from',
  },
  {
    name: 'targets without strategy',
    config: { targets: [{ provider: 'openai' }] },
    param: 'config.strategy',
    message: 'config.strategy is required when config.targets is given (e.g. {"mode":"fallback"})',
  },
  {
    name: 'targets empty',
    config: { strategy: { mode: 'fallback' }, targets: [] },
    param: 'config.targets',
    message: 'config.targets must contain at least 1 items',
  },
  {
    name: 'targets not an array',
    config: { strategy: { mode: 'fallback' }, targets: { provider: 'openai' } },
    param: 'config.targets',
    message: 'config.targets must be an array',
  },
  {
    name: 'target with both provider and virtual_key',
    config: TWO({ virtual_key: 'vk-b' }),
    param: 'config.targets[1]',
    message: 'config.targets[1] contains a conflict between optional exclusive peers [provider, virtual_key]',
  },
  {
    name: 'unknown key on_status_code (typo) on strategy',
    config: { strategy: { mode: 'fallback', on_status_code: [429] }, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.on_status_code',
    message: 'config.strategy.on_status_code is not allowed',
  },
  {
    name: 'unknown key on a target',
    config: TWO({ modle: 'gpt-4o' }),
    param: 'config.targets[1].modle',
    message: 'config.targets[1].modle is not a setting of provider "openai"',
  },
  {
    name: 'on_status_codes [700]',
    config: { strategy: { mode: 'fallback', on_status_codes: [429, 700] }, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.on_status_codes[1]',
    message: 'config.strategy.on_status_codes[1] must be less than or equal to 599',
  },
  {
    name: 'on_status_codes ["6xx"]',
    config: { strategy: { mode: 'fallback', on_status_codes: ['6xx'] }, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.on_status_codes[0]',
    message: /^config\.strategy\.on_status_codes\[0\] .*status class like "5xx"/,
  },
  {
    name: 'camelCase onStatusCodes [999] reports the snake_case path',
    config: { strategy: { mode: 'fallback', onStatusCodes: [999] }, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.on_status_codes[0]',
    message: 'config.strategy.on_status_codes[0] must be less than or equal to 599',
  },
  {
    name: 'on_errors ["oops"]',
    config: { strategy: { mode: 'fallback', on_errors: ['timeout', 'oops'] }, targets: [{ provider: 'openai' }] },
    param: 'config.strategy.on_errors[1]',
    message: `config.strategy.on_errors[1] must be one of [${ERROR_CLASSES.join(', ')}]`,
  },
  {
    name: 'request_timeout 0',
    config: { provider: 'openai', request_timeout: 0 },
    param: 'config.request_timeout',
    message: 'config.request_timeout must be greater than or equal to 1',
  },
  {
    name: 'request_timeout "fast"',
    config: { provider: 'openai', requestTimeout: 'fast' },
    param: 'config.request_timeout',
    message: 'config.request_timeout must be a number',
  },
  {
    name: 'weight -1',
    config: { strategy: { mode: 'loadbalance' }, targets: [{ provider: 'openai', weight: -1 }] },
    param: 'config.targets[0].weight',
    message: 'config.targets[0].weight must be greater than or equal to 0',
  },
  {
    name: 'total_timeout on a nested target',
    config: TWO({ total_timeout: 1000 }),
    param: 'config.targets[1].total_timeout',
    message: 'config.targets[1].total_timeout is only allowed at the root of the config',
  },
  {
    name: 'override_params a string',
    config: { provider: 'openai', override_params: 'gpt-4o' },
    param: 'config.override_params',
    message: 'config.override_params must be of type object',
  },
  {
    name: 'api_key with CR LF (header injection)',
    config: { provider: 'openai', api_key: 'sk-nl-secret\r\nX-Injected: yes' },
    param: 'config.api_key',
    message: /^config\.api_key .*CR, LF or NUL/s,
    mustNotContain: 'sk-nl-secret',
  },
  {
    name: 'api_key with NUL',
    config: { provider: 'openai', api_key: 'sk-nul-secret\u0000tail' },
    param: 'config.api_key',
    message: /^config\.api_key .*CR, LF or NUL/s,
    mustNotContain: 'sk-nul-secret',
  },
  {
    name: 'provider setting with CR LF (openai_organization)',
    config: { provider: 'openai', openai_organization: 'org-1\r\nX-Injected: yes' },
    param: 'config.openai_organization',
    message: /^config\.openai_organization .*CR, LF or NUL/s,
  },
  {
    name: 'forward_headers ["authorization"]',
    config: { provider: 'openai', forward_headers: ['x-request-id', 'Authorization'] },
    param: 'config.forward_headers[1]',
    message: 'config.forward_headers[1] "authorization" may not be forwarded upstream',
  },
  {
    name: 'forward_headers with a bad header name',
    config: { provider: 'openai', forward_headers: ['bad header:'] },
    param: 'config.forward_headers[0]',
    message: /^config\.forward_headers\[0\] .*header name/,
  },
  {
    name: 'both api_key and apiKey',
    config: { provider: 'openai', api_key: 'sk-one', apiKey: 'sk-two' },
    param: 'config.api_key',
    message: 'config sets both api_key and apiKey; use one of them',
  },
  {
    name: 'config nested deeper than 8 levels',
    config: nestedConfig(9),
    param: `config${'.targets[0]'.repeat(9)}`,
    message: `config${'.targets[0]'.repeat(9)} nests targets deeper than 8 levels`,
  },
  {
    name: 'a target with neither provider nor virtual_key',
    config: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { override_params: { model: 'x' } }] },
    code: 'missing_provider',
    param: 'config.targets[1]',
    message: 'config.targets[1] needs a provider or a virtual_key',
  },
  {
    name: 'legacy form with a bad option',
    config: { mode: 'fallback', options: [{ provider: 'openai' }, { provider: 'openai', weight: 'heavy' }] },
    param: 'config.options[1].weight',
    message: 'config.options[1].weight must be a number',
  },
  {
    name: 'legacy form without mode',
    config: { options: [{ provider: 'openai' }] },
    param: 'config.mode',
    message: 'config.mode is required when config.options is given (e.g. {"mode":"fallback"})',
  },
  {
    name: 'provider name that is not a name',
    config: { provider: 'open ai' },
    param: 'config.provider',
    message: /^config\.provider .*provider name/,
  },
];

for (const version of EXPRESS_VERSIONS) {
  describe(`bad input (${version.name})`, () => {
    /** One app that takes the whole barrage of bad input; group 7 checks it still works. */
    const sharedLogger = quietLogger();
    let shared: App;
    before(() => {
      shared = createApp(baseOptions(sharedLogger), { express: version.express });
    });

    const post = (path: string, app: App = shared) => request(app).post(path);

    describe('1. malformed requests', () => {
      test('malformed JSON body is 400 invalid_json', async () => {
        const res = await post('/v1/chat/completions')
          .set('content-type', 'application/json')
          .set('x-portkey-config', validConfigHeader)
          .send('{"messages": [');
        assertError(res, 400, { code: 'invalid_json', param: null, message: 'Request body is not valid JSON.' });
        assertNoUpstreamCall();
      });

      for (const [kind, text] of [
        ['an array', '[{"role":"user","content":"hi"}]'],
        ['a string', '"hello"'],
        ['a number', '42'],
      ] as const) {
        test(`JSON body that is ${kind} is 400 invalid_body`, async () => {
          const res = await post('/v1/chat/completions')
            .set('content-type', 'application/json')
            .set('x-portkey-config', validConfigHeader)
            .send(text);
          assertError(res, 400, { code: 'invalid_body', param: null, message: 'Request body must be a JSON object.' });
          assertNoUpstreamCall();
        });
      }

      test('content-type text/plain is 415', async () => {
        const res = await post('/v1/chat/completions')
          .set('content-type', 'text/plain')
          .set('x-portkey-config', validConfigHeader)
          .send(JSON.stringify(CHAT));
        assertError(res, 415, {
          code: 'unsupported_media_type',
          param: null,
          message: 'Content-Type must be application/json (got "text/plain").',
        });
        assertNoUpstreamCall();
      });

      test('content-type application/x-www-form-urlencoded is 415', async () => {
        const res = await post('/v1/chat/completions')
          .type('form')
          .set('x-portkey-config', validConfigHeader)
          .send('messages=hi&model=gpt-4o');
        assertError(res, 415, {
          code: 'unsupported_media_type',
          param: null,
          message: 'Content-Type must be application/json (got "application/x-www-form-urlencoded").',
        });
        assertNoUpstreamCall();
      });

      test('application/json with an unsupported charset is 415', async () => {
        const res = await post('/v1/chat/completions')
          .set('content-type', 'application/json; charset=koi8-r')
          .set('x-portkey-config', validConfigHeader)
          .send(JSON.stringify(CHAT));
        assertError(res, 415, { code: 'unsupported_media_type', param: null, message: 'Unsupported request body encoding or charset.' });
        assertNoUpstreamCall();
      });

      test('missing content-type with a valid JSON body is accepted', async () => {
        const res = await rawRequest(shared, {
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'x-portkey-config': validConfigHeader },
          body: JSON.stringify(CHAT),
        });
        assertServedBy(res, primary);
        assert.equal(primary.received.length, 1);
        assert.deepEqual(primary.received[0]!.body, CHAT);
        assert.equal(primary.received[0]!.headers.authorization, `Bearer ${SERVER_KEY}`);
      });

      test('body over bodyLimit is 413', async () => {
        const app = createApp(baseOptions(quietLogger(), { bodyLimit: 1024 }), { express: version.express });
        const small = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(CHAT);
        assertServedBy(small, primary);
        primary.reset();
        const big = { ...CHAT, messages: [{ role: 'user', content: 'x'.repeat(2000) }] };
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(big);
        assertError(res, 413, { code: 'payload_too_large', param: null, message: 'Request body is larger than the limit of 1024 bytes.' });
        assertNoUpstreamCall();
      });

      test('unknown path under the mount is an OpenAI-format 404', async () => {
        const get = await request(shared).get('/v1/nope');
        assertError(get, 404, { code: 'not_found', param: null, message: 'Unknown path GET /v1/nope.' });
        const typo = await post('/v1/chat/completion').set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(typo, 404, { code: 'not_found', param: null, message: 'Unknown path POST /v1/chat/completion.' });
        assertNoUpstreamCall();
      });

      for (const method of ['get', 'put', 'delete'] as const) {
        test(`${method.toUpperCase()} on /v1/chat/completions is 405 with Allow: POST`, async () => {
          const res = await request(shared)[method]('/v1/chat/completions').set('x-portkey-config', validConfigHeader);
          assertError(res, 405, {
            code: 'method_not_allowed',
            param: null,
            message: `${method.toUpperCase()} is not allowed on /v1/chat/completions; use POST.`,
          });
          assert.equal(res.headers.allow, 'POST');
          assertNoUpstreamCall();
        });
      }

      test('missing messages is 400 with param messages', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-config', validConfigHeader).send({ model: 'gpt-4o' });
        assertError(res, 400, { code: 'missing_parameter', param: 'messages', message: 'messages is required.' });
        const nul = await post('/v1/chat/completions').set('x-portkey-config', validConfigHeader).send({ model: 'gpt-4o', messages: null });
        assertError(nul, 400, { code: 'missing_parameter', param: 'messages', message: 'messages is required.' });
        assertNoUpstreamCall();
      });

      test('messages that is not an array is 400', async () => {
        for (const messages of ['hello', { role: 'user', content: 'hi' }, 5]) {
          const res = await post('/v1/chat/completions').set('x-portkey-config', validConfigHeader).send({ model: 'gpt-4o', messages });
          assertError(res, 400, { code: 'invalid_parameter', param: 'messages', message: 'messages must be an array.' });
        }
        assertNoUpstreamCall();
      });

      test('/embeddings without input is 400 with param input', async () => {
        const res = await post('/v1/embeddings').set('x-portkey-config', validConfigHeader).send({ model: 'text-embedding-3-small' });
        assertError(res, 400, { code: 'missing_parameter', param: 'input', message: 'input is required.' });
        assertNoUpstreamCall();
      });

      test('/completions without prompt is 400 with param prompt', async () => {
        const res = await post('/v1/completions').set('x-portkey-config', validConfigHeader).send({ model: 'gpt-3.5-turbo-instruct' });
        assertError(res, 400, { code: 'missing_parameter', param: 'prompt', message: 'prompt is required.' });
        assertNoUpstreamCall();
      });

      const legacyMessage = 'Request body must be {"config": ..., "params": {...}} with params an object.';
      test('legacy /chatComplete without params is 400 param params', async () => {
        const res = await post('/v1/chatComplete').send({ config: { provider: 'openai' } });
        assertError(res, 400, { code: 'invalid_body', param: 'params', message: legacyMessage });
        assertNoUpstreamCall();
      });

      test('legacy /chatComplete with params not an object is 400 param params', async () => {
        for (const params of ['hi', [CHAT], 3, null]) {
          const res = await post('/v1/chatComplete').send({ config: { provider: 'openai' }, params });
          assertError(res, 400, { code: 'invalid_body', param: 'params', message: legacyMessage });
        }
        assertNoUpstreamCall();
      });

      test('legacy /complete and /embed check their params too', async () => {
        const complete = await post('/v1/complete').send({ config: { provider: 'openai' }, params: { model: 'x' } });
        assertError(complete, 400, { code: 'missing_parameter', param: 'prompt', message: 'prompt is required.' });
        const embed = await post('/v1/embed').send({ config: { provider: 'openai' } });
        assertError(embed, 400, { code: 'invalid_body', param: 'params', message: legacyMessage });
        assertNoUpstreamCall();
      });
    });

    describe('2. invalid configs', () => {
      for (const bad of BAD_CONFIGS) {
        test(`invalid config: ${bad.name}`, async () => {
          const expected = { code: bad.code ?? 'invalid_config', param: bad.param, message: bad.message };
          const viaHeader = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(bad.config)).send(CHAT);
          assertError(viaHeader, 400, expected);
          const viaBody = await post('/v1/chat/completions').send({ ...CHAT, config: bad.config });
          assertError(viaBody, 400, expected);
          if (bad.mustNotContain !== undefined) {
            assert.ok(!viaHeader.text.includes(bad.mustNotContain), `header error echoes "${bad.mustNotContain}": ${viaHeader.text}`);
            assert.ok(!viaBody.text.includes(bad.mustNotContain), `body error echoes "${bad.mustNotContain}": ${viaBody.text}`);
            assert.ok(!viaBody.text.includes('X-Injected'), `error echoes the injected header: ${viaBody.text}`);
          }
          assertNoUpstreamCall();
        });
      }

      test('a config 8 levels deep is still accepted (the limit is exact)', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(nestedConfig(8))).send(CHAT);
        assertServedBy(res, primary);
        assert.equal(res.headers['x-portkey-last-used-option-index'], `config${'.targets[0]'.repeat(8)}`);
      });

      test('config header that is invalid JSON is 400 invalid_config_json', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-config', '{"strategy":').send(CHAT);
        assertError(res, 400, { code: 'invalid_config_json', param: 'config', message: /^x-portkey-config header is not valid JSON( \(at position \d+\))?$/ });
        const body = await post('/v1/chat/completions').send({ ...CHAT, config: '{"provider": openai}' });
        assertError(body, 400, { code: 'invalid_config_json', param: 'config', message: /^config is not valid JSON( \(at position \d+\))?$/ });
        assertNoUpstreamCall();
      });

      test('config header naming a saved id that does not exist is 400 unknown_config', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-config', 'pc-missing').send(CHAT);
        assertError(res, 400, {
          code: 'unknown_config',
          param: 'config',
          message: 'x-portkey-config header "pc-missing" is neither a JSON object nor a saved config id',
        });
        assertNoUpstreamCall();
      });

      test('config longer than 64 KiB is 400 config_too_large', async () => {
        const huge = { provider: 'openai', override_params: { user: 'x'.repeat(70 * 1024) } };
        const asObject = await post('/v1/chat/completions').send({ ...CHAT, config: huge });
        assertError(asObject, 400, { code: 'config_too_large', param: 'config', message: 'config is longer than 65536 characters' });
        const asText = await post('/v1/chat/completions').send({ ...CHAT, config: JSON.stringify(huge) });
        assertError(asText, 400, { code: 'config_too_large', param: 'config', message: 'config is longer than 65536 characters' });
        assertNoUpstreamCall();
      });

      test('config that is a JSON array is refused', async () => {
        const array = [{ provider: 'openai' }];
        const viaBody = await post('/v1/chat/completions').send({ ...CHAT, config: array });
        assertError(viaBody, 400, { code: 'invalid_config', param: 'config', message: 'config must be a JSON object' });
        const viaHeader = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(array)).send(CHAT);
        assertError(viaHeader, 400, { code: 'invalid_config', param: 'config', message: 'x-portkey-config header must be a JSON object' });
        assertNoUpstreamCall();
      });

      test('config that is a number or boolean in the body is refused', async () => {
        for (const config of [42, true]) {
          const res = await post('/v1/chat/completions').send({ ...CHAT, config });
          assertError(res, 400, { code: 'invalid_config', param: 'config', message: 'config must be a JSON object' });
        }
        assertNoUpstreamCall();
      });

      test('a repeated invalid config gives the same answer (cached errors stay correct)', async () => {
        const header = JSON.stringify(TWO({ retry: { attempts: 9 } }));
        for (let i = 0; i < 3; i++) {
          const res = await post('/v1/chat/completions').set('x-portkey-config', header).send(CHAT);
          assertError(res, 400, {
            code: 'invalid_config',
            param: 'config.targets[1].retry.attempts',
            message: 'config.targets[1].retry.attempts must be less than or equal to 5',
          });
        }
        assertNoUpstreamCall();
      });
    });

    describe('3. unknown names and missing config', () => {
      test('unknown provider is 400 unknown_provider naming it', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify({ provider: 'nope' })).send(CHAT);
        assertError(res, 400, { code: 'unknown_provider', param: 'config.provider', message: /^config\.provider "nope" is not supported; supported providers: .*openai/ });
        const nested = await post('/v1/chat/completions').send({ ...CHAT, config: TWO({ provider: 'nope' }) });
        assertError(nested, 400, { code: 'unknown_provider', param: 'config.targets[1].provider', message: /^config\.targets\[1\]\.provider "nope" is not supported/ });
        assertNoUpstreamCall();
      });

      test('unknown virtual key is 400 unknown_virtual_key naming it', async () => {
        const config = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'vk-a' }, { virtual_key: 'vk-missing' }] };
        const res = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send(CHAT);
        assertError(res, 400, {
          code: 'unknown_virtual_key',
          param: 'config.targets[1].virtual_key',
          message: 'config.targets[1].virtual_key "vk-missing" is not a known virtual key',
        });
        assertNoUpstreamCall();
      });

      test('unknown saved config id in the body is 400 unknown_config', async () => {
        const res = await post('/v1/chat/completions').send({ ...CHAT, config: 'pc-nowhere' });
        assertError(res, 400, { code: 'unknown_config', param: 'config', message: 'config "pc-nowhere" is neither a JSON object nor a saved config id' });
        const legacy = await post('/v1/chatComplete').send({ config: 'pc-nowhere', params: CHAT });
        assertError(legacy, 400, { code: 'unknown_config', param: 'config', message: 'config "pc-nowhere" is neither a JSON object nor a saved config id' });
        assertNoUpstreamCall();
      });

      test('a target with no credentials is 400 missing_credentials', async () => {
        const app = createApp({ logger: quietLogger(), providers: { azure_openai: { apiKey: 'az', baseURL: azure.baseURL } } }, { express: version.express });
        const message =
          'config (provider "openai") has no credentials: give it an api_key, a virtual_key, or set options.providers["openai"].apiKey on the server';
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', JSON.stringify({ provider: 'openai' })).send(CHAT);
        assertError(res, 400, { code: 'missing_credentials', param: 'config', message });
        const viaHeader = await post('/v1/chat/completions', app).set('x-portkey-provider', 'openai').send(CHAT);
        assertError(viaHeader, 400, { code: 'missing_credentials', param: 'config', message });
        const viaFallback = await post('/v1/chat/completions', app).set('x-portkey-fallback', 'azure_openai,openai').send(CHAT);
        assertError(viaFallback, 400, { code: 'missing_credentials', param: 'config.targets[1]', message: message.replace(/^config /, 'config.targets[1] ') });
        assertNoUpstreamCall();
      });

      test('x-portkey-fallback with an empty name is 400', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-fallback', 'openai,,anthropic').send(CHAT);
        assertError(res, 400, {
          code: 'invalid_config',
          param: 'x-portkey-fallback',
          message: 'x-portkey-fallback must be a comma-separated list of provider names, e.g. "openai,azure_openai"',
        });
        const trailing = await post('/v1/chat/completions').set('x-portkey-fallback', 'openai,').send(CHAT);
        assertError(trailing, 400, { code: 'invalid_config', param: 'x-portkey-fallback' });
        assertNoUpstreamCall();
      });

      test('x-portkey-fallback naming an unknown provider is 400 unknown_provider', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-fallback', 'openai, nope').send(CHAT);
        assertError(res, 400, { code: 'unknown_provider', param: 'config.targets[1].provider', message: /^config\.targets\[1\]\.provider "nope" is not supported/ });
        assertNoUpstreamCall();
      });

      test('x-portkey-provider naming an unknown provider is 400 unknown_provider', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-provider', 'nope').set('authorization', 'Bearer sk-client-secret-77').send(CHAT);
        assertError(res, 400, { code: 'unknown_provider', param: 'config.provider', message: /^config\.provider "nope" is not supported/ });
        assert.ok(!res.text.includes('sk-client-secret-77'));
        assertNoUpstreamCall();
      });

      test('no config at all is 400 missing_config naming all five ways', async () => {
        const res = await post('/v1/chat/completions').send(CHAT);
        assertError(res, 400, { code: 'missing_config', param: null });
        const message = res.body.error.message as string;
        for (const way of ['x-portkey-config', '"config"', 'x-portkey-fallback', 'x-portkey-provider', 'defaultConfig']) {
          assert.ok(message.includes(way), `missing_config message should name ${way}: ${message}`);
        }
        const legacy = await post('/v1/chatComplete').send({ params: CHAT });
        assertError(legacy, 400, { code: 'missing_config', param: null, message });
        assertNoUpstreamCall();
      });

      test('missing_config names the renamed headers under a custom headerPrefix', async () => {
        const app = createApp(baseOptions(quietLogger(), { headerPrefix: 'x-gw-' }), { express: version.express });
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(res, 400, { code: 'missing_config', param: null });
        const message = res.body.error.message as string;
        for (const way of ['x-gw-config', '"config"', 'x-gw-fallback', 'x-gw-provider', 'defaultConfig']) {
          assert.ok(message.includes(way), `missing_config message should name ${way}: ${message}`);
        }
        assertNoUpstreamCall();
      });
    });

    describe('4. security', () => {
      test('custom_host in a request config is 400 custom_host_not_allowed by default', async () => {
        const config = { provider: 'openai', api_key: 'sk-client', custom_host: customHost.baseURL };
        const res = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send(CHAT);
        assertError(res, 400, {
          code: 'custom_host_not_allowed',
          param: 'config.custom_host',
          message: `config.custom_host "${customHost.origin}" is not allowed; the host must set allowCustomHost or list the origin in customHostAllowlist`,
        });
        const nested = { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { ...config }] };
        const res2 = await post('/v1/chat/completions').send({ ...CHAT, config: nested });
        assertError(res2, 400, { code: 'custom_host_not_allowed', param: 'config.targets[1].custom_host' });
        assertNoUpstreamCall();
      });

      test('custom_host is called when allowCustomHost is true', async () => {
        const app = createApp(baseOptions(quietLogger(), { allowCustomHost: true }), { express: version.express });
        const config = { provider: 'openai', api_key: 'sk-client', custom_host: customHost.baseURL };
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', JSON.stringify(config)).send(CHAT);
        assertServedBy(res, customHost);
        assert.equal(customHost.received.length, 1);
        assert.equal(customHost.received[0]!.url, '/v1/chat/completions');
        assert.equal(customHost.received[0]!.headers.authorization, 'Bearer sk-client');
        assert.equal(primary.received.length, 0);
      });

      test('allowCustomHost never sends the gateway keys to a client-chosen host', async () => {
        const app = createApp(baseOptions(quietLogger(), { allowCustomHost: true }), { express: version.express });
        for (const config of [
          { provider: 'openai', custom_host: customHost.baseURL },
          { strategy: { mode: 'fallback' }, custom_host: customHost.baseURL, targets: [{ provider: 'openai' }] },
        ]) {
          const res = await post('/v1/chat/completions', app).set('x-portkey-config', JSON.stringify(config)).send(CHAT);
          assert.equal(res.status, 400, JSON.stringify(res.body));
          assert.equal(res.body.error.code, 'host_not_allowed');
        }
        assert.equal(customHost.received.length, 0);
        assertNoUpstreamCall();
        // an allowlisted origin is the host's own choice: its keys may go there
        const listed = createApp(baseOptions(quietLogger(), { customHostAllowlist: [customHost.origin] }), { express: version.express });
        const ok = await post('/v1/chat/completions', listed).set('x-portkey-config', JSON.stringify({ provider: 'openai', custom_host: customHost.baseURL })).send(CHAT);
        assertServedBy(ok, customHost);
        customHost.reset();
      });

      test('custom_host is called when its origin is in customHostAllowlist, refused otherwise', async () => {
        const app = createApp(baseOptions(quietLogger(), { customHostAllowlist: [customHost.origin] }), { express: version.express });
        const allowed = { provider: 'openai', api_key: 'sk-client', custom_host: customHost.baseURL };
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', JSON.stringify(allowed)).send(CHAT);
        assertServedBy(res, customHost);
        assert.equal(customHost.received.length, 1);
        assert.equal(customHost.received[0]!.url, '/v1/chat/completions');
        customHost.reset();
        const other = { ...allowed, custom_host: `${redirectTarget.baseURL}` };
        const refused = await post('/v1/chat/completions', app).set('x-portkey-config', JSON.stringify(other)).send(CHAT);
        assertError(refused, 400, { code: 'custom_host_not_allowed', param: 'config.custom_host' });
        assertNoUpstreamCall();
      });

      test('resource_name in a request config with a server-side key is 400 host_not_allowed', async () => {
        const config = { provider: 'azure-openai', resource_name: 'attacker' };
        const res = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send(CHAT);
        assertError(res, 400, {
          code: 'host_not_allowed',
          param: 'config.resource_name',
          message: "config.resource_name may only be set together with api_key: it would send the gateway's key to another host",
        });
        assertNoUpstreamCall();
      });

      test('api_key in a request config is 400 client_keys_not_allowed when allowClientKeys is false', async () => {
        const app = createApp(baseOptions(quietLogger(), { allowClientKeys: false }), { express: version.express });
        const config = { provider: 'openai', api_key: 'sk-SECRET-123' };
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', JSON.stringify(config)).send(CHAT);
        assertError(res, 400, {
          code: 'client_keys_not_allowed',
          param: 'config.api_key',
          message: 'config.api_key is not accepted by this gateway (allowClientKeys is false)',
        });
        assert.ok(!res.text.includes('sk-SECRET-123'));
        assertNoUpstreamCall();
      });

      const secretCases: Array<{ name: string; config: Record<string, unknown>; code: string }> = [
        { name: 'with retry.attempts 9', config: { provider: 'openai', api_key: 'sk-SECRET-123', retry: { attempts: 9 } }, code: 'invalid_config' },
        { name: 'with an unknown provider', config: { provider: 'nope', api_key: 'sk-SECRET-123' }, code: 'unknown_provider' },
        { name: 'with an unknown key', config: { provider: 'openai', api_key: 'sk-SECRET-123', colour: 'red' }, code: 'invalid_config' },
        { name: 'beside a virtual_key', config: { virtual_key: 'vk-a', api_key: 'sk-SECRET-123' }, code: 'invalid_config' },
        { name: 'with a refused custom_host', config: { provider: 'openai', api_key: 'sk-SECRET-123', custom_host: customHostPlaceholder() }, code: 'custom_host_not_allowed' },
        { name: 'that itself holds a CR LF', config: { provider: 'openai', api_key: 'sk-SECRET-123\r\nX-Injected: 1' }, code: 'invalid_config' },
        { name: 'that is too long', config: { provider: 'openai', api_key: `sk-SECRET-123${'k'.repeat(9000)}` }, code: 'invalid_config' },
      ];
      for (const c of secretCases) {
        test(`a secret api_key never appears in an error body (${c.name})`, async () => {
          const config = JSON.parse(JSON.stringify(c.config).replace('__CUSTOM_HOST__', customHost.baseURL)) as Record<string, unknown>;
          const viaHeader = await post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send(CHAT);
          const viaBody = await post('/v1/chat/completions').send({ ...CHAT, config });
          for (const res of [viaHeader, viaBody]) {
            assertError(res, 400, { code: c.code });
            assert.ok(!res.text.includes('sk-SECRET-123'), `error body echoes the secret: ${res.text.slice(0, 300)}`);
            assert.ok(!res.text.includes('SECRET'), `error body echoes part of the secret: ${res.text.slice(0, 300)}`);
          }
          assertNoUpstreamCall();
        });
      }

      for (const name of ['x-portkey-request-timeout', 'x-portkey-total-timeout']) {
        for (const value of ['abc', '0', '-5', '1.5', '99999999']) {
          test(`${name}: ${value} is 400 invalid_header`, async () => {
            const res = await post('/v1/chat/completions').set('x-portkey-config', validConfigHeader).set(name, value).send(CHAT);
            assertError(res, 400, {
              code: 'invalid_header',
              param: name,
              message: `${name} must be a whole number of milliseconds from 1 to 3600000`,
            });
            assertNoUpstreamCall();
          });
        }
      }

      test('x-portkey-trace-id with control characters is replaced by a generated id', async () => {
        for (const bad of ['trace\tid', 'trace\u0085id', 'trace id']) {
          const res = await rawRequest(shared, {
            method: 'POST',
            path: '/v1/chat/completions',
            headers: { 'content-type': 'application/json', 'x-portkey-config': validConfigHeader, 'x-portkey-trace-id': bad },
            body: JSON.stringify(CHAT),
          });
          assertServedBy(res, primary);
          const echoed = String(res.headers['x-portkey-trace-id']);
          assert.match(echoed, UUID, `trace id for ${JSON.stringify(bad)} should be generated, got ${JSON.stringify(echoed)}`);
        }
        const good = await post('/v1/chat/completions').set('x-portkey-config', validConfigHeader).set('x-portkey-trace-id', 'trace-ok-42').send(CHAT);
        assertServedBy(good, primary);
        assert.equal(good.headers['x-portkey-trace-id'], 'trace-ok-42');
        const errored = await post('/v1/chat/completions').set('x-portkey-trace-id', 'trace\tbad').send(CHAT);
        assertError(errored, 400, { code: 'missing_config', param: null });
        assert.match(String(errored.headers['x-portkey-trace-id']), UUID);
      });

      test('the client x-portkey-api-key and authorization are never forwarded upstream', async () => {
        const app = createApp(baseOptions(quietLogger(), { auth: { apiKeys: ['gw-key'] } }), { express: version.express });
        const res = await post('/v1/chat/completions', app)
          .set('x-portkey-api-key', 'gw-key')
          .set('x-portkey-config', JSON.stringify({ provider: 'openai', forward_headers: ['x-request-id'] }))
          .set('x-request-id', 'req-1')
          .set('authorization', 'Bearer client-token-9')
          .set('cookie', 'session=abc')
          .send(CHAT);
        assertServedBy(res, primary);
        const seen = primary.received[0]!.headers;
        assert.equal(seen.authorization, `Bearer ${SERVER_KEY}`);
        assert.equal(seen['x-request-id'], 'req-1');
        assert.equal(seen['x-portkey-api-key'], undefined);
        assert.equal(seen['x-portkey-config'], undefined);
        assert.equal(seen.cookie, undefined);
        assert.ok(!primary.received[0]!.raw.includes('client-token-9'));
      });
    });

    describe('5. hostile upstream replies', () => {
      const fallbackConfig = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'vk-a' }, { virtual_key: 'vk-b' }] });
      const singleConfig = JSON.stringify({ virtual_key: 'vk-a' });

      const hostile: Array<{
        name: string;
        arrange: () => void;
        status: number;
        code: string | null;
        type: string;
        message: string | RegExp;
      }> = [
        {
          name: '200 with a non-JSON body',
          arrange: () => primary.script({ kind: 'raw', status: 200, text: '<html><body>Welcome to nginx</body></html>', contentType: 'text/html' }),
          status: 502,
          code: 'invalid_upstream_response',
          type: 'server_error',
          message: 'openai answered 200 with a body that is not JSON',
        },
        {
          name: '200 JSON with the wrong shape (no choices)',
          arrange: () => primary.script({ kind: 'ok', body: { id: 'x', object: 'chat.completion', model: 'gpt-4o' } }),
          status: 502,
          code: 'invalid_upstream_response',
          type: 'server_error',
          message: 'openai returned a chat response without choices',
        },
        {
          name: '200 JSON that is not an object',
          arrange: () => primary.script({ kind: 'ok', body: ['choices'] }),
          status: 502,
          code: 'invalid_upstream_response',
          type: 'server_error',
          message: 'openai returned a body that is not a JSON object',
        },
        {
          name: '200 with an empty body',
          arrange: () => primary.script({ kind: 'raw', status: 200, text: '' }),
          status: 502,
          code: 'invalid_upstream_response',
          type: 'server_error',
          message: 'openai answered 200 with a body that is not JSON',
        },
        {
          name: '302 redirect (never followed)',
          arrange: () =>
            primary.script({ kind: 'status', status: 302, headers: { location: `${redirectTarget.baseURL}/chat/completions` }, body: {} }),
          status: 502,
          code: 'invalid_upstream_response',
          type: 'server_error',
          message: 'openai answered with unexpected status 302',
        },
        {
          name: '500 with an HTML body',
          arrange: () => primary.script({ kind: 'raw', status: 500, text: '<html><h1>500 Internal Server Error</h1></html>', contentType: 'text/html' }),
          status: 500,
          code: null,
          type: 'server_error',
          message: /500 Internal Server Error/,
        },
        {
          name: '403 with an HTML body',
          arrange: () => primary.script({ kind: 'raw', status: 403, text: '<html>Forbidden by WAF</html>', contentType: 'text/html' }),
          status: 403,
          code: null,
          type: 'authentication_error',
          message: /Forbidden by WAF/,
        },
        {
          name: '503 with a huge HTML body (message kept short)',
          arrange: () => primary.script({ kind: 'raw', status: 503, text: `<html>${'overloaded '.repeat(2000)}</html>`, contentType: 'text/html' }),
          status: 503,
          code: null,
          type: 'server_error',
          message: /^<html>overloaded (overloaded )*.{0,20}$/s,
        },
      ];

      for (const h of hostile) {
        test(`upstream ${h.name} fails over to the second target`, async () => {
          h.arrange();
          const res = await post('/v1/chat/completions').set('x-portkey-config', fallbackConfig).send(CHAT);
          assertServedBy(res, secondary);
          assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
          assert.equal(res.headers['x-portkey-attempts'], '2');
          assert.equal(primary.received.length, 1);
          assert.equal(secondary.received.length, 1);
          assert.equal(secondary.received[0]!.headers.authorization, 'Bearer sk-vk-b');
          assert.equal(redirectTarget.received.length, 0, 'a redirect must never be followed');
        });

        test(`upstream ${h.name} with one target gives a clean error naming the provider`, async () => {
          h.arrange();
          const res = await post('/v1/chat/completions').set('x-portkey-config', singleConfig).send(CHAT);
          assertError(res, h.status, { code: h.code, type: h.type, param: null, message: h.message, provider: 'openai' });
          assert.ok(res.body.error.message.length <= 600, 'error message is bounded');
          assert.equal(res.headers['x-portkey-attempts'], '1');
          assert.equal(res.headers['x-portkey-provider'], 'openai');
          assert.equal(primary.received.length, 1);
          assert.equal(redirectTarget.received.length, 0, 'a redirect must never be followed');
          assert.ok(!res.text.includes('sk-vk-a'), 'the virtual key never reaches the client');
        });
      }

      test('upstream connection reset fails over, and alone is 502 upstream_unreachable', async () => {
        primary.script({ kind: 'reset' });
        const res = await post('/v1/chat/completions').set('x-portkey-config', fallbackConfig).send(CHAT);
        assertServedBy(res, secondary);
        assert.equal(res.headers['x-portkey-attempts'], '2');
        primary.reset();
        primary.script({ kind: 'reset' });
        const alone = await post('/v1/chat/completions').set('x-portkey-config', singleConfig).send(CHAT);
        assertError(alone, 502, { code: 'upstream_unreachable', type: 'server_error', param: null, provider: 'openai' });
      });

      test('both targets hostile: the last failure is returned, OpenAI-format, provider named', async () => {
        primary.script({ kind: 'raw', status: 200, text: 'not json' });
        secondary.script({ kind: 'status', status: 302, headers: { location: redirectTarget.baseURL }, body: {} });
        const res = await post('/v1/chat/completions').set('x-portkey-config', fallbackConfig).send(CHAT);
        assertError(res, 502, {
          code: 'invalid_upstream_response',
          type: 'server_error',
          param: null,
          message: 'openai answered with unexpected status 302',
          provider: 'openai',
        });
        assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
        assert.equal(res.headers['x-portkey-attempts'], '2');
        assert.equal(redirectTarget.received.length, 0);
      });
    });

    describe('6. auth', () => {
      const authError = { code: 'invalid_api_key', type: 'authentication_error', param: null, message: 'Missing or invalid x-portkey-api-key.' };

      test('auth.apiKeys: missing key is 401 and the fake is not called', async () => {
        const app = createApp(baseOptions(quietLogger(), { auth: { apiKeys: ['k1'] } }), { express: version.express });
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(res, 401, authError);
        assertNoUpstreamCall();
      });

      test('auth.apiKeys: wrong key is 401 and the fake is not called', async () => {
        const app = createApp(baseOptions(quietLogger(), { auth: { apiKeys: ['k1'] } }), { express: version.express });
        for (const wrong of ['k2', 'K1', 'k', 'k1k1', '']) {
          const res = await post('/v1/chat/completions', app).set('x-portkey-api-key', wrong).set('x-portkey-config', validConfigHeader).send(CHAT);
          assertError(res, 401, authError);
        }
        const bearer = await post('/v1/chat/completions', app).set('authorization', 'Bearer k1').set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(bearer, 401, authError);
        assertNoUpstreamCall();
      });

      test('auth.apiKeys: refused before the body is read (bad JSON without a key is 401)', async () => {
        const app = createApp(baseOptions(quietLogger(), { auth: { apiKeys: ['k1'] } }), { express: version.express });
        const res = await post('/v1/chat/completions', app).set('content-type', 'application/json').send('{"broken":');
        assertError(res, 401, authError);
        assertNoUpstreamCall();
      });

      test('auth.apiKeys: right key is 200', async () => {
        const app = createApp(baseOptions(quietLogger(), { auth: { apiKeys: ['k0', 'k1'] } }), { express: version.express });
        const res = await post('/v1/chat/completions', app).set('x-portkey-api-key', 'k1').set('x-portkey-config', validConfigHeader).send(CHAT);
        assertServedBy(res, primary);
        assert.equal(primary.received.length, 1);
      });

      test('auth function (async) returning false is 401; true is 200', async () => {
        const seen: Array<string | undefined> = [];
        const auth = async (req: import('express').Request): Promise<boolean> => {
          const key = req.headers['x-team'];
          seen.push(typeof key === 'string' ? key : undefined);
          await new Promise((r) => setTimeout(r, 5));
          return key === 'blue';
        };
        const app = createApp(baseOptions(quietLogger(), { auth }), { express: version.express });
        const denied = await post('/v1/chat/completions', app).set('x-team', 'red').set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(denied, 401, authError);
        assertNoUpstreamCall();
        const allowed = await post('/v1/chat/completions', app).set('x-team', 'blue').set('x-portkey-config', validConfigHeader).send(CHAT);
        assertServedBy(allowed, primary);
        assert.deepEqual(seen, ['red', 'blue']);
      });

      test('auth function returning a truthy non-boolean is still 401', async () => {
        const auth = ((): unknown => 'yes') as unknown as () => boolean;
        const app = createApp(baseOptions(quietLogger(), { auth }), { express: version.express });
        const res = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(res, 401, authError);
        assertNoUpstreamCall();
      });

      test('auth function that throws (sync or async) is 401, logged, and the host survives', async () => {
        const logger = quietLogger();
        let calls = 0;
        const auth = (): boolean | Promise<boolean> => {
          calls += 1;
          if (calls === 1) throw new Error('auth backend down');
          return Promise.reject(new Error('auth backend still down'));
        };
        const app = createApp(baseOptions(logger, { auth }), { express: version.express });
        const sync = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(sync, 401, authError);
        const async = await post('/v1/chat/completions', app).set('x-portkey-config', validConfigHeader).send(CHAT);
        assertError(async, 401, authError);
        assert.equal(calls, 2);
        assert.ok(logger.lines.some((l) => l.includes('auth backend down')), `logged: ${logger.lines.join(' | ')}`);
        assertNoUpstreamCall();
        const host = await request(app).get('/host-route');
        assert.equal(host.status, 200);
        assert.deepEqual(host.body, { host: true });
      });
    });

    describe('7. the host survives', () => {
      test('after all of the above, a normal request still succeeds and host routes still answer', async () => {
        const res = await post('/v1/chat/completions').set('x-portkey-config', validConfigHeader).send(CHAT);
        assertServedBy(res, primary);
        assert.equal(primary.received.length, 1);
        assert.deepEqual(primary.received[0]!.body, CHAT);
        const legacy = await post('/v1/chatComplete').send({ config: { provider: 'openai' }, params: CHAT });
        assertServedBy(legacy, primary);
        const hostGet = await request(shared).get('/host-route');
        assert.equal(hostGet.status, 200);
        assert.deepEqual(hostGet.body, { host: true });
        const hostPost = await request(shared).post('/v2/host-post').send({ any: 'thing' });
        assert.equal(hostPost.status, 200);
        assert.deepEqual(hostPost.body, { hostPost: true });
        const unexpected = sharedLogger.lines.filter((l) => l.includes('unexpected error'));
        assert.deepEqual(unexpected, [], 'no bad input may reach the 500 path');
      });
    });
  });
}

/** Placeholder replaced at run time by the custom-host fake's URL (fakes start after collection). */
function customHostPlaceholder(): string {
  return '__CUSTOM_HOST__';
}
