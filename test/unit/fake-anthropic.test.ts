/**
 * Self-test of the Anthropic conformance fake over raw HTTP: the headers and body rules of the
 * Messages API, what it decodes (tool results as `tool` turns), each answer kind as a message and
 * as the named SSE event sequence, errors with their types, statuses and rate-limit headers.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startAnthropicFake } from '../helpers/conformance/fakes/anthropic.js';
import type { ConformanceFake, ErrorKind } from '../helpers/conformance/types.js';

const HEADERS = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
const hi = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
const tool = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object' } };

async function call(fake: ConformanceFake, body: unknown, headers: Record<string, string> = HEADERS, path = '/v1/messages') {
  const res = await fetch(`${fake.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Named SSE events: [event name, data]. */
function events(text: string): Array<[string, any]> {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? 'null');
      assert.equal(data.type, event, 'the data type names the event');
      return [event, data];
    });
}

describe('Anthropic fake', () => {
  let fake: ConformanceFake;
  before(async () => {
    fake = await startAnthropicFake({ apiKey: 'sk-ant-test' });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('decodes system, turns, tool use and tool results; answers a message with the scripted usage', async () => {
    fake.script({ kind: 'text', text: 'Sunny', usage: { input: 9, output: 3 } });
    const body = {
      ...hi,
      system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Be kind.' }],
      temperature: 0.2,
      tools: [tool],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp":21}' }, { type: 'text', text: 'Thanks' }] },
      ],
    };
    const r = await call(fake, body);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.type, r.json.role, r.json.stop_reason, r.json.content], ['message', 'assistant', 'end_turn', [{ type: 'text', text: 'Sunny' }]]);
    assert.deepEqual([r.json.usage.input_tokens, r.json.usage.output_tokens], [9, 3]);
    assert.match(r.headers.get('request-id') ?? '', /^req_/);
    const d = fake.decode();
    assert.deepEqual([d.kind, d.model, d.system, d.maxTokens, d.temperature, d.credential, d.stream], ['chat', 'claude-sonnet-4-5', 'Be brief.\nBe kind.', 64, 0.2, 'sk-ant-test', false]);
    assert.deepEqual(d.messages, [
      { role: 'user', text: 'Weather?' },
      { role: 'assistant', text: 'Checking.', toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', text: '{"temp":21}', toolCallId: 'toolu_1' },
      { role: 'user', text: 'Thanks' },
    ]);
    assert.deepEqual(d.tools, [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }]);
  });

  test('refuses what the Messages API refuses, as {type:"error"} bodies, without using the script', async () => {
    fake.script({ kind: 'text', text: 'kept' });
    const use = { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: {} };
    const cases: Array<[string, unknown, Record<string, string>, number, RegExp]> = [
      ['no key', hi, { 'anthropic-version': '2023-06-01' }, 401, /x-api-key/],
      ['wrong key', hi, { ...HEADERS, 'x-api-key': 'other' }, 401, /invalid x-api-key/],
      ['no version', hi, { 'x-api-key': 'sk-ant-test' }, 400, /anthropic-version/],
      ['no max_tokens', { model: 'm', messages: hi.messages }, HEADERS, 400, /max_tokens: Field required/],
      ['system role', { ...hi, messages: [{ role: 'system', content: 'x' }, ...hi.messages] }, HEADERS, 400, /top-level `system`/],
      ['tool role', { ...hi, messages: [{ role: 'tool', content: 'x' }] }, HEADERS, 400, /'user' or 'assistant'/],
      ['unknown field', { ...hi, n: 2 }, HEADERS, 400, /n: Extra inputs are not permitted/],
      ['empty text', { ...hi, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, HEADERS, 400, /non-empty/],
      ['tool blocks without tools', { ...hi, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [use] }] }, HEADERS, 400, /must define tools/],
      [
        'unanswered tool_use',
        { ...hi, tools: [tool], messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [use] }, { role: 'user', content: 'next' }] },
        HEADERS,
        400,
        /without `tool_result` blocks immediately after: toolu_9/,
      ],
      ['stray tool_result', { ...hi, tools: [tool], messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'nope', content: 'r' }] }] }, HEADERS, 400, /unexpected `tool_use_id`/],
      [
        'result after text',
        { ...hi, tools: [tool], messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [use] }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'tool_result', tool_use_id: 'toolu_9' }] }] },
        HEADERS,
        400,
        /must come first/,
      ],
      ['bad tool id', { ...hi, tools: [tool], messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ ...use, id: 'call:1' }] }] }, HEADERS, 400, /pattern/],
    ];
    for (const [label, body, headers, status, message] of cases) {
      const r = await call(fake, body, headers);
      assert.equal(r.status, status, label);
      assert.equal(r.json.type, 'error', label);
      assert.match(r.json.error.message, message, label);
    }
    assert.equal((await call(fake, hi, HEADERS, '/v1/complete')).json.error.type, 'not_found_error');
    // consecutive user turns are combined by the API, not refused; a final assistant turn may be empty
    const ok = await call(fake, { ...hi, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'assistant', content: '' }] });
    assert.deepEqual([ok.status, ok.json.content[0].text], [200, 'kept']);
  });

  test('streams text as the documented event sequence, usage in message_start and message_delta', async () => {
    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo'], finish: 'length', usage: { input: 5, output: 2 } });
    const r = await call(fake, { ...hi, stream: true });
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const seq = events(r.text);
    assert.deepEqual(seq.map(([e]) => e), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(seq[0]![1].message.usage.input_tokens, 5);
    assert.deepEqual(seq.slice(3, 5).map(([, d]) => d.delta), [{ type: 'text_delta', text: 'Hel' }, { type: 'text_delta', text: 'lo' }]);
    assert.deepEqual([seq[6]![1].delta.stop_reason, seq[6]![1].usage.output_tokens], ['max_tokens', 2]);
    assert.ok(!r.text.includes('[DONE]'));
    assert.equal(fake.decode().stream, true);
  });

  test('streams a tool call as input_json_delta pieces; answers a tool call as a tool_use block', async () => {
    fake.script({ kind: 'stream-tool', id: 'toolu_s', name: 'get_weather', argumentPieces: ['{"city":', '"Oslo"}'] }, { kind: 'tool', id: 'toolu_j', name: 'get_weather', arguments: { city: 'Rome' } });
    const seq = events((await call(fake, { ...hi, stream: true, tools: [tool] })).text);
    assert.deepEqual(seq[1]![1].content_block, { type: 'tool_use', id: 'toolu_s', name: 'get_weather', input: {} });
    assert.equal(seq.filter(([e]) => e === 'content_block_delta').map(([, d]) => d.delta.partial_json).join(''), '{"city":"Oslo"}');
    assert.equal(seq.find(([e]) => e === 'message_delta')![1].delta.stop_reason, 'tool_use');
    const json = (await call(fake, { ...hi, tools: [tool] })).json;
    assert.deepEqual([json.stop_reason, json.content], ['tool_use', [{ type: 'tool_use', id: 'toolu_j', name: 'get_weather', input: { city: 'Rome' } }]]);
  });

  test('a cut stream stops after the pieces, without content_block_stop or message_stop', async () => {
    fake.script({ kind: 'stream-text', pieces: ['a', 'b', 'c'], cutAfter: 2 });
    const res = await fetch(`${fake.origin}/v1/messages`, { method: 'POST', headers: { ...HEADERS, 'content-type': 'application/json' }, body: JSON.stringify({ ...hi, stream: true }) });
    let text = '';
    await assert.rejects(async () => {
      for await (const part of res.body!) text += Buffer.from(part as Uint8Array).toString('utf8');
    });
    assert.match(text, /"text":"b"/);
    assert.doesNotMatch(text, /"text":"c"|message_stop|content_block_stop/);
  });

  test('errors: documented statuses and types, 529 overloaded_error, rate-limit headers with retry-after', async () => {
    const types: Record<ErrorKind, string> = {
      invalid_request: 'invalid_request_error',
      context_length: 'invalid_request_error',
      unauthenticated: 'authentication_error',
      permission: 'permission_error',
      not_found: 'not_found_error',
      rate_limit: 'rate_limit_error',
      server: 'api_error',
      unavailable: 'overloaded_error',
      overloaded: 'overloaded_error',
    };
    for (const kind of Object.keys(types) as ErrorKind[]) {
      fake.script({ kind: 'error', error: kind });
      const r = await call(fake, hi);
      assert.equal(r.status, fake.statusOf(kind), kind);
      assert.deepEqual([r.json.type, r.json.error.type], ['error', types[kind]], kind);
      if (kind === 'rate_limit') {
        assert.equal(r.headers.get('retry-after'), '1');
        assert.equal(r.headers.get('anthropic-ratelimit-requests-remaining'), '0');
        assert.match(r.headers.get('anthropic-ratelimit-tokens-reset') ?? '', /^\d{4}-\d{2}-\d{2}T/);
      }
    }
    assert.equal(fake.statusOf('overloaded'), 529);
    assert.match((await (async () => (fake.script({ kind: 'error', error: 'context_length' }), call(fake, hi)))()).json.error.message, /prompt is too long/);
    fake.script({ kind: 'error', error: 'rate_limit', headers: { 'retry-after': '0' } });
    assert.equal((await call(fake, hi)).headers.get('retry-after'), '0');
  });

  test('content filter: stop_reason refusal, in a message and in a stream', async () => {
    fake.script({ kind: 'content-filter' }, { kind: 'content-filter' });
    assert.equal((await call(fake, hi)).json.stop_reason, 'refusal');
    const seq = events((await call(fake, { ...hi, stream: true })).text);
    assert.deepEqual(seq.map(([e]) => e), ['message_start', 'message_delta', 'message_stop']);
    assert.equal(seq[1]![1].delta.stop_reason, 'refusal');
  });
});
