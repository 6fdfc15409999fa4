/**
 * Issue 10, the engine's part: the work one request may cause is bounded (attempts, hedges in
 * flight, the wait between retries), one client cannot open a breaker the others share, the
 * credentials the router sent are masked in what an upstream echoes, upstream bytes held in
 * memory are bounded, a body nested too deeply is a 400, and an early refusal waits for the
 * upload instead of resetting the client.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { sendChat, traceOf, wait } from '../helpers/requests.js';
import { listen, rawText, sseData } from '../helpers/sse.js';

const T = { timeout: 15_000 };
const gaps = (fake: Fake): number[] => fake.received.slice(1).map((r, i) => r.at - fake.received[i]!.at);

describe('hardening: the engine', () => {
  let a: Fake;
  let b: Fake;
  let ant: Fake;
  before(async () => {
    [a, b, ant] = await Promise.all([startFake('openai', 'a'), startFake('openai', 'b'), startFake('anthropic', 'ant')]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), ant.close()]);
  });
  beforeEach(() => {
    for (const f of [a, b, ant]) f.reset();
  });
  const SERVER_KEY = 'sk-server-0123456789abcdefghijKLMNOPQRST';
  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    providers: { openai: { apiKey: SERVER_KEY, baseURL: a.baseURL } },
    virtualKeys: {
      a: { provider: 'openai', apiKey: 'ka-0123456789abcdefghij', baseURL: a.baseURL },
      b: { provider: 'openai', apiKey: 'kb-0123456789abcdefghij', baseURL: b.baseURL },
      ant: { provider: 'anthropic', apiKey: 'sk-ant-SECRET-0123456789abcdefghij', baseURL: ant.baseURL },
    },
    ...extra,
  });
  const many = (n: number, extra: Record<string, unknown> = {}) => ({ strategy: { mode: 'fallback' }, ...extra, targets: Array.from({ length: n }, () => ({ virtual_key: 'a' })) });

  describe('the work of one request is bounded', () => {
    test('maxAttemptsPerRequest (default 10) bounds retries and fallbacks together; the trace says the limit cut it short', T, async () => {
      a.always({ kind: 'status', status: 503, headers: { 'retry-after-ms': '0' } });
      const app = createApp(options());
      const res = await sendChat(app, many(30, { retry: { attempts: 2 } }), {}, 'limit-1');
      assert.equal(res.status, 503);
      assert.equal(a.received.length, 10);
      assert.equal(res.headers['x-portkey-attempts'], '10');
      const trace = (await traceOf(app, 'limit-1')).body;
      assert.equal(trace.attempts.filter((r: { skipped?: string }) => r.skipped === 'attempt_limit').length, 1);
      assert.equal(trace.totals.attempts, 10);
    });

    test('maxAttemptsPerRequest is an option', T, async () => {
      a.always({ kind: 'status', status: 500 });
      const res = await sendChat(createApp(options({ maxAttemptsPerRequest: 3 })), many(10));
      assert.equal(res.status, 500);
      assert.equal(a.received.length, 3);
      assert.throws(() => createApp(options({ maxAttemptsPerRequest: 0 })), /maxAttemptsPerRequest/);
    });

    test('retry-after-ms: 0 still leaves at least 50 ms between two tries of one target', T, async () => {
      a.script({ kind: 'status', status: 429, headers: { 'retry-after-ms': '0' } }, { kind: 'status', status: 429, headers: { 'retry-after-ms': '0' } });
      const res = await sendChat(createApp(options()), { virtual_key: 'a', retry: { attempts: 3 } });
      assert.equal(res.status, 200);
      assert.equal(a.received.length, 3);
      for (const gap of gaps(a)) assert.ok(gap >= 45, `gap ${gap} ms`);
    });

    test('hedge_after_ms: 1 runs at most 3 branches at once', T, async () => {
      a.always({ kind: 'hang' });
      const app = createApp(options());
      // supertest sends on then(): start it now.
      const pending = sendChat(app, many(20, { strategy: { mode: 'fallback', hedge_after_ms: 1 }, request_timeout: 400 })).then((r) => r);
      for (let i = 0; i < 100 && a.received.length < 3; i++) await wait(10);
      await wait(100); // hedge_after_ms is 1: without the cap, dozens would have started by now
      assert.equal(a.received.length, 3, 'three branches in flight, no more');
      const res = await pending;
      assert.equal(res.status, 408);
      assert.ok(a.received.length <= 10);
    });
  });

  describe('one client cannot open a breaker the others share', () => {
    const cb = { failureThreshold: 1, minimumRequests: 1, windowMs: 60_000, cooldownMs: 60_000 };

    test("a client's short request_timeout times out without counting against the router's breaker", T, async () => {
      const app = createApp(options({ circuitBreaker: cb }));
      a.always({ kind: 'ok', delayMs: 60 });
      for (let i = 0; i < 3; i++) assert.equal((await sendChat(app, { virtual_key: 'a', request_timeout: 5 })).status, 408);
      const before = a.received.length;
      const res = await sendChat(app, { virtual_key: 'a' });
      assert.equal(res.status, 200);
      assert.equal(a.received.length, before + 1, 'the target was not skipped');
    });

    test('an upstream 401 or 400 (the request or its key) does not count; a 503 does', T, async () => {
      const app = createApp(options({ circuitBreaker: cb }));
      const config = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] };
      for (const status of [401, 400]) {
        a.script({ kind: 'status', status });
        await sendChat(app, config);
      }
      a.reset();
      assert.equal((await sendChat(app, config)).headers['x-portkey-last-used-option-index'], 'config.targets[0]', 'still closed');
      a.script({ kind: 'status', status: 503 });
      await sendChat(app, config);
      a.reset();
      assert.equal((await sendChat(app, config)).headers['x-portkey-last-used-option-index'], 'config.targets[1]', 'the 503 opened it');
      assert.equal(a.received.length, 0);
    });

    test("a request's cb_config with threshold 1 keeps its breaker to itself", T, async () => {
      const app = createApp(options());
      const strict = { strategy: { mode: 'fallback', cb_config: { failure_threshold: 1, minimum_requests: 1, cooldown_ms: 60_000 } }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] };
      a.script({ kind: 'status', status: 503 });
      await sendChat(app, strict);
      a.reset();
      assert.equal((await sendChat(app, strict)).headers['x-portkey-last-used-option-index'], 'config.targets[1]', 'its own breaker is open');
      assert.equal(a.received.length, 0);
      // Another client's config, with the host's own (or the default) thresholds, still reaches A.
      const other = { strategy: { mode: 'fallback', cb_config: { failure_threshold: 5 } }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] };
      assert.equal((await sendChat(app, other)).headers['x-portkey-last-used-option-index'], 'config.targets[0]');
      assert.equal(a.received.length, 1);
      const health = (await request(app).get('/v1/health')).body;
      assert.ok(health.targets.some((t: { state: string; scope: string | null }) => t.state === 'open' && t.scope !== null), JSON.stringify(health));
    });

    test('a body nested too deeply is a 400 naming where, and reaches no upstream nor any breaker', T, async () => {
      const app = createApp(options({ circuitBreaker: cb }));
      let deep: Record<string, unknown> = { v: 1 };
      for (let i = 0; i < 200; i++) deep = { x: deep };
      const res = await sendChat(app, { virtual_key: 'a' }, { metadata: deep });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_body');
      assert.match(res.body.error.param, /^metadata(\.x)+$/);
      assert.equal(a.received.length, 0);
      assert.deepEqual((await request(app).get('/v1/health')).body.targets, []);
      let legal: Record<string, unknown> = { v: 1 };
      for (let i = 0; i < 40; i++) legal = { x: legal };
      assert.equal((await sendChat(app, { virtual_key: 'a' }, { metadata: legal })).status, 200);
    });
  });

  describe('credentials the router sent are masked in what an upstream echoes', () => {
    for (const [label, config, key] of [
      ['the server key of options.providers', { provider: 'openai' }, SERVER_KEY],
      ["a virtual key's", { virtual_key: 'b' }, 'kb-0123456789abcdefghij'],
      ["the client's own api_key", { provider: 'openai', api_key: 'sk-client-ZYXWVUTSRQPONMLKJIHG' }, 'sk-client-ZYXWVUTSRQPONMLKJIHG'],
    ] as const) {
      test(`${label}: whole or in part, never in the answer, the trace or the logs`, T, async () => {
        const app = createApp(options({ logs: { captureBodies: true } }));
        for (const echoed of [key, key.slice(0, 16)]) {
          for (const f of [a, b]) f.script({ kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${echoed}. Find yours at ...`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
          const traceId = `mask-${Math.random()}`;
          const res = await sendChat(app, config, {}, traceId);
          assert.equal(res.status, 401);
          assert.match(res.body.error.message, /Incorrect API key provided: \*\*\*/);
          const trace = JSON.stringify((await traceOf(app, traceId)).body);
          for (const text of [JSON.stringify(res.body), trace]) assert.ok(!text.includes(key.slice(0, 14)), text);
        }
      });
    }

    test('an Anthropic stream error event that echoes the x-api-key is masked', T, async () => {
      const app = createApp(options());
      const key = 'sk-ant-SECRET-0123456789abcdefghij';
      ant.script({ kind: 'status', status: 401, body: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${key}` } } });
      const res = await sendChat(app, { virtual_key: 'ant' }, { stream: true }).buffer(true).parse(rawText);
      assert.equal(res.status, 401);
      assert.ok(!String(res.body).includes('SECRET'), res.body);
    });
  });

  describe('upstream bytes held in memory are bounded (maxBufferedBytes)', () => {
    const big = (bytes: number) => ({
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o',
      choices: [{ index: 0, message: { role: 'assistant', content: 'y'.repeat(bytes) }, finish_reason: 'stop' }],
    });

    test('a reply larger than the budget is a 503 overloaded; the budget is given back for the next request', T, async () => {
      const app = createApp(options({ maxBufferedBytes: 64 * 1024 }));
      a.script({ kind: 'ok', body: big(200_000) });
      const res = await sendChat(app, { virtual_key: 'a' });
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'overloaded');
      const next = await sendChat(app, { virtual_key: 'a' });
      assert.equal(next.status, 200, 'the bytes were given back');
    });

    test('an overloaded reply fails over (another target may answer smaller) and is never counted by the breaker', T, async () => {
      const app = createApp(options({ maxBufferedBytes: 64 * 1024, circuitBreaker: { failureThreshold: 1, minimumRequests: 1 } }));
      a.script({ kind: 'ok', body: big(200_000) });
      const res = await sendChat(app, { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
      assert.equal((await sendChat(app, { virtual_key: 'a' })).status, 200, 'A is not skipped');
    });

    test('a buffered stream past the budget is a 503 too', T, async () => {
      const app = createApp(options({ maxBufferedBytes: 16 * 1024 }));
      a.script({ kind: 'stream', pieces: Array.from({ length: 40 }, () => 'z'.repeat(1000)) });
      const res = await sendChat(app, { virtual_key: 'a', stream_mode: 'buffered' }, { stream: true }).buffer(true).parse(rawText);
      assert.equal(res.status, 503);
      assert.equal(JSON.parse(res.body).error.code, 'overloaded');
      a.script({ kind: 'stream' });
      const next = await sendChat(app, { virtual_key: 'a', stream_mode: 'buffered' }, { stream: true }).buffer(true).parse(rawText);
      assert.equal(sseData(next.body).at(-1), '[DONE]');
    });
  });

  test('a refusal before the body is read (401) waits for the upload: the client gets the answer, not a reset', T, async () => {
    const server = await listen(createApp(options({ auth: { apiKeys: ['right'] } })));
    try {
      const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(2_000_000) }] });
      const answer = await new Promise<{ status?: number; text: string; error?: string }>((resolve) => {
        const req = http.request(`${server.origin}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'wrong', connection: 'close', 'content-length': Buffer.byteLength(body) },
        });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
        req.on('error', (err) => resolve({ text: '', error: err.message }));
        // Upload slowly, in pieces, as a client on a slow link would.
        let offset = 0;
        const pump = (): void => {
          if (offset >= body.length) return void req.end();
          req.write(body.slice(offset, offset + 200_000));
          offset += 200_000;
          setTimeout(pump, 10);
        };
        pump();
      });
      assert.equal(answer.error, undefined);
      assert.equal(answer.status, 401);
      assert.equal(JSON.parse(answer.text).error.code, 'invalid_api_key');
    } finally {
      await server.close();
    }
  });
});
