/**
 * The engine without Express: the predicate (lib/engine/predicate.ts), retry helpers
 * (lib/engine/policies/retry.ts), and the plan walk (lib/engine/run.ts) against a real node:http server
 * on 127.0.0.1 reached through an in-test adapter registered in options.adapters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'node:http';
import { matchesStatus, defaultShouldFallback } from '../../lib/engine/predicate.js';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_MIN_MS, backoffMs, isRetryable, parseRetryAfter, sleep } from '../../lib/engine/policies/retry.js';
import { createEngine } from '../../lib/engine/create.js';
import type { EngineDeps } from '../../lib/engine/context.js';
import type { Failure, Served } from '../../lib/engine/outcome.js';
import { runPlan, type RunResult } from '../../lib/engine/run.js';
import type { AttemptContext, AttemptFailure, RetryPolicy } from '../../lib/engine/plan.js';
import { validateConfig } from '../../lib/config/normalise.js';
import { buildPlan } from '../../lib/config/resolve.js';
import { parseOptions, type RouterOptions } from '../../lib/options.js';
import { createHttpClient } from '../../lib/transport/http.js';
import { InvalidUpstreamResponse } from '../../lib/errors.js';
import type { Endpoint, ErrorClass, JsonObject, ProviderAdapter } from '../../lib/providers/types.js';

function failureOf(status: number, errorClass: ErrorClass): AttemptFailure {
  return { kind: 'failure', ok: false, status, errorClass, message: `failed with ${status}`, provider: 'openai', path: 'config.targets[0]' };
}

describe('predicate: matchesStatus', () => {
  test('numbers match exactly', () => {
    assert.equal(matchesStatus(429, [429, 503]), true);
    assert.equal(matchesStatus(503, [429, 503]), true);
    assert.equal(matchesStatus(500, [429, 503]), false);
    assert.equal(matchesStatus(429, []), false);
  });

  test('"5xx" and "4xx" match a whole class', () => {
    for (const status of [500, 502, 503, 504, 599]) assert.equal(matchesStatus(status, ['5xx']), true, String(status));
    assert.equal(matchesStatus(429, ['5xx']), false);
    assert.equal(matchesStatus(400, ['4xx']), true);
    assert.equal(matchesStatus(429, ['4xx']), true);
    assert.equal(matchesStatus(404, ['4xx']), true);
    assert.equal(matchesStatus(503, ['4xx']), false);
    assert.equal(matchesStatus(200, ['4xx', '5xx']), false);
    assert.equal(matchesStatus(503, [429, '5xx']), true);
  });
});

describe('predicate: defaultShouldFallback', () => {
  test('with neither list: every failure fails over', () => {
    for (const [status, cls] of [[400, 'bad_request'], [401, 'auth'], [429, 'rate_limit'], [500, 'server'], [408, 'timeout'], [502, 'network']] as const) {
      assert.equal(defaultShouldFallback(failureOf(status, cls), undefined, undefined), true, `${status} ${cls}`);
    }
  });

  test('with on_status_codes only: only the listed statuses', () => {
    const codes = [429, '5xx'];
    assert.equal(defaultShouldFallback(failureOf(429, 'rate_limit'), codes, undefined), true);
    assert.equal(defaultShouldFallback(failureOf(503, 'server'), codes, undefined), true);
    assert.equal(defaultShouldFallback(failureOf(400, 'context_length_exceeded'), codes, undefined), false);
    assert.equal(defaultShouldFallback(failureOf(401, 'auth'), codes, undefined), false);
    assert.equal(defaultShouldFallback(failureOf(408, 'timeout'), codes, undefined), false);
  });

  test('with on_errors only: only the listed error classes', () => {
    const errors: ErrorClass[] = ['context_length_exceeded', 'timeout'];
    assert.equal(defaultShouldFallback(failureOf(400, 'context_length_exceeded'), undefined, errors), true);
    assert.equal(defaultShouldFallback(failureOf(408, 'timeout'), undefined, errors), true);
    assert.equal(defaultShouldFallback(failureOf(503, 'server'), undefined, errors), false);
    assert.equal(defaultShouldFallback(failureOf(400, 'bad_request'), undefined, errors), false);
  });

  test('with both: the union', () => {
    const codes = [429];
    const errors: ErrorClass[] = ['context_length_exceeded'];
    assert.equal(defaultShouldFallback(failureOf(429, 'rate_limit'), codes, errors), true);
    assert.equal(defaultShouldFallback(failureOf(400, 'context_length_exceeded'), codes, errors), true);
    assert.equal(defaultShouldFallback(failureOf(500, 'server'), codes, errors), false);
    assert.equal(defaultShouldFallback(failureOf(400, 'bad_request'), codes, errors), false);
  });
});

describe('retry: isRetryable', () => {
  const policy: RetryPolicy = { attempts: 3, useRetryAfterHeader: true };

  test('a timeout is never retried on the same target', () => {
    assert.equal(isRetryable(failureOf(408, 'timeout'), policy), false);
    assert.equal(isRetryable(failureOf(408, 'timeout'), { ...policy, onStatusCodes: [408] }), false);
  });

  test('a network failure is retried', () => {
    assert.equal(isRetryable(failureOf(502, 'network'), policy), true);
  });

  test('400, 401, 404 are never retried, even when listed', () => {
    for (const [status, cls] of [[400, 'bad_request'], [401, 'auth'], [404, 'not_found']] as const) {
      assert.equal(isRetryable(failureOf(status, cls), policy), false, String(status));
      assert.equal(isRetryable(failureOf(status, cls), { ...policy, onStatusCodes: [status, '4xx'] }), false, `${status} listed`);
    }
  });

  test('429 and the default 5xx codes are retried', () => {
    assert.equal(isRetryable(failureOf(429, 'rate_limit'), policy), true);
    for (const status of [500, 502, 503, 504]) assert.equal(isRetryable(failureOf(status, 'server'), policy), true, String(status));
    assert.equal(isRetryable(failureOf(501, 'server'), policy), false, '501 is not in the default list');
  });

  test('custom on_status_codes replace the default list', () => {
    const custom: RetryPolicy = { ...policy, onStatusCodes: [500] };
    assert.equal(isRetryable(failureOf(500, 'server'), custom), true);
    assert.equal(isRetryable(failureOf(503, 'server'), custom), false);
    assert.equal(isRetryable(failureOf(429, 'rate_limit'), custom), false);
    assert.equal(isRetryable(failureOf(501, 'server'), { ...policy, onStatusCodes: ['5xx'] }), true);
    assert.equal(isRetryable(failureOf(502, 'network'), custom), true, 'network errors stay retryable');
  });
});

describe('retry: backoffMs', () => {
  test('stays in [min, min(cap, base * 2^n)) for random 0 and 0.999: never a tight loop', () => {
    for (let n = 0; n <= 12; n++) {
      const bound = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n);
      assert.equal(backoffMs(n, () => 0), BACKOFF_MIN_MS, `n=${n}, random 0`);
      const high = backoffMs(n, () => 0.999);
      assert.ok(high >= BACKOFF_MIN_MS && high < bound, `n=${n}: ${high} in [${BACKOFF_MIN_MS}, ${bound})`);
      assert.ok(high >= Math.floor(0.99 * bound), `n=${n}: full jitter reaches near the bound (${high} of ${bound})`);
    }
  });

  test('grows exponentially until the cap', () => {
    const high = (n: number): number => backoffMs(n, () => 0.999);
    assert.ok(high(1) > high(0));
    assert.ok(high(2) > high(1));
    assert.equal(high(20), high(30), 'capped');
    assert.ok(high(30) < BACKOFF_CAP_MS);
  });

  test('uses Math.random by default and stays in range', () => {
    for (let i = 0; i < 50; i++) {
      const v = backoffMs(2);
      assert.ok(v >= BACKOFF_MIN_MS && v < Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 4));
    }
  });
});

describe('retry: parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  test('retry-after-ms', () => {
    assert.equal(parseRetryAfter({ 'retry-after-ms': '1500' }, now), 1500);
    assert.equal(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, now), 250, 'retry-after-ms wins');
  });

  test('retry-after in seconds, whole and fractional', () => {
    assert.equal(parseRetryAfter({ 'retry-after': '2' }, now), 2000);
    assert.equal(parseRetryAfter({ 'retry-after': '0' }, now), 0);
    assert.equal(parseRetryAfter({ 'retry-after': '1.5' }, now), 1500);
    assert.equal(parseRetryAfter({ 'retry-after': '0.25' }, now), 250);
  });

  test('retry-after as an HTTP date in the future and in the past', () => {
    assert.equal(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }, now), 30_000);
    assert.equal(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }, now), 0);
  });

  test('garbage or absence gives undefined', () => {
    assert.equal(parseRetryAfter({ 'retry-after': 'soon' }, now), undefined);
    assert.equal(parseRetryAfter({ 'retry-after': '5 apples' }, now), undefined);
    assert.equal(parseRetryAfter({}, now), undefined);
    assert.equal(parseRetryAfter({ 'retry-after-ms': 'abc' }, now), undefined);
  });

  test('values that are neither delay-seconds nor an HTTP date give undefined (negative, stray words)', () => {
    // RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds (1*DIGIT). Anything else is ignored,
    // so the normal backoff applies instead of an immediate retry.
    assert.equal(parseRetryAfter({ 'retry-after': '-5' }, now), undefined);
    assert.equal(parseRetryAfter({ 'retry-after': 'abc 1' }, now), undefined);
  });
});

describe('retry: sleep', () => {
  test('resolves true after the delay', async () => {
    const start = performance.now();
    const result = await sleep(25, new AbortController().signal);
    assert.equal(result, true);
    assert.ok(performance.now() - start >= 20, 'waited about the delay');
  });

  test('resolves false at once when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    assert.equal(await pending, false);
  });

  test('resolves false for an already-aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    assert.equal(await sleep(60_000, controller.signal), false);
  });
});

// ---------------------------------------------------------------------------------------------
// The plan walk against a real local server.
// ---------------------------------------------------------------------------------------------

type Behaviour = { status: number; message?: string } | 'ok' | 'hang';

/** A tiny upstream: the last path segment names the target; behaviours are set per name. */
class Upstream {
  readonly hits: Array<{ name: string; url: string; headers: http.IncomingHttpHeaders; body: JsonObject }> = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  origin = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  set(name: string, behaviour: Behaviour): void {
    this.behaviours.set(name, behaviour);
  }

