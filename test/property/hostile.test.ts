/**
 * Property-based hostile input (SPEC §10, hardening issue #10): arbitrary JSON bodies, arbitrary
 * values of the x-portkey-* headers, and configs generated from the config grammar (nested
 * strategy/targets and the legacy form, retry, timeouts, override_params with deep and odd
 * values, custom_host strings, keys like `__proto__` and `constructor`), sent to the router in
 * Express 5 and Express 4, with every built-in provider configured against fake upstreams that
 * answer 200. For every such request:
 *
 *   (a) the router answers, with a status below 500 (the upstreams are healthy, so a 5xx is a
 *       defect; allowed: 503 `overloaded`, and a 502 upstream failure when the client itself
 *       sent the request to a custom_host);
 *   (b) every error body has OpenAI's shape {error: {message, type, param, code}};
 *   (c) nothing is added to Object.prototype (or Array, Function, String), `({}).polluted` stays
 *       undefined;
 *   (d) no key-like value a client put in a credential-bearing place (and no server-side key)
 *       appears in the response, in GET /v1/logs, or in what the router logged.
 *
 * Fixed seed (in the test names), bounded runs and time. PROPERTY_RUNS scales the run counts.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { RouterOptions } from '../../lib/index.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import {
  BUILTIN_PROVIDERS,
  SEED,
  bodyArb,
  clip,
  configArb,
  customHostArb,
  deepArb,
  EVIL_KEYS,
  oddStringArb,
  errorShapeProblems,
  headerTextArb,
  isPlain,
  jsonHeader,
  leakedAmong,
  leaks,
  oddValueArb,
  objectOf,
  oneIn,
  pollution,
  prototypeSnapshot,
  secretArb,
  toJson,
  wideConfigArb,
} from './arbitraries.js';
import { checkProperty, startHarness, type Harness, type Reply, type WireRequest } from './harness.js';

const SCALE = Number(process.env.PROPERTY_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

const GATEWAY_KEY = 'gw-SERVERSIDE-gateway-key-5f1c9e7a';
const SERVER_SECRETS: Record<string, string> = {
  gateway: GATEWAY_KEY,
  ...Object.fromEntries(BUILTIN_PROVIDERS.map((name, i) => [name, `sk-SERVERSIDE${(0x9d2b7c41 + i * 7919).toString(16)}e0a3f6`])),
  vkOpenai: 'sk-SERVERSIDE-vk-openai-4a8e1d9c',
  vkAnthropic: 'sk-ant-SERVERSIDE-vk-7c3f0b2e',
  vkAzure: 'azSERVERSIDEvkazure0c6e5d1b',
  compatHeader: 'Bearer-SERVERSIDE-compat-header-2e9f',
};

let openai: Fake;
let azure: Fake;
let anthropic: Fake;
let harness: Harness;
let snapshot: ReturnType<typeof prototypeSnapshot>;

before(async () => {
  [openai, azure, anthropic] = await Promise.all([startFake('openai'), startFake('azure'), startFake('anthropic')]);
  const providers: NonNullable<RouterOptions['providers']> = {};
  for (const name of BUILTIN_PROVIDERS) {
    const baseURL = name === 'anthropic' ? anthropic.baseURL : name === 'azure-openai' ? azure.baseURL : openai.baseURL;
    providers[name] = { apiKey: SERVER_SECRETS[name], baseURL };
  }
  providers['azure-openai'] = { ...providers['azure-openai'], deploymentId: 'gpt4o' };
  providers['openai-compatible'] = { baseURL: openai.baseURL, headers: { authorization: SERVER_SECRETS.compatHeader! } };
  harness = await startHarness({
    providers,
    virtualKeys: {
      'vk-openai': { provider: 'openai', apiKey: SERVER_SECRETS.vkOpenai, baseURL: openai.baseURL },
      'vk-anthropic': { provider: 'anthropic', apiKey: SERVER_SECRETS.vkAnthropic, baseURL: anthropic.baseURL },
      'vk-azure': { provider: 'azure-openai', apiKey: SERVER_SECRETS.vkAzure, baseURL: azure.baseURL, deploymentId: 'gpt4o' },
    },
    configs: {
      'pc-saved': { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'vk-openai' }, { virtual_key: 'vk-anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } }] },
    },
    auth: { apiKeys: [GATEWAY_KEY] },
    allowCustomHost: false,
    customHostAllowlist: [openai.origin, azure.origin, anthropic.origin],
    logs: { captureBodies: true },
  });
  snapshot = prototypeSnapshot();
});

after(async () => {
  await harness.close();
  await Promise.all([openai.close(), azure.close(), anthropic.close()]);
});

// ---------------------------------------------------------------------------------------------
// The generated request

const COMPLETION_PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const;
const LEGACY_PATHS = ['/v1/chatComplete', '/v1/complete', '/v1/embed'] as const;
const ODD_PATHS = ['/v1/nope', '/v1/chat/completions/x', '/v1/logs', '/v1//chat/completions', '/v1/chat/completions?x=1', '/v1/CHAT/COMPLETIONS', '/v1/chat%2Fcompletions'] as const;

type Placement = 'header' | 'body' | 'none';

interface Spec {
  readonly express: 0 | 1;
  readonly method: WireRequest['method'];
  readonly path: string;
  readonly contentType: string;
  readonly gatewayKey?: string;
  /** x-portkey-* header values, before the config is placed. */
  readonly headers: Record<string, string>;
  readonly body: unknown;
  /** Legacy routes: wrap the body as {config, params}. */
  readonly legacyWrap: boolean;
  readonly config?: unknown;
  readonly placement: Placement;
  /** Raw non-JSON body text instead of `body`. */
  readonly rawText?: string;
  /** Which of BODY_ROUTES carries a generated body. */
  readonly route?: number;
}

