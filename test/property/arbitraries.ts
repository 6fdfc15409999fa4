/**
 * Generators shared by the property-based tests (test/property/*.test.ts): hostile JSON values,
 * request bodies, header values and configs generated from the config grammar (SPEC §3), the
 * serialisation that sends them exactly as generated (own `__proto__` keys included, nesting
 * deeper than JSON.stringify can take), and the checks the properties share.
 *
 * Every generated value is plain data, so fast-check prints a shrunk counterexample readably.
 */
import fc from 'fast-check';

/** The one seed every property runs with; printed in each test's name. */
export const SEED = 20_251_110;

/** Keys that have broken JavaScript code before. */
export const EVIL_KEYS = ['__proto__', 'constructor', 'prototype', 'polluted', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'] as const;

/** A JSON fragment kept as text: nesting too deep for a recursive serialiser. */
export class RawJson {
  constructor(
    readonly text: string,
    readonly label: string,
  ) {}
  [fc.toStringMethod](): string {
    return this.label;
  }
}

/** `depth` levels of nested arrays or objects, as JSON text. */
export function deepJson(depth: number, kind: 'array' | 'object'): RawJson {
  const text = kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return new RawJson(text, `deep(${kind}, ${depth})`);
}

export function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RawJson);
}

/**
 * `arb` one time in `n`, else undefined (fc.option's `freq` is the other way round: nil one
 * time in `freq`).
 */
export function oneIn<T>(n: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: n - 1 }, { arbitrary: arb, weight: 1 });
}

/** An object whose keys are all own, enumerable properties (`__proto__` too). */
export function objectOf(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** JSON text of a generated value: own enumerable keys (`__proto__` included), RawJson inlined. */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${toJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** JSON text safe for an HTTP header: every character outside printable ASCII escaped. */
export function asciiJson(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---------------------------------------------------------------------------------------------
// Values

const ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];

/**
 * A value that looks like a provider key (`sk-...`). The `LEAK` marker and 24+ random characters
 * make any 16-character window of it distinctive enough to search for.
 */
export const secretArb: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('sk-', 'sk-proj-', 'sk-ant-api03-'), fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 24, maxLength: 40 }))
  .map(([prefix, body]) => `${prefix}LEAK${body}`);

/** True when `text` holds `secret`, or any 16 consecutive characters of it. */
export function leaks(text: string, secret: string): boolean {
  const window = 16;
  if (secret.length <= window) return text.includes(secret);
  for (let i = 0; i + window <= secret.length; i++) if (text.includes(secret.slice(i, i + window))) return true;
  return false;
}

/**
 * Which of `secrets` a large `text` holds (as {@link leaks} decides), fast: the text's runs of
 * key-like characters are collected once, then each 16-character window of each secret is looked
 * up in them.
 */
export function leakedAmong(text: string, secrets: Iterable<string>): string[] {
  const window = 16;
  const windows = new Map<string, string>();
  for (const secret of secrets) {
    if (secret.length <= window) windows.set(secret, secret);
    else for (let i = 0; i + window <= secret.length; i++) windows.set(secret.slice(i, i + window), secret);
  }
  const found = new Set<string>();
  for (const token of new Set(text.match(/[A-Za-z0-9_.+/=-]{16,}/g) ?? [])) {
    for (let i = 0; i + window <= token.length; i++) {
      const secret = windows.get(token.slice(i, i + window));
      if (secret !== undefined) found.add(secret);
    }
  }
  return [...found];
}

const ODD_STRINGS = [
  '',
  ' ',
  '\r\n',
  'a\r\nx-evil: 1',
  '\u0000',
  'a\u0001b\u007f',
  '\t',
  '__proto__',
  'constructor',
  '{{#label}}',
  '%s%s%n',
  '${process.exit(1)}',
  '\ud800',
  'é',
  '🙂',
  'null',
  'NaN',
  '../../etc/passwd',
  'http://169.254.169.254/latest/meta-data/',
] as const;

/** Strings with control characters, lone surrogates, emoji, format strings... */
export const oddStringArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 16 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 16 }), weight: 2 },
  { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 3 },
  { arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
);

const oddNumberArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -1, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 32, 0.5, 3_600_001),
);

