/**
 * Retries, deadlines, the circuit breaker and hedging (SPEC §5), measured at the fake upstream:
 * how many calls each target got, and how far apart. Durations are short and configured; the
 * upper bounds are generous margins that only a hang or a tight loop would break.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import { MemoryBreakerStore, breakerKey } from '../../lib/index.js';
import type { RouterOptions } from '../../lib/index.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { joinedContent, rawText, sseData } from '../helpers/sse.js';

const messages = [{ role: 'user', content: 'hi' }];
const gaps = (fake: Fake): number[] => fake.received.slice(1).map((r, i) => r.at - fake.received[i]!.at);
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('retries, deadlines, breaker, hedging', () => {
  let primary: Fake;
  let second: Fake;
  let third: Fake;
  before(async () => {
    [primary, second, third] = await Promise.all([startFake('openai', 'primary'), startFake('openai', 'second'), startFake('anthropic', 'third')]);
  });
  after(async () => {
    await Promise.all([primary.close(), second.close(), third.close()]);
  });
  beforeEach(() => {
    primary.reset();
    second.reset();
    third.reset();
  });
  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    virtualKeys: {
      primary: { provider: 'openai', apiKey: 'k1', baseURL: primary.baseURL },
      second: { provider: 'openai', apiKey: 'k2', baseURL: second.baseURL },
      third: { provider: 'anthropic', apiKey: 'k3', baseURL: third.baseURL },
    },
    ...extra,
  });
  const send = (app: ReturnType<typeof createApp>, config: unknown, body: Record<string, unknown> = {}) =>
    request(app).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ model: 'gpt-4o', messages, ...body });
  const chain = (extra: Record<string, unknown>, ...targets: unknown[]) => ({ strategy: { mode: 'fallback' }, ...extra, targets });

  describe('retries', () => {
    test('retry-after-ms is honoured: the retry waits that long, then succeeds on the same target', async () => {
      primary.script({ kind: 'status', status: 429, headers: { 'retry-after-ms': '150' } });
      const res = await send(createApp(options()), { virtual_key: 'primary', retry: { attempts: 2 } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-retry-attempt-count'], '1');
      assert.equal(res.headers['x-portkey-attempts'], '2');
      assert.equal(primary.received.length, 2);
      assert.ok(gaps(primary)[0]! >= 145, `gap ${gaps(primary)[0]} ms`);
    });

    test('Retry-After in seconds is honoured', async () => {
      primary.script({ kind: 'status', status: 503, headers: { 'retry-after': '1' } });
      const res = await send(createApp(options()), { virtual_key: 'primary', retry: { attempts: 1 } });
      assert.equal(res.status, 200);
      assert.ok(gaps(primary)[0]! >= 990, `gap ${gaps(primary)[0]} ms`);
    });

    test('a Retry-After longer than maxRetryAfterMs fails over at once instead of sleeping', async () => {
      primary.always({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
      const started = performance.now();
      const res = await send(createApp(options({ maxRetryAfterMs: 1000 })), chain({ retry: { attempts: 3 } }, { virtual_key: 'primary' }, { virtual_key: 'second' }));
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-provider'], 'openai');
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
      assert.equal(primary.received.length, 1);
      assert.ok(performance.now() - started < 1000, 'no 30 s sleep');
    });

    test('a Retry-After longer than the time left (total_timeout) fails over at once', async () => {
      primary.always({ kind: 'status', status: 429, headers: { 'retry-after-ms': '5000' } });
      const res = await send(createApp(options()), chain({ total_timeout: 2000, retry: { attempts: 3 } }, { virtual_key: 'primary' }, { virtual_key: 'second' }));
      assert.equal(res.status, 200);
      assert.equal(primary.received.length, 1);
      assert.ok(second.received[0]!.at - primary.received[0]!.at < 1000);
    });

    test('a persistently rate-limited target gets exactly attempts + 1 calls, spaced, then the fallback serves', async () => {
      primary.always({ kind: 'status', status: 429 });
      const res = await send(createApp(options()), chain({}, { virtual_key: 'primary', retry: { attempts: 3, use_retry_after_header: false } }, { virtual_key: 'second' }));
      assert.equal(res.status, 200);
      assert.equal(primary.received.length, 4);
      assert.equal(second.received.length, 1);
      assert.ok(gaps(primary).every((g) => g >= 9), `gaps ${gaps(primary).map((g) => g.toFixed(1))}`);
      assert.equal(res.headers['x-portkey-attempts'], '5');
      assert.equal(res.headers['x-portkey-retry-attempt-count'], '0');
    });

    test('x-portkey-retry-attempt-count tells the retries made on the serving target', async () => {
      primary.script({ kind: 'status', status: 502 }, { kind: 'status', status: 500 });
      const res = await send(createApp(options()), { virtual_key: 'primary', retry: { attempts: 3 } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-retry-attempt-count'], '2');
      assert.equal(primary.received.length, 3);
    });

    test('a 4xx other than 429, and a timeout, are never retried on the same target', async () => {
      primary.script({ kind: 'status', status: 400 });
      const bad = await send(createApp(options()), { virtual_key: 'primary', retry: { attempts: 3 } });
      assert.equal(bad.status, 400);
      assert.equal(primary.received.length, 1);

      primary.reset();
      primary.script({ kind: 'hang' });
      const timedOut = await send(createApp(options()), { virtual_key: 'primary', retry: { attempts: 3 }, request_timeout: 100 });
      assert.equal(timedOut.status, 408);
      assert.equal(primary.received.length, 1);
    });

    test('retry is inherited from the root and from options.defaults.retry; a child overrides', async () => {
      primary.always({ kind: 'status', status: 503 });
      second.always({ kind: 'status', status: 503 });
      await send(createApp(options()), chain({ retry: { attempts: 2 } }, { virtual_key: 'primary' }, { virtual_key: 'second', retry: { attempts: 0 } }));
      assert.equal(primary.received.length, 3);
      assert.equal(second.received.length, 1);
      primary.reset();
      primary.always({ kind: 'status', status: 503 });
      await send(createApp(options({ defaults: { retry: { attempts: 1 } } })), { virtual_key: 'primary' });
      assert.equal(primary.received.length, 2);
    });
  });

  describe('timeouts and the deadline', () => {
    test('a silent target is called once and the fallback serves within its request_timeout', async () => {
      primary.always({ kind: 'hang' });
      const started = performance.now();
      const res = await send(createApp(options()), chain({}, { virtual_key: 'primary', request_timeout: 200, retry: { attempts: 3 } }, { virtual_key: 'second' }));
      const elapsed = performance.now() - started;
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-provider'], 'openai');
      assert.equal(primary.received.length, 1);
      assert.ok(elapsed >= 195 && elapsed < 1200, `${elapsed} ms`);
    });

    test('three silent targets under a total_timeout answer within it', async () => {
      for (const f of [primary, second, third]) f.always({ kind: 'hang' });
      const started = performance.now();
      const res = await send(createApp(options()), chain({ total_timeout: 400, request_timeout: 150 }, { virtual_key: 'primary' }, { virtual_key: 'second' }, { virtual_key: 'third' }));
      const elapsed = performance.now() - started;
      assert.equal(res.status, 408);
      assert.ok(elapsed >= 390 && elapsed < 1400, `${elapsed} ms`);
      // the third target got only what was left of the deadline
      assert.equal(third.received.length, 1);
      assert.equal(res.body.error.type, 'timeout_error');
    });

    test('a buffered stream that keeps trickling is held to the total_timeout', async () => {
      primary.script({ kind: 'stream', pieces: Array.from({ length: 100 }, (_, i) => `p${i} `), intervalMs: 50 });
      const started = performance.now();
      const res = await send(createApp(options()), chain({ total_timeout: 600, stream_mode: 'buffered' }, { virtual_key: 'primary' }, { virtual_key: 'second' }), { stream: true });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 408);
      assert.ok(elapsed >= 590 && elapsed < 1600, `${elapsed} ms`);
      assert.equal(second.received.length, 0, 'nothing left for the next target');
    });

    test('x-portkey-total-timeout: no attempt starts when nothing is left', async () => {
      primary.always({ kind: 'hang' });
      const started = performance.now();
      const res = await request(createApp(options()))
        .post('/v1/chat/completions')
        .set('x-portkey-config', JSON.stringify(chain({}, { virtual_key: 'primary' }, { virtual_key: 'second' })))
        .set('x-portkey-total-timeout', '200')
        .send({ model: 'gpt-4o', messages });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 408);
      assert.equal(second.received.length, 0, 'no attempt started after the deadline');
      assert.ok(elapsed < 1200, `${elapsed} ms`);
      const trace = await request(createApp(options())).get('/v1/logs').query({ trace_id: res.headers['x-portkey-trace-id'] });
      assert.equal(trace.status, 200);
    });
  });

  describe('circuit breaker', () => {
    const cb = { failure_threshold: 2, minimum_requests: 2, window_ms: 10_000, cooldown_ms: 250 };

    test('an outage: every request is served, the primary sees about one probe per cooldown, and serves again within one cooldown of recovering', async () => {
      const app = createApp(options());
      const config = { strategy: { mode: 'fallback', cb_config: cb }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] };
      primary.always({ kind: 'status', status: 503 });
      const outageStart = performance.now();
      const statuses: number[] = [];
      while (performance.now() - outageStart < 1000) {
        statuses.push((await send(app, config)).status);
        await wait(20);
      }
      assert.ok(statuses.every((s) => s === 200), 'every request served during the outage');
      // 2 failures open it, then one probe per 250 ms cooldown over ~1 s: about 4
      assert.ok(primary.received.length >= 3 && primary.received.length <= 8, `primary got ${primary.received.length} calls in ${statuses.length} requests`);

      const health = await request(app).get('/v1/health');
      assert.equal(health.status, 200);
      const row = health.body.targets.find((t: { provider: string }) => t.provider === 'openai');
      assert.ok(['open', 'half_open'].includes(row.state), JSON.stringify(row));

      // a skipped target is recorded in the trace with its reason
      const during = await send(app, config);
      const trace = await request(app).get(`/v1/logs/${during.headers['x-portkey-trace-id']}`);
      const skipped = trace.body.attempts.filter((a: { skipped?: string }) => a.skipped === 'circuit_open');
      const probed = trace.body.attempts.filter((a: { path: string; status?: number }) => a.path === 'config.targets[0]' && a.status === 503);
      assert.equal(skipped.length + probed.length, 1, JSON.stringify(trace.body.attempts));

      primary.always({ kind: 'ok' });
      const recovered = performance.now();
      let servedByPrimaryAt: number | undefined;
      while (performance.now() - recovered < 1500 && servedByPrimaryAt === undefined) {
        const res = await send(app, config);
        assert.equal(res.status, 200);
        if (res.headers['x-portkey-last-used-option-index'] === 'config.targets[0]') servedByPrimaryAt = performance.now();
        await wait(20);
      }
      assert.ok(servedByPrimaryAt !== undefined, 'the primary serves again');
      assert.ok(servedByPrimaryAt - recovered < 250 + 300, `served again ${servedByPrimaryAt - recovered} ms after recovering`);
      const closed = await request(app).get('/v1/health');
      assert.equal(closed.body.targets.find((t: { provider: string }) => t.provider === 'openai').state, 'closed');
    });

    test('when every target is open, the least recently opened one is tried instead of failing untried', async () => {
      const app = createApp(options({ circuitBreaker: { failureThreshold: 1, minimumRequests: 1, windowMs: 10_000, cooldownMs: 60_000 } }));
      primary.always({ kind: 'status', status: 503 });
      second.always({ kind: 'status', status: 503 });
      const config = chain({}, { virtual_key: 'primary' }, { virtual_key: 'second' });
      await send(app, config); // opens primary, then second
      assert.equal(primary.received.length, 1);
      assert.equal(second.received.length, 1);
      primary.always({ kind: 'ok' });
      const res = await send(app, config);
      assert.equal(res.status, 200, 'tried rather than failing untried');
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[0]', 'the least recently opened');
      assert.equal(primary.received.length, 2);
      assert.equal(second.received.length, 1);
    });

    test('retries stop once the failures opened the breaker', async () => {
      const app = createApp(options());
      primary.always({ kind: 'status', status: 503 });
      const res = await send(app, {
        strategy: { mode: 'fallback', cb_config: { failure_threshold: 2, minimum_requests: 2, cooldown_ms: 60_000 } },
        targets: [{ virtual_key: 'primary', retry: { attempts: 5 } }, { virtual_key: 'second' }],
      });
      assert.equal(res.status, 200);
      assert.equal(primary.received.length, 2, 'two failures opened it: no third try');
      assert.equal(second.received.length, 1);
    });

    test('a breaker store that rejects or never answers fails open: requests are served, the trouble logged', async () => {
      const logger = quietLogger();
      const down = async (): Promise<never> => {
        throw new Error('redis down');
      };
      const never = (): Promise<never> => new Promise<never>(() => undefined);
      const rejecting = { acquire: down, record: down, get: down, snapshot: down };
      const hanging = { acquire: never, record: never, get: never, snapshot: never };
      for (const store of [rejecting, hanging]) {
        primary.reset();
        const app = createApp(options({ circuitBreaker: {}, breakerStore: store, logger }));
        const started = performance.now();
        const res = await send(app, chain({}, { virtual_key: 'primary' }, { virtual_key: 'second' }));
        assert.equal(res.status, 200);
        assert.equal(res.body.choices[0].message.content, 'Hello from primary');
        assert.equal(primary.received.length, 1);
        assert.ok(performance.now() - started < 3000, 'not held by the store');
        primary.script({ kind: 'stream' });
        const streamed = await send(app, { virtual_key: 'primary' }, { stream: true }).buffer(true).parse(rawText);
        assert.equal(streamed.status, 200);
        assert.equal(sseData(streamed.body).at(-1), '[DONE]');
      }
      assert.ok(logger.lines.some((l) => l.includes('breakerStore failed') && l.includes('redis down')), logger.lines.join('\n'));
    });

    test('a 400 does not count against the breaker', async () => {
      const app = createApp(options({ circuitBreaker: { failureThreshold: 1, minimumRequests: 1 } }));
      primary.always({ kind: 'status', status: 400 });
      await send(app, { virtual_key: 'primary' });
      await send(app, { virtual_key: 'primary' });
      assert.equal(primary.received.length, 2);
    });

    test('a shared BreakerStore is used: an open state another instance wrote is learnt in the background, then skips the target', async () => {
      // Another instance opened the breaker in the shared store (async, as Redis would be).
      const shared = new MemoryBreakerStore();
      const key = breakerKey('openai', 'gpt-4o', 'chat', primary.baseURL, 'k1');
      for (let i = 0; i < 5; i++) shared.record(key, { failureThreshold: 5, minimumRequests: 5, windowMs: 60_000, cooldownMs: 60_000 }, { failed: true, probe: false }, Date.now());
      const store = {
        acquire: async (...a: Parameters<MemoryBreakerStore['acquire']>) => shared.acquire(...a),
        record: async (...a: Parameters<MemoryBreakerStore['record']>) => shared.record(...a),
        get: async (k: string) => shared.get(k),
      };
      const app = createApp(options({ circuitBreaker: {}, breakerStore: store }));
      const config = chain({}, { virtual_key: 'primary' }, { virtual_key: 'third', override_params: { model: 'claude' } });
      // The first request never waits on the store; by the second, its answer is known.
      assert.equal((await send(app, config)).status, 200);
      const before = primary.received.length;
      const res = await send(app, config);
      assert.equal(res.status, 200);
      assert.equal(primary.received.length, before, 'the open target was skipped');
      assert.equal(res.headers['x-portkey-provider'], 'anthropic');
    });
  });

  describe('hedging', () => {
    test('a slow primary is raced after hedge_after_ms; the hedge serves and the primary is aborted', async () => {
      primary.script({ kind: 'ok', delayMs: 800 });
      const closedBefore = primary.closedSockets();
      const app = createApp(options());
      const started = performance.now();
      const res = await send(app, { strategy: { mode: 'fallback', hedge_after_ms: 100 }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 200);
      assert.equal(res.body.choices[0].message.content, 'Hello from second');
      assert.equal(res.headers['x-portkey-attempts'], '2', 'the aborted primary counts, recorded or not yet');
      assert.ok(elapsed >= 95 && elapsed < 600, `${elapsed} ms: the delay plus the hedge's own latency`);
      assert.ok(second.received[0]!.at - primary.received[0]!.at >= 95);
      const deadline = performance.now() + 1000;
      while (primary.closedSockets() === closedBefore && performance.now() < deadline) await wait(10);
      assert.ok(primary.closedSockets() > closedBefore, "the loser's upstream socket was closed");
      const trace = await request(app).get(`/v1/logs/${res.headers['x-portkey-trace-id']}`);
      const codes = trace.body.attempts.map((a: { code?: string; served: boolean }) => (a.served ? 'served' : a.code));
      assert.deepEqual(codes.sort(), ['hedge_cancelled', 'served']);
    });

    test('a fast primary never starts a hedge; a primary failing before the delay fails over at once', async () => {
      const config = { strategy: { mode: 'fallback', hedge_after_ms: 300 }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] };
      const fast = await send(createApp(options()), config);
      assert.equal(fast.body.choices[0].message.content, 'Hello from primary');
      await wait(400);
      assert.equal(second.received.length, 0);

      primary.script({ kind: 'status', status: 503 });
      const failed = await send(createApp(options()), config);
      assert.equal(failed.status, 200);
      assert.equal(failed.body.choices[0].message.content, 'Hello from second');
      assert.ok(second.received[0]!.at - primary.received[1]!.at < 250, 'no wait for the hedge delay');
    });

    test('streams: the race ends at the first content event, and the client gets exactly one stream', async () => {
      primary.script({ kind: 'stream', firstDelayMs: 800 });
      second.script({ kind: 'stream' });
      const closedBefore = primary.closedSockets();
      const res = await send(createApp(options()), { strategy: { mode: 'fallback', hedge_after_ms: 100 }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] }, { stream: true })
        .buffer(true)
        .parse(rawText);
      const events = sseData(res.body);
      assert.equal(joinedContent(events), 'Hello from second');
      assert.equal(events.filter((e) => e === '[DONE]').length, 1);
      const deadline = performance.now() + 1000;
      while (primary.closedSockets() === closedBefore && performance.now() < deadline) await wait(10);
      assert.ok(primary.closedSockets() > closedBefore);
    });
  });
});