/** The config headers that send a generated body through each wire format. */
const BODY_ROUTES: ReadonlyArray<Record<string, string>> = [
  { 'x-portkey-provider': 'openai' },
  { 'x-portkey-virtual-key': 'vk-anthropic' },
  { 'x-portkey-virtual-key': 'vk-azure' },
  { 'x-portkey-fallback': 'anthropic,openai' },
];

const pathArb = fc.oneof(
  { arbitrary: fc.constant('/v1/chat/completions'), weight: 10 },
  { arbitrary: fc.constantFrom(...COMPLETION_PATHS, ...LEGACY_PATHS), weight: 4 },
  { arbitrary: fc.constantFrom(...ODD_PATHS), weight: 1 },
);

const headersArb = fc.record(
  {
    'x-portkey-config': headerTextArb,
    'x-portkey-provider': headerTextArb,
    'x-portkey-virtual-key': headerTextArb,
    'x-portkey-fallback': headerTextArb,
    'x-portkey-request-timeout': headerTextArb,
    'x-portkey-total-timeout': headerTextArb,
    'x-portkey-trace-id': headerTextArb,
    'x-portkey-stream-mode': fc.constantFrom('passthrough', 'buffered', 'BUFFERED', 'nope', ''),
    authorization: fc.oneof(fc.constant('Bearer sk-client-bearer-0000'), headerTextArb),
  },
  { requiredKeys: [] },
);

/** What a generated request varies: its body, its headers, its config, or all of them at once. */
type Vary = 'bodies' | 'headers' | 'configs' | 'mixed';

const VALID_CHAT = objectOf([['model', 'gpt-4o'], ['messages', [{ role: 'user', content: 'hi' }]]]);