/** A key of a generated object: ordinary, odd, or one of EVIL_KEYS. */
export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...EVIL_KEYS), weight: 2 },
  { arbitrary: fc.constantFrom('model', 'messages', 'stream', 'config', 'max_tokens', 'tools', 'n', 'system', 'stream_options', 'role', 'content'), weight: 2 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 2 },
);

/** Nesting deeper than any sane body or config (JSON text up to ~24 KB). */
export const deepArb: fc.Arbitrary<RawJson> = fc
  .tuple(
    // Any depth, and the depths where limits and recursive code tend to break.
    fc.oneof(fc.integer({ min: 1, max: 12_000 }), fc.constantFrom(33, 65, 129, 1_000, 3_500, 4_000, 4_500, 6_000, 10_000)),
    fc.constantFrom<'array' | 'object'>('array', 'object'),
  )
  .map(([depth, kind]) => deepJson(depth, kind));

/** Any JSON value, with odd keys and values (extreme nesting comes from {@link deepArb}, placed where it matters). */
export const oddValueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: oddStringArb, weight: 4 },
    { arbitrary: oddNumberArb, weight: 2 },
    { arbitrary: fc.boolean(), weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.array(tie('value'), { maxLength: 4 }), weight: 2 },
    { arbitrary: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 4 }).map(objectOf), weight: 2 },
    { arbitrary: fc.constant(objectOf([['polluted', 'yes']])), weight: 1 },
  ),
})).value;

// ---------------------------------------------------------------------------------------------
// Configs (SPEC §3): nested strategy + targets, the legacy mode + options, camelCase keys

/** Every built-in provider (each is configured in the tests' routers, pointing at a fake). */
export const BUILTIN_PROVIDERS = [
  'openai',
  'azure-openai',
  'anthropic',
  'groq',
  'mistral-ai',
  'together-ai',
  'deepseek',
  'fireworks-ai',
  'x-ai',
  'perplexity-ai',
  'openrouter',
  'ollama',
  'openai-compatible',
] as const;

export const providerNameArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('openai', 'anthropic', 'azure-openai', 'azure_openai'), weight: 6 },
  { arbitrary: fc.constantFrom(...BUILTIN_PROVIDERS), weight: 2 },
  { arbitrary: fc.constantFrom('OpenAI', ' openai ', 'nope', 'google', ...EVIL_KEYS), weight: 1 },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);

/** The virtual keys the tests' routers define. */
export const VIRTUAL_KEYS = ['vk-openai', 'vk-anthropic', 'vk-azure'] as const;

export const virtualKeyArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...VIRTUAL_KEYS), weight: 4 },
  { arbitrary: fc.constantFrom('nope', ...EVIL_KEYS), weight: 1 },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);

const statusCodeArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(429, 500, 502, 503, 504, '5xx', '4XX', 'abc', 0, 99, 600, -1, 429.5, '429'),
  fc.integer({ min: 0, max: 700 }),
);

const millisArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 50 }), weight: 1 },
  { arbitrary: fc.integer({ min: 1_000, max: 3_600_000 }), weight: 3 },
  { arbitrary: fc.constantFrom(0, -1, 1.5, 3_600_001, 1e308, '100', null, true), weight: 1 },
);

const retryArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      attempts: fc.oneof(fc.integer({ min: -1, max: 7 }), fc.constantFrom('2', 1.5, null)),
      on_status_codes: fc.array(statusCodeArb, { maxLength: 5 }),
      use_retry_after_header: fc.oneof(fc.boolean(), fc.constantFrom('yes', 1)),
    },
    { requiredKeys: [] },
  ),
  oddValueArb,
);

const strategyArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.record(
    {
      mode: fc.oneof({ arbitrary: fc.constantFrom('fallback', 'loadbalance', 'single'), weight: 8 }, { arbitrary: fc.constantFrom('Fallback', '', 'hedge', '__proto__'), weight: 1 }),
      on_status_codes: fc.array(statusCodeArb, { maxLength: 5 }),
      on_errors: fc.array(fc.constantFrom('rate_limit', 'server', 'timeout', 'network', 'auth', 'context_length_exceeded', 'nope', '__proto__'), { maxLength: 4 }),
      cb_config: fc.record(
        { failure_threshold: fc.integer({ min: -1, max: 1001 }), minimum_requests: fc.integer({ min: 0, max: 10 }), window_ms: millisArb, cooldown_ms: millisArb },
        { requiredKeys: [] },
      ),
      hedge_after_ms: millisArb,
    },
    { requiredKeys: ['mode'] },
  ), weight: 6 },
  { arbitrary: oddValueArb, weight: 1 },
);

