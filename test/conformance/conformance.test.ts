/**
 * The provider conformance suite (issue #12): every row of rows.ts, each against a fake of its
 * provider written from the provider's documentation, through the real router mounted in an
 * Express app. Every row runs the same cases: plain chat, system prompt, multi-turn, a tool-call
 * round trip, max_tokens, streamed text (with and without usage), a streamed tool call, a cut
 * stream, embeddings where supported, every ErrorKind (status, error class, Retry-After, a
 * retry), content filter where supported, and a fallback from and to the provider, as JSON and
 * as a stream. The suite fails when a row that should run does not, or runs fewer cases.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { ProvidersOptions, RouterOptions, Trace } from '../../lib/index.js';
import { startOpenAIFamilyFake } from '../helpers/conformance/fakes/openai.js';
import type { ConformanceFake, NeutralRequest } from '../helpers/conformance/types.js';
import { createApp } from '../helpers/create-app.js';
import { traceOf } from '../helpers/requests.js';
import { joinedContent, rawText, sseData } from '../helpers/sse.js';
import { CORE_PROVIDERS, ERROR_KINDS, loadTable, type CaseName } from './rows.js';

const table = loadTable();
for (const { provider, why } of table.leftOut) console.log(`# conformance: row ${provider} left out: ${why}`);

/** The fewest cases a row runs (every row has the chat, stream, error and fallback cases). */
const MIN_CASES = 24;
const HELPER_KEY = 'sk-conformance-helper';
const TIMEOUT = { timeout: 15_000 };
const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] } },
};
const WEATHER_ARGS = { city: 'Paris', unit: 'celsius' };

test('the table holds every provider whose fake exists and whose adapter is registered', () => {
  const providers = table.rows.map((r) => r.provider);
  for (const core of CORE_PROVIDERS) assert.ok(providers.includes(core), `the ${core} row runs`);
  assert.deepEqual(providers, [...table.eligible]);
  assert.equal(new Set(providers).size, providers.length, 'one row per provider');
});

/** Turns as role and text only (the suite's comparisons). */
const turns = (d: NeutralRequest): Array<{ role: string; text: string }> => d.messages.map((m) => ({ role: m.role, text: m.text }));
const usageOf = (body: any): number[] => [body.usage?.prompt_tokens, body.usage?.completion_tokens, body.usage?.total_tokens];

/** A streamed answer as the client saw it. */
function streamed(text: string) {
  const events = sseData(text);
  const chunks = events.filter((e) => e !== '[DONE]');
  const choices = chunks.flatMap((c) => (Array.isArray(c.choices) ? c.choices : []));
  return {
    events,
    content: joinedContent(events),
    finishes: choices.map((c: any) => c.finish_reason).filter((f: unknown) => typeof f === 'string'),
    usageChunks: chunks.filter((c) => c.usage !== undefined && c.usage !== null),
    toolCalls: choices.flatMap((c: any) => c.delta?.tool_calls ?? []),
    done: events.at(-1) === '[DONE]',
    last: events.at(-1),
  };
}

