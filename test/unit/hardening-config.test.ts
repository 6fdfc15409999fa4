/**
 * Issue 10, the config parts, unit by unit: the address rules (lib/config/host.ts), what a
 * target on a client-chosen host keeps (lib/config/client-host.ts through buildPlan), the config
 * limits (lib/config/limits.ts), the iterative config hash (lib/config/canonical.ts) and how
 * values are named in messages (lib/config/quote.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Joi from 'joi';
import { canonicalJson } from '../../lib/config/canonical.js';
import { isMetadataOrLinkLocal, parseHttpUrl } from '../../lib/config/host.js';
import { MAX_CONFIG_DEPTH, MAX_CONFIG_TARGETS, MAX_CONFIG_VALUE_DEPTH, RESERVED_KEYS } from '../../lib/config/limits.js';
import { validateConfig } from '../../lib/config/normalise.js';
import { keySegment, looksLikeId, quoteIfId } from '../../lib/config/quote.js';
import { buildPlan, hashConfig, type PlanSource } from '../../lib/config/resolve.js';
import { CACHE_CHARS, CACHE_SIZE, ConfigSelector } from '../../lib/config/source.js';
import { ConfigError, OptionsError } from '../../lib/errors.js';
import type { PlanNode, PlanTarget } from '../../lib/engine/plan.js';
import { parseOptions, type Config, type RouterOptions, type Settings } from '../../lib/options.js';
import { headerSafe, settingString } from '../../lib/providers/settings.js';
import type { ProviderAdapter } from '../../lib/providers/types.js';

const quiet = { warn: (): void => {}, error: (): void => {} };
const settingsOf = (options: RouterOptions = {}): Settings => parseOptions({ logger: quiet, ...options });
const untrusted: PlanSource = { label: 'config', trusted: false };
const trusted: PlanSource = { label: 'config', trusted: true };

function leaf(node: PlanNode): PlanTarget {
  return node.kind === 'target' ? node : leaf(node.children[0]!);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('host.ts: link-local and metadata addresses in every spelling', () => {
  const blocked = [
    'http://169.254.169.254/',
    'http://169.254.0.1/',
    'http://169.254.255.255:8080/x',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0xA9.0xFE.0xA9.0xFE/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://169.254.169.254./',
    'http://100.100.100.200/',
    'http://1684301000/',
    'http://[fe80::]/',
    'http://[fe80::1:2:3:4]/',
    'http://[febf:ffff::1]/',
    'http://[fd00:ec2::254]/',
    'http://[fd00:0ec2:0000:0000:0000:0000:0000:0254]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:1]/',
    'http://[::169.254.169.254]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://[::ffff:100.100.100.200]/',
    'http://metadata.google.internal/',
    'http://metadata.google.internal./',
    'http://METADATA.Google.Internal/',
    'http://metadata.goog/',
    'http://metadata/',
    'http://instance-data/',
    'http://instance-data.ec2.internal/',
  ];
  const fine = [
    'http://127.0.0.1/',
    'http://10.0.0.5:8000/',
    'http://169.253.255.255/',
    'http://169.255.0.1/',
    'http://100.100.100.201/',
    'http://[::1]/',
    'http://[fec0::1]/',
    'http://[fe7f::1]/',
    'http://[fd00:ec2::253]/',
    'http://[::ffff:127.0.0.1]/',
    'http://example.com/',
    'http://metadata.example.com/',
    'http://my-metadata/',
    'https://api.openai.com/v1',
  ];
  test('blocked', () => {
    for (const text of blocked) {
      const url = parseHttpUrl(text);
      assert.ok(url, `${text} parses`);
      assert.equal(isMetadataOrLinkLocal(url), true, text);
    }
  });
  test('not blocked', () => {
    for (const text of fine) assert.equal(isMetadataOrLinkLocal(parseHttpUrl(text)!), false, text);
  });
  test('parseHttpUrl: what the transport can parse, nothing it would silently rewrite', () => {
    for (const text of ['http://127.0.0.1%3A8080', 'http://%zz/', 'http://256.1.1.1/', 'http://1.2.3.4.5/', 'ftp://x/', 'http:/x', 'http:x', 'http://x\\y/', 'http://a\tb/', 'http://a\nb/', ' http://a/', 'http://']) {
      assert.equal(parseHttpUrl(text), undefined, JSON.stringify(text));
    }
    assert.equal(parseHttpUrl('HTTPS://Example.COM:443/v1')?.origin, 'https://example.com');
    assert.equal(parseHttpUrl(`http://a/${'x'.repeat(3000)}`), undefined);
  });
});

describe('client-chosen hosts, at plan level', () => {
  test('an allowlisted link-local origin may be used, with the server values', () => {
    const settings = settingsOf({ providers: { openai: { apiKey: 'server-key' } }, customHostAllowlist: ['http://169.254.169.254'] });
    const target = leaf(buildPlan(validateConfig({ provider: 'openai', custom_host: 'http://169.254.169.254/v1' }), settings, untrusted).root);
    assert.equal(target.target.apiKey, 'server-key');
    assert.equal(target.target.baseURL, 'http://169.254.169.254/v1');
  });

  test("a host's own config may name any parsable host", () => {
    const settings = settingsOf({ providers: { openai: { apiKey: 'server-key' } } });
    const target = leaf(buildPlan(validateConfig({ provider: 'openai', custom_host: 'http://169.254.169.254/v1' }), settings, trusted).root);
    assert.equal(target.target.apiKey, 'server-key');
  });

  test('a target the server holds no credential for is sent with the client values only', () => {
    const settings = settingsOf({ allowCustomHost: true, providers: { ollama: { baseURL: 'http://10.0.0.9:11434/v1' } } });
    const target = leaf(buildPlan(validateConfig({ provider: 'ollama', custom_host: 'http://10.1.1.1:11434/v1' }), settings, untrusted).root);
    assert.equal(target.target.apiKey, undefined);
    assert.deepEqual(target.target.headers, {});
    assert.equal(target.target.baseURL, 'http://10.1.1.1:11434/v1');
    // with no credential anywhere, a provider that needs a key is still missing_credentials
    const none = settingsOf({ allowCustomHost: true });
    assert.equal(configError(() => buildPlan(validateConfig({ provider: 'groq', custom_host: 'http://10.1.1.1/v1' }), none, untrusted)).code, 'missing_credentials');
  });

  test('a custom adapter setting named like a host chooses the host; a metadata address there is refused', () => {
    const adapter: ProviderAdapter = {
      name: 'regional',
      endpoints: new Set(['chat'] as const),
      requiresApiKey: false,
      settings: Joi.object({ endpoint_url: settingString, project_token: settingString, tier: settingString }),
      buildRequest: (req, target) => ({ url: String(target.settings.endpoint_url), headers: { ...target.headers }, body: req.body }),
      parseResponse: (body) => body as Record<string, unknown>,
      classifyError: () => ({ errorClass: 'server', message: 'x' }),
    };
    const settings = settingsOf({
      adapters: { regional: adapter },
      providers: { regional: { endpointUrl: 'https://eu.regional.test/v1', projectToken: 'server-token', tier: 'gold', headers: { 'x-secret': 's' } } },
    });
    const refused = configError(() => buildPlan(validateConfig({ provider: 'regional', endpoint_url: 'https://evil.test/v1' }), settings, untrusted));
    assert.equal(refused.code, 'host_not_allowed');
    assert.equal(refused.param, 'config.endpoint_url');
    const own = leaf(buildPlan(validateConfig({ provider: 'regional', endpoint_url: 'https://evil.test/v1', project_token: 'client-token' }), settings, untrusted).root);
    assert.deepEqual(own.target.settings, { endpoint_url: 'https://evil.test/v1', project_token: 'client-token' });
    assert.deepEqual(own.target.headers, {});
    const metadata = configError(() =>
      buildPlan(validateConfig({ provider: 'regional', endpoint_url: 'http://169.254.169.254/latest', project_token: 'c' }), settings, untrusted),
    );
    assert.equal(metadata.code, 'custom_host_not_allowed');
    assert.equal(metadata.param, 'config.endpoint_url');
    // the server's own choice of that setting is no client choice
    const plain = leaf(buildPlan(validateConfig({ provider: 'regional', tier: 'silver' }), settings, untrusted).root);
    assert.equal(plain.target.settings.project_token, 'server-token');
  });
});

describe('limits.ts: the config limits', () => {
  test('the documented values', () => {
    assert.equal(MAX_CONFIG_DEPTH, 8);
    assert.equal(MAX_CONFIG_TARGETS, 100);
    assert.equal(MAX_CONFIG_VALUE_DEPTH, 32);
    for (const key of ['constructor', '__proto__', 'prototype', 'toString', 'to_string', 'valueOf', 'value_of', 'hasOwnProperty', 'has_own_property']) {
      assert.ok(RESERVED_KEYS.has(key), key);
    }
  });

  test('a host config over the limits is an OptionsError naming the limit', () => {
    const targets = Array.from({ length: 51 }, () => ({ provider: 'openai' }));
    const config = { strategy: { mode: 'fallback' }, targets: [{ strategy: { mode: 'fallback' }, targets }, { strategy: { mode: 'fallback' }, targets }] } satisfies Config;
    assert.throws(() => settingsOf({ configs: { big: config } }), (err: unknown) => err instanceof OptionsError && /more than 100 targets/.test(err.message));
    assert.throws(() => settingsOf({ defaultConfig: config }), OptionsError);
  });

  test('a cyclic host config is refused, not walked for ever', () => {
    const config = { provider: 'openai', override_params: {} as Record<string, unknown> } satisfies Config;
    config.override_params.self = config.override_params;
    assert.throws(() => settingsOf({ defaultConfig: config }), (err: unknown) => err instanceof OptionsError && /nested more than 32 levels/.test(err.message));
  });

  test('the value depth is measured on arrays and objects alike, anywhere in the config', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { k: deep };
    const err = configError(() => validateConfig({ provider: 'openai', anthropic_beta: deep }));
    assert.match(err.param ?? '', /^config\.anthropic_beta/);
    assert.match(err.message, /more than 32 levels/);
  });

  test('a key that may be a secret is not spelt out in the path of a depth error', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { 'sk-live-0123456789abcdefghijKLMNOP': deep };
    const err = configError(() => validateConfig({ provider: 'openai', override_params: deep }));
    assert.ok(!err.message.includes('sk-live'), err.message);
  });
});

describe('canonical.ts: the config hash', () => {
  test('the same text as before for ordinary configs, independent of key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [1, { z: null, y: undefined, x: 's"' }], c: [[], [{}]] }), '{"a":[1,{"x":"s\\"","z":null}],"b":1,"c":[[],[{}]]}');
    assert.equal(canonicalJson([undefined, 'x', null]), '[null,"x",null]');
    assert.equal(hashConfig({ a: 1, b: { c: 2, d: 3 } }), hashConfig({ b: { d: 3, c: 2 }, a: 1 }));
  });
  test('no nesting overflows the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    assert.equal(canonicalJson(deep).length, 400_001);
  });
});

describe('quote.ts: naming values that may be secrets', () => {
  test('identifiers are quoted, keys are not', () => {
    for (const id of ['pc-main', 'vk-openai', 'openai', 'azure_openai', 'cfg.v2:eu']) assert.equal(quoteIfId(id), `"${id}"`);
    for (const key of ['sk-live-abc', 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'bearer-x', 'a'.repeat(41), 'Zx9Qm2Lp7Rt4Vb8Nc1Kd', 'has space']) {
      assert.equal(looksLikeId(key), false, key);
      assert.equal(quoteIfId(key), `(a value of ${key.length} characters)`);
    }
  });
  test('path segments: setting and model names stay readable', () => {
    for (const name of ['api_version', 'token_limit', 'openai/gpt-4o', 'claude-3-5-sonnet-20240620']) assert.equal(keySegment(name), name);
    assert.equal(keySegment('sk-live-abc'), '<a name of 11 characters>');
  });
});

describe('header-safe strings: control characters refused, tab allowed', () => {
  test('headerSafe', () => {
    for (let c = 0; c < 32; c++) {
      const value = `a${String.fromCharCode(c)}b`;
      assert.equal(headerSafe.validate(value).error === undefined, c === 9, `U+${c.toString(16)}`);
    }
    assert.ok(headerSafe.validate('a\x7fb').error);
    assert.equal(headerSafe.validate('a b ~ é').error, undefined);
  });

  test('through ConfigSelector, the message never holds the value', () => {
    const selector = new ConfigSelector(settingsOf({ providers: { openai: { apiKey: 'k' } } }));
    const err = configError(() => selector.select({}, { provider: 'openai', api_key: 'sk-x\x1bsecret-tail' }));
    assert.equal(err.param, 'config.api_key');
    assert.ok(!err.message.includes('secret-tail'));
  });
});

describe('the plan cache is bounded in entries and in characters of config text', () => {
  test('distinct small configs: at most CACHE_SIZE plans; a repeated one is served from the cache', () => {
    const selector = new ConfigSelector(settingsOf({ providers: { openai: { apiKey: 'k' } } }));
    const first = selector.select({}, { provider: 'openai', override_params: { temperature: 0 } }).plan;
    assert.equal(selector.select({}, { provider: 'openai', override_params: { temperature: 0 } }).plan, first, 'the same config text is the same plan');
    for (let i = 1; i <= CACHE_SIZE + 200; i++) selector.select({}, { provider: 'openai', override_params: { seed: i } });
    assert.equal(selector.cacheSize().entries, CACHE_SIZE);
    assert.notEqual(selector.select({}, { provider: 'openai', override_params: { temperature: 0 } }).plan, first, 'the oldest plan was evicted and is built again');
  });

  test('distinct large configs: the characters held stay under CACHE_CHARS, and invalid configs count too', () => {
    const selector = new ConfigSelector(settingsOf({ providers: { openai: { apiKey: 'k' } } }));
    const pad = 'x'.repeat(30_000);
    for (let i = 0; i < 200; i++) selector.select({}, { provider: 'openai', override_params: { user: `${i}-${pad}` } });
    for (let i = 0; i < 100; i++) assert.throws(() => selector.select({}, { provider: 'nope', note: `${i}-${pad}` }), ConfigError);
    const { entries, chars } = selector.cacheSize();
    assert.ok(chars <= CACHE_CHARS, `${chars} characters cached`);
    assert.ok(entries < 100 && entries > 10, `${entries} entries`);
  });
});