/** One origin (`http://127.0.0.1:PORT`) spelt in the ways a URL parser may or may not unify. */
export function hostForms(origin: string): string[] {
  const port = new URL(origin).port;
  return [
    origin,
    `${origin}/v1`,
    `${origin}/v1/`,
    `${origin}//v1`,
    `${origin}/v1?x=1`,
    `${origin}/v1#frag`,
    `${origin}/v1/../v1`,
    `${origin}/%2e%2e/v1`,
    `http://localhost:${port}/v1`,
    `http://127.1:${port}/v1`,
    `http://2130706433:${port}/v1`,
    `http://0x7f000001:${port}/v1`,
    `http://[::ffff:127.0.0.1]:${port}/v1`,
    `http://user:pass@127.0.0.1:${port}/v1`,
    `HTTP://127.0.0.1:${port}/v1`,
    `http://127.0.0.1%3A${port}`,
    `http://127.0.0.1:${port}\\v1`,
  ];
}

/**
 * A `custom_host` string: forms of `origins`, paths of any shape under them, link-local and
 * metadata hosts, malformed URLs and random text. Never a host on the internet (no DNS name but
 * `localhost` and the metadata names, which the router must refuse).
 */
export function customHostArb(origins: readonly string[]): fc.Arbitrary<string> {
  const forms = origins.flatMap(hostForms);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...forms), weight: 6 },
    { arbitrary: fc.tuple(fc.constantFrom(...origins), fc.webPath(), fc.option(fc.webQueryParameters(), { nil: undefined })).map(([o, path, q]) => `${o}${path}${q === undefined ? '' : `?${q}`}`), weight: 1 },
    { arbitrary: fc.constantFrom(...LINK_LOCAL_HOSTS), weight: 2 },
    { arbitrary: fc.constantFrom('http://127.0.0.1:1/v1', 'ftp://example.com', 'javascript:alert(1)', 'http://', 'http:///v1', '//evil', 'not a url', 'http://a b', 'http://[::1', 'http://127.0.0.1:99999'), weight: 2 },
    { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
  );
}

/** Link-local and cloud-metadata hosts, in several spellings (refused unless allowlisted). */
export const LINK_LOCAL_HOSTS = [
  'http://169.254.169.254',
  'http://169.254.169.254/latest/meta-data/',
  'http://169.254.169.254:80/v1',
  'https://169.254.169.254/v1',
  'http://169.254.170.2/v2/credentials',
  'http://169.254.1.1/v1',
  'http://169.254.169.254./v1',
  'http://user@169.254.169.254/v1',
  'http://0xa9fea9fe/v1',
  'http://2852039166/v1',
  'http://0251.0376.0251.0376/v1',
  'http://169.254.43518/v1',
  'http://[::ffff:169.254.169.254]/v1',
  'http://[::ffff:a9fe:a9fe]/v1',
  'http://[fe80::1]/v1',
  'http://[fe80::a9fe:a9fe]:8080/v1',
  'http://[fd00:ec2::254]/latest',
  'http://metadata.google.internal/computeMetadata/v1',
  'http://METADATA.google.internal/v1',
  'http://metadata.google.internal./v1',
  'http://metadata.google.internal:80/v1',
] as const;

const headerNameArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('x-foo', 'x-request-id', 'authorization', 'cookie', 'x-portkey-config', 'host', 'content-length', 'x-api-key', 'bad header', '', '__proto__'),
  fc.string({ maxLength: 8 }),
);