  reset(): void {
    this.hits.length = 0;
    this.behaviours.clear();
  }

  names(): string[] {
    return this.hits.map((hit) => hit.name);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const name = (req.url ?? '').split('/').pop() ?? '';
      this.hits.push({ name, url: req.url ?? '', headers: req.headers, body: raw ? (JSON.parse(raw) as JsonObject) : {} });
      const behaviour = this.behaviours.get(name) ?? 'ok';
      if (behaviour === 'hang') return;
      if (behaviour === 'ok') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `resp-${name}`,
            object: 'chat.completion',
            model: name,
            choices: [{ index: 0, message: { role: 'assistant', content: `hello from ${name}` }, finish_reason: 'stop' }],
            data: [{ object: 'embedding', index: 0, embedding: [0.5] }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
        return;
      }
      res.writeHead(behaviour.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: behaviour.message ?? `${name} failed with ${behaviour.status}`, type: 'test_error', code: null } }));
    });
  }
}

function classify(status: number): ErrorClass {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500) return 'server';
  return 'bad_request';
}

/** An in-test adapter: URL `{baseURL}/probe/{model}`, key in `x-probe-key`. */
function probeAdapter(name: string, endpoints: Endpoint[]): ProviderAdapter {
  return {
    name,
    endpoints: new Set(endpoints),
    buildRequest(req, target) {
      return {
        url: `${target.baseURL}/probe/${String(req.body.model)}`,
        headers: { ...target.headers, ...(target.apiKey ? { 'x-probe-key': target.apiKey } : {}) },
        body: req.body,
      };
    },
    parseResponse(body) {
      if (typeof body !== 'object' || body === null || !Array.isArray((body as JsonObject).choices)) {
        throw new InvalidUpstreamResponse('probe: no choices');
      }
      return body as JsonObject;
    },
    classifyError(status, body) {
      const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? `probe ${status}`;
      return { errorClass: classify(status), message };
    },
  };
}