function specArb(origins: readonly string[], vary: Vary): fc.Arbitrary<Spec> {
  // A valid config with one hostile part: the part, not the rest, decides the answer.
  const onePart = fc
    .tuple(
      fc.constantFrom<Record<string, unknown>>({ provider: 'openai' }, { virtual_key: 'vk-anthropic' }, { provider: 'azure-openai' }),
      fc.oneof(
        deepArb.map((deep) => ['override_params', objectOf([['metadata', deep]])] as const),
        customHostArb(origins).map((host) => ['custom_host', host] as const),
        fc.constantFrom('http://127.0.0.1%3A8080', 'http://127.0.0.1%3A8080/v1', 'http://[::1', 'http://a b/v1', 'http://127.0.0.1:99999/v1', 'http://%2F%2F/v1').map((host) => ['custom_host', host] as const),
        fc.tuple(fc.constantFrom(...EVIL_KEYS), oddValueArb),
        fc.tuple(fc.constantFrom('organization', 'anthropic_version', 'api_key', 'azure_ad_token', 'deployment_id', 'api_version'), oddStringArb),
      ),
      fc.boolean(),
    )
    .map(([leaf, part, nested]) => {
      const target = objectOf([...Object.entries(leaf), part]);
      return nested ? objectOf([['strategy', { mode: 'fallback' }], ['targets', [{ virtual_key: 'vk-openai', weight: 0 }, target]]]) : target;
    });
  const config = fc.oneof(
    { arbitrary: configArb({ origins }), weight: 9 },
    { arbitrary: onePart, weight: 3 },
    { arbitrary: wideConfigArb(), weight: 1 },
    { arbitrary: oddValueArb, weight: 1 },
    { arbitrary: fc.constantFrom('pc-saved', '__proto__', 'constructor', ''), weight: 1 },
  );
  const all = fc.record(
    {
      express: fc.constantFrom<0 | 1>(0, 1),
      method: fc.oneof({ arbitrary: fc.constant<'POST'>('POST'), weight: 20 }, { arbitrary: fc.constantFrom<WireRequest['method']>('GET', 'PUT', 'DELETE', 'PATCH'), weight: 1 }),
      path: pathArb,
      contentType: fc.oneof(
        { arbitrary: fc.constant('application/json'), weight: 20 },
        { arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/vnd.api+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16'), weight: 1 },
      ),
      gatewayKey: fc.oneof({ arbitrary: fc.constant(GATEWAY_KEY), weight: 20 }, { arbitrary: fc.option(headerTextArb, { nil: undefined }), weight: 1 }),
      headers: fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, { arbitrary: headersArb, weight: 2 }),
      body: bodyArb,
      legacyWrap: fc.oneof({ arbitrary: fc.constant(true), weight: 5 }, { arbitrary: fc.constant(false), weight: 1 }),
      config: fc.option(config, { nil: undefined, freq: 8 }),
      placement: fc.constantFrom<Placement>('header', 'body', 'body', 'header', 'none'),
      rawText: oneIn(
        12,
        fc.constantFrom('{', '{"messages":[}', 'not json', '', '[]', 'null', '"str"', '1e999', '{"a":1}{"b":2}', '\u0000', '{"messages": [{"role":"user","content":"\\ud800"}]}'),
      ),
      route: fc.nat(BODY_ROUTES.length - 1),
    },
    { requiredKeys: ['express', 'method', 'path', 'contentType', 'gatewayKey', 'headers', 'body', 'legacyWrap', 'placement', 'route'] },
  );
  if (vary === 'mixed') return all;
  // One thing varies; the rest is a valid chat request with a valid config.
  return all.map((spec): Spec => {
    const base: Spec = { express: spec.express, method: 'POST', path: '/v1/chat/completions', contentType: 'application/json', gatewayKey: GATEWAY_KEY, headers: { 'x-portkey-provider': 'openai' }, body: VALID_CHAT, legacyWrap: true, placement: 'none' };
    switch (vary) {
      case 'bodies':
        // Through each wire format: OpenAI, Anthropic (translated), Azure, and a failover.
        return { ...base, headers: BODY_ROUTES[spec.route ?? 0]!, path: spec.path, body: spec.body, legacyWrap: spec.legacyWrap, ...(spec.rawText !== undefined ? { rawText: spec.rawText } : {}) };
      case 'headers': {
        const h: Record<string, string | undefined> = spec.headers;
        const chosen = h['x-portkey-config'] !== undefined || h['x-portkey-fallback'] !== undefined || h['x-portkey-virtual-key'] !== undefined;
        return { ...base, headers: { ...spec.headers, ...(chosen ? {} : { 'x-portkey-provider': h['x-portkey-provider'] ?? 'openai' }) } };
      }
      case 'configs':
        return { ...base, headers: {}, config: spec.config ?? { provider: 'openai' }, placement: spec.placement === 'none' ? 'body' : spec.placement };
    }
  });
}