/** Provider settings and camelCase spellings a target may hold (valid, invalid, misplaced). */
const settingArb: fc.Arbitrary<readonly [string, unknown]> = fc.oneof(
  fc.tuple(fc.constantFrom('organization', 'openai_organization', 'project', 'openai_project', 'resource_name', 'deployment_id', 'api_version', 'anthropic_version', 'azure_ad_token', 'anthropic_beta'), fc.oneof(oddStringArb, oddValueArb)),
  fc.tuple(fc.constantFrom('stream_mode', 'streamMode'), fc.constantFrom('passthrough', 'buffered', 'nope')),
  fc.tuple(fc.constantFrom('stream_recovery', 'supports_prefill', 'stream_idle_timeout', 'weight'), oddValueArb),
  fc.tuple(fc.constantFrom('apiKey', 'virtualKey', 'overrideParams', 'requestTimeout', 'customHost', 'baseURL', 'base_url', 'headers', 'foo'), oddValueArb),
  fc.tuple(keyArb, oddValueArb),
);

export interface ConfigArbOptions {
  /** Origins (of fake upstreams) the custom_host generator spells in many ways. */
  readonly origins: readonly string[];
  /** A generator of `api_key` values (client keys). */
  readonly apiKey?: fc.Arbitrary<string>;
  /** Nesting depth of targets. @default 3 */
  readonly maxDepth?: number;
}

/** `override_params`: request parameters with deep and odd values and odd keys. */
export const overrideParamsArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.array(fc.tuple(keyArb, oddValueArb), { maxLength: 4 }).map(objectOf), weight: 5 },
  { arbitrary: fc.constantFrom(objectOf([['model', 'gpt-4o-mini']]), objectOf([['model', 'claude-3-5-sonnet-20240620'], ['max_tokens', 5]])), weight: 3 },
  { arbitrary: fc.tuple(keyArb, deepArb).map(([k, v]) => objectOf([[k, v]])), weight: 1 },
  { arbitrary: oddValueArb, weight: 1 },
);

/** A config from the grammar of SPEC §3, with every field optional and each one sometimes wrong. */
export function configArb(options: ConfigArbOptions): fc.Arbitrary<Record<string, unknown>> {
  const apiKey = options.apiKey ?? fc.oneof(fc.constant('sk-client-key-0000'), oddStringArb);
  const host = customHostArb(options.origins);
  const common = {
    override_params: overrideParamsArb,
    retry: retryArb,
    request_timeout: millisArb,
    total_timeout: millisArb,
    custom_host: fc.oneof({ arbitrary: host, weight: 5 }, { arbitrary: oddValueArb, weight: 1 }),
    forward_headers: fc.oneof(fc.array(headerNameArb, { maxLength: 3 }), oddValueArb),
    weight: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(-1, 1e7, '1', null)),
    stream_mode: fc.constantFrom('passthrough', 'buffered', 'nope'),
  };
  const pickCommon = fc.record(common, { requiredKeys: [] });
  const extras = fc.array(settingArb, { maxLength: 2 });
  const maxDepth = options.maxDepth ?? 3;

  const leaf: fc.Arbitrary<Record<string, unknown>> = fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.record({ provider: providerNameArb, api_key: apiKey }, { requiredKeys: ['provider'] }), weight: 5 },
        { arbitrary: fc.record({ virtual_key: virtualKeyArb }), weight: 3 },
        { arbitrary: fc.record({ provider: providerNameArb, virtual_key: virtualKeyArb, api_key: apiKey }, { requiredKeys: [] }), weight: 1 },
      ),
      fc.option(pickCommon, { nil: undefined, freq: 2 }),
      oneIn(3, extras),
      fc.boolean(),
    )
    .map(([who, common, extra, camel]) => {
      const entries: Array<readonly [string, unknown]> = [...Object.entries(who), ...Object.entries(common ?? {}), ...(extra ?? [])];
      return objectOf(camel ? entries.map(([k, v]) => [camelCase(k), v] as const) : entries);
    });

  const node = (depth: number): fc.Arbitrary<Record<string, unknown>> => {
    if (depth >= maxDepth) return leaf;
    const group = fc
      .tuple(
        fc.boolean(),
        strategyArb,
        fc.array(node(depth + 1), { minLength: 0, maxLength: 4 }),
        fc.option(pickCommon, { nil: undefined, freq: 2 }),
        oneIn(6, fc.array(settingArb, { maxLength: 1 })),
      )
      .map(([legacy, strategy, children, common, extra]) => {
        const mode = strategy !== null && typeof strategy === 'object' && 'mode' in strategy ? (strategy as { mode: unknown }).mode : strategy;
        const head: Array<readonly [string, unknown]> = legacy ? [['mode', mode], ['options', children]] : [['strategy', strategy], ['targets', children]];
        return objectOf([...head, ...Object.entries(common ?? {}), ...(extra ?? [])]);
      });
    return fc.oneof({ arbitrary: leaf, weight: 1 }, { arbitrary: group, weight: depth === 0 ? 3 : 1 });
  };
  return node(0);
}