const upstream = new Upstream();
let deadOrigin = '';
const client = createHttpClient();

interface Logged {
  errors: unknown[][];
  warn: (...args: unknown[]) => void;
  error: (...args: unknown[]) => void;
}
function logger(): Logged {
  const l: Logged = { errors: [], warn: () => {}, error: (...args) => void l.errors.push(args) };
  return l;
}

interface RunOptions {
  endpoint?: Endpoint;
  options?: RouterOptions;
  log?: Logged;
}

/** Plans `config` with Settings from parseOptions (probe adapters registered) and runs it. */
/** A run the client did not leave: its outcome is served or failed. */
type Finished = RunResult & { readonly outcome: Served | Failure };

async function run(config: JsonObject, opts: RunOptions = {}): Promise<Finished> {
  const log = opts.log ?? logger();
  const settings = parseOptions({
    adapters: { probe: probeAdapter('probe', ['chat', 'completion']), 'probe-all': probeAdapter('probe-all', ['chat', 'completion', 'embedding']) },
    providers: {
      probe: { apiKey: 'probe-key', baseURL: upstream.origin },
      'probe-all': { apiKey: 'probe-all-key', baseURL: upstream.origin },
    },
    virtualKeys: { dead: { provider: 'probe', apiKey: 'dead-key', baseURL: deadOrigin } },
    logger: log,
    ...opts.options,
  });
  const plan = buildPlan(validateConfig(config), settings, { label: 'config', trusted: true });
  // The router's own engine, sharing one HTTP client across the tests.
  const deps: EngineDeps = { ...createEngine(settings), client };
  const endpoint = opts.endpoint ?? 'chat';
  const body: JsonObject =
    endpoint === 'chat'
      ? { model: 'client-model', messages: [{ role: 'user', content: 'hi' }] }
      : endpoint === 'completion'
        ? { model: 'client-model', prompt: 'hi' }
        : { model: 'client-model', input: 'hi' };
  const result = await runPlan(plan, { requestId: 'r1', traceId: 't1', endpoint, body, stream: false, signal: new AbortController().signal, headers: {} }, deps);
  assert.notEqual(result.outcome.kind, 'cancelled', 'nobody left: the run must finish');
  return result as Finished;
}

