/**
 * Property-based many-tenant abuse (SPEC §10, hardening issue #10 items 4 and 5): what one client
 * does must not cost the others.
 *
 *   (l) a sequence of abusive requests (a client-chosen `request_timeout` or total timeout of a
 *       few ms, its own `cb_config` with a threshold of 1, bodies that cannot be serialised)
 *       against a healthy provider never opens the breaker that other clients share: the next
 *       ordinary request is served by that provider, first try;
 *   (m) however a config multiplies work (many targets, nesting, retries against
 *       `retry-after-ms: 0`, hedges), one request causes at most `maxAttemptsPerRequest` upstream
 *       calls, and is answered.
 *
 * Fixed seeds (in the test names), bounded runs and time. PROPERTY_RUNS scales the run counts.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { SEED, clip, deepJson, errorShapeProblems, jsonHeader, toJson } from './arbitraries.js';
import { checkProperty, startHarness, type Harness, type WireRequest } from './harness.js';

const SCALE = Number(process.env.PROPERTY_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

const GATEWAY_KEY = 'gw-tenants-key';
const MAX_ATTEMPTS = 7;
const BREAKER = { failureThreshold: 3, minimumRequests: 3, windowMs: 60_000, cooldownMs: 60_000 };

let openai: Fake;
let anthropic: Fake;
let failing: Fake;
let harness: Harness;

before(async () => {
  [openai, anthropic, failing] = await Promise.all([startFake('openai'), startFake('anthropic'), startFake('openai', 'failing')]);
  harness = await startHarness({
    providers: {
      openai: { apiKey: 'sk-tenants-openai', baseURL: openai.baseURL },
      anthropic: { apiKey: 'sk-ant-tenants', baseURL: anthropic.baseURL },
      // Every call to this one fails at once with a 503 asking for an immediate retry.
      'openai-compatible': { baseURL: failing.baseURL },
    },
    virtualKeys: { 'vk-failing': { provider: 'openai-compatible', baseURL: failing.baseURL } },
    auth: { apiKeys: [GATEWAY_KEY] },
    circuitBreaker: BREAKER,
    maxAttemptsPerRequest: MAX_ATTEMPTS,
  });
});

after(async () => {
  await harness.close();
  await Promise.all([openai.close(), anthropic.close(), failing.close()]);
});

function chat(headers: Record<string, string>, body: string): WireRequest {
  return { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'x-portkey-api-key': GATEWAY_KEY, ...headers }, body };
}

const bodyFor = (model: string, extra = ''): string => `{"model":${JSON.stringify(model)},"max_tokens":5,"messages":[{"role":"user","content":"hi"}]${extra}}`;

type Abuse =
  | { kind: 'config request_timeout'; ms: number }
  | { kind: 'header request_timeout'; ms: number }
  | { kind: 'total_timeout'; ms: number }
  | { kind: 'own cb_config'; ms: number }
  | { kind: 'unserialisable body'; depth: number }
  | { kind: 'hedged short timeouts'; ms: number };

const abuseArb: fc.Arbitrary<Abuse> = fc.oneof(
  fc.record({ kind: fc.constant('config request_timeout' as const), ms: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('header request_timeout' as const), ms: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('total_timeout' as const), ms: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('own cb_config' as const), ms: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('unserialisable body' as const), depth: fc.constantFrom(5_000, 10_000, 50_000) }),
  fc.record({ kind: fc.constant('hedged short timeouts' as const), ms: fc.integer({ min: 1, max: 5 }) }),
);

/** One abusive request against provider openai and `model`. */
function abusive(a: Abuse, model: string): WireRequest {
  const openaiTarget = { provider: 'openai' };
  switch (a.kind) {
    case 'config request_timeout':
      return chat({ 'x-portkey-config': JSON.stringify({ ...openaiTarget, request_timeout: a.ms }) }, bodyFor(model));
    case 'header request_timeout':
      return chat({ 'x-portkey-provider': 'openai', 'x-portkey-request-timeout': String(a.ms) }, bodyFor(model));
    case 'total_timeout':
      return chat({ 'x-portkey-config': JSON.stringify({ ...openaiTarget, total_timeout: a.ms }) }, bodyFor(model));
    case 'own cb_config':
      return chat(
        { 'x-portkey-config': JSON.stringify({ strategy: { mode: 'fallback', cb_config: { failure_threshold: 1, minimum_requests: 1, cooldown_ms: 3_600_000 } }, targets: [{ ...openaiTarget, request_timeout: a.ms }] }) },
        bodyFor(model),
      );
    case 'unserialisable body':
      return chat({ 'x-portkey-provider': 'openai' }, bodyFor(model, `,"metadata":${deepJson(a.depth, 'array').text}`));
    case 'hedged short timeouts':
      return chat(
        { 'x-portkey-config': JSON.stringify({ strategy: { mode: 'fallback', hedge_after_ms: 1 }, request_timeout: a.ms, targets: [openaiTarget, openaiTarget, openaiTarget] }) },
        bodyFor(model),
      );
  }
}

