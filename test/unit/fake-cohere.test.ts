/**
 * Self-test of the fake Cohere v2 API (test/helpers/conformance/fakes/cohere.ts) over raw HTTP in
 * Cohere's own wire format, so a broken fake is found here and not in the conformance suite.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCohereFake } from '../helpers/conformance/fakes/cohere.js';
import type { ConformanceFake, ErrorKind } from '../helpers/conformance/types.js';

const KEY = 'co-test-key';
let fake: ConformanceFake;

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }): Promise<Response> {
  return fetch(`${fake.baseURL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}
const chat = (body: Record<string, unknown>): Promise<Response> => post('/chat', { model: 'command-r-plus', ...body });
const hi = [{ role: 'user', content: 'Hi' }];

/** Parses an SSE text into (event, data) pairs; `[DONE]` kept as the string. */
function events(text: string): Array<{ event?: string; data: any }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '';
      return { event, data: data === '[DONE]' ? data : JSON.parse(data) };
    });
}

async function refused(res: Response, status: number, pattern: RegExp): Promise<void> {
  assert.equal(res.status, status);
  const body = (await res.json()) as { message: string; id: string };
  assert.match(body.message, pattern);
  assert.equal(typeof body.id, 'string');
}

before(async () => {
  fake = await startCohereFake({ apiKey: KEY });
});
after(() => fake.close());
beforeEach(() => fake.reset());

