/**
 * Engine v2 (issue 9), defects 1-4, end to end: absolute deadlines under keep-alive events, an
 * open single-target breaker, aborts that land during waits, and an atomic breaker store off the
 * hot path. Only public behaviour is asserted: statuses, bodies, SSE, traces, GET /health, and
 * what the fake upstreams received. Defects 5-9 are in engine-v2-part2.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import { createFallbackRouter, type RouterOptions } from '../../lib/index.js';
import { MemoryBreakerStore } from '../../lib/stores/memory-breaker-store.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { postThenHangUp, sendChat, sendChatStream, traceOf, wait } from '../helpers/requests.js';
import { joinedContent, listen, rawText, sseData } from '../helpers/sse.js';

const messages = [{ role: 'user', content: 'hi' }];
const T = { timeout: 10_000 };

describe('engine v2 (issue 9): deadlines, breakers, aborts', () => {
  let a: Fake;
  let b: Fake;
  let ant: Fake;
  let az: Fake;
  before(async () => {
    [a, b, ant, az] = await Promise.all([startFake('openai', 'a'), startFake('openai', 'b'), startFake('anthropic', 'ant'), startFake('azure', 'az')]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), ant.close(), az.close()]);
  });
  beforeEach(() => {
    for (const f of [a, b, ant, az]) f.reset();
  });

  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    providers: { openai: { apiKey: 'sk-server', baseURL: a.baseURL } },
    virtualKeys: {
      a: { provider: 'openai', apiKey: 'ka', baseURL: a.baseURL },
      b: { provider: 'openai', apiKey: 'kb', baseURL: b.baseURL },
      ant: { provider: 'anthropic', apiKey: 'kant', baseURL: ant.baseURL },
      az: { provider: 'azure_openai', apiKey: 'kaz', baseURL: az.baseURL, deploymentId: 'dep' },
    },
    ...extra,
  });
  const send = sendChat;
  const sendStream = sendChatStream;

  describe('1. keep-alive events before the first content do not stretch the timers', () => {
    const primaries = [
      { label: 'anthropic pings', vk: 'ant', fake: () => ant },
      { label: 'openai `: keep-alive` comments', vk: 'a', fake: () => a },
      { label: 'azure filter-only chunks', vk: 'az', fake: () => az },
    ];
    for (const { label, vk, fake } of primaries) {
      test(`request_timeout is the time to the first content: a primary sending ${label} fails over at the timeout`, T, async () => {
        fake().script({ kind: 'stream', keepAliveMs: 100, contentDelayMs: 1500 });
        b.always({ kind: 'stream' });
        const app = createApp(options());
        const traceId = randomUUID();
        const started = performance.now();
        const res = await sendStream(app, { strategy: { mode: 'fallback' }, request_timeout: 400, targets: [{ virtual_key: vk, override_params: { model: 'm-primary' } }, { virtual_key: 'b' }] }, traceId);
        const elapsed = performance.now() - started;
        assert.equal(res.status, 200);
        const events = sseData(res.body);
        assert.equal(joinedContent(events), 'Hello from b');
        assert.equal(events.at(-1), '[DONE]');
        assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
        assert.ok(elapsed < 1200, `served after ${Math.round(elapsed)} ms: the keep-alives restarted the timer`);
        const trace = await traceOf(app, traceId);
        assert.equal(trace.body.servedPath, 'config.targets[1]');
        assert.equal(trace.body.attempts[0].status, 408);
      });
    }

    test('total_timeout (header) is one deadline: a single target pinging before its first content gets a 408 at the deadline', T, async () => {
      ant.script({ kind: 'stream', keepAliveMs: 100, contentDelayMs: 1500 });
      const started = performance.now();
      const res = await request(createApp(options()))
        .post('/v1/chat/completions')
        .set('x-portkey-config', JSON.stringify({ virtual_key: 'ant', override_params: { model: 'claude' } }))
        .set('x-portkey-total-timeout', '400')
        .send({ model: 'gpt-4o', messages, stream: true })
        .buffer(true)
        .parse(rawText);
      const elapsed = performance.now() - started;
      assert.equal(res.status, 408);
      assert.match(res.headers['content-type'] ?? '', /application\/json/);
      assert.equal(JSON.parse(res.body).error.type, 'timeout_error');
      assert.ok(elapsed < 1200, `answered after ${Math.round(elapsed)} ms`);
    });

    test('total_timeout (root config field) is one deadline under pings too', T, async () => {
      ant.script({ kind: 'stream', keepAliveMs: 100, contentDelayMs: 1500 });
      const started = performance.now();
      const res = await sendStream(createApp(options()), { virtual_key: 'ant', override_params: { model: 'claude' }, total_timeout: 400 });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 408);
      assert.equal(JSON.parse(res.body).error.type, 'timeout_error');
      assert.ok(elapsed < 1200, `answered after ${Math.round(elapsed)} ms`);
    });
  });

  describe('2. a single-target config whose breaker is open is still tried', () => {
    const cb = { failureThreshold: 1, minimumRequests: 1, windowMs: 60_000, cooldownMs: 60_000 };
    const ways: Array<[string, (r: request.Test) => request.Test]> = [
      ['x-portkey-provider + Authorization', (r) => r.set('x-portkey-provider', 'openai').set('authorization', 'Bearer sk-x')],
      ['a root { provider } config', (r) => r.set('x-portkey-config', JSON.stringify({ provider: 'openai' }))],
      ['x-portkey-virtual-key', (r) => r.set('x-portkey-virtual-key', 'a')],
    ];
    for (const [label, how] of ways) {
      test(`via ${label}: after a failure opened it, the next request reaches the upstream and is served`, T, async () => {
        a.script({ kind: 'status', status: 500 });
        const app = createApp(options({ circuitBreaker: cb }));
        const first = await how(request(app).post('/v1/chat/completions')).send({ model: 'gpt-4o', messages });
        assert.equal(first.status, 500);
        const second = await how(request(app).post('/v1/chat/completions')).send({ model: 'gpt-4o', messages });
        assert.notEqual(second.body?.error?.code, 'unsupported_endpoint');
        assert.equal(second.status, 200, JSON.stringify(second.body));
        assert.equal(second.body.choices[0].message.content, 'Hello from a');
        assert.equal(a.received.length, 2);
      });
    }
  });

  describe('3. aborts that land during waits send nothing more upstream', () => {
    test('a client that disconnects during a retry backoff: no retry is sent, and the request is traced as 499', T, async () => {
      a.always({ kind: 'status', status: 503, headers: { 'retry-after-ms': '300' } });
      const app = createApp(options());
      const server = await listen(app as unknown as http.RequestListener);
      try {
        const traceId = randomUUID();
        await postThenHangUp(
          server.origin,
          '/v1/chat/completions',
          { 'x-portkey-config': JSON.stringify({ virtual_key: 'a', retry: { attempts: 2 } }), 'x-portkey-trace-id': traceId },
          { model: 'gpt-4o', messages },
          100,
        );
        await wait(600);
        assert.equal(a.received.length, 1, 'the retry after the backoff was sent for a departed client');
        const trace = await traceOf(app, traceId);
        assert.equal(trace.status, 200);
        assert.equal(trace.body.status, 499);
      } finally {
        await server.close();
      }
    });

    test('a hedge loser waiting in its retry backoff sends no retry once the other branch has answered', T, async () => {
      a.script({ kind: 'status', status: 503, headers: { 'retry-after-ms': '200' }, delayMs: 100 });
      b.script({ kind: 'ok', delayMs: 120 });
      const res = await send(createApp(options()), {
        strategy: { mode: 'fallback', hedge_after_ms: 50 },
        retry: { attempts: 2 },
        targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }],
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.choices[0].message.content, 'Hello from b');
      await wait(500);
      assert.equal(a.received.length, 1, "the loser's retry reached the upstream after the answer went out");
    });

    test('a client that disconnects while the breaker store decides a probe: the probe is not sent, nor anything else', T, async () => {
      const inner = new MemoryBreakerStore();
      const slowAcquire = {
        acquire: async (...args: Parameters<MemoryBreakerStore['acquire']>) => {
          await wait(300);
          return inner.acquire(...args);
        },
        record: (...args: Parameters<MemoryBreakerStore['record']>) => inner.record(...args),
        snapshot: () => inner.snapshot(),
      };
      a.always({ kind: 'status', status: 500 });
      const app = createApp(options({ breakerStore: slowAcquire as unknown as RouterOptions['breakerStore'], circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 100 } }));
      const config = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] };
      const first = await send(app, config);
      assert.equal(first.status, 200);
      assert.equal(first.body.choices[0].message.content, 'Hello from b');
      assert.equal(a.received.length, 1);
      assert.equal(b.received.length, 1);
      await wait(150); // the cooldown is over: the next request asks the store for a probe
      const server = await listen(app as unknown as http.RequestListener);
      try {
        await postThenHangUp(server.origin, '/v1/chat/completions', { 'x-portkey-config': JSON.stringify(config) }, { model: 'gpt-4o', messages }, 100);
        await wait(500);
        assert.equal(a.received.length, 1, 'the probe went out for a departed client');
        assert.equal(b.received.length, 1, 'a fallback went out for a departed client');
      } finally {
        await server.close();
      }
    });
  });

  describe('4. the breaker store is atomic and off the hot path', () => {
    const models = { a: 'gpt-a', b: 'gpt-b' };
    const config = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a', override_params: { model: models.a } }, { virtual_key: 'b', override_params: { model: models.b } }] };

    /** A store whose every operation answers after `ms` (each one still atomic: it wraps the memory store). */
    const slowStore = (ms: number): RouterOptions['breakerStore'] => {
      const inner = new MemoryBreakerStore();
      return {
        acquire: async (...args: Parameters<MemoryBreakerStore['acquire']>) => (await wait(ms), inner.acquire(...args)),
        record: async (...args: Parameters<MemoryBreakerStore['record']>) => (await wait(ms), inner.record(...args)),
        snapshot: async () => (await wait(ms), inner.snapshot()),
      } as unknown as RouterOptions['breakerStore'];
    };
    const stores: Array<[string, () => Partial<RouterOptions>]> = [
      ['the default store', () => ({})],
      ['a store taking 20 ms per operation', () => ({ breakerStore: slowStore(20) })],
    ];

    for (const [label, store] of stores) {
      test(`${label}: after a cooldown, 20 simultaneous requests send exactly one probe; the others are served by the fallback`, T, async () => {
        const app = createApp(options({ ...store(), circuitBreaker: { failureThreshold: 1, minimumRequests: 1, windowMs: 60_000, cooldownMs: 200 } }));
        a.script({ kind: 'status', status: 500 });
        a.always({ kind: 'ok', delayMs: 400 }); // a slow probe: every request below arrives while it runs
        const opening = await send(app, config);
        assert.equal(opening.status, 200);
        assert.equal(a.received.length, 1);
        await wait(250);
        const server = await listen(app as unknown as http.RequestListener);
        try {
          const answers = await Promise.all(Array.from({ length: 20 }, () => send(server.origin, config)));
          assert.deepEqual(answers.map((r) => r.status), Array(20).fill(200));
          assert.equal(a.received.length - 1, 1, `${a.received.length - 1} probes went to the open target`);
          const byFallback = answers.filter((r) => r.headers['x-portkey-last-used-option-index'] === 'config.targets[1]').length;
          assert.equal(byFallback, 19);
          assert.equal(b.received.length - 1, 19);
        } finally {
          await server.close();
        }
      });

      test(`${label}: 10 concurrent failures against a threshold of 5 open the breaker (no lost updates)`, T, async () => {
        const app = createApp(options({ ...store(), circuitBreaker: { failureThreshold: 5, minimumRequests: 5, windowMs: 60_000, cooldownMs: 60_000 } }));
        a.always({ kind: 'status', status: 500, delayMs: 30 });
        const server = await listen(app as unknown as http.RequestListener);
        try {
          const answers = await Promise.all(Array.from({ length: 10 }, () => send(server.origin, config)));
          assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
        } finally {
          await server.close();
        }
        let row: { state?: string } | undefined;
        const deadline = performance.now() + 500;
        do {
          const health = await request(app).get('/v1/health');
          assert.equal(health.status, 200);
          row = health.body.targets.find((t: { model?: string }) => t.model === models.a);
          if (row?.state === 'open') break;
          await wait(20);
        } while (performance.now() < deadline);
        assert.equal(row?.state, 'open', JSON.stringify(row));
      });
    }

    test('a store that does not answer adds no latency to requests to a healthy target', T, async () => {
      const inner = new MemoryBreakerStore();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const gated = <A extends unknown[], R>(fn: (...args: A) => R) => async (...args: A): Promise<R> => {
        await gate;
        return fn(...args);
      };
      const store = {
        acquire: gated((...args: Parameters<MemoryBreakerStore['acquire']>) => inner.acquire(...args)),
        record: gated((...args: Parameters<MemoryBreakerStore['record']>) => inner.record(...args)),
        snapshot: gated(() => inner.snapshot()),
      };
      const app = createApp(options({ breakerStore: store as unknown as RouterOptions['breakerStore'], circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 60_000 } }));
      try {
        for (let i = 0; i < 5; i++) {
          const started = performance.now();
          const res = await send(app, { virtual_key: 'a' });
          const elapsed = performance.now() - started;
          assert.equal(res.status, 200);
          assert.equal(res.body.choices[0].message.content, 'Hello from a');
          assert.ok(elapsed < 200, `request ${i} took ${Math.round(elapsed)} ms with the store held`);
        }
        assert.equal(a.received.length, 5);
      } finally {
        release();
      }
    });

    test('a v1-shaped breakerStore ({ get, set, keys }) is refused at start-up, naming breakerStore and acquire', T, () => {
      const v1 = { get: async () => undefined, set: async () => undefined, keys: async () => [] };
      assert.throws(
        () => createFallbackRouter({ logger: quietLogger(), breakerStore: v1 as unknown as RouterOptions['breakerStore'] }),
        (err: Error) => /breakerStore/.test(err.message) && /acquire/.test(err.message),
      );
    });
  });
});