/** Many targets, nested: what item 4 of the hardening issue says a config may not hold. */
export function wideConfigArb(): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 5 }), fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }))
    .map(([outer, inner, attempts, hedge]) =>
      objectOf([
        ['strategy', hedge === undefined ? { mode: 'fallback' } : { mode: 'fallback', hedge_after_ms: hedge }],
        ['retry', { attempts }],
        ['targets', Array.from({ length: outer }, () => ({ strategy: { mode: 'fallback' }, targets: Array.from({ length: inner }, () => ({ virtual_key: 'vk-openai' })) }))],
      ]),
    );
}

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

// ---------------------------------------------------------------------------------------------
// Bodies

/** `valid` most of the time, `odd` now and then. */
function mostly<T>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<unknown> = oddValueArb, weight = 6): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight }, { arbitrary: odd, weight: 1 });
}

const roleArb = mostly(fc.constantFrom('user', 'user', 'system', 'assistant', 'tool', 'developer', 'function'));

const contentArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 30 }), weight: 4 },
  { arbitrary: oddStringArb, weight: 1 },
  {
    arbitrary: fc.array(
      fc.oneof(
        { arbitrary: fc.record({ type: fc.constant('text'), text: oddStringArb }), weight: 4 },
        { arbitrary: fc.record({ type: fc.constant('image_url'), image_url: mostly(fc.record({ url: fc.constantFrom('data:image/png;base64,AAAA', 'https://example.com/a.png', 'data:,', 'file:///etc/passwd') })) }), weight: 2 },
        { arbitrary: fc.record({ type: oddStringArb }, { requiredKeys: [] }), weight: 1 },
      ),
      { maxLength: 3 },
    ),
    weight: 2,
  },
  { arbitrary: oddValueArb, weight: 1 },
);

const messageArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.record({ role: roleArb, content: contentArb }, { requiredKeys: ['role'] }), weight: 8 },
  {
    arbitrary: fc.record({
      role: fc.constant('assistant'),
      content: fc.oneof(fc.constant(null), fc.string({ maxLength: 5 })),
      tool_calls: mostly(fc.array(fc.record({ id: oddStringArb, type: fc.constant('function'), function: fc.record({ name: oddStringArb, arguments: oddStringArb }) }), { maxLength: 2 })),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ role: fc.constant('tool'), tool_call_id: oddStringArb, content: contentArb }, { requiredKeys: ['role'] }), weight: 1 },
  { arbitrary: oddValueArb, weight: 1 },
);

/** The body of an OpenAI-format request: nearly valid most of the time, anything now and then. */
export const bodyArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc
      .tuple(
        fc.record(
          {
            model: mostly(fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet-20240620')),
            messages: mostly(fc.array(messageArb, { minLength: 1, maxLength: 4 }), oddValueArb, 8),
            prompt: mostly(fc.string({ maxLength: 20 })),
            input: mostly(fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }))),
            stream: mostly(fc.boolean()),
            stream_options: mostly(fc.record({ include_usage: fc.boolean() })),
            max_tokens: mostly(fc.integer({ min: -1, max: 100_000 })),
            temperature: mostly(fc.double({ min: 0, max: 2, noNaN: true })),
            tools: mostly(fc.array(fc.record({ type: fc.constant('function'), function: fc.record({ name: oddStringArb, description: oddStringArb, parameters: oddValueArb }, { requiredKeys: ['name'] }) }), { maxLength: 2 })),
            tool_choice: mostly(fc.constantFrom('auto', 'none', 'required')),
            stop: mostly(fc.oneof(fc.string({ maxLength: 5 }), fc.array(oddStringArb, { maxLength: 5 }))),
            n: mostly(fc.integer({ min: -1, max: 5 })),
          },
          { requiredKeys: ['messages'] },
        ),
        fc.option(fc.array(fc.tuple(keyArb, oddValueArb), { minLength: 1, maxLength: 2 }), { nil: [], freq: 2 }),
      )
      .map(([known, extra]) => objectOf([...Object.entries(known), ...extra])),
    weight: 8,
  },
  { arbitrary: fc.array(fc.tuple(keyArb, oddValueArb), { maxLength: 5 }).map(objectOf), weight: 1 },
  { arbitrary: oddValueArb, weight: 1 },
  {
    arbitrary: deepArb.map((deep) => objectOf([['model', 'gpt-4o'], ['messages', [{ role: 'user', content: deep }]]])),
    weight: 1,
  },
  { arbitrary: deepArb.map((deep) => objectOf([['messages', [{ role: 'user', content: 'hi' }]], ['metadata', deep]])), weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// Header values

/** Characters Node's HTTP client lets through in a header value. */
const headerCharArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), weight: 10 },
  { arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), weight: 1 },
  { arbitrary: fc.constant('\t'), weight: 1 },
);

