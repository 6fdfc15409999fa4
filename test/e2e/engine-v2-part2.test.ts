/**
 * Engine v2 (issue 9), defects 5-10 (the 10th of the issue is item 9 here), end to end: hedges
 * that fail, recovered-stream traces, idle-timeout retries and cancelled streaming attempts in
 * the trace, adapter translation errors, and the method of /health. Public behaviour only.
 * Defects 1-4 are in engine-v2.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake, type StreamScript } from '../helpers/fake-providers.js';
import { postThenHangUp, sendChat, sendChatStream, traceOf } from '../helpers/requests.js';
import { joinedContent, listen, rawText, sseData } from '../helpers/sse.js';

const messages = [{ role: 'user', content: 'hi' }];
const T = { timeout: 10_000 };

interface AttemptRow {
  path: string;
  provider: string;
  status?: number;
  code?: string;
  served: boolean;
  skipped?: string;
}

describe('engine v2 (issue 9): hedges, recovered streams, traces, errors', () => {
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

  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    virtualKeys: {
      a: { provider: 'openai', apiKey: 'ka', baseURL: a.baseURL },
      b: { provider: 'openai', apiKey: 'kb', baseURL: b.baseURL },
      ant: { provider: 'anthropic', apiKey: 'kant', baseURL: ant.baseURL },
    },
    ...extra,
  });
  const send = sendChat;
  const sendStream = sendChatStream;
  const attemptsOf = (trace: request.Response): AttemptRow[] => trace.body.attempts;

  describe('5. a hedged branch failing with a status that must not fail over does not abort the running primary', () => {
    test('the hedge answers 400 (not in on_status_codes) while the primary is still running: the primary serves', T, async () => {
      a.script({ kind: 'ok', delayMs: 300 });
      b.script({ kind: 'status', status: 400, delayMs: 10 });
      const app = createApp(options());
      const traceId = randomUUID();
      const res = await send(app, { strategy: { mode: 'fallback', hedge_after_ms: 50, on_status_codes: [429] }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] }, {}, traceId);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.choices[0].message.content, 'Hello from a');
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[0]');
      assert.equal(b.received.length, 1, 'the hedge was started');
      const trace = await traceOf(app, traceId);
      assert.equal(trace.body.servedPath, 'config.targets[0]');
      assert.equal(trace.body.status, 200);
    });
  });

  describe('6. after stream_recovery continue splices a stream, the trace credits the target that finished it', () => {
    test('openai cut after 2 pieces, anthropic continues: one whole answer, and the trace serves config.targets[1]', T, async () => {
      a.script({ kind: 'stream', pieces: ['The quick', ' brown', ' fox'], cutAfter: 2 });
      ant.script({ kind: 'stream', pieces: [' jumps', ' over.'] });
      const app = createApp(options());
      const traceId = randomUUID();
      const res = await sendStream(
        app,
        { strategy: { mode: 'fallback' }, stream_recovery: 'continue', targets: [{ virtual_key: 'a' }, { virtual_key: 'ant', override_params: { model: 'claude' } }] },
        traceId,
      );
      assert.equal(res.status, 200);
      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(joinedContent(events), 'The quick brown jumps over.');
      assert.ok(!res.body.includes('"error"'));
      assert.deepEqual(ant.received[0]!.body.messages.at(-1), { role: 'assistant', content: 'The quick brown' });

      const trace = await traceOf(app, traceId);
      assert.equal(trace.status, 200);
      assert.equal(trace.body.servedPath, 'config.targets[1]');
      assert.equal(trace.body.provider, 'anthropic');
      const attempts = attemptsOf(trace);
      const first = attempts.find((x) => x.path === 'config.targets[0]');
      const second = attempts.find((x) => x.path === 'config.targets[1]');
      assert.equal(first?.served, false, JSON.stringify(attempts));
      assert.equal(first?.code, 'stream_interrupted', JSON.stringify(attempts));
      assert.equal(second?.served, true, JSON.stringify(attempts));
      assert.equal(attempts.filter((x) => x.served).length, 1, JSON.stringify(attempts));
    });
  });

  describe('7. timeouts are not retried on the same target; cancelled streaming attempts are traced', () => {
    test('buffered mode: a stall caught by stream_idle_timeout fails over without a retry on the same target', T, async () => {
      a.always({ kind: 'stream', pieces: ['stalled', ' here', ' forever'], stallAfter: 1 });
      b.always({ kind: 'stream' });
      const started = performance.now();
      const res = await sendStream(createApp(options()), {
        strategy: { mode: 'fallback' },
        stream_mode: 'buffered',
        stream_idle_timeout: 200,
        retry: { attempts: 2 },
        targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }],
      });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 200);
      const events = sseData(res.body);
      assert.equal(joinedContent(events), 'Hello from b');
      assert.equal(events.at(-1), '[DONE]');
      assert.ok(!res.body.includes('stalled'), 'nothing of the stalled attempt reached the client');
      assert.equal(a.received.length, 1, 'the stalled target was retried');
      assert.ok(elapsed < 2000, `${Math.round(elapsed)} ms`);
    });

    const slowFirstContent: Array<[string, (ms: number) => StreamScript]> = [
      ['headers at once, content late', (ms) => ({ contentDelayMs: ms })],
      ['nothing at all until late', (ms) => ({ firstDelayMs: ms })],
    ];
    for (const [label, slow] of slowFirstContent) {
      test(`hedged streams (${label}): the cancelled loser is in the trace as hedge_cancelled, the winner served`, T, async () => {
        a.script({ kind: 'stream', ...slow(400) });
        b.script({ kind: 'stream' });
        const app = createApp(options());
        const traceId = randomUUID();
        const res = await sendStream(app, { strategy: { mode: 'fallback', hedge_after_ms: 50 }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] }, traceId);
        const events = sseData(res.body);
        assert.equal(joinedContent(events), 'Hello from b');
        assert.equal(events.filter((e) => e === '[DONE]').length, 1);
        const trace = await traceOf(app, traceId);
        assert.equal(trace.body.servedPath, 'config.targets[1]');
        const attempts = attemptsOf(trace);
        const loser = attempts.find((x) => x.path === 'config.targets[0]');
        assert.equal(loser?.code, 'hedge_cancelled', JSON.stringify(attempts));
        assert.equal(loser?.status, 499, JSON.stringify(attempts));
        assert.equal(loser?.served, false);
        assert.equal(attempts.find((x) => x.path === 'config.targets[1]')?.served, true, JSON.stringify(attempts));
      });

      test(`a client that disconnects before the commit (${label}): traced as 499 with the attempt as client_disconnected`, T, async () => {
        a.script({ kind: 'stream', ...slow(500) });
        const app = createApp(options());
        const server = await listen(app as unknown as http.RequestListener);
        try {
          const traceId = randomUUID();
          await postThenHangUp(
            server.origin,
            '/v1/chat/completions',
            { 'x-portkey-config': JSON.stringify({ virtual_key: 'a' }), 'x-portkey-trace-id': traceId },
            { model: 'gpt-4o', messages, stream: true },
            100,
          );
          const trace = await traceOf(app, traceId);
          assert.equal(trace.status, 200);
          assert.equal(trace.body.status, 499);
          const attempts = attemptsOf(trace);
          const attempt = attempts.find((x) => x.path === 'config' && x.provider === 'openai');
          assert.ok(attempt, `no attempt recorded: ${JSON.stringify(attempts)}`);
          assert.equal(attempt.code, 'client_disconnected', JSON.stringify(attempts));
          assert.equal(attempt.served, false);
          assert.equal(a.received.length, 1);
        } finally {
          await server.close();
        }
      });
    }
  });

  describe("8. an adapter's message-translation error is a 400 invalid_request_error naming the field", () => {
    test('input_audio sent to anthropic: 400 invalid_request_error, param messages[0].content[0].type, code invalid_parameter', T, async () => {
      const res = await send(createApp(options()), { virtual_key: 'ant', override_params: { model: 'claude' } }, {
        messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }],
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.type, 'invalid_request_error');
      assert.equal(res.body.error.param, 'messages[0].content[0].type');
      assert.equal(res.body.error.code, 'invalid_parameter');
      assert.match(res.body.error.message, /input_audio/);
      assert.equal(ant.received.length, 0, 'nothing was sent upstream');
    });
  });

  describe('9. a wrong method on /health is a 405', () => {
    for (const method of ['post', 'put', 'delete'] as const) {
      test(`${method.toUpperCase()} /health answers 405 with an OpenAI-format error and allow: GET`, T, async () => {
        const res = await request(createApp(options()))[method]('/v1/health');
        assert.equal(res.status, 405);
        assert.match(res.headers['allow'] ?? '', /^GET(, ?HEAD)?$/);
        assert.match(res.headers['content-type'] ?? '', /application\/json/);
        assert.equal(typeof res.body.error.message, 'string');
        assert.equal(res.body.error.type, 'invalid_request_error');
        assert.equal(res.body.error.code, 'method_not_allowed');
      });
    }
    test('GET /health still answers 200', T, async () => {
      const res = await request(createApp(options())).get('/v1/health');
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'ok');
    });
  });
});
