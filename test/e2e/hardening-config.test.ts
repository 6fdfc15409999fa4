/**
 * Issue 10, the config parts (SPEC §3, §10), end to end through createApp and fake upstreams:
 *
 * 1. nothing configured on the server side reaches a host a request chose (custom_host in every
 *    address form, a parent's custom_host, Azure resource_name, a virtual key), and link-local /
 *    cloud-metadata addresses are refused even with allowCustomHost;
 * 2. a config nested past MAX_CONFIG_VALUE_DEPTH (override_params included) and a custom_host that
 *    joi accepts but the URL parser rejects are 400s naming the field, never 5xx;
 * 3. more than MAX_CONFIG_TARGETS targets in one config is a 400 naming the limit;
 * 4. a key pasted into x-portkey-virtual-key, virtual_key, x-portkey-provider or
 *    x-portkey-fallback is never quoted back, stored in a trace or logged;
 * 5. reserved keys (constructor, __proto__, ...) are clean 400s with no prototype pollution;
 *    control characters in header-bound values are refused; bad-options errors never quote a
 *    secret-bearing value.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createFallbackRouter, OptionsError, type RouterOptions } from '../../lib/index.js';
import { MAX_CONFIG_TARGETS, MAX_CONFIG_VALUE_DEPTH } from '../../lib/config/limits.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

type App = ReturnType<typeof createApp>;
type Logger = ReturnType<typeof quietLogger>;

const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const ANTHROPIC_CHAT = { model: 'claude-3-5-sonnet-20240620', messages: [{ role: 'user', content: 'hi' }] };

/** Everything the server side holds; none of it may reach a host a request chose. */
const SERVER = {
  openaiKey: 'sk-SERVER-openai-1f2e3d',
  openaiOrg: 'org-SERVERorg77',
  openaiProject: 'proj-SERVERproj88',
  header: 'SERVER-header-value-99',
  azureKey: 'SERVER-azure-key-5c5c',
  azureAdToken: 'eyJSERVER.ad.token',
  anthropicKey: 'sk-ant-SERVER-4b4b',
  anthropicVersion: '2023-06-01-SERVER',
  anthropicBeta: 'SERVER-beta-2024',
  compatToken: 'SERVER-compat-token-6a6a',
  vkKey: 'sk-SERVER-vk-7d7d',
};
const CLIENT_KEY = 'sk-client-own-key-0101';

let server: Fake; // the server's own openai / openai-compatible base
let azure: Fake; // the server's own azure base
let anthropic: Fake; // the server's own anthropic base
let evil: Fake; // only ever reached through a request's custom_host
let evilAnthropic: Fake;
let fakes: Fake[] = [];

before(async () => {
  server = await startFake('openai', 'server');
  azure = await startFake('azure', 'azure');
  anthropic = await startFake('anthropic', 'anthropic');
  evil = await startFake('openai', 'evil');
  evilAnthropic = await startFake('anthropic', 'evil-anthropic');
  fakes = [server, azure, anthropic, evil, evilAnthropic];
});