/** Any value an HTTP client can send in a header. */
export const headerTextArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: headerCharArb, maxLength: 40 }), weight: 4 },
  { arbitrary: fc.constantFrom('', ' ', '\t', '0', '-1', '1', '3600000', '3600001', '1e3', '0x10', '12.5', ' 100 ', '99999999', 'null', 'true', '[]', '{}', '{', '"x"', '[1]', '{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}'), weight: 3 },
  { arbitrary: fc.constantFrom('openai', 'anthropic', 'azure_openai', 'openai,anthropic', 'openai,,anthropic', ',', 'openai, anthropic ,azure-openai', 'vk-openai', 'pc-saved', '__proto__', 'constructor', 'toString'), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 8_000 }).map((n) => 'a'.repeat(n)), weight: 1 },
  { arbitrary: fc.array(fc.constantFrom('openai', 'anthropic', 'groq', 'nope'), { minLength: 1, maxLength: 80 }).map((names) => names.join(',')), weight: 1 },
);

/** A JSON value as a header value (every non-ASCII character escaped). */
export function jsonHeader(value: unknown): string {
  return asciiJson(toJson(value));
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Problems with an error body, or [] when it has OpenAI's shape. */
export function errorShapeProblems(status: number, body: unknown): string[] {
  if (status < 400) return [];
  const problems: string[] = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [`error body is not a JSON object`];
  const error = (body as { error?: unknown }).error;
  if (error === null || typeof error !== 'object' || Array.isArray(error)) return ['error body has no "error" object'];
  const e = error as Record<string, unknown>;
  if (typeof e.message !== 'string') problems.push('error.message is not a string');
  if (typeof e.type !== 'string') problems.push('error.type is not a string');
  if (!('param' in e) || !(e.param === null || typeof e.param === 'string')) problems.push('error.param is missing or neither a string nor null');
  if (!('code' in e) || !(e.code === null || typeof e.code === 'string')) problems.push('error.code is missing or neither a string nor null');
  return problems;
}

const PROTOTYPES: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

/** The own keys of the built-in prototypes, to compare against after each run. */
export function prototypeSnapshot(): Map<string, Set<string | symbol>> {
  return new Map(PROTOTYPES.map(([name, proto]) => [name, new Set(Reflect.ownKeys(proto))]));
}

/**
 * What was added to the built-in prototypes since `snapshot` (and `({}).polluted`), as messages;
 * the additions are removed again so one polluting run does not fail every later one.
 */
export function pollution(snapshot: Map<string, Set<string | symbol>>): string[] {
  const found: string[] = [];
  if (({} as Record<string, unknown>).polluted !== undefined) found.push(`({}).polluted is ${String(({} as Record<string, unknown>).polluted)}`);
  for (const [name, proto] of PROTOTYPES) {
    const before = snapshot.get(name)!;
    for (const key of Reflect.ownKeys(proto)) {
      if (before.has(key)) continue;
      found.push(`${name} gained ${String(key)}`);
      Reflect.deleteProperty(proto, key);
    }
  }
  return found;
}

/** At most `n` characters of `text`, for messages. */
export function clip(text: string, n = 600): string {
  return text.length <= n ? text : `${text.slice(0, n)}... (${text.length} chars)`;
}