/** Largest config text put in a header (Node refuses request headers over 16 KB in all). */
const MAX_HEADER_CONFIG = 12_000;
/** What Node's HTTP client lets through in a header value (else the config goes in the body). */
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;

interface Built {
  readonly wire: WireRequest;
  readonly app: 0 | 1;
  /** The router will stream the answer (so the fakes must stream). */
  readonly stream: boolean;
  /** The request chose a custom_host somewhere: an upstream failure there is the client's doing. */
  readonly customHost: boolean;
}

function build(spec: Spec, traceId?: string): Built {
  const legacy = (LEGACY_PATHS as readonly string[]).includes(spec.path);
  const headers: Record<string, string> = { 'content-type': spec.contentType, ...spec.headers };
  if (spec.gatewayKey !== undefined) headers['x-portkey-api-key'] = spec.gatewayKey;
  if (traceId !== undefined) headers['x-portkey-trace-id'] = traceId;
  let body: unknown = spec.body;
  let placement = spec.placement;
  if (spec.config !== undefined && placement === 'header') {
    const text = typeof spec.config === 'string' ? spec.config : jsonHeader(spec.config);
    if (text.length <= MAX_HEADER_CONFIG && HEADER_SAFE.test(text)) headers['x-portkey-config'] = text;
    else placement = 'body';
  }
  if (legacy && spec.legacyWrap) {
    body = objectOf([...(spec.config !== undefined && placement === 'body' ? [['config', spec.config] as const] : []), ['params', body]]);
  } else if (spec.config !== undefined && placement === 'body' && isPlain(body)) {
    body = objectOf([...Object.entries(body), ['config', spec.config]]);
  }
  fitHeaders(headers);
  const text = spec.rawText ?? toJson(body);
  // Whether the router streams follows from what it parses: the text actually sent.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const params = legacy ? (isPlain(parsed) ? parsed.params : undefined) : parsed;
  const endpoint = spec.path.split('?')[0];
  const streamable = endpoint === '/v1/chat/completions' || endpoint === '/v1/completions' || endpoint === '/v1/chatComplete' || endpoint === '/v1/complete';
  const stream = streamable && isPlain(params) && params.stream === true;
  return {
    app: spec.express,
    wire: { method: spec.method, path: spec.path, headers, ...(spec.method === 'GET' ? {} : { body: text }) },
    stream,
    customHost: /custom_?host/i.test(text) || /custom_?host/i.test(headers['x-portkey-config'] ?? ''),
  };
}

/**
 * Node's HTTP server answers 431 itself (before any Express code) when the request's headers pass
 * 16 KB in all: halve the longest generated value until they fit in 12 KB.
 */
function fitHeaders(headers: Record<string, string>): void {
  const size = (): number => Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  while (size() > 12_000) {
    const [name, value] = Object.entries(headers).sort((a, b) => b[1].length - a[1].length)[0]!;
    headers[name] = value.slice(0, Math.floor(value.length / 2));
  }
}

/** The fakes answer 200: JSON, or their SSE stream when the router streams. */
function prepareFakes(stream: boolean): void {
  for (const fake of [openai, azure, anthropic]) {
    fake.reset();
    fake.always(stream ? { kind: 'stream' } : { kind: 'ok' });
  }
}

