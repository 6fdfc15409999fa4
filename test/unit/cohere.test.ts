/**
 * The Cohere adapter: OpenAI chat and embedding requests to Cohere's v2 Chat and Embed APIs and
 * back, its stream events (the sequences the v2 API reference shows), and its error bodies and
 * statuses. No HTTP: buildRequest / parseResponse / parseStreamEvent / classifyError are called
 * directly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidUpstreamResponse, RequestError, UpstreamStreamError } from '../../lib/errors.js';
import { cohereAdapter } from '../../lib/providers/cohere/index.js';
import { builtinAdapters } from '../../lib/providers/registry.js';
import type { Endpoint, JsonObject, ParseContext, ResolvedTarget, StreamState, UnifiedChunk, UnifiedRequest } from '../../lib/providers/types.js';

function target(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'cohere', apiKey: 'co-test-key', headers: {}, settings: {}, ...overrides };
}

const signal = new AbortController().signal;

function request(body: JsonObject, endpoint: Endpoint = 'chat'): UnifiedRequest {
  return { endpoint, body, stream: body.stream === true };
}

async function build(body: JsonObject, endpoint: Endpoint = 'chat', t: ResolvedTarget = target()) {
  return cohereAdapter.buildRequest(request(body, endpoint), t, signal);
}

/** The Cohere body for an OpenAI body. */
async function sent(body: JsonObject, endpoint: Endpoint = 'chat'): Promise<JsonObject> {
  return (await build(body, endpoint)).body as JsonObject;
}

function ctx(body: JsonObject = { model: 'command-a-03-2025', messages: [] }, endpoint: Endpoint = 'chat'): ParseContext {
  return { request: request(body, endpoint), target: target(), status: 200 };
}

function invalidParameter(param: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.param, param);
    return true;
  };
}

const hi = [{ role: 'user', content: 'hi' }];

describe('cohere adapter: identity and URLs', () => {
  test('fields and registry entry', () => {
    assert.equal(cohereAdapter.name, 'cohere');
    assert.deepEqual([...cohereAdapter.endpoints].sort(), ['chat', 'embedding']);
    assert.equal(cohereAdapter.maxChoices, 1);
    assert.equal(cohereAdapter.supportsPrefill, false);
    assert.equal(cohereAdapter.streamUsage, 'always');
    assert.equal(builtinAdapters().get('cohere'), cohereAdapter);
  });

  test('chat and embed URLs on the default base and on a replaced one; our auth header wins', async () => {
    const chat = await build({ model: 'c', messages: hi }, 'chat', target({ headers: { Authorization: 'Bearer stolen', 'x-client-name': 'app' } }));
    assert.equal(chat.url, 'https://api.cohere.com/v2/chat');
    assert.deepEqual(chat.headers, { 'x-client-name': 'app', authorization: 'Bearer co-test-key' });
    const embed = await build({ model: 'embed-v4.0', input: 'x' }, 'embedding', target({ baseURL: 'http://127.0.0.1:8/v2//' }));
    assert.equal(embed.url, 'http://127.0.0.1:8/v2/embed');
  });

  test('the completion endpoint is refused', async () => {
    await assert.rejects(async () => build({ model: 'c', prompt: 'x' }, 'completion'), RequestError);
  });
});