for (const row of table.rows) {
  describe(row.provider, () => {
    let fake: ConformanceFake;
    let helper: ConformanceFake;
    let app: ReturnType<typeof createApp>;
    const declared: CaseName[] = [];
    const ran = new Set<CaseName>();

    before(async () => {
      [fake, helper] = await Promise.all([row.start(), startOpenAIFamilyFake('openai', { apiKey: HELPER_KEY })]);
      const options: RouterOptions = {
        providers: { [row.provider]: row.providerOptions(fake) } as ProvidersOptions,
        virtualKeys: { 'conformance-helper': { provider: 'openai', apiKey: HELPER_KEY, baseURL: helper.baseURL } },
      };
      app = createApp(options);
    });
    after(async () => {
      await Promise.all([fake?.close(), helper?.close()]);
    });
    beforeEach(() => {
      fake.reset();
      helper.reset();
    });

    /** Declares a case of this row (run as `todo` when the row lists it as a known gap). */
    const rowCase = (name: CaseName, fn: () => Promise<void>, when = true): void => {
      if (!when) return;
      declared.push(name);
      const gap = row.knownGaps?.[name];
      test(name, { ...TIMEOUT, ...(gap !== undefined ? { todo: gap } : {}) }, async () => {
        ran.add(name);
        await fn();
      });
    };

    const target = (extra: Record<string, unknown> = {}) => ({ provider: row.provider, override_params: { model: row.model }, request_timeout: 900, ...extra });
    const helperTarget = { virtual_key: 'conformance-helper', override_params: { model: 'gpt-helper' }, request_timeout: 900 };
    const chain = (...targets: unknown[]) => ({ strategy: { mode: 'fallback' }, targets });

    /** POSTs to the router; streams come back as raw SSE text. */
    async function send(config: unknown, body: Record<string, unknown> = {}, path = '/v1/chat/completions') {
      const traceId = randomUUID();
      const req = request(app)
        .post(path)
        .set('x-portkey-config', JSON.stringify(config))
        .set('x-portkey-trace-id', traceId)
        .send({ model: row.model, messages: [{ role: 'user', content: 'Hello?' }], ...body });
      const res = body.stream === true ? await req.buffer(true).parse(rawText) : await req;
      return { res, traceId };
    }
    const traced = async (traceId: string): Promise<Trace> => {
      const res = await traceOf(app, traceId);
      assert.equal(res.status, 200, `trace ${traceId} recorded`);
      return res.body as Trace;
    };

    rowCase('plain chat', async () => {
      fake.script({ kind: 'text', text: 'Hello, conformance.', usage: { input: 13, output: 5 } });
      const { res } = await send(target());
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.object, 'chat.completion');
      const choice = res.body.choices[0];
      assert.deepEqual([choice.message.role, choice.message.content, choice.finish_reason], ['assistant', 'Hello, conformance.', 'stop']);
      assert.deepEqual(usageOf(res.body), [13, 5, 18]);
      assert.equal(res.headers['x-portkey-provider'], row.provider);
      const d = fake.decode();
      assert.deepEqual([d.kind, d.stream, d.model, d.credential, d.system], ['chat', false, row.wireModel ?? row.model, row.credential, undefined]);
      assert.deepEqual(turns(d), [{ role: 'user', text: 'Hello?' }]);
    });

    rowCase('system prompt', async () => {
      await send(target(), { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Hi there' }] });
      const d = fake.decode();
      assert.equal(d.system, 'You are terse.');
      assert.deepEqual(turns(d), [{ role: 'user', text: 'Hi there' }]);
    });

    rowCase('multi-turn', async () => {
      const messages = [
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Hello Ada.' },
        { role: 'user', content: 'What is my name?' },
      ];
      const { res } = await send(target(), { messages });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(turns(fake.decode()), messages.map((m) => ({ role: m.role, text: m.content })));
    });

    rowCase(
      'tool-call round trip',
      async () => {
        fake.script({ kind: 'tool', id: 'confCall1', name: 'get_weather', arguments: WEATHER_ARGS }, { kind: 'text', text: 'It is 21 degrees.' });
        const question = { role: 'user', content: 'Weather in Paris?' };
        const first = await send(target(), { messages: [question], tools: [WEATHER_TOOL] });
        assert.equal(first.res.status, 200, JSON.stringify(first.res.body));
        const choice = first.res.body.choices[0];
        assert.equal(choice.finish_reason, 'tool_calls');
        const call = choice.message.tool_calls[0];
        assert.deepEqual([call.type, call.function.name, JSON.parse(call.function.arguments)], ['function', 'get_weather', WEATHER_ARGS]);
        if (row.supports.toolCallIds) assert.equal(call.id, 'confCall1', 'the provider call id reaches the client');
        assert.ok(typeof call.id === 'string' && call.id !== '');
        const declaredTool = fake.decode().tools[0];
        assert.deepEqual([declaredTool?.name, declaredTool?.description], ['get_weather', 'Current weather in a city']);

        const second = await send(target(), { tools: [WEATHER_TOOL], messages: [question, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' }] });
        assert.equal(second.res.status, 200, JSON.stringify(second.res.body));
        assert.equal(second.res.body.choices[0].message.content, 'It is 21 degrees.');
        const [user, assistant, result] = fake.decode().messages;
        assert.deepEqual([user?.role, assistant?.role, result?.role], ['user', 'assistant', 'tool']);
        const sent = assistant?.toolCalls?.[0];
        assert.deepEqual([sent?.name, sent?.arguments], ['get_weather', WEATHER_ARGS]);
        assert.equal(result?.text, '{"temp_c":21}');
        if (row.supports.toolCallIds) assert.deepEqual([sent?.id, result?.toolCallId], [call.id, call.id]);
        if (row.supports.toolNames) assert.equal(result?.toolName, 'get_weather');
      },
      row.supports.tools,
    );

    rowCase('max_tokens and finish length', async () => {
      fake.script({ kind: 'text', text: 'Once upon', finish: 'length', usage: { input: 8, output: 5 } });
      const { res } = await send(target(), { max_tokens: 5 });
      assert.equal(res.body.choices[0].finish_reason, 'length', JSON.stringify(res.body));
      assert.equal(fake.decode().maxTokens, 5);
    });

    rowCase('streamed text', async () => {
      fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo, ', 'world'], usage: { input: 9, output: 4 } });
      const { res, traceId } = await send(target(), { stream: true });
      assert.equal(res.status, 200, res.body);
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
      const s = streamed(res.body);
      assert.deepEqual([s.content, s.done, s.finishes], ['Hello, world', true, ['stop']]);
      assert.deepEqual(s.usageChunks, [], 'no usage chunk unless the client asks');
      assert.equal(fake.decode().stream, true);
      assert.deepEqual((await traced(traceId)).attempts[0]?.usage, { promptTokens: 9, completionTokens: 4, totalTokens: 13 }, 'usage recorded anyway');
    });

    rowCase('streamed text with include_usage', async () => {
      fake.script({ kind: 'stream-text', pieces: ['Hi', '!'], usage: { input: 9, output: 4 } });
      const { res } = await send(target(), { stream: true, stream_options: { include_usage: true } });
      const s = streamed(res.body);
      assert.deepEqual([s.content, s.done], ['Hi!', true], res.body);
      assert.equal(s.usageChunks.length, 1, res.body);
      assert.deepEqual([s.usageChunks[0].choices, ...usageOf(s.usageChunks[0])], [[], 9, 4, 13]);
      assert.deepEqual(s.events.at(-2), s.usageChunks[0], 'the usage chunk comes last, before [DONE]');
    });

    rowCase(
      'streamed tool call',
      async () => {
        fake.script({ kind: 'stream-tool', id: 'confCall2', name: 'get_weather', argumentPieces: ['{"city":', '"Paris","unit":', '"celsius"}'] });
        const { res } = await send(target(), { stream: true, tools: [WEATHER_TOOL] });
        const s = streamed(res.body);
        assert.ok(s.done, res.body);
        assert.equal(s.toolCalls.find((c: any) => c.function?.name)?.function.name, 'get_weather');
        assert.deepEqual(JSON.parse(s.toolCalls.map((c: any) => c.function?.arguments ?? '').join('')), WEATHER_ARGS);
        assert.deepEqual(s.finishes, ['tool_calls']);
      },
      row.supports.streamTools,
    );

    rowCase('cut stream, alone', async () => {
      fake.script({ kind: 'stream-text', pieces: ['One', ' two', ' three'], cutAfter: 2 });
      const { res, traceId } = await send(target({ stream_idle_timeout: 500 }), { stream: true });
      const s = streamed(res.body);
      assert.equal(s.content, 'One two', res.body);
      assert.equal(s.done, false, 'never a clean end');
      assert.equal(s.last.error?.code, 'stream_interrupted', res.body);
      const t = await traced(traceId);
      assert.equal(t.status, 502);
      assert.equal(t.attempts[0]?.served, true);
    });

    rowCase('cut stream, with a fallback', async () => {
      for (const [label, cutAfter, extra] of [
        ['before any content', 0, {}],
        ['after content, buffered', 2, { stream_mode: 'buffered' }],
      ] as const) {
        fake.reset();
        helper.reset();
        fake.script({ kind: 'stream-text', pieces: ['Lost', ' answer', ' here'], cutAfter });
        helper.script({ kind: 'stream-text', pieces: ['Rescued', ' answer'] });
        const { res } = await send({ ...chain(target(), helperTarget), ...extra }, { stream: true });
        const s = streamed(res.body);
        assert.deepEqual([s.content, s.done], ['Rescued answer', true], `${label}: ${res.body}`);
        assert.ok(!res.body.includes('"error"'), label);
        assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]', label);
      }
    });

    rowCase(
      'embedding',
      async () => {
        const embed = (input: unknown) => send({ provider: row.provider, override_params: { model: row.embeddingModel }, request_timeout: 900 }, { model: row.embeddingModel, input, messages: undefined }, '/v1/embeddings');
        fake.script({ kind: 'embedding', vectors: [[0.25, -0.5, 0.125]], usage: { input: 3, output: 0 } }, { kind: 'embedding', vectors: [[0.5, 0.25], [-1, 2]], usage: { input: 4, output: 0 } });
        const one = (await embed('hello world')).res;
        assert.equal(one.status, 200, JSON.stringify(one.body));
        assert.equal(one.body.object, 'list');
        assert.deepEqual(one.body.data.map((d: any) => [d.index, d.embedding]), [[0, [0.25, -0.5, 0.125]]]);
        if (row.supports.embeddingUsage) assert.equal(one.body.usage?.prompt_tokens, 3);
        assert.deepEqual([fake.decode().kind, fake.decode().inputs], ['embedding', ['hello world']]);
        const two = (await embed(['first', 'second'])).res;
        assert.deepEqual(two.body.data?.map((d: any) => [d.index, d.embedding]), [[0, [0.5, 0.25]], [1, [-1, 2]]], JSON.stringify(two.body));
        assert.deepEqual(fake.decode().inputs, ['first', 'second']);
      },
      row.supports.embedding,
    );

    for (const kind of ERROR_KINDS) {
      rowCase(`error: ${kind}`, async () => {
        fake.script({ kind: 'error', error: kind, ...(kind === 'rate_limit' ? { headers: { 'retry-after': '7' } } : {}) });
        const { res, traceId } = await send(target());
        assert.equal(res.status, fake.statusOf(kind), JSON.stringify(res.body));
        assert.equal(res.body.error?.provider, row.provider);
        assert.ok(typeof res.body.error?.message === 'string' && res.body.error.message !== '', 'the upstream message is kept');
        const t = await traced(traceId);
        assert.equal(t.attempts.length, 1);
        assert.deepEqual([t.attempts[0]?.status, t.attempts[0]?.errorClass], [fake.statusOf(kind), row.errors[kind]], JSON.stringify(res.body));
        if (kind === 'rate_limit') assert.deepEqual([res.headers['retry-after'], res.headers['retry-after-ms']], ['7', '7000'], 'Retry-After passed on');
      });
    }

    rowCase('retry after a 429 with retry-after: 0', async () => {
      fake.script({ kind: 'error', error: 'rate_limit', headers: { 'retry-after': '0' } }, { kind: 'text', text: 'After the retry.' });
      const { res, traceId } = await send(target({ retry: { attempts: 1 } }));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.choices[0].message.content, 'After the retry.');
      assert.equal(res.headers['x-portkey-retry-attempt-count'], '1');
      assert.equal(fake.received.length, 2);
      const rows = (await traced(traceId)).attempts.map((a) => [a.retry, a.errorClass ?? null, a.served]);
      assert.deepEqual(rows, [[0, 'rate_limit', false], [1, null, true]]);
    });

    rowCase(
      'content filter',
      async () => {
        for (const stream of [false, true]) {
          fake.script({ kind: 'content-filter' });
          const { res, traceId } = await send(target(), { stream });
          const shown = stream ? String(res.body) : JSON.stringify(res.body);
          if (res.status !== 200) assert.equal((await traced(traceId)).attempts[0]?.errorClass, 'content_filter', shown);
          else if (!stream) assert.equal(res.body.choices[0].finish_reason, 'content_filter', shown);
          else assert.deepEqual([streamed(res.body).finishes, streamed(res.body).done], [['content_filter'], true], shown);
        }
      },
      row.supports.contentFilter,
    );

    /** The attempts of a fallback: the first failed with the status of `unavailable`, the second served. */
    const assertFallback = (t: Trace, failed: { provider: string; status: number }, served: string): void => {
      const rows = t.attempts.map((a) => [a.path, a.provider, a.status, a.errorClass ?? null, a.served]);
      assert.deepEqual(rows, [
        ['config.targets[0]', failed.provider, failed.status, 'server', false],
        ['config.targets[1]', served, 200, null, true],
      ]);
    };

    for (const stream of [false, true]) {
      rowCase(stream ? 'fallback from it, streamed' : 'fallback from it', async () => {
        fake.script({ kind: 'error', error: 'unavailable' });
        helper.script(stream ? { kind: 'stream-text', pieces: ['Served by', ' the helper'] } : { kind: 'text', text: 'Served by the helper' });
        const { res, traceId } = await send(chain(target(), helperTarget), { stream });
        assert.equal(res.status, 200);
        assert.equal(stream ? streamed(res.body).content : res.body.choices[0].message.content, 'Served by the helper', stream ? res.body : JSON.stringify(res.body));
        assert.equal(res.headers['x-portkey-provider'], 'openai');
        assert.deepEqual([fake.received.length, helper.received.length], [1, 1]);
        assertFallback(await traced(traceId), { provider: row.provider, status: fake.statusOf('unavailable') }, 'openai');
      });

      rowCase(stream ? 'fallback to it, streamed' : 'fallback to it', async () => {
        helper.script({ kind: 'error', error: 'unavailable' });
        fake.script(stream ? { kind: 'stream-text', pieces: ['Served by', ' the row'] } : { kind: 'text', text: 'Served by the row' });
        const { res, traceId } = await send(chain(helperTarget, target()), { stream });
        assert.equal(res.status, 200, stream ? res.body : JSON.stringify(res.body));
        assert.equal(stream ? streamed(res.body).content : res.body.choices[0].message.content, 'Served by the row');
        assert.equal(res.headers['x-portkey-provider'], row.provider);
        assert.deepEqual(turns(fake.decode()), [{ role: 'user', text: 'Hello?' }]);
        assert.equal(fake.decode().stream, stream);
        assertFallback(await traced(traceId), { provider: 'openai', status: helper.statusOf('unavailable') }, row.provider);
      });
    }

    test('every declared case ran', () => {
      assert.ok(declared.length >= MIN_CASES, `${row.provider} declares ${declared.length} cases`);
      assert.deepEqual([...ran].sort(), [...declared].sort());
    });
  });
}
