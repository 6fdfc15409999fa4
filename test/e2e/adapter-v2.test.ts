/**
 * Adapters v2 through the public API: a custom adapter ("lpjson", test/helpers/lp-provider.ts)
 * with an async, signal-aware buildRequest that signs the exact bytes it sends (rawBody), its own
 * settings schema, and a StreamDecoder for a length-prefixed binary stream; checked by what the
 * client gets and what the fake upstream received.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import {
  LP_PIECES,
  LP_SECRET,
  LP_TEXT,
  LP_TOKENS,
  createLpAdapter,
  lpSign,
  startLpFake,
  type LpControl,
  type LpFake,
  type LpSplit,
} from '../helpers/lp-provider.js';
import { joinedContent, listen, rawText, sseData } from '../helpers/sse.js';

const T = { timeout: 10_000 };
const messages = [{ role: 'user', content: 'Say hello, wörld ✓' }];
const MODEL = 'lp-large';
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('adapters v2: a signed, binary-streaming custom provider', () => {
  let lp: LpFake;
  let openai: Fake;
  let control: LpControl;
  let adapter: ReturnType<typeof createLpAdapter>['adapter'];

  before(async () => {
    [lp, openai] = await Promise.all([startLpFake(), startFake('openai')]);
  });
  after(async () => {
    await Promise.all([lp.close(), openai.close()]);
  });
  beforeEach(() => {
    lp.reset();
    openai.reset();
    ({ adapter, control } = createLpAdapter());
  });

  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    adapters: { lpjson: adapter },
    providers: {
      lpjson: { baseURL: lp.baseURL, signingSecret: LP_SECRET },
      openai: { apiKey: 'sk-openai', baseURL: openai.baseURL },
    },
    ...extra,
  });
  const chat = (config: unknown, body: Record<string, unknown> = {}) =>
    request(createApp(options()))
      .post('/v1/chat/completions')
      .set('x-portkey-config', JSON.stringify(config))
      .send({ model: MODEL, messages, ...body });
  const streamChat = (config: unknown) => chat(config, { stream: true }).buffer(true).parse(rawText);
  const chain = (...targets: unknown[]) => ({ strategy: { mode: 'fallback' }, targets });

  /** The request the fake got was signed over its exact bytes, which are the bytes the adapter built. */
  function assertSigned(index = 0): void {
    const got = lp.received[index];
    assert.ok(got, `the fake received request #${index}`);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/v1/generate');
    assert.equal(got.signatureOk, true, 'the fake accepted the signature');
    assert.equal(got.signature, lpSign(LP_SECRET, got.raw), 'x-signature is the HMAC of the bytes received');
    const built = control.builds[index]?.rawBody;
    assert.ok(built, 'buildRequest completed');
    assert.ok(got.raw.equals(built), 'the transport sent rawBody byte for byte (not a re-serialised body)');
  }

  test('(1) a non-streaming chat is signed over the exact bytes sent, and answers an OpenAI chat.completion with usage', T, async () => {
    for (const rawAs of ['string', 'bytes'] as const) {
      lp.reset();
      control.rawAs = rawAs;
      control.builds.length = 0;
      const res = await chat({ provider: 'lpjson' });
      assert.equal(res.status, 200, `rawBody as ${rawAs}: ${JSON.stringify(res.body)}`);
      assert.equal(res.headers['x-portkey-provider'], 'lpjson');
      assert.equal(lp.received.length, 1, rawAs);
      assertSigned();
      assert.deepEqual(lp.received[0]!.body, { model: MODEL, prompt: messages, stream: false });
      assert.equal(control.builds[0]!.settings.signing_secret, LP_SECRET, 'options.providers.lpjson.signingSecret reaches target.settings.signing_secret');
      assert.ok(control.builds[0]!.signal instanceof AbortSignal, 'buildRequest got an AbortSignal');

      assert.equal(res.body.object, 'chat.completion');
      assert.equal(res.body.model, MODEL);
      assert.equal(res.body.choices[0].message.role, 'assistant');
      assert.equal(res.body.choices[0].message.content, LP_TEXT);
      assert.equal(res.body.choices[0].finish_reason, 'stop');
      assert.deepEqual(res.body.usage, { prompt_tokens: LP_TOKENS.in, completion_tokens: LP_TOKENS.out, total_tokens: LP_TOKENS.in + LP_TOKENS.out });
    }
  });

  test('(2) a binary stream arrives as OpenAI SSE chunks ending in [DONE], however the frames are split across writes', T, async () => {
    const splits: LpSplit[] = ['frames', 'prefix', 'cycle'];
    for (const split of splits) {
      lp.reset();
      control.decodeChunks.length = 0;
      lp.script({ kind: 'stream', split });
      const res = await streamChat({ provider: 'lpjson' });
      assert.equal(res.status, 200, `${split}: ${res.body}`);
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/, split);
      assert.equal(lp.received.length, 1, split);
      assertSigned();
      assert.equal(lp.received[0]!.body.stream, true, split);

      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]', `${split}: ends in [DONE]`);
      assert.equal(events.filter((e) => e === '[DONE]').length, 1, split);
      const chunks = events.slice(0, -1);
      assert.ok(chunks.every((e) => e.object === 'chat.completion.chunk' && e.model === MODEL), `${split}: ${JSON.stringify(chunks)}`);
      assert.equal(chunks[0].choices[0].delta.role, 'assistant', split);
      assert.equal(joinedContent(events), LP_PIECES.join(''), `${split}: joined content`);
      assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop', split);
      if (split !== 'frames') {
        // The splitting was real: the decoder saw more body chunks than there are frames.
        assert.ok((control.decodeChunks[0] ?? 0) > LP_PIECES.length + 2, `${split}: decoder saw ${control.decodeChunks[0]} chunks`);
      }
    }
  });

  test('(3) a binary stream cut after its first content ends with an in-band stream_interrupted error, no [DONE]', T, async () => {
    lp.script({ kind: 'stream', cutAfter: 1, split: 'prefix' });
    const res = await streamChat(chain({ provider: 'lpjson' }, { provider: 'openai' }));
    assert.equal(res.status, 200);
    const events = sseData(res.body);
    assert.ok(!events.includes('[DONE]'), 'no [DONE]');
    assert.equal(joinedContent(events), LP_PIECES[0]);
    const last = events.at(-1);
    assert.equal(last.error?.code, 'stream_interrupted', JSON.stringify(last));
    assert.equal(last.error.provider, 'lpjson');
    assert.equal(openai.received.length, 0, 'no fallback after the commit point');
  });

  test('(3b) a binary stream cut before any content fails over invisibly', T, async () => {
    lp.script({ kind: 'stream', cutAfter: 0, split: 'prefix' });
    openai.always({ kind: 'stream' });
    const res = await streamChat(chain({ provider: 'lpjson' }, { provider: 'openai' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-portkey-provider'], 'openai');
    const events = sseData(res.body);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(joinedContent(events), 'Hello from openai');
    assert.equal(lp.received.length, 1);
    assert.equal(openai.received.length, 1);
  });

  test('(4) a per-target signing_secret in the config overrides the server-side one; its 401 fails over to OpenAI', T, async () => {
    const res = await chat(chain({ provider: 'lpjson', signing_secret: 'wrong' }, { provider: 'openai' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers['x-portkey-provider'], 'openai');
    assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
    assert.equal(res.body.choices[0].message.content, 'Hello from openai');

    assert.equal(lp.received.length, 1);
    const got = lp.received[0]!;
    assert.equal(got.signatureOk, false, 'the fake refused the signature');
    assert.equal(got.signature, lpSign('wrong', got.raw), "signed with the config's secret, not the server's");
    assert.equal(control.builds[0]!.settings.signing_secret, 'wrong');
    assert.equal(openai.received.length, 1);

    // classifyError got the 401's body and headers (lower-case names).
    assert.equal(control.classified.length, 1);
    const c = control.classified[0]!;
    assert.equal(c.status, 401);
    assert.equal((c.body as { error: { code: string } }).error.code, 'invalid_signature');
    assert.ok(c.headers && typeof c.headers === 'object', 'classifyError got the reply headers');
    assert.equal((c.headers as Record<string, string>)['x-lp-request-id'], 'lp-req-1');
    assert.match((c.headers as Record<string, string>)['content-type'] ?? '', /^application\/json/);

    // With no fallback, the client sees the provider's own classified error.
    lp.reset();
    const alone = await chat({ provider: 'lpjson', signing_secret: 'wrong' });
    assert.equal(alone.status, 401);
    assert.equal(alone.body.error.code, 'invalid_signature');
    assert.equal(alone.body.error.provider, 'lpjson');
  });

  test('(4b) the adapter settings schema validates a config target (signing_secret must be a string)', T, async () => {
    const res = await chat({ provider: 'lpjson', signing_secret: 42 });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(`${res.body.error.param} ${res.body.error.message}`, /signing_secret/);
    assert.equal(lp.received.length, 0);
    assert.equal(control.builds.length, 0, 'buildRequest never saw the invalid setting');
  });

  test('(5) the signal handed to buildRequest aborts when the client goes away: nothing is sent upstream', T, async () => {
    const server = await listen(createApp(options()) as unknown as http.RequestListener);
    try {
      for (const stream of [false, true]) {
        lp.reset();
        control.builds.length = 0;
        control.slowMs = 300;
        await new Promise<void>((resolve) => {
          const req = http.request(`${server.origin}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-portkey-config': JSON.stringify({ provider: 'lpjson' }) },
          });
          req.on('error', () => undefined);
          req.on('response', (res) => res.resume());
          req.end(JSON.stringify({ model: MODEL, messages, stream }));
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 50);
        });
        await wait(500);
        assert.equal(lp.received.length, 0, `stream=${stream}: the fake received no request`);
        assert.equal(control.builds.length, 1, `stream=${stream}: buildRequest was called once`);
        const build = control.builds[0]!;
        assert.ok(build.signal, `stream=${stream}: buildRequest got a signal`);
        assert.equal(build.signal.aborted, true, `stream=${stream}: signal.aborted`);
        assert.equal(build.abortedDuringBuild, true, `stream=${stream}: the abort reached buildRequest while it was signing`);
        assert.equal(build.rawBody, undefined, `stream=${stream}: buildRequest gave up`);
      }
    } finally {
      control.slowMs = undefined;
      await server.close();
    }
  });

  test('(6) a 2xx stream reply whose content-type is not the decoder\'s fails over, or is a 502 with one target', T, async () => {
    // Valid lpjson payloads, but as server-sent events: only the decoder's contentType can tell.
    const sse = ['start', 'text', 'stop']
      .map((type) => `event: ${type}\ndata: ${JSON.stringify(type === 'start' ? { type, model: MODEL } : type === 'text' ? { type, text: 'sse!' } : { type, reason: 'stop' })}\n\n`)
      .join('');
    const wrong = [
      { kind: 'raw', status: 200, contentType: 'text/event-stream', text: sse },
      { kind: 'raw', status: 200, contentType: 'application/json', text: JSON.stringify({ id: 'x', model: MODEL, output: 'json!', stop: true, tokens: { in: 1, out: 1 } }) },
    ] as const;
    for (const behaviour of wrong) {
      lp.reset();
      openai.reset();
      openai.always({ kind: 'stream' });
      lp.script(behaviour);
      const res = await streamChat(chain({ provider: 'lpjson' }, { provider: 'openai' }));
      assert.equal(res.status, 200, behaviour.contentType);
      assert.equal(res.headers['x-portkey-provider'], 'openai', behaviour.contentType);
      const events = sseData(res.body);
      assert.equal(joinedContent(events), 'Hello from openai', behaviour.contentType);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(lp.received.length, 1);

      lp.reset();
      lp.script(behaviour);
      const alone = await streamChat({ provider: 'lpjson' });
      assert.equal(alone.status, 502, `${behaviour.contentType}: ${alone.body}`);
      const body = JSON.parse(alone.body);
      assert.equal(body.error.code, 'invalid_upstream_response', behaviour.contentType);
      assert.equal(body.error.provider, 'lpjson');
    }
  });
});
