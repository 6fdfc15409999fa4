/**
 * Self-test of the fake Mistral AI API (test/helpers/conformance/fakes/mistral.ts) over raw HTTP
 * in Mistral's own wire format, so a broken fake is found here and not in the conformance suite.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMistralFake } from '../helpers/conformance/fakes/mistral.js';
import type { ConformanceFake, ErrorKind } from '../helpers/conformance/types.js';

const KEY = 'mistral-test-key';
let fake: ConformanceFake;

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }): Promise<Response> {
  return fetch(`${fake.baseURL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}
const chat = (body: Record<string, unknown>): Promise<Response> => post('/chat/completions', { model: 'mistral-small-latest', ...body });
const hi = [{ role: 'user', content: 'Hi' }];

/** The `data:` payloads of an SSE text; `[DONE]` kept as the string. */
function chunks(text: string): any[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      assert.ok(block.startsWith('data: '), `a data-only event: ${block}`);
      const data = block.slice(6);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

async function errorBody(res: Response, status: number): Promise<any> {
  assert.equal(res.status, status);
  return res.json();
}

/** A 4xx in Mistral's envelope, its message matching. */
async function refused(res: Response, status: number, type: string, pattern: RegExp, code: string | null = null): Promise<void> {
  const body = await errorBody(res, status);
  assert.equal(body.object, 'error');
  assert.equal(body.type, type);
  assert.equal(body.code, code);
  assert.match(body.message, pattern);
}

/** A 422 validation refusal naming the field's location. */
async function invalid(res: Response, type: string, loc: Array<string | number>): Promise<void> {
  const body = await errorBody(res, 422);
  assert.equal(body.object, 'error');
  assert.ok(body.message.detail.some((d: any) => d.type === type && JSON.stringify(d.loc) === JSON.stringify(loc)), JSON.stringify(body.message.detail));
}

before(async () => {
  fake = await startMistralFake({ apiKey: KEY });
});
after(() => fake.close());
beforeEach(() => fake.reset());

describe('mistral fake: chat', () => {
  test('a plain chat is decoded and answered as a chat.completion with the scripted usage', async () => {
    assert.equal(fake.baseURL, `${fake.origin}/v1`);
    fake.script({ kind: 'text', text: 'Bonjour', usage: { input: 3, output: 2 } });
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }] }, { role: 'assistant', content: 'Hi!' }, { role: 'user', content: 'Again' }];
    const res = await chat({ messages, max_tokens: 50, temperature: 0.2, safe_prompt: true, random_seed: 7, top_p: 0.9 });
    const body = (await res.json()) as any;
    assert.equal(res.status, 200);
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.model, 'mistral-small-latest');
    assert.deepEqual(body.choices, [{ index: 0, message: { role: 'assistant', content: 'Bonjour', tool_calls: null, prefix: false }, finish_reason: 'stop' }]);
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    const d = fake.decode();
    assert.deepEqual([d.kind, d.stream, d.model, d.credential, d.system, d.maxTokens, d.temperature], ['chat', false, 'mistral-small-latest', KEY, 'Be brief.', 50, 0.2]);
    assert.deepEqual(d.messages, [{ role: 'user', text: 'Hello' }, { role: 'assistant', text: 'Hi!' }, { role: 'user', text: 'Again' }]);
  });

  test('finish length, n choices, and the default answer once the script is used up', async () => {
    fake.script({ kind: 'text', text: 'cut', finish: 'length' });
    const body = (await (await chat({ messages: hi, n: 2 })).json()) as any;
    assert.deepEqual(body.choices.map((c: any) => [c.index, c.finish_reason]), [[0, 'length'], [1, 'length']]);
    const next = (await (await chat({ messages: hi })).json()) as any;
    assert.equal(next.choices[0].message.content, 'Hello from mistral-ai');
    assert.deepEqual(next.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  test('a tool answer carries a 9-character id; the round trip is decoded with ids and names', async () => {
    fake.script({ kind: 'tool', id: 'call_abc', name: 'get_weather', arguments: { city: 'Paris' } }, { kind: 'tool', id: 'D681PevKs', name: 'f', arguments: {} });
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object' } } }];
    const body = (await (await chat({ messages: hi, tools, tool_choice: 'any' })).json()) as any;
    const call = body.choices[0].message.tool_calls[0];
    assert.equal(body.choices[0].finish_reason, 'tool_calls');
    assert.equal(body.choices[0].message.content, '');
    assert.match(call.id, /^[a-zA-Z0-9]{9}$/);
    assert.deepEqual(call.function, { name: 'get_weather', arguments: '{"city":"Paris"}' });
    assert.deepEqual(fake.decode().tools, [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }]);
    const second = (await (await chat({ messages: hi, tools, tool_choice: 'required' })).json()) as any;
    assert.equal(second.choices[0].message.tool_calls[0].id, 'D681PevKs', 'an id already in Mistral form is kept');
    const res = await chat({ messages: [...hi, { role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', name: 'get_weather', tool_call_id: call.id, content: '{"temp":21}' }] });
    assert.equal(res.status, 200);
    const d = fake.decode();
    assert.deepEqual(d.messages[1], { role: 'assistant', text: '', toolCalls: [{ id: call.id, name: 'get_weather', arguments: { city: 'Paris' } }] });
    assert.deepEqual(d.messages[2], { role: 'tool', text: '{"temp":21}', toolCallId: call.id, toolName: 'get_weather' });
    await chat({ messages: [...hi, { role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '1' }] });
    assert.deepEqual(fake.decode().messages[2], { role: 'tool', text: '1', toolCallId: call.id }, 'no toolName key when none was sent');
  });
});

describe('mistral fake: streams', () => {
  test('a text stream: role chunk, content chunks, finish and usage on the last chunk, [DONE]', async () => {
    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo'], usage: { input: 5, output: 2 } });
    const res = await chat({ messages: hi, stream: true });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const cs = chunks(await res.text());
    assert.equal(cs.length, 5);
    assert.equal(cs.at(-1), '[DONE]');
    assert.ok(cs.slice(0, -1).every((c) => c.object === 'chat.completion.chunk' && c.model === 'mistral-small-latest'));
    assert.deepEqual(cs[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(cs.slice(0, -1).map((c) => c.choices[0].delta.content).join(''), 'Hello');
    assert.equal(cs[3].choices[0].finish_reason, 'stop');
    assert.deepEqual(cs[3].usage, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
    assert.ok(cs.slice(0, 3).every((c) => c.choices[0].finish_reason === null && c.usage === undefined));
    assert.equal(fake.decode().stream, true);
  });

  test('cutAfter destroys the socket after that many pieces, with no finish', async () => {
    fake.script({ kind: 'stream-text', pieces: ['a', 'b', 'c'], cutAfter: 2 });
    const res = await chat({ messages: hi, stream: true });
    let text = '';
    const decoder = new TextDecoder();
    await assert.rejects(async () => {
      for await (const part of res.body!) text += decoder.decode(part as Uint8Array);
    });
    const cs = chunks(text);
    assert.deepEqual(cs.map((c) => c.choices[0].delta.content), ['', 'a', 'b']);
  });

  test('a streamed tool call arrives whole in one chunk, then finish tool_calls with usage', async () => {
    fake.script({ kind: 'stream-tool', id: 'call_1', name: 'lookup', argumentPieces: ['{"q":', '"x"}'] });
    const cs = chunks(await (await chat({ messages: hi, stream: true })).text());
    assert.equal(cs.length, 4);
    const [call] = cs[1].choices[0].delta.tool_calls;
    assert.match(call.id, /^[a-zA-Z0-9]{9}$/);
    assert.deepEqual([call.index, call.type, call.function], [0, 'function', { name: 'lookup', arguments: '{"q":"x"}' }]);
    assert.equal(cs[2].choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(cs[2].usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });
});

describe('mistral fake: embeddings', () => {
  test('a string and an array input are decoded and embedded with usage', async () => {
    fake.script({ kind: 'embedding', vectors: [[0.5, -0.5]], usage: { input: 4, output: 0 } }, { kind: 'embedding', vectors: [[1], [2]] });
    const one = (await (await post('/embeddings', { model: 'mistral-embed', input: 'a' })).json()) as any;
    assert.deepEqual(one.data, [{ object: 'embedding', embedding: [0.5, -0.5], index: 0 }]);
    assert.deepEqual([one.object, one.model, one.usage.prompt_tokens, one.usage.total_tokens], ['list', 'mistral-embed', 4, 4]);
    assert.deepEqual(fake.decode().inputs, ['a']);
    const two = (await (await post('/embeddings', { model: 'mistral-embed', input: ['a', 'b'] })).json()) as any;
    assert.deepEqual(two.data.map((d: any) => d.embedding), [[1], [2]]);
    const d = fake.decode();
    assert.deepEqual([d.kind, d.model, d.inputs], ['embedding', 'mistral-embed', ['a', 'b']]);
  });

  test('embeddings refuse fields the schema does not have', async () => {
    await invalid(await post('/embeddings', { model: 'mistral-embed', input: 'a', dimensions: 8 }), 'extra_forbidden', ['body', 'dimensions']);
    await invalid(await post('/embeddings', { model: 'mistral-embed' }), 'missing', ['body', 'input']);
  });
});

describe('mistral fake: errors and refusals', () => {
  test('each error kind answers its documented status in the error envelope; 429 has rate headers', async () => {
    const expected: Record<ErrorKind, number> = { invalid_request: 400, context_length: 400, unauthenticated: 401, permission: 403, not_found: 404, rate_limit: 429, server: 500, unavailable: 503, overloaded: 503 };
    for (const [kind, status] of Object.entries(expected) as Array<[ErrorKind, number]>) {
      assert.equal(fake.statusOf(kind), status, kind);
      fake.script({ kind: 'error', error: kind });
      const res = await chat({ messages: hi });
      const body = await errorBody(res, status);
      assert.equal(body.object, 'error', kind);
      assert.equal(typeof body.message, 'string', kind);
      if (kind === 'context_length') assert.match(body.message, /maximum context length/);
      if (kind === 'rate_limit') assert.deepEqual([res.headers.get('retry-after'), res.headers.get('x-ratelimit-remaining-req-minute')], ['1', '0']);
    }
    fake.script({ kind: 'error', error: 'rate_limit', headers: { 'retry-after': '0' } });
    assert.equal((await chat({ messages: hi })).headers.get('retry-after'), '0', 'scripted headers win');
  });

  test('a content-filter answer is the 403 guardrail block', async () => {
    fake.script({ kind: 'content-filter' });
    const body = await errorBody(await chat({ messages: hi }), 403);
    assert.equal(body.error.message, 'Content blocked by guardrail');
    assert.equal(body.guardrails.results.moderation_llm_v2.action, 'block');
  });

  test('auth, path and JSON come first, and refusals do not use the script', async () => {
    fake.script({ kind: 'text', text: 'kept' });
    await refused(await post('/chat/completions', { model: 'm', messages: hi }, {}), 401, 'authentication_error', /Unauthorized/);
    await refused(await post('/chat/completions', { model: 'm', messages: hi }, { authorization: 'Bearer nope' }), 401, 'authentication_error', /Unauthorized/);
    await refused(await post('/completions', { model: 'm', messages: hi }), 404, 'invalid_request_error', /Not Found/);
    await invalid(await post('/chat/completions', '{"model":'), 'json_invalid', ['body']);
    assert.equal(fake.decode(1).credential, 'nope');
    assert.equal(((await (await chat({ messages: hi })).json()) as any).choices[0].message.content, 'kept');
  });

  test('fields Mistral does not take are refused 422 extra_forbidden, missing ones 422 missing', async () => {
    await invalid(await chat({ messages: hi, seed: 1 }), 'extra_forbidden', ['body', 'seed']);
    await invalid(await chat({ messages: hi, max_completion_tokens: 9 }), 'extra_forbidden', ['body', 'max_completion_tokens']);
    await invalid(await chat({ messages: hi, stream: true, stream_options: { include_usage: true } }), 'extra_forbidden', ['body', 'stream_options']);
    await invalid(await chat({ messages: [{ role: 'user', content: 'x', name: 'bob' }] }), 'extra_forbidden', ['body', 'messages', 0, 'user', 'name']);
    await invalid(await chat({ messages: hi, tools: [{ type: 'function', function: { name: 'f' } }] }), 'missing', ['body', 'tools', 0, 'function', 'parameters']);
    await invalid(await post('/chat/completions', { messages: hi }), 'missing', ['body', 'model']);
    await invalid(await chat({ messages: [{ role: 'developer', content: 'x' }] }), 'union_tag_invalid', ['body', 'messages', 0]);
    await invalid(await chat({ messages: hi, temperature: 2 }), 'less_than_equal', ['body', 'temperature']);
    await invalid(await chat({ messages: hi, n: 0 }), 'greater_than_equal', ['body', 'n']);
    await invalid(await chat({ messages: hi, tool_choice: 'sometimes' }), 'enum', ['body', 'tool_choice']);
  });

  test('tool call ids and message order are held to what Mistral serves', async () => {
    const call = { id: 'call_abc123', type: 'function', function: { name: 'f', arguments: '{}' } };
    await refused(await chat({ messages: [...hi, { role: 'assistant', tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_abc123', content: '1' }] }), 400, 'invalid_function_call', /Tool call id was call_abc123 but must be a-z, A-Z, 0-9, with a length of 9/, '3280');
    const good = { ...call, id: 'abcDEF123' };
    await refused(await chat({ messages: [...hi, { role: 'assistant', tool_calls: [good] }, { role: 'tool', tool_call_id: 'abc', content: '1' }] }), 400, 'invalid_function_call', /Tool call id was abc/, '3280');
    await refused(await chat({ messages: [...hi, { role: 'assistant', tool_calls: [good] }, { role: 'tool', tool_call_id: 'abcDEF123', content: '1' }, ...hi] }), 400, 'invalid_request_message_order', /Unexpected role 'user' after role 'tool'/, '3230');
    await refused(await chat({ messages: [...hi, { role: 'tool', tool_call_id: 'abcDEF123', content: '1' }] }), 400, 'invalid_request_message_order', /Unexpected role 'tool' after role 'user'/, '3230');
    await refused(await chat({ messages: [...hi, { role: 'assistant', content: 'so' }] }), 400, 'invalid_request_message_order', /Expected last role User or Tool/, '3230');
    assert.equal((await chat({ messages: [...hi, { role: 'assistant', content: 'so', prefix: true }] })).status, 200, 'a prefix assistant may come last');
  });
});
