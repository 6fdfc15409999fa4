/**
 * Streaming with fallback (SPEC §6): OpenAI-format SSE from every adapter, the commit point, and
 * a broken stream never presented as a success.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { joinedContent, listen, rawText, sseData } from '../helpers/sse.js';

const messages = [{ role: 'user', content: 'Tell me a story' }];

for (const { name: version, express } of EXPRESS_VERSIONS) {
  describe(`streaming (${version})`, () => {
    let openai: Fake;
    let openai2: Fake;
    let azure: Fake;
    let anthropic: Fake;

    before(async () => {
      [openai, openai2, azure, anthropic] = await Promise.all([startFake('openai'), startFake('openai', 'openai2'), startFake('azure'), startFake('anthropic')]);
    });
    after(async () => {
      await Promise.all([openai.close(), openai2.close(), azure.close(), anthropic.close()]);
    });
    beforeEach(() => {
      for (const f of [openai, openai2, azure, anthropic]) {
        f.reset();
        f.always({ kind: 'stream' });
      }
    });

    const options = (): RouterOptions => ({
      providers: {
        openai: { apiKey: 'sk-openai', baseURL: openai.baseURL },
        azure_openai: { apiKey: 'azure-key', baseURL: azure.baseURL, deploymentId: 'dep' },
        anthropic: { apiKey: 'sk-ant', baseURL: anthropic.baseURL },
      },
      virtualKeys: {
        'openai2-vk': { provider: 'openai', apiKey: 'sk-openai2', baseURL: openai2.baseURL },
      },
    });
    const app = (extra: Partial<RouterOptions> = {}) => createApp({ ...options(), ...extra }, { express });
    const post = (config: unknown, body: Record<string, unknown> = {}, extra: Partial<RouterOptions> = {}) =>
      request(app(extra))
        .post('/v1/chat/completions')
        .set('x-portkey-config', typeof config === 'string' ? config : JSON.stringify(config))
        .send({ model: 'gpt-4o', messages, stream: true, ...body })
        .buffer(true)
        .parse(rawText);
    const chain = (...targets: unknown[]) => ({ strategy: { mode: 'fallback' }, targets });

    test('OpenAI: chunks pass through, then [DONE]', async () => {
      const res = await post({ provider: 'openai' });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
      assert.equal(res.headers['x-portkey-provider'], 'openai');
      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(joinedContent(events), 'Hello from openai');
      assert.ok(events.slice(0, -1).every((e) => e.object === 'chat.completion.chunk' && e.model === 'gpt-4o'));
      assert.equal(events.at(-2).choices[0].finish_reason, 'stop');
      assert.equal(openai.received[0]!.body.stream, true);
    });

    test('Anthropic: the event stream is translated to chat.completion.chunk events', async () => {
      const res = await post({ provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } });
      assert.equal(res.status, 200);
      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]');
      const chunks = events.slice(0, -1);
      assert.ok(chunks.every((e) => e.object === 'chat.completion.chunk' && e.model === 'claude-3-5-sonnet-20240620'));
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      assert.equal(joinedContent(events), 'Hello from anthropic');
      assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
      assert.equal(anthropic.received[0]!.url, '/v1/messages');
      assert.equal(anthropic.received[0]!.body.stream, true);
    });

    test('Azure: the empty-choices content-filter event is dropped; the answer passes', async () => {
      const res = await post({ provider: 'azure-openai' });
      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.ok(events.slice(0, -1).every((e) => Array.isArray(e.choices) && e.choices.length > 0));
      assert.equal(joinedContent(events), 'Hello from azure');
      assert.equal(events[0].model, 'gpt-4o-2024-08-06');
    });

    test('tool calls stream as tool_calls deltas, from OpenAI and from Anthropic', async () => {
      for (const provider of ['openai', 'anthropic']) {
        const fake = provider === 'openai' ? openai : anthropic;
        fake.always({ kind: 'stream', tool: true });
        const res = await post({ provider }, { tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] });
        const events = sseData(res.body);
        assert.equal(events.at(-1), '[DONE]', provider);
        const calls = events.slice(0, -1).flatMap((e) => e.choices.flatMap((c: any) => c.delta?.tool_calls ?? []));
        assert.equal(calls[0].function.name, 'get_weather', provider);
        assert.equal(calls.map((c: any) => c.function.arguments).join(''), '{"city":"Paris"}', provider);
        assert.equal(events.at(-2).choices[0].finish_reason, 'tool_calls', provider);
      }
    });

    test('include_usage: the final chunk carries usage, whichever provider served', async () => {
      for (const provider of ['openai', 'anthropic', 'azure-openai']) {
        const res = await post({ provider }, { stream_options: { include_usage: true } });
        const events = sseData(res.body);
        assert.equal(events.at(-1), '[DONE]', provider);
        const last = events.at(-2);
        assert.deepEqual(last.choices, [], provider);
        assert.equal(last.usage.prompt_tokens, 11, provider);
        assert.equal(last.usage.completion_tokens, 7, provider);
        assert.equal(last.usage.total_tokens, 18, provider);
      }
    });

    test('before the commit point every failure fails over invisibly', async () => {
      const failures: Array<[string, Parameters<Fake['script']>[0], Record<string, unknown>]> = [
        ['error status', { kind: 'status', status: 503 }, {}],
        ['error event first', { kind: 'stream', errorFirst: true }, {}],
        ['cut before content', { kind: 'stream', cutAfter: 0 }, {}],
        ['stall before content', { kind: 'stream', stallAfter: 0 }, { request_timeout: 100 }],
        ['slow first token', { kind: 'stream', firstDelayMs: 400 }, { request_timeout: 100 }],
        ['ends before content', { kind: 'stream', noFinish: true, pieces: [] }, {}],
      ];
      for (const [label, behaviour, extra] of failures) {
        openai.reset();
        openai.script(behaviour);
        const res = await post(chain({ provider: 'openai', ...extra }, { provider: 'anthropic', override_params: { model: 'claude' } }));
        assert.equal(res.status, 200, label);
        const events = sseData(res.body);
        assert.equal(joinedContent(events), 'Hello from anthropic', label);
        assert.equal(events.at(-1), '[DONE]', label);
        assert.ok(!res.body.includes('"error"'), label);
        assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]', label);
        assert.equal(res.headers['x-portkey-attempts'], '2', label);
      }
    });

    test('every target failing before commit gives a plain JSON error, not a stream', async () => {
      openai.script({ kind: 'stream', errorFirst: true });
      anthropic.script({ kind: 'status', status: 429 });
      const res = await post(chain({ provider: 'openai' }, { provider: 'anthropic' }));
      assert.equal(res.status, 429);
      assert.match(res.headers['content-type'] ?? '', /application\/json/);
      assert.equal(JSON.parse(res.body).error.provider, 'anthropic');
    });

    test('after commit, a cut ends with an in-band stream_interrupted error and no [DONE]', async () => {
      openai.script({ kind: 'stream', pieces: ['Once', ' upon', ' a', ' time'], cutAfter: 2 });
      const res = await post(chain({ provider: 'openai' }, { provider: 'anthropic' }));
      assert.equal(res.status, 200);
      const events = sseData(res.body);
      assert.equal(joinedContent(events), 'Once upon');
      assert.ok(!events.includes('[DONE]'));
      const last = events.at(-1);
      assert.equal(last.error.code, 'stream_interrupted');
      assert.equal(last.error.provider, 'openai');
      assert.equal(anthropic.received.length, 0, 'no fallback after commit without stream_recovery');
    });

    test('after commit, a stall past stream_idle_timeout ends with the in-band error', async () => {
      anthropic.script({ kind: 'stream', pieces: ['a', 'b', 'c'], stallAfter: 1 });
      const res = await post({ provider: 'anthropic', stream_idle_timeout: 100 });
      const events = sseData(res.body);
      assert.equal(joinedContent(events), 'a');
      assert.equal(events.at(-1).error.code, 'stream_interrupted');
      assert.match(events.at(-1).error.message, /stalled/);
    });

    test('n > 1 to Anthropic (one choice whatever n says) still completes with [DONE]', async () => {
      const res = await post({ provider: 'anthropic' }, { n: 2 });
      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(joinedContent(events), 'Hello from anthropic');
    });

    test('a committed stream that breaks is traced as 502 stream_interrupted, not as a success', async () => {
      openai.script({ kind: 'stream', pieces: ['a', 'b', 'c'], cutAfter: 1 });
      const shared = app();
      const res = await request(shared).post('/v1/chat/completions').set('x-portkey-provider', 'openai').send({ model: 'gpt-4o', messages, stream: true }).buffer(true).parse(rawText);
      assert.equal(sseData(res.body).at(-1).error.code, 'stream_interrupted');
      let trace: request.Response | undefined;
      for (let i = 0; i < 50 && trace?.status !== 200; i++) {
        trace = await request(shared).get(`/v1/logs/${res.headers['x-portkey-trace-id']}`);
        if (trace.status !== 200) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(trace?.body.status, 502);
      assert.equal(trace?.body.error.code, 'stream_interrupted');
      const failed = await request(shared).get('/v1/logs').query({ status: 502 });
      assert.equal(failed.body.data.length, 1);
    });

    test('a stream that ends without a finish_reason is not a success', async () => {
      for (const provider of ['openai', 'anthropic']) {
        (provider === 'openai' ? openai : anthropic).script({ kind: 'stream', noFinish: true });
        const res = await post({ provider });
        const events = sseData(res.body);
        assert.ok(!events.includes('[DONE]'), provider);
        assert.equal(events.at(-1).error.code, 'stream_interrupted', provider);
      }
    });

    test('a finish_reason without [DONE] is complete and closed at once, even if the upstream stays open', async () => {
      openai.script({ kind: 'stream', afterFinish: 'hang' });
      anthropic.script({ kind: 'stream', afterFinish: 'hang' });
      for (const provider of ['openai', 'anthropic']) {
        // the idle timeout is long: only a prompt finish answers within the request timeout below
        const res = await post({ provider, stream_idle_timeout: 30_000 }).timeout(5_000);
        const events = sseData(res.body);
        assert.equal(events.at(-1), '[DONE]', provider);
        assert.equal(joinedContent(events), `Hello from ${provider}`);
      }
      openai.script({ kind: 'stream', afterFinish: 'end' });
      const ended = await post({ provider: 'openai' });
      assert.equal(sseData(ended.body).at(-1), '[DONE]');
    });

    test('a malformed event in the middle is skipped, noted in the trace, and the answer completes', async () => {
      for (const provider of ['openai', 'anthropic']) {
        (provider === 'openai' ? openai : anthropic).script({ kind: 'stream', pieces: ['one', ' two', ' three'], malformedAt: 1 });
        const shared = app();
        const res = await request(shared)
          .post('/v1/chat/completions')
          .set('x-portkey-provider', provider)
          .send({ model: 'gpt-4o', messages, stream: true })
          .buffer(true)
          .parse(rawText);
        const events = sseData(res.body);
        assert.equal(events.at(-1), '[DONE]', provider);
        assert.equal(joinedContent(events), 'one two three', provider);
        // the trace is recorded just after the response: poll briefly
        let trace: request.Response | undefined;
        for (let i = 0; i < 50 && trace?.status !== 200; i++) {
          trace = await request(shared).get(`/v1/logs/${res.headers['x-portkey-trace-id']}`);
          if (trace.status !== 200) await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(trace?.status, 200, provider);
        const attempt = trace!.body.attempts[0];
        assert.equal(attempt.served, true, provider);
        assert.deepEqual(attempt.notes, ['skipped 1 malformed stream event(s)'], provider);
        assert.equal(typeof attempt.ttftMs, 'number', provider);
      }
    });

    test('buffered mode: a cut or stall after the first content still fails over invisibly', async () => {
      openai.script({ kind: 'stream', pieces: ['partial', ' answer', ' lost'], cutAfter: 2 });
      const cut = await post({ ...chain({ provider: 'openai' }, { provider: 'anthropic' }), stream_mode: 'buffered' });
      let events = sseData(cut.body);
      assert.equal(joinedContent(events), 'Hello from anthropic');
      assert.equal(events.at(-1), '[DONE]');

      openai.script({ kind: 'stream', pieces: ['stalled', ' here'], stallAfter: 1 });
      const stalled = await request(app())
        .post('/v1/chat/completions')
        .set('x-portkey-config', JSON.stringify(chain({ provider: 'openai', stream_idle_timeout: 100 }, { provider: 'anthropic' })))
        .set('x-portkey-stream-mode', 'buffered')
        .send({ model: 'gpt-4o', messages, stream: true })
        .buffer(true)
        .parse(rawText);
      events = sseData(stalled.body);
      assert.equal(joinedContent(events), 'Hello from anthropic');
      assert.equal(stalled.headers['x-portkey-provider'], 'anthropic');
    });

    test('stream_recovery continue: the answer goes on from a target that supports prefill', async () => {
      openai.script({ kind: 'stream', pieces: ['The quick', ' brown', ' fox'], cutAfter: 2 });
      anthropic.script({ kind: 'stream', pieces: [' jumps', ' over.'] });
      const config = {
        strategy: { mode: 'fallback' },
        stream_recovery: 'continue',
        targets: [{ provider: 'openai' }, { virtual_key: 'openai2-vk' }, { provider: 'anthropic', override_params: { model: 'claude' } }],
      };
      const res = await post(config);
      const events = sseData(res.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(joinedContent(events), 'The quick brown jumps over.');
      assert.ok(!res.body.includes('"error"'));
      assert.equal(new Set(events.slice(0, -1).map((e) => e.id)).size, 1, 'one stream id throughout');
      assert.equal(openai2.received.length, 0, 'a target without prefill support is never sent a prefill');
      const sent = anthropic.received[0]!.body;
      assert.deepEqual(sent.messages.at(-1), { role: 'assistant', content: 'The quick brown' });

      // without any target able to continue: the in-band error
      openai.script({ kind: 'stream', pieces: ['a', 'b'], cutAfter: 1 });
      const none = await post({ ...config, targets: [{ provider: 'openai' }, { virtual_key: 'openai2-vk' }] });
      const noneEvents = sseData(none.body);
      assert.equal(noneEvents.at(-1).error.code, 'stream_interrupted');
      assert.equal(openai2.received.length, 0);
    });

    test('embeddings never stream: stream: true there is answered as JSON', async () => {
      openai.script({ kind: 'ok' });
      const res = await request(app()).post('/v1/embeddings').set('x-portkey-provider', 'openai').send({ model: 'text-embedding-3-small', input: 'hi', stream: true });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /application\/json/);
      assert.equal(res.body.object, 'list');
    });

    test('/completions and /chatComplete stream too', async () => {
      const completion = await request(app())
        .post('/v1/completions')
        .set('x-portkey-provider', 'openai')
        .send({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', stream: true })
        .buffer(true)
        .parse(rawText);
      let events = sseData(completion.body);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(events[0].object, 'text_completion');
      assert.equal(joinedContent(events), 'Hello from openai');

      openai.script({ kind: 'status', status: 500 });
      const legacy = await request(app())
        .post('/v1/chatComplete')
        .send({ config: { mode: 'fallback', options: [{ provider: 'openai' }, { provider: 'anthropic' }] }, params: { model: 'claude-v1', messages, stream: true } })
        .buffer(true)
        .parse(rawText);
      events = sseData(legacy.body);
      assert.equal(joinedContent(events), 'Hello from anthropic');
      assert.equal(legacy.headers['x-portkey-last-used-option-index'], 'config.options[1]');
    });

    test('a client that hangs up mid-stream aborts the upstream at once and stops the chain', async () => {
      openai.script({ kind: 'stream', pieces: Array.from({ length: 200 }, (_, i) => `w${i} `), intervalMs: 20 });
      const server = await listen(app() as unknown as http.RequestListener);
      try {
        const closedBefore = openai.closedSockets();
        await new Promise<void>((resolve, reject) => {
          const req = http.request(`${server.origin}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-portkey-config': JSON.stringify(chain({ provider: 'openai' }, { provider: 'anthropic' })) },
          });
          req.on('response', (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', () => undefined);
          req.end(JSON.stringify({ model: 'gpt-4o', messages, stream: true }));
          setTimeout(() => reject(new Error('no data')), 5000);
        });
        const deadline = Date.now() + 2000;
        while (openai.closedSockets() === closedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.ok(openai.closedSockets() > closedBefore, 'the upstream socket was closed');
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(anthropic.received.length, 0, 'no further attempt');
      } finally {
        await server.close();
      }
    });

    test('the openai SDK sees a whole answer, and an error (never a clean end) for a broken stream', async () => {
      const server = await listen(app() as unknown as http.RequestListener);
      try {
        const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.origin}/v1`, maxRetries: 0, defaultHeaders: { 'x-portkey-config': JSON.stringify(chain({ provider: 'openai' }, { provider: 'anthropic' })) } });
        let text = '';
        for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o', messages: messages as never, stream: true })) {
          text += chunk.choices[0]?.delta?.content ?? '';
        }
        assert.equal(text, 'Hello from openai');

        openai.script({ kind: 'stream', pieces: ['half', ' an', ' answer'], cutAfter: 2 });
        let broken = '';
        await assert.rejects(async () => {
          for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o', messages: messages as never, stream: true })) {
            broken += chunk.choices[0]?.delta?.content ?? '';
          }
        }, (err: Error) => /stream broke|stream_interrupted|ended/i.test(err.message) || err instanceof OpenAI.APIError);
        assert.equal(broken, 'half an');
      } finally {
        await server.close();
      }
    });
  });
}