after(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

beforeEach(() => {
  for (const fake of fakes) fake.reset();
});

function options(logger: Logger, extra: RouterOptions = {}): RouterOptions {
  const headers = { 'x-server-secret': SERVER.header };
  return {
    logger,
    providers: {
      openai: { apiKey: SERVER.openaiKey, baseURL: server.baseURL, organization: SERVER.openaiOrg, project: SERVER.openaiProject, headers },
      azure_openai: { apiKey: SERVER.azureKey, baseURL: azure.baseURL, deploymentId: 'server-dep', azureAdToken: SERVER.azureAdToken, headers },
      anthropic: {
        apiKey: SERVER.anthropicKey,
        baseURL: anthropic.baseURL,
        anthropicVersion: SERVER.anthropicVersion,
        anthropicBeta: SERVER.anthropicBeta,
        headers,
      },
      'openai-compatible': { baseURL: server.baseURL, headers: { authorization: `Bearer ${SERVER.compatToken}` } },
    },
    virtualKeys: { 'vk-openai': { provider: 'openai', apiKey: SERVER.vkKey, baseURL: server.baseURL } },
    defaults: { requestTimeout: 3000 },
    ...extra,
  };
}

function assertNoServerValue(fake: Fake): void {
  for (const r of fake.received) {
    const seen = JSON.stringify(r.headers) + r.url + r.raw;
    for (const [name, value] of Object.entries(SERVER)) {
      assert.ok(!seen.includes(value), `${fake.name} received the server's ${name}: ${JSON.stringify(r.headers)}`);
    }
    assert.equal(r.headers['x-server-secret'], undefined);
    assert.equal(r.headers['openai-organization'], undefined);
    assert.equal(r.headers['openai-project'], undefined);
    assert.equal(r.headers['anthropic-beta'], undefined);
  }
}

function assertError(res: request.Response, status: number, code: string, param?: string): void {
  assert.equal(res.status, status, `status (body: ${res.text})`);
  assert.equal(res.body?.error?.code, code, res.text);
  if (param !== undefined) assert.equal(res.body.error.param, param, res.text);
}

const send = (app: App, config: unknown, body: unknown = CHAT) =>
  request(app).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send(body as object);

/** Every spelling of the evil fake's address a client may write. */
function hostForms(fake: Fake): string[] {
  const port = new URL(fake.origin).port;
  return [
    fake.origin, // no path: http://127.0.0.1:PORT
    `${fake.origin}/v1`,
    `${fake.origin}/v1/`,
    `HTTP://127.0.0.1:${port}/v1`, // upper-case scheme
    `http://localhost:${port}/v1`, // a host name
    `http://2130706433:${port}/v1`, // 127.0.0.1 as one decimal integer
    `http://0x7f.0.0.1:${port}/v1`, // hex
    `http://0177.0.0.1:${port}/v1`, // octal
  ];
}

describe('1. nothing of the server reaches a host the client chose', () => {
  test('custom_host in every address form, the client own key: only the client key arrives', async () => {
    const app = createApp(options(quietLogger(), { allowCustomHost: true }));
    for (const host of hostForms(evil)) {
      for (const config of [
        { provider: 'openai', api_key: CLIENT_KEY, custom_host: host },
        { strategy: { mode: 'fallback' }, custom_host: host, targets: [{ provider: 'openai', api_key: CLIENT_KEY }] },
        { provider: 'openai-compatible', api_key: CLIENT_KEY, custom_host: host },
      ]) {
        evil.reset();
        const res = await send(app, config);
        assert.equal(res.status, 200, `${host}: ${res.text}`);
        assert.equal(evil.received.length, 1, host);
        assert.equal(evil.received[0]!.headers.authorization, `Bearer ${CLIENT_KEY}`);
        assertNoServerValue(evil);
      }
    }
    // userinfo in the URL: the HTTP client turns it into Basic auth, the client's own again
    evil.reset();
    const port = new URL(evil.origin).port;
    const userinfo = await send(app, { provider: 'openai', api_key: CLIENT_KEY, custom_host: `http://user:pw@127.0.0.1:${port}/v1` });
    assert.equal(userinfo.status, 200, userinfo.text);
    assertNoServerValue(evil);
    assert.equal(server.received.length, 0);
  });

  test('azure-openai on a custom_host: no server api-key, AD token, deployment or headers', async () => {
    const app = createApp(options(quietLogger(), { allowCustomHost: true }));
    for (const host of hostForms(evil)) {
      evil.reset();
      const res = await send(app, { provider: 'azure-openai', api_key: CLIENT_KEY, custom_host: host });
      assert.equal(res.status, 200, `${host}: ${res.text}`);
      const got = evil.received[0]!;
      assert.equal(got.headers['api-key'], CLIENT_KEY);
      assert.equal(got.headers.authorization, undefined, 'the server AD token must not be sent');
      assert.ok(!got.url.includes('server-dep'), got.url);
      assertNoServerValue(evil);
    }
    // a client's own AD token is its credential: sent, and the server's key is not
    evil.reset();
    const own = await send(app, { provider: 'azure-openai', azure_ad_token: 'client-ad-token', custom_host: evil.origin });
    assert.equal(own.status, 200, own.text);
    assert.equal(evil.received[0]!.headers.authorization, 'Bearer client-ad-token');
    assert.equal(evil.received[0]!.headers['api-key'], undefined);
    assertNoServerValue(evil);
  });

  test('anthropic on a custom_host: no server key, version, beta or headers', async () => {
    const app = createApp(options(quietLogger(), { allowCustomHost: true }));
    const res = await send(app, { provider: 'anthropic', api_key: CLIENT_KEY, custom_host: evilAnthropic.baseURL }, ANTHROPIC_CHAT);
    assert.equal(res.status, 200, res.text);
    const got = evilAnthropic.received[0]!;
    assert.equal(got.headers['x-api-key'], CLIENT_KEY);
    assert.notEqual(got.headers['anthropic-version'], SERVER.anthropicVersion);
    assertNoServerValue(evilAnthropic);
    // the client's own settings are its own: they are sent
    evilAnthropic.reset();
    const own = await send(app, { provider: 'anthropic', api_key: CLIENT_KEY, anthropic_beta: 'client-beta', custom_host: evilAnthropic.baseURL }, ANTHROPIC_CHAT);
    assert.equal(own.status, 200, own.text);
    assert.equal(evilAnthropic.received[0]!.headers['anthropic-beta'], 'client-beta');
  });

  test('without a key of its own, a target on a client-chosen host is 400 host_not_allowed (every form, https too)', async () => {
    const app = createApp(options(quietLogger(), { allowCustomHost: true }));
    for (const host of [...hostForms(evil), evil.origin.replace('http:', 'https:'), 'https://example.com/v1']) {
      const cases: Array<[unknown, string]> = [
        [{ provider: 'openai', custom_host: host }, 'config.custom_host'],
        [{ strategy: { mode: 'fallback' }, custom_host: host, targets: [{ provider: 'openai' }] }, 'config.custom_host'],
        [{ strategy: { mode: 'fallback' }, targets: [{ provider: 'anthropic', custom_host: host }] }, 'config.targets[0].custom_host'],
        // openai-compatible needs no key, but the server holds an authorization header for it
        [{ provider: 'openai-compatible', custom_host: host }, 'config.custom_host'],
        // a virtual key is the server's credential whatever else the target says
        [{ virtual_key: 'vk-openai', custom_host: host }, 'config.custom_host'],
        [{ strategy: { mode: 'fallback' }, custom_host: host, targets: [{ virtual_key: 'vk-openai' }] }, 'config.custom_host'],
      ];
      for (const [config, param] of cases) {
        const res = await send(app, config, CHAT);
        assertError(res, 400, 'host_not_allowed', param);
        for (const value of Object.values(SERVER)) assert.ok(!res.text.includes(value));
      }
    }
    for (const fake of fakes) assert.equal(fake.received.length, 0, fake.name);
  });

  test("a client's resource_name: its own key only, and none of the server's settings or headers", async () => {
    const app = createApp(options(quietLogger()));
    const refused = await send(app, { provider: 'azure-openai', resource_name: 'attacker' });
    assertError(refused, 400, 'host_not_allowed', 'config.resource_name');
    const own = await send(app, { provider: 'azure-openai', resource_name: 'mine', api_key: CLIENT_KEY });
    assert.equal(own.status, 200, own.text);
    // the server's baseURL still applies (SPEC §3); the server's key, token, headers do not
    const got = azure.received[0]!;
    assert.equal(got.headers['api-key'], CLIENT_KEY);
    assert.equal(got.headers.authorization, undefined);
    assertNoServerValue(azure);
  });

  test('an allowlisted origin is the host choice: the server values go there', async () => {
    const app = createApp(options(quietLogger(), { customHostAllowlist: [evil.origin] }));
    const res = await send(app, { provider: 'openai', custom_host: `${evil.origin}/v1` });
    assert.equal(res.status, 200, res.text);
    assert.equal(evil.received[0]!.headers.authorization, `Bearer ${SERVER.openaiKey}`);
    assert.equal(evil.received[0]!.headers['openai-organization'], SERVER.openaiOrg);
  });

  test('link-local and cloud-metadata addresses are refused even with allowCustomHost', async () => {
    const app = createApp(options(quietLogger(), { allowCustomHost: true }));
    const hosts = [
      'http://169.254.169.254/latest/meta-data',
      'http://169.254.169.254:80/v1',
      'https://169.254.169.254/',
      'http://169.254.1.1:8080/v1',
      'http://2852039166/', // 169.254.169.254 as a decimal integer
      'http://0xa9fea9fe/', // hex
      'http://0251.0376.0251.0376/', // octal
      'http://169.254.43518/', // a.b.N
      'http://169.254.169.254./',
      'HTTP://169.254.169.254/V1',
      'http://[fe80::1]/',
      'http://[FE80::abcd]:8080/v1',
      'http://[febf::1]/',
      'http://[fd00:ec2::254]/latest',
      'http://[::ffff:169.254.169.254]/',
      'http://[64:ff9b::a9fe:a9fe]/',
      'http://metadata.google.internal/computeMetadata/v1',
      'http://METADATA.GOOGLE.INTERNAL./',
      'http://metadata/',
      'http://metadata:80/v1',
      'http://instance-data/latest',
      'http://100.100.100.200/latest/meta-data',
      'http://1684301000/', // 100.100.100.200 as an integer
      'http://0x64.0x64.0x64.0xc8/',
    ];
    for (const host of hosts) {
      for (const config of [
        { provider: 'openai', api_key: CLIENT_KEY, custom_host: host },
        { strategy: { mode: 'fallback' }, custom_host: host, targets: [{ provider: 'openai', api_key: CLIENT_KEY }] },
      ]) {
        const res = await send(app, config);
        assertError(res, 400, 'custom_host_not_allowed', 'config.custom_host');
        assert.match(res.body.error.message, /link-local or cloud metadata/);
      }
    }
    // neighbours that are neither still work through allowCustomHost
    const near = await send(app, { provider: 'openai', api_key: CLIENT_KEY, custom_host: `${evil.origin}/v1` });
    assert.equal(near.status, 200, near.text);
  });
});

describe('2. deep configs and unparsable hosts are 400s, never 5xx', () => {
  /** `levels` nested arrays around 1. */
  const nested = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };

  test('override_params nested 4,000 levels: 400 naming the path (header, body object, body text)', async () => {
    const app = createApp(options(quietLogger()));
    const config = { provider: 'openai', override_params: { a: nested(4000) } };
    const viaHeader = await send(app, config);
    const viaText = await request(app).post('/v1/chat/completions').send({ ...CHAT, config: JSON.stringify(config) });
    for (const res of [viaHeader, viaText]) {
      assertError(res, 400, 'invalid_config');
      assert.match(res.body.error.param, /^config\.override_params\.a(\[0\])+$/);
      assert.match(res.body.error.message, new RegExp(`more than ${MAX_CONFIG_VALUE_DEPTH} levels`));
    }
    // within the body's own depth limit, as an object
    const shallow = { provider: 'openai', override_params: { a: nested(40) } };
    const viaBody = await request(app).post('/v1/chat/completions').send({ ...CHAT, config: shallow });
    assertError(viaBody, 400, 'invalid_config');
    assert.equal(server.received.length, 0);
  });

  test(`a config exactly ${MAX_CONFIG_VALUE_DEPTH} levels deep is served; one level more is refused`, async () => {
    const app = createApp(options(quietLogger()));
    // the config (1) > override_params (2) > a (3) > arrays ...
    const ok = await send(app, { provider: 'openai', override_params: { a: nested(MAX_CONFIG_VALUE_DEPTH - 2) } });
    assert.equal(ok.status, 200, ok.text);
    const deep = await send(app, { provider: 'openai', override_params: { a: nested(MAX_CONFIG_VALUE_DEPTH - 1) } });
    assertError(deep, 400, 'invalid_config', `config.override_params.a${'[0]'.repeat(MAX_CONFIG_VALUE_DEPTH - 2)}`);
  });

  test('custom_host that joi accepts but the URL parser rejects: 400 naming the field', async () => {
    const bad = [
      'http://127.0.0.1%3A8080',
      'http://%zz/',
      'http://1.2.3.4.5/',
      'http://256.1.1.1/',
      'http://0x100000000/',
      'http://exa%20mple.com/',
      'http://127.0.0.1:99999/',
    ];
    for (const allowCustomHost of [false, true]) {
      const app = createApp(options(quietLogger(), { allowCustomHost }));
      for (const host of bad) {
        for (const [config, param] of [
          [{ provider: 'openai', api_key: CLIENT_KEY, custom_host: host }, 'config.custom_host'],
          [{ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', api_key: CLIENT_KEY, customHost: host }] }, 'config.targets[0].custom_host'],
        ] as const) {
          const res = await send(app, config);
          assertError(res, 400, 'invalid_config', param);
        }
      }
    }
    for (const fake of fakes) assert.equal(fake.received.length, 0, fake.name);
  });

  test('options: a customHostAllowlist entry or a baseURL the URL parser rejects is an OptionsError', () => {
    for (const opts of [
      { customHostAllowlist: ['http://127.0.0.1%3A8080'] },
      { providers: { openai: { apiKey: 'k', baseURL: 'http://127.0.0.1%3A8080' } } },
      { virtualKeys: { v: { provider: 'openai', apiKey: 'k', baseURL: 'http://256.1.1.1/v1' } } },
    ] as RouterOptions[]) {
      assert.throws(() => createFallbackRouter({ logger: quietLogger(), ...opts }), (err: unknown) => {
        assert.ok(err instanceof OptionsError, String(err));
        assert.match(err.message, /(customHostAllowlist\[0\]|baseURL) must be a valid http or https URL/);
        return true;
      });
    }
  });
});

describe('3. the number of targets in one config is bounded', () => {
  const leaves = (n: number) => Array.from({ length: n }, () => ({ provider: 'openai' }));
  const grouped = (total: number) => {
    const groups: unknown[] = [];
    for (let left = total; left > 0; left -= 40) groups.push({ strategy: { mode: 'fallback' }, targets: leaves(Math.min(40, left)) });
    return { strategy: { mode: 'fallback' }, targets: groups };
  };

  test(`${MAX_CONFIG_TARGETS} targets across nested strategies are served; one more is 400 config_too_large`, async () => {
    assert.equal(MAX_CONFIG_TARGETS, 100);
    const app = createApp(options(quietLogger()));
    const ok = await send(app, grouped(MAX_CONFIG_TARGETS));
    assert.equal(ok.status, 200, ok.text);
    server.reset();
    for (const config of [grouped(MAX_CONFIG_TARGETS + 1), grouped(50 * 3)]) {
      const viaHeader = await send(app, config);
      const viaBody = await request(app).post('/v1/chat/completions').send({ ...CHAT, config });
      for (const res of [viaHeader, viaBody]) {
        assertError(res, 400, 'config_too_large', 'config');
        assert.match(res.body.error.message, /more than 100 targets/);
      }
    }
    // the legacy form counts the same
    const legacy = { mode: 'fallback', options: [{ mode: 'fallback', options: leaves(50) }, { mode: 'fallback', options: leaves(50) }, { provider: 'openai' }] };
    assertError(await send(app, legacy), 400, 'config_too_large', 'config');
    assert.equal(server.received.length, 0);
  });

  test('a config nested deeper than 8 strategies is still a 400 naming the path', async () => {
    const app = createApp(options(quietLogger()));
    let node: Record<string, unknown> = { provider: 'openai' };
    for (let i = 0; i < 9; i++) node = { strategy: { mode: 'fallback' }, targets: [node] };
    const res = await send(app, node);
    assertError(res, 400, 'invalid_config', `config${'.targets[0]'.repeat(9)}`);
    assert.match(res.body.error.message, /deeper than 8 levels/);
  });
});

describe('4. a key pasted where an identifier goes is never echoed, stored or logged', () => {
  const KEY = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';
  const SHORT = 'sk-live-abc';

  async function traceText(app: App, traceId: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const res = await request(app).get(`/v1/logs/${traceId}`);
      if (res.status === 200) return res.text;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no trace ${traceId}`);
  }

  for (const secret of [KEY, SHORT]) {
    test(`${secret.length}-character key in each place: 400, and nowhere in the body, the trace or the logs`, async () => {
      const logger = quietLogger();
      const app = createApp(options(logger, { logs: { captureBodies: true } }));
      const cases: Array<{ name: string; headers: Record<string, string>; body: unknown; code: string }> = [
        { name: 'x-portkey-virtual-key', headers: { 'x-portkey-virtual-key': secret }, body: CHAT, code: 'unknown_virtual_key' },
        { name: 'body config virtual_key', headers: {}, body: { ...CHAT, config: { virtual_key: secret } }, code: 'unknown_virtual_key' },
        { name: 'header config virtualKey', headers: { 'x-portkey-config': JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ virtualKey: secret }] }) }, body: CHAT, code: 'unknown_virtual_key' },
        { name: 'x-portkey-provider', headers: { 'x-portkey-provider': secret }, body: CHAT, code: 'unknown_provider' },
        { name: 'x-portkey-fallback', headers: { 'x-portkey-fallback': `openai,${secret}` }, body: CHAT, code: 'unknown_provider' },
        { name: 'config provider', headers: {}, body: { ...CHAT, config: { provider: secret } }, code: 'unknown_provider' },
      ];
      for (const [i, c] of cases.entries()) {
        const traceId = `echo-${secret.length}-${i}`;
        const res = await request(app).post('/v1/chat/completions').set(c.headers).set('x-portkey-trace-id', traceId).send(c.body as object);
        assertError(res, 400, c.code);
        assert.match(res.body.error.message, /\(a value of \d+ characters\)/, c.name);
        assert.ok(!res.text.includes(secret), `${c.name}: body echoes the key: ${res.text}`);
        const trace = await traceText(app, traceId);
        assert.ok(!trace.includes(secret), `${c.name}: trace stores the key: ${trace}`);
      }
      const list = await request(app).get('/v1/logs?limit=100');
      assert.equal(list.status, 200);
      assert.ok(!list.text.includes(secret), 'GET /logs holds the key');
      assert.ok(!logger.lines.join('\n').includes(secret), 'a logger line holds the key');
      for (const fake of fakes) assert.equal(fake.received.length, 0);
    });
  }

  test('a value that looks like an identifier is still named', async () => {
    const app = createApp(options(quietLogger()));
    const vk = await request(app).post('/v1/chat/completions').set('x-portkey-virtual-key', 'vk-missing').send(CHAT);
    assertError(vk, 400, 'unknown_virtual_key');
    assert.match(vk.body.error.message, /"vk-missing" is not a known virtual key/);
    const provider = await request(app).post('/v1/chat/completions').set('x-portkey-fallback', 'openai,nope').send(CHAT);
    assertError(provider, 400, 'unknown_provider', 'config.targets[1].provider');
    assert.match(provider.body.error.message, /"nope" is not supported/);
  });
});

describe('5. reserved keys, control characters, and options errors', () => {
  const RESERVED = ['constructor', '__proto__', 'prototype', 'toString', 'to_string', 'valueOf', 'hasOwnProperty', '__defineGetter__'];

  test('reserved key names at every config level: a clean 400 naming the key', async () => {
    const app = createApp(options(quietLogger()));
    for (const key of RESERVED) {
      const at = (json: string): string => json.replace('"RESERVED"', JSON.stringify(key));
      const cases: Array<[string, string]> = [
        [at('{"provider":"openai","RESERVED":{"x":1}}'), `config.${key}`],
        [at('{"strategy":{"mode":"fallback","RESERVED":1},"targets":[{"provider":"openai"}]}'), `config.strategy.${key}`],
        [at('{"strategy":{"mode":"fallback"},"targets":[{"provider":"openai","RESERVED":"x"}]}'), `config.targets[0].${key}`],
        [at('{"provider":"openai","retry":{"attempts":1,"RESERVED":1}}'), `config.retry.${key}`],
        [at('{"strategy":{"mode":"fallback","cb_config":{"RESERVED":1}},"targets":[{"provider":"openai"}]}'), `config.strategy.cb_config.${key}`],
      ];
      for (const [text, param] of cases) {
        const viaHeader = await request(app).post('/v1/chat/completions').set('x-portkey-config', text).send(CHAT);
        const viaBody = await request(app)
          .post('/v1/chat/completions')
          .set('content-type', 'application/json')
          .send(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"config":${text}}`);
        for (const res of [viaHeader, viaBody]) {
          assertError(res, 400, 'invalid_config', param);
          assert.ok(!/native code|\[object Object\]|function/.test(res.body.error.message), res.body.error.message);
          assert.ok(res.body.error.message.includes(key), res.body.error.message);
        }
      }
    }
    assert.equal(server.received.length, 0);
  });

  test('__proto__ inside config and override_params: 400 and no prototype pollution', async () => {
    const app = createApp(options(quietLogger()));
    const texts = [
      '{"provider":"openai","__proto__":{"polluted":1}}',
      '{"provider":"openai","override_params":{"__proto__":{"polluted":1}}}',
      '{"provider":"openai","override_params":{"a":{"b":[{"__proto__":{"polluted":1}}]}}}',
      '{"strategy":{"mode":"fallback"},"override_params":{"__proto__":{"polluted":1}},"targets":[{"provider":"openai"}]}',
    ];
    for (const text of texts) {
      const viaHeader = await request(app).post('/v1/chat/completions').set('x-portkey-config', text).send(CHAT);
      const viaBody = await request(app)
        .post('/v1/chat/completions')
        .set('content-type', 'application/json')
        .send(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"config":${text}}`);
      for (const res of [viaHeader, viaBody]) {
        assertError(res, 400, 'invalid_config');
        assert.match(res.body.error.param, /__proto__$/);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    assert.equal(server.received.length, 0);
  });

  test('control characters in header-bound config values are refused, never stripped', async () => {
    const app = createApp(options(quietLogger(), { allowCustomHost: true }));
    const cases: Array<[unknown, string]> = [];
    for (const ch of ['\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f', '\r', '\n', '\0']) {
      cases.push(
        [{ provider: 'openai', api_key: `sk-client${ch}tail-secret` }, 'config.api_key'],
        [{ provider: 'openai', organization: `org${ch}tail-secret` }, 'config.organization'],
        [{ provider: 'anthropic', anthropic_version: `2023${ch}tail-secret` }, 'config.anthropic_version'],
        [{ provider: 'anthropic', anthropicBeta: ['ok', `b${ch}tail-secret`] }, 'config.anthropic_beta[1]'],
        [{ provider: 'azure-openai', api_key: 'k', azure_ad_token: `t${ch}tail-secret` }, 'config.azure_ad_token'],
      );
    }
    for (const [config, param] of cases) {
      // in the body: a raw DEL cannot travel in a header, and JSON does not escape it
      const res = await request(app).post('/v1/chat/completions').send({ ...CHAT, config });
      assertError(res, 400, 'invalid_config', param);
      assert.match(res.body.error.message, /control characters/);
      assert.ok(!res.text.includes('tail-secret'), res.text);
    }
    for (const fake of fakes) assert.equal(fake.received.length, 0, fake.name);
    // a tab is no control character here: it is a legal header character
    const tab = await send(app, { provider: 'openai', organization: 'org\tx' });
    assert.equal(tab.status, 200, tab.text);
  });

  test('control characters in server-side apiKey or headers are an OptionsError naming the field', () => {
    for (const [opts, field] of [
      [{ providers: { openai: { apiKey: 'sk-live-SECRETkey\x01' } } }, 'options.providers.openai.apiKey'],
      [{ providers: { openai: { apiKey: 'k', headers: { 'x-a': 'SECRETvalue\x1b' } } } }, 'options.providers.openai.headers.x-a'],
      [{ virtualKeys: { v: { provider: 'openai', apiKey: 'sk-live-SECRETkey\x7f' } } }, 'options.virtualKeys.v.apiKey'],
    ] as Array<[RouterOptions, string]>) {
      assert.throws(() => createFallbackRouter({ logger: quietLogger(), ...opts }), (err: unknown) => {
        assert.ok(err instanceof OptionsError, String(err));
        assert.ok(err.message.includes(field), err.message);
        assert.ok(!err.message.includes('SECRET'), err.message);
        return true;
      });
    }
  });

  test('bad-options errors never quote a secret-bearing value', () => {
    const KEY = 'sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZZ';
    const SHORT = 'sk-live-abc';
    const cases: RouterOptions[] = [
      { providers: { openai: { apiKey: 42 as unknown as string } } },
      { providers: { [KEY]: { apiKey: 'k' } } },
      { providers: { [SHORT]: { apiKey: 'k' } } },
      { virtualKeys: { x: { provider: KEY, apiKey: 'k' } } },
      { virtualKeys: { x: { provider: SHORT, apiKey: 'k' } } },
      { virtualKeys: { [KEY]: { provider: 'nope', apiKey: 'k' } } },
      // @ts-expect-error no such setting (refused at run time too, without quoting the key)
      { providers: { openai: { apiKey: 'k', [KEY]: 'v' } } },
      // @ts-expect-error organization is a string (refused at run time too, without quoting the key)
      { providers: { openai: { apiKey: KEY, organization: 42 } } },
      { providers: { openai: { apiKey: KEY, organization: `${KEY}\r\n` } } },
      { providers: { openai: { apiKey: 'k', headers: { authorization: `Bearer ${KEY}\n` } } } },
      { providers: { anthropic: { apiKey: KEY, anthropicVersion: [KEY] as unknown as string } } },
      { auth: { apiKeys: [KEY, 42 as unknown as string] } },
      { [KEY]: true } as RouterOptions,
      { configs: { [KEY]: { provider: 'nope' } } },
      { defaultConfig: { provider: KEY } },
      { defaultConfig: { virtual_key: KEY } },
      { providers: { openai: { constructor: 'x' } as never } },
    ];
    for (const opts of cases) {
      assert.throws(() => createFallbackRouter({ logger: quietLogger(), ...opts }), (err: unknown) => {
        assert.ok(err instanceof OptionsError, `${String(err)} for ${Object.keys(opts)}`);
        for (const secret of [KEY, SHORT]) {
          assert.ok(!err.message.includes(secret), `message quotes the key: ${err.message}`);
          assert.ok(!String(err.stack).includes(secret), `stack quotes the key: ${err.stack}`);
        }
        assert.ok(!/native code/.test(err.message), err.message);
        return true;
      });
    }
  });
});