async function exchange(built: Built): Promise<Reply> {
  prepareFakes(built.stream);
  try {
    return await harness.send(built.app, built.wire);
  } catch (err) {
    throw new Error(`no answer: ${(err as Error).message}\nrequest: ${show(built)}`);
  }
}

function show(built: Built): string {
  const { wire } = built;
  return `${wire.method} ${wire.path} (express${built.app === 0 ? 5 : 4}${built.stream ? ', stream' : ''})\n  headers: ${clip(JSON.stringify(wire.headers), 800)}\n  body: ${clip(wire.body ?? '', 800)}`;
}

const UPSTREAM_FAILURES = new Set(['upstream_unreachable', 'invalid_upstream_response', 'stream_interrupted']);

/** A 5xx the healthy upstreams do not explain. */
function unexplained5xx(built: Built, reply: Reply): string | undefined {
  if (reply.status < 500) return undefined;
  const code = (reply.json as { error?: { code?: unknown } } | undefined)?.error?.code;
  if (reply.status === 503 && code === 'overloaded') return undefined;
  if (built.customHost && reply.status === 502 && typeof code === 'string' && UPSTREAM_FAILURES.has(code)) return undefined;
  return `status ${reply.status} ${clip(reply.text, 400)}`;
}

// ---------------------------------------------------------------------------------------------
// Properties (a), (b), (c)

const VARY: ReadonlyArray<readonly [Vary, string, number]> = [
  ['bodies', 'arbitrary JSON bodies on every endpoint', 1],
  ['headers', 'arbitrary x-portkey-* header values', 1],
  ['configs', 'configs generated from the config grammar', 1.3],
  ['mixed', 'everything at once', 1],
];