describe(`many tenants on one router, seed ${SEED}`, () => {
  test(`(l) no sequence of one client's abusive requests opens the breaker other clients share (seed ${SEED + 301})`, async (t) => {
    let n = 0;
    // The healthy provider takes a little time, so a timeout of a few ms always trips.
    openai.always({ kind: 'ok', delayMs: 15 });
    await checkProperty(
      t,
      fc.asyncProperty(fc.array(abuseArb, { minLength: 3, maxLength: 5 }), async (abuses) => {
        // A model of its own per run: a fresh breaker key, whatever earlier runs did.
        const model = `gpt-4o-tenant-${++n}`;
        for (const fake of [openai, anthropic]) fake.received.length = 0;
        const statuses: number[] = [];
        for (const a of abuses) statuses.push((await harness.send(0, abusive(a, model))).status);
        await new Promise((resolve) => setTimeout(resolve, 30)); // outcomes are recorded without being awaited
        const before = openai.received.length;
        const victim = await harness.send(
          0,
          chat({ 'x-portkey-config': JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } }] }) }, bodyFor(model)),
        );
        const served = victim.headers['x-portkey-provider'];
        const reachedOpenai = openai.received.length > before;
        if (victim.status !== 200 || served !== 'openai' || !reachedOpenai) {
          throw new Error(
            `after ${abuses.map((a) => a.kind).join(', ')} (answered ${statuses.join(', ')}), another client's request got ${victim.status} served by ${String(served)}; openai ${reachedOpenai ? 'was' : 'was not'} tried`,
          );
        }
      }),
      runs(20),
      4_000,
      SEED + 301,
    );
    openai.always({ kind: 'ok' });
  });

  test(`(m) one request causes at most maxAttemptsPerRequest (${MAX_ATTEMPTS}) upstream calls, and is answered (seed ${SEED + 302})`, async (t) => {
    failing.always({ kind: 'status', status: 503, headers: { 'retry-after-ms': '0', 'retry-after': '0' } });
    const leafArb = fc.constantFrom<Record<string, unknown>>({ provider: 'openai-compatible' }, { virtual_key: 'vk-failing' }, { provider: 'openai-compatible', override_params: { model: 'other' } });
    const caseArb = fc.record({
      outer: fc.integer({ min: 1, max: 12 }),
      inner: fc.integer({ min: 1, max: 8 }),
      depth: fc.integer({ min: 0, max: 3 }),
      attempts: fc.integer({ min: 0, max: 5 }),
      hedge: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
      mode: fc.constantFrom('fallback', 'loadbalance'),
      leaf: leafArb,
    });
    let n = 0;
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, async ({ outer, inner, depth, attempts, hedge, mode, leaf }) => {
        failing.received.length = 0;
        const strategy = hedge === undefined ? { mode } : { mode: 'fallback', hedge_after_ms: hedge };
        let node: Record<string, unknown> = { strategy, targets: Array.from({ length: inner }, () => leaf) };
        for (let d = 0; d < depth; d++) node = { strategy: { mode: 'fallback' }, targets: [node] };
        const config = { strategy, retry: { attempts, use_retry_after_header: true }, targets: Array.from({ length: outer }, () => node) };
        const text = jsonHeader(config);
        const req = text.length <= 8_000 ? chat({ 'x-portkey-config': text }, bodyFor(`amp-${++n}`)) : chat({}, bodyFor(`amp-${++n}`, `,"config":${toJson(config)}`));
        const started = performance.now();
        const reply = await harness.send(0, req, 20_000);
        await new Promise((resolve) => setTimeout(resolve, 60)); // hedges and retries the answer did not wait for
        const calls = failing.received.length;
        const problems = errorShapeProblems(reply.status, reply.json);
        if (calls > MAX_ATTEMPTS || problems.length > 0) {
          throw new Error(
            `${outer} x ${inner} targets (nesting +${depth}), ${attempts} retries, ${hedge === undefined ? mode : `hedge ${hedge} ms`}: ${calls} upstream calls in ${Math.round(performance.now() - started)} ms, answered ${reply.status} ${clip(reply.text, 200)}${problems.length ? ` (${problems.join('; ')})` : ''}`,
          );
        }
      }),
      runs(16),
      4_000,
      SEED + 302,
    );
  });
});