/** A target of the `probe` provider whose upstream name is `name`. */
const t = (name: string, extra: JsonObject = {}): JsonObject => ({ provider: 'probe', override_params: { model: name }, ...extra });
const fallback = (...targets: JsonObject[]): JsonObject => ({ strategy: { mode: 'fallback' }, targets });

describe('engine: runPlan against a local server', () => {
  before(async () => {
    await upstream.start();
    const dead = http.createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    deadOrigin = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
  });

  after(async () => {
    await upstream.close();
    (client.defaults.httpAgent as Agent | undefined)?.destroy();
    (client.defaults.httpsAgent as Agent | undefined)?.destroy();
  });

  test('fallback tries targets in order until one succeeds', async () => {
    upstream.reset();
    upstream.set('a', { status: 500 });
    upstream.set('b', { status: 429 });
    const { outcome, attempts } = await run(fallback(t('a'), t('b'), t('c'), t('d')));
    assert.equal(outcome.ok, true);
    assert.ok(outcome.ok);
    assert.equal(outcome.path, 'config.targets[2]');
    assert.equal(outcome.provider, 'probe');
    assert.equal(outcome.model, 'c');
    assert.equal(outcome.body.id, 'resp-c');
    assert.deepEqual(upstream.names(), ['a', 'b', 'c']);
    assert.deepEqual(
      attempts.map((a) => [a.path, a.status, a.errorClass]),
      [
        ['config.targets[0]', 500, 'server'],
        ['config.targets[1]', 429, 'rate_limit'],
        ['config.targets[2]', 200, undefined],
      ],
    );
    // What the upstream received: the adapter's URL, key header, and override_params merged.
    const hit = upstream.hits[2]!;
    assert.equal(hit.url, '/probe/c');
    assert.equal(hit.headers['x-probe-key'], 'probe-key');
    assert.deepEqual(hit.body, { model: 'c', messages: [{ role: 'user', content: 'hi' }] });
  });

  test('an unreachable target and a timeout fail over too', async () => {
    upstream.reset();
    upstream.set('slow', 'hang');
    const { outcome, attempts } = await run(
      fallback({ virtual_key: 'dead', override_params: { model: 'x' } }, t('slow', { request_timeout: 50 }), t('ok')),
    );
    assert.ok(outcome.ok);
    assert.equal(outcome.path, 'config.targets[2]');
    assert.deepEqual(
      attempts.map((a) => [a.status, a.errorClass]),
      [
        [502, 'network'],
        [408, 'timeout'],
        [200, undefined],
      ],
    );
    assert.deepEqual(upstream.names(), ['slow', 'ok']);
  });

  test("finalError 'last' (default) returns the last failure", async () => {
    upstream.reset();
    upstream.set('a', { status: 500, message: 'first failure' });
    upstream.set('b', { status: 503, message: 'last failure' });
    const { outcome } = await run(fallback(t('a'), t('b')));
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok);
    assert.equal(outcome.status, 503);
    assert.equal(outcome.message, 'last failure');
    assert.equal(outcome.path, 'config.targets[1]');
    assert.equal(outcome.provider, 'probe');
    assert.deepEqual(upstream.names(), ['a', 'b']);
  });

  test("finalError 'first' returns the first failure", async () => {
    upstream.reset();
    upstream.set('a', { status: 500, message: 'first failure' });
    upstream.set('b', { status: 503, message: 'last failure' });
    const { outcome } = await run(fallback(t('a'), t('b')), { options: { finalError: 'first' } });
    assert.ok(!outcome.ok);
    assert.equal(outcome.status, 500);
    assert.equal(outcome.message, 'first failure');
    assert.equal(outcome.path, 'config.targets[0]');
    assert.deepEqual(upstream.names(), ['a', 'b']);
  });

  test('on_status_codes: an unlisted status is returned at once', async () => {
    upstream.reset();
    upstream.set('a', { status: 500 });
    const { outcome } = await run({ strategy: { mode: 'fallback', on_status_codes: [429] }, targets: [t('a'), t('b')] });
    assert.ok(!outcome.ok);
    assert.equal(outcome.status, 500);
    assert.deepEqual(upstream.names(), ['a']);
  });

  test('on_status_codes "5xx" and on_errors fail over on what they list', async () => {
    upstream.reset();
    upstream.set('a', { status: 502 });
    upstream.set('b', { status: 429 });
    const { outcome } = await run({
      strategy: { mode: 'fallback', on_status_codes: ['5xx'], on_errors: ['rate_limit'] },
      targets: [t('a'), t('b'), t('c')],
    });
    assert.ok(outcome.ok);
    assert.equal(outcome.path, 'config.targets[2]');
    assert.deepEqual(upstream.names(), ['a', 'b', 'c']);
  });

  test('nested strategies: the inner group fails over, then the outer one', async () => {
    upstream.reset();
    upstream.set('a', { status: 500 });
    upstream.set('b', { status: 500 });
    const { outcome } = await run(fallback(fallback(t('a'), t('b')), t('c')));
    assert.ok(outcome.ok);
    assert.equal(outcome.path, 'config.targets[1]');
    assert.deepEqual(upstream.names(), ['a', 'b', 'c']);
  });

  test('loadbalance: a weight-0 target is never chosen (200 runs)', async () => {
    upstream.reset();
    const config = { strategy: { mode: 'loadbalance' }, targets: [t('never', { weight: 0 }), t('always', { weight: 1 })] };
    for (let i = 0; i < 200; i++) {
      const { outcome } = await run(config);
      assert.ok(outcome.ok);
      assert.equal(outcome.path, 'config.targets[1]');
    }
    assert.equal(upstream.names().filter((n) => n === 'never').length, 0);
    assert.equal(upstream.names().filter((n) => n === 'always').length, 200);
  });

  test('loadbalance: weights 3:1 split roughly 75/25 (400 runs)', async () => {
    upstream.reset();
    const config = { strategy: { mode: 'loadbalance' }, targets: [t('heavy', { weight: 3 }), t('light', { weight: 1 })] };
    const batches = 8;
    for (let b = 0; b < batches; b++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => run(config)));
      for (const { outcome } of results) assert.ok(outcome.ok);
    }
    const heavy = upstream.names().filter((n) => n === 'heavy').length;
    const light = upstream.names().filter((n) => n === 'light').length;
    assert.equal(heavy + light, 400);
    const share = heavy / 400;
    assert.ok(share >= 0.6 && share <= 0.9, `heavy share ${share}`);
  });

  test('loadbalance: a chosen target that fails is returned without trying another', async () => {
    upstream.reset();
    upstream.set('only', { status: 503 });
    const { outcome } = await run({ strategy: { mode: 'loadbalance' }, targets: [t('only'), t('zero', { weight: 0 })] });
    assert.ok(!outcome.ok);
    assert.equal(outcome.status, 503);
    assert.deepEqual(upstream.names(), ['only']);
  });

  test('single uses only the first child', async () => {
    upstream.reset();
    const ok = await run({ strategy: { mode: 'single' }, targets: [t('first'), t('second')] });
    assert.ok(ok.outcome.ok);
    assert.equal(ok.outcome.path, 'config.targets[0]');
    upstream.set('first', { status: 500 });
    const failed = await run({ strategy: { mode: 'single' }, targets: [t('first'), t('second')] });
    assert.ok(!failed.outcome.ok);
    assert.equal(failed.outcome.status, 500);
    assert.deepEqual(upstream.names(), ['first', 'first']);
  });

  test('targets whose adapter lacks the endpoint are skipped and recorded', async () => {
    upstream.reset();
    const { outcome, attempts } = await run(
      fallback(t('no-embed'), { provider: 'probe-all', override_params: { model: 'embedder' } }),
      { endpoint: 'embedding' },
    );
    assert.ok(outcome.ok);
    assert.equal(outcome.path, 'config.targets[1]');
    assert.equal(outcome.provider, 'probe-all');
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0]!.path, 'config.targets[0]');
    assert.equal(attempts[0]!.provider, 'probe');
    assert.equal(attempts[0]!.skipped, 'unsupported_endpoint');
    assert.equal(attempts[0]!.status, undefined);
    assert.equal(attempts[1]!.skipped, undefined);
    assert.equal(attempts[1]!.status, 200);
    assert.deepEqual(upstream.names(), ['embedder']);
    assert.equal(upstream.hits[0]!.headers['x-probe-key'], 'probe-all-key');
  });

  test('loadbalance skips an unsupported target and picks among the others', async () => {
    upstream.reset();
    for (let i = 0; i < 20; i++) {
      const { outcome } = await run(
        { strategy: { mode: 'loadbalance' }, targets: [t('no-embed', { weight: 5 }), { provider: 'probe-all', override_params: { model: 'embedder' } }] },
        { endpoint: 'embedding' },
      );
      assert.ok(outcome.ok);
      assert.equal(outcome.path, 'config.targets[1]');
    }
    assert.deepEqual(new Set(upstream.names()), new Set(['embedder']));
  });

  test('no target supports the endpoint: 400 unsupported_endpoint, no upstream call', async () => {
    upstream.reset();
    const { outcome, attempts } = await run(fallback(t('a'), t('b')), { endpoint: 'embedding' });
    assert.ok(!outcome.ok);
    assert.equal(outcome.status, 400);
    assert.equal(outcome.code, 'unsupported_endpoint');
    assert.match(outcome.message, /embedding/);
    assert.deepEqual(attempts.map((a) => a.skipped), ['unsupported_endpoint', 'unsupported_endpoint']);
    assert.equal(upstream.hits.length, 0);
  });

  test('shouldFallback receives status, errorClass, provider, targetPath and attempt', async () => {
    upstream.reset();
    upstream.set('a', { status: 503 });
    upstream.set('b', { status: 429 });
    const calls: Array<{ outcome: AttemptFailure; ctx: AttemptContext }> = [];
    const { outcome } = await run(fallback(t('a'), t('b'), t('c')), {
      options: {
        shouldFallback: (o, ctx) => {
          calls.push({ outcome: o, ctx });
          return true;
        },
      },
    });
    assert.ok(outcome.ok);
    assert.equal(outcome.path, 'config.targets[2]');
    assert.equal(calls.length, 2);
    const [first, second] = calls;
    assert.equal(first!.outcome.status, 503);
    assert.equal(first!.outcome.errorClass, 'server');
    assert.equal(first!.ctx.provider, 'probe');
    assert.equal(first!.ctx.targetPath, 'config.targets[0]');
    assert.equal(first!.ctx.attempt, 1);
    assert.equal(first!.ctx.endpoint, 'chat');
    assert.equal(first!.ctx.strategyPath, 'config');
    assert.equal(second!.outcome.status, 429);
    assert.equal(second!.outcome.errorClass, 'rate_limit');
    assert.equal(second!.ctx.targetPath, 'config.targets[1]');
    assert.equal(second!.ctx.attempt, 2);
  });

  test('shouldFallback replaces the built-in predicate', async () => {
    upstream.reset();
    upstream.set('a', { status: 500 });
    // The strategy says only 429 fails over; the router-wide function says every failure does.
    const over = await run({ strategy: { mode: 'fallback', on_status_codes: [429] }, targets: [t('a'), t('b')] }, { options: { shouldFallback: () => true } });
    assert.ok(over.outcome.ok);
    assert.equal(over.outcome.path, 'config.targets[1]');
    upstream.reset();
    upstream.set('a', { status: 500 });
    const stop = await run(fallback(t('a'), t('b')), { options: { shouldFallback: () => false } });
    assert.ok(!stop.outcome.ok);
    assert.equal(stop.outcome.status, 500);
    assert.deepEqual(upstream.names(), ['a']);
  });

  test('a throwing shouldFallback is logged and does not fail over', async () => {
    upstream.reset();
    upstream.set('a', { status: 500 });
    const log = logger();
    const { outcome } = await run(fallback(t('a'), t('b')), {
      log,
      options: {
        shouldFallback: () => {
          throw new Error('predicate exploded');
        },
      },
    });
    assert.ok(!outcome.ok);
    assert.equal(outcome.status, 500);
    assert.equal(outcome.path, 'config.targets[0]');
    assert.deepEqual(upstream.names(), ['a']);
    assert.equal(log.errors.length, 1);
    assert.match(log.errors[0]!.map((part) => (part instanceof Error ? part.message : String(part))).join(' '), /shouldFallback/);
  });
});