describe('cohere fake: chat', () => {
  test('a plain chat is decoded and answered in the v2 shape with the scripted usage', async () => {
    assert.equal(fake.baseURL, `${fake.origin}/v2`);
    fake.script({ kind: 'text', text: 'Bonjour', usage: { input: 3, output: 2 } });
    const res = await chat({
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }] }, { role: 'assistant', content: 'Hi!' }, { role: 'user', content: 'Again' }],
      max_tokens: 50,
      temperature: 0.2,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as any;
    assert.equal(body.finish_reason, 'COMPLETE');
    assert.deepEqual(body.message, { role: 'assistant', content: [{ type: 'text', text: 'Bonjour' }] });
    assert.deepEqual(body.usage, { billed_units: { input_tokens: 3, output_tokens: 2 }, tokens: { input_tokens: 3, output_tokens: 2 } });
    const d = fake.decode();
    assert.equal(d.kind, 'chat');
    assert.equal(d.stream, false);
    assert.equal(d.model, 'command-r-plus');
    assert.equal(d.credential, KEY);
    assert.equal(d.system, 'Be brief.');
    assert.deepEqual(d.messages, [{ role: 'user', text: 'Hello' }, { role: 'assistant', text: 'Hi!' }, { role: 'user', text: 'Again' }]);
    assert.equal(d.maxTokens, 50);
    assert.equal(d.temperature, 0.2);
  });

  test('finish length is MAX_TOKENS; the default answer once the script is used up', async () => {
    fake.script({ kind: 'text', text: 'cut', finish: 'length' });
    assert.equal(((await (await chat({ messages: hi })).json()) as any).finish_reason, 'MAX_TOKENS');
    const body = (await (await chat({ messages: hi })).json()) as any;
    assert.equal(body.message.content[0].text, 'Hello from cohere');
    assert.deepEqual(body.usage.tokens, { input_tokens: 11, output_tokens: 7 });
    assert.equal('system' in fake.decode(), false, 'no system key when none was sent');
    assert.equal('maxTokens' in fake.decode(), false);
  });

  test('a tool answer, then the round trip is decoded with call ids and parsed arguments', async () => {
    fake.script({ kind: 'tool', id: 'get_weather_1x', name: 'get_weather', arguments: { city: 'Paris' } });
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const body = (await (await chat({ messages: hi, tools, tool_choice: 'REQUIRED' })).json()) as any;
    assert.equal(body.finish_reason, 'TOOL_CALL');
    assert.equal(typeof body.message.tool_plan, 'string');
    assert.deepEqual(body.message.tool_calls, [{ id: 'get_weather_1x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    assert.deepEqual(fake.decode().tools, [{ name: 'get_weather', description: 'Weather', parameters: tools[0]!.function.parameters }]);
    const res = await chat({ messages: [...hi, { role: 'assistant', tool_plan: 'p', tool_calls: body.message.tool_calls }, { role: 'tool', tool_call_id: 'get_weather_1x', content: [{ type: 'text', text: '{"temp":21}' }] }], tools });
    assert.equal(res.status, 200);
    const d = fake.decode();
    assert.deepEqual(d.messages[1], { role: 'assistant', text: '', toolCalls: [{ id: 'get_weather_1x', name: 'get_weather', arguments: { city: 'Paris' } }] });
    assert.deepEqual(d.messages[2], { role: 'tool', text: '{"temp":21}', toolCallId: 'get_weather_1x' });
  });
});

describe('cohere fake: streams', () => {
  test('a text stream is the documented event sequence with usage on message-end, then [DONE]', async () => {
    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo'], usage: { input: 5, output: 2 } });
    const res = await chat({ messages: hi, stream: true });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const evs = events(await res.text());
    assert.deepEqual(evs.map((e) => e.event ?? e.data), ['message-start', 'content-start', 'content-delta', 'content-delta', 'content-end', 'message-end', '[DONE]']);
    for (const e of evs.slice(0, -1)) assert.equal(e.data.type, e.event);
    assert.equal(evs.filter((e) => e.event === 'content-delta').map((e) => e.data.delta.message.content.text).join(''), 'Hello');
    assert.deepEqual(evs[5]!.data.delta, { finish_reason: 'COMPLETE', usage: { billed_units: { input_tokens: 5, output_tokens: 2 }, tokens: { input_tokens: 5, output_tokens: 2 } } });
    assert.equal(fake.decode().stream, true);
  });

  test('cutAfter destroys the socket after that many pieces, with no end events', async () => {
    fake.script({ kind: 'stream-text', pieces: ['a', 'b', 'c'], cutAfter: 1 });
    const res = await chat({ messages: hi, stream: true });
    let text = '';
    const decoder = new TextDecoder();
    await assert.rejects(async () => {
      for await (const part of res.body!) text += decoder.decode(part as Uint8Array);
    });
    const evs = events(text);
    assert.deepEqual(evs.map((e) => e.event), ['message-start', 'content-start', 'content-delta']);
  });

  test('a streamed tool call: plan, call start with id and name, argument deltas, TOOL_CALL', async () => {
    fake.script({ kind: 'stream-tool', id: 'lookup_9', name: 'lookup', argumentPieces: ['{"q":', '"x"}'] });
    const evs = events(await (await chat({ messages: hi, stream: true })).text());
    assert.deepEqual(evs.map((e) => e.event ?? e.data), ['message-start', 'tool-plan-delta', 'tool-call-start', 'tool-call-delta', 'tool-call-delta', 'tool-call-end', 'message-end', '[DONE]']);
    assert.deepEqual(evs[2]!.data.delta.message.tool_calls, { id: 'lookup_9', type: 'function', function: { name: 'lookup', arguments: '' } });
    assert.equal(evs.filter((e) => e.event === 'tool-call-delta').map((e) => e.data.delta.message.tool_calls.function.arguments).join(''), '{"q":"x"}');
    assert.equal(evs[6]!.data.delta.finish_reason, 'TOOL_CALL');
  });
});

describe('cohere fake: embed', () => {
  test('texts are decoded and embedded by type with billed input tokens', async () => {
    fake.script({ kind: 'embedding', vectors: [[0.5, -0.5], [1, 0]], usage: { input: 4, output: 0 } });
    const res = await post('/embed', { model: 'embed-v4.0', texts: ['a', 'b'], input_type: 'search_document', embedding_types: ['float', 'int8'] });
    const body = (await res.json()) as any;
    assert.deepEqual(body.embeddings.float, [[0.5, -0.5], [1, 0]]);
    assert.deepEqual(body.embeddings.int8, [[64, -63], [127, 0]]);
    assert.deepEqual(body.texts, ['a', 'b']);
    assert.equal(body.meta.billed_units.input_tokens, 4);
    const d = fake.decode();
    assert.equal(d.kind, 'embedding');
    assert.deepEqual(d.inputs, ['a', 'b']);
    assert.equal(d.model, 'embed-v4.0');
  });

  test('input_type and embedding_types are required; empty texts are refused', async () => {
    await refused(await post('/embed', { model: 'embed-v4.0', texts: ['a'], embedding_types: ['float'] }), 400, /valid input_type must be provided/);
    await refused(await post('/embed', { model: 'embed-v4.0', texts: ['a'], input_type: 'search_query' }), 400, /embedding_types parameter is required/);
    await refused(await post('/embed', { model: 'embed-v4.0', texts: ['a', ''], input_type: 'search_query', embedding_types: ['float'] }), 400, /empty string at index 1/);
  });
});

describe('cohere fake: errors and refusals', () => {
  test('each error kind answers its documented status with Cohere\'s {id, message}', async () => {
    const expected: Record<ErrorKind, number> = { invalid_request: 400, context_length: 400, unauthenticated: 401, permission: 403, not_found: 404, rate_limit: 429, server: 500, unavailable: 503, overloaded: 503 };
    for (const [kind, status] of Object.entries(expected) as Array<[ErrorKind, number]>) {
      assert.equal(fake.statusOf(kind), status, kind);
      fake.script({ kind: 'error', error: kind, headers: { 'retry-after': '2' } });
      const res = await chat({ messages: hi });
      assert.equal(res.headers.get('retry-after'), '2');
      await refused(res, status, kind === 'context_length' ? /^too many tokens/ : kind === 'not_found' ? /model 'command-r-plus' not found/ : /./);
    }
  });

  test('a content-filter answer is the 498 blocked refusal', async () => {
    fake.script({ kind: 'content-filter' });
    await refused(await chat({ messages: hi }), 498, /^blocked input/);
  });

  test('auth, path and JSON are checked before anything else, and refusals do not use the script', async () => {
    fake.script({ kind: 'text', text: 'kept' });
    await refused(await post('/chat', { model: 'm', messages: hi }, {}), 401, /no api key supplied/);
    await refused(await post('/chat', { model: 'm', messages: hi }, { authorization: 'Bearer wrong' }), 401, /invalid api token/);
    await refused(await post('/chat', { model: 'm', messages: hi }, { 'x-api-key': KEY }), 401, /no api key/);
    await refused(await post('/v1/chat', { model: 'm', messages: hi }), 404, /not found/);
    await refused(await post('/chat', '{"model":'), 400, /^invalid json syntax/);
    assert.equal(fake.decode(1).credential, 'wrong');
    assert.equal(fake.decode(0).credential, undefined);
    assert.equal(((await (await chat({ messages: hi })).json()) as any).message.content[0].text, 'kept');
  });

  test('fields v2 does not take, and malformed conversations, are refused the documented way', async () => {
    await refused(await chat({ messages: hi, top_p: 0.5 }), 422, /unknown field: parameter 'top_p' is not a valid field/);
    await refused(await chat({ messages: hi, n: 2 }), 422, /parameter 'n'/);
    await refused(await chat({ messages: hi, max_completion_tokens: 9 }), 422, /parameter 'max_completion_tokens'/);
    const strictTool = [{ type: 'function', function: { name: 'f', parameters: {}, strict: true } }];
    await refused(await chat({ messages: hi, tools: strictTool }), 422, /parameter 'strict'/);
    await refused(await chat({ messages: [{ role: 'user', content: 'x', name: 'bob' }] }), 422, /parameter 'name'/);
    await refused(await post('/chat', { messages: hi }), 400, /a model parameter is required/);
    await refused(await chat({ messages: [] }), 400, /messages must be a non-empty list/);
    await refused(await chat({ messages: [{ role: 'function', content: 'x' }] }), 400, /invalid role in messages at index 0/);
    await refused(await chat({ messages: [...hi, { role: 'tool', content: '{}' }] }), 400, /tool call id must be provided with tool message/);
    await refused(await chat({ messages: [...hi, { role: 'tool', tool_call_id: 'nope', content: '{}' }] }), 400, /tool call id not found in previous tool calls/);
    await refused(await chat({ messages: [...hi, { role: 'assistant', tool_calls: [{ id: 'a', type: 'custom', function: { name: 'f', arguments: '{}' } }] }] }), 400, /tool call must be of type function/);
    await refused(await chat({ messages: [{ role: 'user', content: ' ' }] }), 400, /message must not be empty/);
  });

  test('tools, tool_choice and sampling values outside the documented ranges are refused', async () => {
    await refused(await chat({ messages: hi, tools: [{ type: 'function', function: { name: '1bad-name', parameters: {} } }] }), 400, /tool names can only contain/);
    await refused(await chat({ messages: hi, tool_choice: 'auto' }), 400, /tool_choice must be 'REQUIRED' or 'NONE'/);
    await refused(await chat({ messages: hi, tool_choice: 'REQUIRED' }), 400, /needs the tools parameter/);
    await refused(await chat({ messages: hi, temperature: 1.5 }), 400, /temperature must be between 0 and 1.0/);
    await refused(await chat({ messages: hi, p: 1 }), 400, /p must be between/);
    await refused(await chat({ messages: hi, stop_sequences: ['a', 'b', 'c', 'd', 'e', 'f'] }), 400, /up to 5 strings/);
    assert.equal((await chat({ messages: hi, p: 0.5, k: 10, seed: 1, stop_sequences: ['x'], temperature: 0, tool_choice: 'NONE', tools: [] })).status, 200);
  });
});