describe('cohere chat request', () => {
  test('messages: one system message first, user text and images, assistant text, tool calls and results', async () => {
    const body = await sent({
      model: 'command-a-03-2025',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K', detail: 'low' } },
            { type: 'image_url', image_url: 'https://example.com/a.jpg' },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'A cat.' }] },
        { role: 'developer', content: [{ type: 'text', text: 'Use tools.' }] },
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: 'I will look it up.',
          tool_calls: [{ id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{ "city": "Paris" }' } }],
        },
        { role: 'tool', tool_call_id: 'get_weather_1', content: '{"temp":20}' },
        { role: 'tool', tool_call_id: 'get_weather_1', content: [{ type: 'text', text: 'sunny' }] },
        { role: 'assistant', content: null },
      ],
    });
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.\nUse tools.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K', detail: 'low' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
        ],
      },
      { role: 'assistant', content: 'A cat.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        tool_plan: 'I will look it up.',
        tool_calls: [{ id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'get_weather_1', content: '{"temp":20}' },
      { role: 'tool', tool_call_id: 'get_weather_1', content: [{ type: 'text', text: 'sunny' }] },
    ]);
  });

  test('parameters under Cohere names; unknown OpenAI fields dropped', async () => {
    const body = await sent({
      model: 'command-a-03-2025',
      messages: hi,
      max_completion_tokens: 300,
      max_tokens: 10,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      stop: 'END',
      seed: 7,
      frequency_penalty: 0.1,
      presence_penalty: 0.3,
      stream: true,
      stream_options: { include_usage: true },
      user: 'u',
      n: 2,
      logit_bias: { '1': 1 },
      parallel_tool_calls: false,
    });
    assert.deepEqual(body, {
      model: 'command-a-03-2025',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      p: 0.9,
      k: 40,
      seed: 7,
      frequency_penalty: 0.1,
      presence_penalty: 0.3,
      max_tokens: 300,
      stop_sequences: ['END'],
      stream: true,
    });
    assert.equal((await sent({ model: 'c', messages: hi, max_tokens: 10 })).max_tokens, 10);
  });

  test('tools and tool_choice', async () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'now' } },
    ];
    const body = await sent({ model: 'c', messages: hi, tools, tool_choice: 'required' });
    assert.deepEqual(body.tools, [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
    ]);
    assert.equal(body.tool_choice, 'REQUIRED');
    assert.equal((await sent({ model: 'c', messages: hi, tools, tool_choice: 'none' })).tool_choice, 'NONE');
    assert.equal('tool_choice' in (await sent({ model: 'c', messages: hi, tools, tool_choice: 'auto' })), false);
    await assert.rejects(
      async () => sent({ model: 'c', messages: hi, tools, tool_choice: { type: 'function', function: { name: 'now' } } }),
      invalidParameter('tool_choice'),
    );
    await assert.rejects(async () => sent({ model: 'c', messages: hi, tool_choice: 'required' }), invalidParameter('tool_choice'));
  });

  test('response_format: json_object, json_schema as json_object with the schema, text left out', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    assert.deepEqual((await sent({ model: 'c', messages: hi, response_format: { type: 'json_object' } })).response_format, { type: 'json_object' });
    assert.deepEqual(
      (await sent({ model: 'c', messages: hi, response_format: { type: 'json_schema', json_schema: { name: 'n', schema, strict: true } } })).response_format,
      { type: 'json_object', json_schema: schema },
    );
    assert.equal('response_format' in (await sent({ model: 'c', messages: hi, response_format: { type: 'text' } })), false);
  });

  test('never mutates the client body', async () => {
    const original: JsonObject = {
      model: 'c',
      messages: [{ role: 'system', content: 's' }, ...hi, { role: 'assistant', content: 'x', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] }],
      top_p: 0.5,
    };
    const copy = structuredClone(original);
    await sent(original);
    assert.deepEqual(original, copy);
  });

  test('bad input is refused naming the field', async () => {
    const cases: Array<[JsonObject, string]> = [
      [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 'messages[0].content[0].type'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] }] }, 'messages[0].content[0].image_url.url'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png', detail: 'max' } }] }] }, 'messages[0].content[0].image_url.detail'],
      [{ messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
      [{ messages: [{ role: 'function', content: 'x' }] }, 'messages[0].role'],
      [{ messages: ['hi'] }, 'messages[0]'],
      [{ messages: [{ role: 'assistant', content: [{ type: 'image_url' }] }] }, 'messages[0].content[0]'],
      [{ messages: [{ role: 'assistant', tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{oops' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
      [{ messages: [{ role: 'tool', content: 'r' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'system', content: [{ type: 'image_url' }] }] }, 'messages[0].content[0]'],
      [{ messages: hi, temperature: 'hot' }, 'temperature'],
      [{ messages: hi, max_completion_tokens: '5' }, 'max_completion_tokens'],
      [{ messages: hi, stop: [1] }, 'stop[0]'],
      [{ messages: hi, stream: 'yes' }, 'stream'],
      [{ messages: hi, response_format: 'json' }, 'response_format'],
      [{ messages: hi, response_format: { type: 'xml' } }, 'response_format.type'],
      [{ messages: hi, response_format: { type: 'json_schema', json_schema: { name: 'n' } } }, 'response_format.json_schema.schema'],
      [{ messages: hi, tools: [{ type: 'code_interpreter' }] }, 'tools[0]'],
    ];
    for (const [body, param] of cases) await assert.rejects(async () => sent({ model: 'c', ...body }), invalidParameter(param), param);
    await assert.rejects(async () => sent({ model: 'c' }), (err: unknown) => err instanceof RequestError && err.code === 'missing_parameter');
  });
});

describe('cohere embed request', () => {
  test('texts as search documents with float embeddings; dimensions as output_dimension', async () => {
    assert.deepEqual(await sent({ model: 'embed-v4.0', input: 'hello', user: 'u' }, 'embedding'), {
      model: 'embed-v4.0',
      texts: ['hello'],
      input_type: 'search_document',
      embedding_types: ['float'],
    });
    assert.deepEqual(await sent({ model: 'embed-v4.0', input: ['a', 'b'], dimensions: 512, input_type: 'search_query' }, 'embedding'), {
      model: 'embed-v4.0',
      texts: ['a', 'b'],
      input_type: 'search_query',
      embedding_types: ['float'],
      output_dimension: 512,
    });
  });

  test('token arrays, empty, oversized and malformed inputs are refused naming the field', async () => {
    const cases: Array<[JsonObject, string]> = [
      [{ input: [1, 2, 3] }, 'input[0]'],
      [{ input: [[1, 2]] }, 'input[0]'],
      [{ input: ['a', ''] }, 'input[1]'],
      [{ input: [] }, 'input'],
      [{ input: null }, 'input'],
      [{ input: Array.from({ length: 97 }, (_, k) => `t${k}`) }, 'input'],
      [{ input: 'x', dimensions: '256' }, 'dimensions'],
      [{ input: 'x', encoding_format: 'int8' }, 'encoding_format'],
    ];
    for (const [body, param] of cases) await assert.rejects(async () => sent({ model: 'embed-v4.0', ...body }, 'embedding'), invalidParameter(param), param);
  });
});

describe('cohere chat response', () => {
  const docsReply = {
    id: 'c14c80c3-18eb-4519-9460-6c92edd8cfb4',
    finish_reason: 'COMPLETE',
    message: { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'text', text: 'LLMs are ' }, { type: 'text', text: 'models.' }] },
    usage: { billed_units: { input_tokens: 5, output_tokens: 26 }, tokens: { input_tokens: 71, output_tokens: 26 } },
  };

  test('text reply: content from the text blocks, usage from tokens, the requested model', () => {
    const out = cohereAdapter.parseResponse(docsReply, ctx());
    assert.equal(out.id, docsReply.id);
    assert.equal(out.object, 'chat.completion');
    assert.equal(typeof out.created, 'number');
    assert.equal(out.model, 'command-a-03-2025');
    assert.deepEqual(out.choices, [{ index: 0, message: { role: 'assistant', content: 'LLMs are models.', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(out.usage, { prompt_tokens: 71, completion_tokens: 26, total_tokens: 97 });
  });

  test('usage falls back to billed_units; missing usage is zero', () => {
    const billed = cohereAdapter.parseResponse({ ...docsReply, usage: { billed_units: { input_tokens: 5, output_tokens: 6 } } }, ctx());
    assert.deepEqual(billed.usage, { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    const none = cohereAdapter.parseResponse({ id: 'x', finish_reason: 'COMPLETE', message: { role: 'assistant', content: [] } }, ctx());
    assert.deepEqual(none.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  test('tool call reply: OpenAI tool_calls with Cohere ids, no content, finish tool_calls; the plan is left out', () => {
    const out = cohereAdapter.parseResponse(
      {
        id: 'r2',
        finish_reason: 'TOOL_CALL',
        message: {
          role: 'assistant',
          tool_plan: 'I will search for the weather in Madrid.',
          tool_calls: [
            { id: 'get_weather_14brd1n2kfqj', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Madrid"}' } },
            { id: 'now_2', type: 'function', function: { name: 'now', arguments: { tz: 'UTC' } } },
          ],
        },
        usage: { tokens: { input_tokens: 10, output_tokens: 4 } },
      },
      ctx(),
    );
    const choice = (out.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.deepEqual(choice.message, {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'get_weather_14brd1n2kfqj', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Madrid"}' } },
        { id: 'now_2', type: 'function', function: { name: 'now', arguments: '{"tz":"UTC"}' } },
      ],
      refusal: null,
    });
  });

  test('finish reasons: stop, length, content_filter; ERROR and TIMEOUT are failures', () => {
    const finish = (reason: string) =>
      (cohereAdapter.parseResponse({ ...docsReply, finish_reason: reason }, ctx()).choices as JsonObject[])[0]!.finish_reason;
    assert.equal(finish('STOP_SEQUENCE'), 'stop');
    assert.equal(finish('MAX_TOKENS'), 'length');
    assert.equal(finish('ERROR_TOXIC'), 'content_filter');
    assert.equal(finish('SOMETHING_NEW'), 'stop');
    assert.throws(() => finish('ERROR'), (err: unknown) => err instanceof UpstreamStreamError && err.status === 500 && err.errorClass === 'server');
    assert.throws(() => finish('TIMEOUT'), (err: unknown) => err instanceof UpstreamStreamError && err.status === 504 && err.errorClass === 'timeout');
  });

  test('a body without Cohere chat shape is an invalid response', () => {
    assert.throws(() => cohereAdapter.parseResponse('text', ctx()), InvalidUpstreamResponse);
    assert.throws(() => cohereAdapter.parseResponse({ id: 'x', text: 'v1 shape' }, ctx()), InvalidUpstreamResponse);
  });
});

describe('cohere embed response', () => {
  const embedCtx = (extra: JsonObject = {}) => ctx({ model: 'embed-v4.0', input: ['hello', 'goodbye'], ...extra }, 'embedding');
  const reply = {
    id: 'da6e531f',
    texts: ['hello', 'goodbye'],
    embeddings: { float: [[0.5, -0.25], [1, 0]] },
    meta: { api_version: { version: '2' }, billed_units: { input_tokens: 2 } },
    response_type: 'embeddings_by_type',
  };

  test('float embeddings as an OpenAI list, usage from billed units', () => {
    assert.deepEqual(cohereAdapter.parseResponse(reply, embedCtx()), {
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'embed-v4.0',
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
  });

  test("encoding_format 'base64': little-endian float32 bytes, as OpenAI sends them", () => {
    const out = cohereAdapter.parseResponse(reply, embedCtx({ encoding_format: 'base64' }));
    const first = (out.data as JsonObject[])[0]!.embedding as string;
    const bytes = Buffer.from(first, 'base64');
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4)], [0.5, -0.25]);
  });

  test('a reply without float embeddings is an invalid response', () => {
    assert.throws(() => cohereAdapter.parseResponse({ id: 'x', embeddings: { int8: [[1]] } }, embedCtx()), InvalidUpstreamResponse);
    assert.throws(() => cohereAdapter.parseResponse({ id: 'x', embeddings: { float: [['a']] } }, embedCtx()), InvalidUpstreamResponse);
  });
});

/** Runs SSE events (as the v2 reference lists them: `event:` name and JSON data) through the parser. */
function runStream(events: ReadonlyArray<JsonObject>, includeUsage = true): UnifiedChunk[] {
  const state: StreamState = { includeUsage };
  const c = ctx({ model: 'command-a-03-2025', messages: hi, stream: true });
  return events.flatMap((data) => cohereAdapter.parseStreamEvent!({ event: data.type as string, data: JSON.stringify(data) }, state, c));
}

const delta = (chunk: UnifiedChunk): JsonObject => (chunk.choices as JsonObject[])[0]!.delta as JsonObject;

describe('cohere stream', () => {
  const textEvents: JsonObject[] = [
    { type: 'message-start', id: '29f14a5a', delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } },
    { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
    { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Large' } } } },
    { type: 'content-delta', index: 0, delta: { message: { content: { text: ' language models' } } } },
    { type: 'content-delta', index: 0, delta: { message: { content: { thinking: 'hidden' } } } },
    { type: 'content-end', index: 0 },
    {
      type: 'message-end',
      delta: { finish_reason: 'COMPLETE', usage: { billed_units: { input_tokens: 5, output_tokens: 26 }, tokens: { input_tokens: 71, output_tokens: 26 } } },
    },
  ];

  test('text: role chunk, content pieces, finish chunk, then the usage chunk', () => {
    const chunks = runStream(textEvents);
    for (const chunk of chunks) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.id, '29f14a5a');
      assert.equal(chunk.model, 'command-a-03-2025');
    }
    assert.deepEqual(delta(chunks[0]!), { role: 'assistant', content: '' });
    assert.equal(chunks.slice(1, -2).map((c) => delta(c).content).join(''), 'Large language models');
    const finish = chunks.at(-2)!;
    assert.equal((finish.choices as JsonObject[])[0]!.finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 71, completion_tokens: 26, total_tokens: 97 });
  });

  test('no usage chunk unless the reader asks for one', () => {
    const chunks = runStream(textEvents, false);
    assert.equal(chunks.some((c) => 'usage' in c), false);
    assert.equal((chunks.at(-1)!.choices as JsonObject[])[0]!.finish_reason, 'stop');
  });

  test('tool calls: the plan yields nothing; each call starts with id and name, then argument pieces', () => {
    const call = (index: number, id: string, name: string): JsonObject => ({
      type: 'tool-call-start',
      index,
      delta: { message: { tool_calls: { id, type: 'function', function: { name, arguments: '' } } } },
    });
    const args = (index: number, piece: string): JsonObject => ({ type: 'tool-call-delta', index, delta: { message: { tool_calls: { function: { arguments: piece } } } } });
    const chunks = runStream([
      { type: 'message-start', id: 'm2', delta: { message: { role: 'assistant' } } },
      { type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will' } } },
      { type: 'tool-plan-delta', delta: { message: { tool_plan: ' look.' } } },
      call(0, 'query_daily_sales_report_j3f0adww9pmr', 'query_daily_sales_report'),
      args(0, '{"day'),
      args(0, '": "2023-09-29"}'),
      { type: 'tool-call-end', index: 0 },
      call(1, 'query_product_catalog_c66nf11r6s8g', 'query_product_catalog'),
      args(1, '{"category": "Electronics"}'),
      { type: 'tool-call-end', index: 1 },
      args(7, 'orphan piece'),
      { type: 'message-end', delta: { finish_reason: 'TOOL_CALL', usage: { tokens: { input_tokens: 1589, output_tokens: 135 } } } },
    ]);
    assert.deepEqual(delta(chunks[0]!), { role: 'assistant', content: '' });
    assert.equal(chunks.some((c) => Array.isArray(c.choices) && c.choices.length > 0 && typeof delta(c).content === 'string' && delta(c).content !== ''), false);
    const calls = chunks.slice(1, -2).map((c) => (delta(c).tool_calls as JsonObject[])[0]!);
    assert.deepEqual(calls[0], { index: 0, id: 'query_daily_sales_report_j3f0adww9pmr', type: 'function', function: { name: 'query_daily_sales_report', arguments: '' } });
    assert.deepEqual(calls[3], { index: 1, id: 'query_product_catalog_c66nf11r6s8g', type: 'function', function: { name: 'query_product_catalog', arguments: '' } });
    const argsOf = (index: number) => calls.filter((c) => c.index === index).map((c) => (c.function as JsonObject).arguments).join('');
    assert.deepEqual(JSON.parse(argsOf(0)), { day: '2023-09-29' });
    assert.deepEqual(JSON.parse(argsOf(1)), { category: 'Electronics' });
    assert.equal(calls.length, 5, 'the piece for an unknown tool call is dropped');
    assert.equal((chunks.at(-2)!.choices as JsonObject[])[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 1589, completion_tokens: 135, total_tokens: 1724 });
  });

  test('a message-end reporting an error, or a timeout, is an UpstreamStreamError', () => {
    assert.throws(
      () => runStream([textEvents[0]!, { type: 'message-end', delta: { finish_reason: 'ERROR', error: 'internal failure' } }]),
      (err: unknown) => err instanceof UpstreamStreamError && err.status === 500 && err.errorClass === 'server' && /internal failure/.test(err.message),
    );
    assert.throws(
      () => runStream([{ type: 'message-end', delta: { error: 'model crashed' } }]),
      (err: unknown) => err instanceof UpstreamStreamError && err.errorClass === 'server' && /model crashed/.test(err.message),
    );
    assert.throws(
      () => runStream([{ type: 'message-end', delta: { finish_reason: 'TIMEOUT' } }]),
      (err: unknown) => err instanceof UpstreamStreamError && err.status === 504 && err.errorClass === 'timeout',
    );
  });

  test('events without an OpenAI counterpart yield nothing; the SSE event name stands in for a missing type', () => {
    const state: StreamState = { includeUsage: true };
    const c = ctx();
    const parse = (data: unknown, event?: string) => cohereAdapter.parseStreamEvent!({ ...(event ? { event } : {}), data: JSON.stringify(data) }, state, c);
    assert.deepEqual(parse({ type: 'citation-start', index: 0, delta: { message: { citations: { start: 1, end: 2, text: 'x', sources: [] } } } }), []);
    assert.deepEqual(parse({ type: 'debug', prompt: 'x' }), []);
    assert.deepEqual(delta(parse({ index: 0, delta: { message: { content: { text: 'hi' } } } }, 'content-delta')[0]!), { content: 'hi' });
    assert.throws(() => parse('a string'), InvalidUpstreamResponse);
    assert.throws(() => cohereAdapter.parseStreamEvent!({ data: '{bad json' }, state, c), InvalidUpstreamResponse);
  });
});

describe('cohere errors', () => {
  test('documented statuses and messages to classes, the message kept', () => {
    const cases: Array<[number, string, string]> = [
      [400, 'invalid request: temperature must be between 0 and 1.0 inclusive.', 'bad_request'],
      [400, 'too many tokens: total number of tokens in the prompt cannot exceed 4081 - received 4292. Try using a shorter prompt', 'context_length_exceeded'],
      [401, 'invalid api token', 'auth'],
      [402, 'Please add or update your payment method at https://dashboard.cohere.com/billing?tab=payment to continue', 'auth'],
      [403, 'forbidden', 'auth'],
      [404, "model 'xyz' not found, make sure the correct model ID was used and that you have access to the model.", 'not_found'],
      [422, 'invalid request: message must be at least 1 token long', 'bad_request'],
      [429, 'You are past the per minute request limit, please wait and try again later.', 'rate_limit'],
      [498, 'blocked output', 'content_filter'],
      [499, 'request cancelled', 'server'],
      [500, 'internal server error', 'server'],
      [503, 'service unavailable', 'server'],
      [504, 'gateway timeout', 'server'],
    ];
    for (const [status, message, errorClass] of cases) {
      assert.deepEqual(cohereAdapter.classifyError(status, { id: 'e1', message }, {}), { errorClass, message }, `${status} ${message}`);
    }
  });

  test('a text body is kept (shortened), an empty one names the status', () => {
    assert.deepEqual(cohereAdapter.classifyError(502, '<html>bad gateway</html>', {}), { errorClass: 'server', message: '<html>bad gateway</html>' });
    assert.equal(cohereAdapter.classifyError(500, 'x'.repeat(2000), {}).message.length, 501);
    assert.deepEqual(cohereAdapter.classifyError(500, {}, {}), { errorClass: 'server', message: 'cohere returned HTTP 500' });
  });
});