describe(`hostile requests, seed ${SEED}`, () => {
  const origins = (): string[] => [openai.origin, azure.origin, anthropic.origin];
  const arb = (vary: Vary): fc.Arbitrary<Spec> => fc.constant(null).chain(() => specArb(origins(), vary));

  for (const [i, [vary, what, weight]] of VARY.entries()) {
    const seed = SEED + 1 + i;
    test(`(a) ${what}: the router always answers, below 500 unless an upstream failure explains it (seed ${seed})`, async (t) => {
      const statuses = new Map<number, number>();
      await checkProperty(
        t,
        fc.asyncProperty(arb(vary), async (spec) => {
          const built = build(spec);
          const reply = await exchange(built);
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          const problem = unexplained5xx(built, reply);
          if (problem) throw new Error(`${problem}\nrequest: ${show(built)}`);
        }),
        runs(100 * weight),
        3_500,
        seed,
      );
      t.diagnostic(`answers by status (shrinking included): ${[...statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    });
  }

  for (const [i, [vary, what, weight]] of VARY.entries()) {
    const seed = SEED + 11 + i;
    test(`(b) ${what}: every error body has OpenAI's shape {error:{message,type,param,code}} (seed ${seed})`, async (t) => {
      await checkProperty(
        t,
        fc.asyncProperty(arb(vary), async (spec) => {
          const built = build(spec);
          const reply = await exchange(built);
          const problems = errorShapeProblems(reply.status, reply.json);
          if (problems.length > 0) throw new Error(`${problems.join('; ')}: status ${reply.status} ${clip(reply.text, 400)}\nrequest: ${show(built)}`);
        }),
        runs(60 * weight),
        2_000,
        seed,
      );
    });
  }

  test(`(c) no prototype pollution, whatever the request (seed ${SEED + 21})`, async (t) => {
    await checkProperty(
      t,
      fc.asyncProperty(fc.oneof(arb('configs'), arb('bodies'), arb('mixed')), async (spec) => {
        const built = build(spec);
        await exchange(built).catch(() => undefined); // (a) checks the answer; here only what it left behind
        await new Promise((resolve) => setImmediate(resolve)); // and what ran just after it (the trace)
        const found = pollution(snapshot);
        if (found.length > 0) throw new Error(`${found.join('; ')}\nrequest: ${show(built)}`);
      }),
      runs(150),
      3_000,
      SEED + 21,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Property (d): secrets in credential-bearing places

type SecretPlace =
  | 'header virtual-key'
  | 'header provider'
  | 'header provider + bearer'
  | 'header fallback'
  | 'header config id'
  | 'header gateway key'
  | 'config api_key'
  | 'config virtual_key'
  | 'config provider'
  | 'config azure_ad_token'
  | 'config custom_host userinfo'
  | 'legacy options apiKey'
  | 'body config id';

const SECRET_PLACES: readonly SecretPlace[] = [
  'header virtual-key',
  'header provider',
  'header provider + bearer',
  'header fallback',
  'header config id',
  'header gateway key',
  'config api_key',
  'config virtual_key',
  'config provider',
  'config azure_ad_token',
  'config custom_host userinfo',
  'legacy options apiKey',
  'body config id',
];

interface SecretCase {
  readonly place: SecretPlace;
  readonly secret: string;
  readonly spec: Spec;
  /** Something else in the config to be wrong (or nothing): where the message might quote it. */
  readonly noise: readonly (readonly [string, unknown])[];
}

/** Puts the secret in its place on top of a generated request. */
function placeSecret(c: SecretCase, origins: readonly string[]): Spec {
  const s = c.secret;
  const base: Spec = { ...c.spec, gatewayKey: GATEWAY_KEY, headers: {}, config: undefined, placement: 'none', rawText: undefined, method: 'POST' };
  const cfg = (node: Record<string, unknown>, placement: Placement = 'header'): Spec => ({ ...base, config: objectOf([...Object.entries(node), ...c.noise]), placement });
  const nested = (leaf: Record<string, unknown>): Record<string, unknown> => ({ strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'vk-openai' }, leaf] });
  switch (c.place) {
    case 'header virtual-key':
      return { ...base, headers: { 'x-portkey-virtual-key': s } };
    case 'header provider':
      return { ...base, headers: { 'x-portkey-provider': s } };
    case 'header provider + bearer':
      return { ...base, headers: { 'x-portkey-provider': c.noise.length > 0 ? 'nope' : 'openai', authorization: `Bearer ${s}` } };
    case 'header fallback':
      return { ...base, headers: { 'x-portkey-fallback': `openai,${s}` } };
    case 'header config id':
      return { ...base, headers: { 'x-portkey-config': s } };
    case 'header gateway key':
      return { ...base, gatewayKey: s };
    case 'config api_key':
      return cfg(nested({ provider: 'openai', api_key: s }));
    case 'config virtual_key':
      return cfg(nested({ virtual_key: s }), 'body');
    case 'config provider':
      return cfg(nested({ provider: s, api_key: 'sk-client-key-0000' }));
    case 'config azure_ad_token':
      return cfg(nested({ provider: 'azure-openai', azure_ad_token: s }), 'body');
    case 'config custom_host userinfo': {
      const origin = new URL(origins[0]!);
      return cfg({ provider: 'openai', api_key: 'sk-client-key-0000', custom_host: `http://user:${s}@${origin.host}/v1` });
    }
    case 'legacy options apiKey':
      return { ...base, path: '/v1/chatComplete', legacyWrap: true, placement: 'body', config: objectOf([['mode', 'fallback'], ['options', [{ provider: 'openai', apiKey: s }, { provider: 'anthropic', apiKey: s }]], ...c.noise]) };
    case 'body config id':
      return { ...base, placement: 'body', config: s };
  }
}

const NOISE = fc.oneof(
  { arbitrary: fc.constant([] as Array<readonly [string, unknown]>), weight: 3 },
  {
    arbitrary: fc.constantFrom<Array<readonly [string, unknown]>>(
      [['retry', { attempts: 9 }]],
      [['request_timeout', -1]],
      [['foo', 'bar']],
      [['__proto__', { polluted: 'yes' }]],
      [['custom_host', 'http://10.1.2.3:9/v1']],
      [['custom_host', 'http://169.254.169.254/v1']],
      [['strategy', { mode: 'nope' }]],
    ),
    weight: 2,
  },
);

describe(`secrets are never echoed or stored, seed ${SEED}`, () => {
  const everySecret = new Set<string>();
  let n = 0;

  /** Sends one case; throws naming where a secret showed up. */
  async function check(c: SecretCase, origins: readonly string[]): Promise<void> {
    everySecret.add(c.secret);
    const traceId = `prop-d-${++n}`;
    const built = build(placeSecret(c, origins), traceId);
    const linesBefore = harness.logLines.length;
    const reply = await exchange(built);
    // Only requests that reached the handler (it sets the trace id header) leave a trace.
    const trace = reply.headers['x-portkey-trace-id'] === traceId ? await harness.traceText(built.app, traceId, GATEWAY_KEY) : undefined;
    const written: Array<[string, string]> = [
      ['response body', reply.text],
      ['response headers', JSON.stringify(reply.headers)],
      ['GET /v1/logs/:traceId', trace ?? ''],
      ['log lines', harness.logLines.slice(linesBefore).join('\n')],
    ];
    const secrets: Array<[string, string]> = [[`the client's ${c.place}`, c.secret], ...Object.entries(SERVER_SECRETS).map(([k, v]) => [`server-side ${k}`, v] as [string, string])];
    for (const [what, secret] of secrets) {
      for (const [where, text] of written) {
        if (leaks(text, secret)) {
          throw new Error(`${what} appears in the ${where} (status ${reply.status}): ${clip(excerpt(text, secret), 500)}\nrequest: ${show(built)}`);
        }
      }
    }
  }

  for (const [i, place] of SECRET_PLACES.entries()) {
    const seed = SEED + 31 + i;
    test(`(d) a key-like value in ${place} appears in no response, GET /v1/logs or log line (seed ${seed})`, async (t) => {
      const origins = [openai.origin, azure.origin, anthropic.origin];
      const caseArb: fc.Arbitrary<SecretCase> = fc.record({
        place: fc.constant(place),
        secret: secretArb,
        spec: specArb(origins, 'configs'),
        noise: NOISE,
      });
      await checkProperty(t, fc.asyncProperty(caseArb, (c) => check(c, origins)), runs(20), 1_000, seed);
    });
  }

  test(`(d) no generated or server-side key anywhere in GET /v1/logs?limit=500 (seeds ${SEED + 31}-${SEED + 30 + SECRET_PLACES.length})`, async () => {
    const found = new Map<string, string>();
    for (const app of [0, 1] as const) {
      const res = await harness.send(app, { method: 'GET', path: '/v1/logs?limit=500', headers: { 'x-portkey-api-key': GATEWAY_KEY } });
      for (const secret of leakedAmong(res.text, [...everySecret, ...Object.values(SERVER_SECRETS)])) {
        const around = excerpt(res.text, secret);
        const message = /"message":"((?:[^"\\]|\\.){0,160})/.exec(around)?.[1] ?? clip(around, 200);
        found.set(message.replace(/sk-[\w-]*?LEAK\w+|[\w.-]*SERVERSIDE[\w.-]*/g, '<KEY>').slice(0, 90), secret);
      }
    }
    if (found.size > 0) throw new Error(`generated or server-side keys are stored in the traces, in ${found.size} kinds of message:\n${[...found.keys()].slice(0, 20).join('\n')}`);
  });
});

/** The text around the first 16-character piece of `secret` found in `text`. */
function excerpt(text: string, secret: string): string {
  for (let i = 0; i + 16 <= secret.length; i++) {
    const at = text.indexOf(secret.slice(i, i + 16));
    if (at >= 0) return text.slice(Math.max(0, at - 150), at + 150);
  }
  return text.slice(0, 300);
}

