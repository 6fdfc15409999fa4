/**
 * Self-test of the OpenAI-family conformance fake over raw HTTP: what it decodes, each answer
 * kind in OpenAI's wire format (JSON and SSE), the refusals the docs describe, and what each
 * flavour (Azure, Groq, DeepSeek, Together) does differently. A broken fake shows here, not as a
 * mysterious failure of the conformance suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOpenAIFamilyFake } from '../helpers/conformance/fakes/openai.js';
import type { ConformanceFake, ErrorKind } from '../helpers/conformance/types.js';
import { sseData } from '../helpers/sse.js';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(fake: ConformanceFake, path: string, body: unknown, headers: Record<string, string> = { authorization: 'Bearer sk-test' }): Promise<Reply> {
  const res = await fetch(`${fake.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const hi = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const KINDS: ErrorKind[] = ['invalid_request', 'context_length', 'unauthenticated', 'permission', 'not_found', 'rate_limit', 'server', 'unavailable', 'overloaded'];

describe('OpenAI fake', () => {
  let fake: ConformanceFake;
  before(async () => {
    fake = await startOpenAIFamilyFake('openai', { apiKey: 'sk-test' });
  });
  after(() => fake.close());

  test('decodes a chat request and answers text with the scripted usage', async () => {
    fake.reset();
    fake.script({ kind: 'text', text: 'Bonjour', usage: { input: 5, output: 2 } });
    const body = {
      model: 'gpt-4o-mini',
      max_completion_tokens: 40,
      temperature: 0.5,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object' } } }],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      ],
    };
    const r = await call(fake, '/v1/chat/completions', body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.json.choices[0].message.content, 'Bonjour');
    assert.equal(r.json.choices[0].finish_reason, 'stop');
    assert.deepEqual(r.json.usage, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
    const d = fake.decode();
    assert.equal(fake.baseURL, `${fake.origin}/v1`);
    assert.deepEqual([d.kind, d.stream, d.model, d.system, d.maxTokens, d.temperature, d.credential], ['chat', false, 'gpt-4o-mini', 'Be brief.', 40, 0.5, 'sk-test']);
    assert.deepEqual(d.messages, [
      { role: 'user', text: 'Hello' },
      { role: 'assistant', text: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', text: '{"temp":21}', toolCallId: 'call_1' },
    ]);
    assert.deepEqual(d.tools, [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }]);
  });

  test('refuses what OpenAI refuses, in its error format, without using the script', async () => {
    fake.reset();
    fake.script({ kind: 'text', text: 'kept for the valid request' });
    const cases: Array<[string, unknown, Record<string, string> | undefined, number, RegExp]> = [
      ['no key', hi, {}, 401, /didn't provide an API key/],
      ['wrong key', hi, { authorization: 'Bearer sk-other' }, 401, /Incorrect API key/],
      ['unknown role', { ...hi, messages: [{ role: 'robot', content: 'x' }] }, undefined, 400, /Invalid value: 'robot'/],
      ['tool without id', { ...hi, messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r' }] }, undefined, 400, /tool_call_id/],
      ['tool without a call', { ...hi, messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'c', content: 'r' }] }, undefined, 400, /preceeding message with 'tool_calls'/],
      [
        'unanswered call',
        { ...hi, messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c9', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'user', content: 'x' }] },
        undefined,
        400,
        /did not have response messages: c9/,
      ],
      ['unknown field', { ...hi, foo: 1 }, undefined, 400, /Unrecognized request argument supplied: foo/],
      ['stream_options without stream', { ...hi, stream_options: { include_usage: true } }, undefined, 400, /stream_options/],
      ['no model', { messages: hi.messages }, undefined, 400, /model parameter/],
      ['empty messages', { model: 'm', messages: [] }, undefined, 400, /empty array/],
    ];
    for (const [label, body, headers, status, message] of cases) {
      const r = await call(fake, '/v1/chat/completions', body, headers);
      assert.equal(r.status, status, label);
      assert.match(r.json.error.message, message, label);
      assert.ok('type' in r.json.error && 'param' in r.json.error && 'code' in r.json.error, label);
    }
    assert.equal((await call(fake, '/v1/chat/completion', hi)).status, 404);
    const ok = await call(fake, '/v1/chat/completions', hi);
    assert.equal(ok.json.choices[0].message.content, 'kept for the valid request');
  });

  test('streams text as OpenAI chunks, with the usage chunk only when asked', async () => {
    fake.reset();
    fake.script({ kind: 'stream-text', pieces: ['a', 'b'], usage: { input: 3, output: 2 } }, { kind: 'stream-text', pieces: ['c'] });
    const asked = await call(fake, '/v1/chat/completions', { ...hi, stream: true, stream_options: { include_usage: true } });
    assert.match(asked.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = sseData(asked.text);
    assert.equal(events.at(-1), '[DONE]');
    assert.deepEqual(events[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    assert.deepEqual(events.slice(1, 3).map((e) => e.choices[0].delta.content), ['a', 'b']);
    assert.equal(events[3].choices[0].finish_reason, 'stop');
    assert.deepEqual(events[4].choices, []);
    assert.deepEqual(events[4].usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    assert.equal(fake.decode().stream, true);
    const plain = sseData((await call(fake, '/v1/chat/completions', { ...hi, stream: true })).text);
    assert.ok(plain.every((e) => e === '[DONE]' || !('usage' in e)));
  });

  test('answers a tool call as tool_calls; streams one with id and name first, then the argument pieces', async () => {
    fake.reset();
    fake.script({ kind: 'tool', id: 'call_6', name: 'f', arguments: { a: 1 } }, { kind: 'stream-tool', id: 'call_7', name: 'f', argumentPieces: ['{"a":', '1}'] });
    const json = (await call(fake, '/v1/chat/completions', hi)).json.choices[0];
    assert.deepEqual([json.finish_reason, json.message.content, json.message.tool_calls], ['tool_calls', null, [{ id: 'call_6', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }]]);
    const events = sseData((await call(fake, '/v1/chat/completions', { ...hi, stream: true })).text);
    const calls = events.slice(1, -2).map((e) => e.choices[0].delta.tool_calls[0]);
    assert.deepEqual(calls[0], { index: 0, id: 'call_7', type: 'function', function: { name: 'f', arguments: '' } });
    assert.equal(calls.map((c) => c.function.arguments).join(''), '{"a":1}');
    assert.equal(events.at(-2).choices[0].finish_reason, 'tool_calls');
  });

  test('a cut stream ends without a finish or [DONE]', async () => {
    fake.reset();
    fake.script({ kind: 'stream-text', pieces: ['x', 'y', 'z'], cutAfter: 1 });
    const res = await fetch(`${fake.origin}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' }, body: JSON.stringify({ ...hi, stream: true }) });
    let text = '';
    const decoder = new TextDecoder();
    await assert.rejects(async () => {
      for await (const part of res.body!) text += decoder.decode(part as Uint8Array);
    });
    assert.match(text, /"content":"x"/);
    assert.doesNotMatch(text, /"y"|finish_reason":"stop|\[DONE\]/);
  });

  test('each error kind: its documented status and OpenAI error body; 429 carries the rate-limit headers', async () => {
    for (const kind of KINDS) {
      fake.reset();
      fake.script({ kind: 'error', error: kind, ...(kind === 'rate_limit' ? { headers: { 'retry-after': '3' } } : {}) });
      const r = await call(fake, '/v1/chat/completions', hi);
      assert.equal(r.status, fake.statusOf(kind), kind);
      assert.equal(typeof r.json.error.message, 'string', kind);
      if (kind === 'rate_limit') {
        assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
        assert.equal(r.headers.get('retry-after'), '3');
      }
    }
    assert.equal(fake.statusOf('context_length'), 400);
    assert.equal(fake.statusOf('overloaded'), 503);
  });

  test('embeddings: floats, base64 (float32 little-endian) and the decoded inputs', async () => {
    fake.reset();
    fake.script({ kind: 'embedding', vectors: [[0.25, -0.5]], usage: { input: 4, output: 0 } }, { kind: 'embedding', vectors: [[1], [2]] });
    const one = await call(fake, '/v1/embeddings', { model: 'text-embedding-3-small', input: 'hello' });
    assert.deepEqual(one.json.data[0].embedding, [0.25, -0.5]);
    assert.deepEqual(one.json.usage, { prompt_tokens: 4, total_tokens: 4 });
    assert.deepEqual([fake.decode().kind, fake.decode().inputs], ['embedding', ['hello']]);
    const two = await call(fake, '/v1/embeddings', { model: 'm', input: ['a', 'b'], encoding_format: 'base64' });
    const floats = two.json.data.map((d: any) => {
      const bytes = Buffer.from(d.embedding, 'base64');
      return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    });
    assert.deepEqual(floats, [[1], [2]]);
    assert.deepEqual(fake.decode().inputs, ['a', 'b']);
    assert.equal((await call(fake, '/v1/embeddings', { model: 'm', input: '' })).status, 400);
  });

  test('content filter: finish_reason content_filter and no content', async () => {
    fake.reset();
    fake.script({ kind: 'content-filter' });
    const r = await call(fake, '/v1/chat/completions', hi);
    assert.equal(r.json.choices[0].finish_reason, 'content_filter');
    assert.equal(r.json.choices[0].message.content, null);
  });
});

describe('the other flavours', () => {
  test('Azure: deployment path, api-version, api-key header, filter annotations, its own error bodies', async () => {
    const fake = await startOpenAIFamilyFake('azure-openai', { apiKey: 'az-key' });
    try {
      assert.equal(fake.baseURL, fake.origin);
      const path = '/openai/deployments/my-dep/chat/completions';
      const key = { 'api-key': 'az-key' };
      assert.equal((await call(fake, path, { messages: hi.messages }, key)).status, 404, 'no api-version');
      assert.equal((await call(fake, `${path}?api-version=yesterday`, { messages: hi.messages }, key)).status, 400);
      assert.equal((await call(fake, `${path}?api-version=2024-10-21`, { messages: hi.messages }, {})).json.error.code, '401');
      const ok = await call(fake, `${path}?api-version=2024-10-21`, { messages: hi.messages }, key);
      assert.equal(ok.status, 200, ok.text);
      assert.ok(Array.isArray(ok.json.prompt_filter_results));
      assert.equal(ok.json.choices[0].content_filter_results.hate.filtered, false);
      assert.deepEqual([fake.decode().model, fake.decode().credential], ['my-dep', 'az-key']);
      fake.script({ kind: 'error', error: 'not_found' }, { kind: 'error', error: 'rate_limit', headers: { 'retry-after': '0' } }, { kind: 'stream-text', pieces: ['p'] });
      assert.equal((await call(fake, `${path}?api-version=2024-10-21`, hi, key)).json.error.code, 'DeploymentNotFound');
      const limited = await call(fake, `${path}?api-version=2024-10-21`, hi, key);
      assert.deepEqual([limited.status, limited.headers.get('retry-after'), limited.headers.get('retry-after-ms')], [429, '0', null]);
      const events = sseData((await call(fake, `${path}?api-version=2024-10-21`, { ...hi, stream: true }, key)).text);
      assert.deepEqual(events[0].choices, [], 'the prompt-filter event first');
      assert.ok(Array.isArray(events[0].prompt_filter_results));
    } finally {
      await fake.close();
    }
  });

  test('Groq: /openai/v1, refuses logprobs, messages[].name and n > 1; retry-after on 429', async () => {
    const fake = await startOpenAIFamilyFake('groq');
    try {
      assert.equal(fake.baseURL, `${fake.origin}/openai/v1`);
      const path = '/openai/v1/chat/completions';
      assert.equal((await call(fake, path, { ...hi, logprobs: true })).status, 400);
      assert.equal((await call(fake, path, { ...hi, n: 2 })).status, 400);
      assert.equal((await call(fake, path, { ...hi, messages: [{ role: 'user', name: 'bob', content: 'x' }] })).status, 400);
      assert.equal((await call(fake, '/openai/v1/embeddings', { model: 'm', input: 'x' })).status, 404, 'no embeddings');
      fake.script({ kind: 'error', error: 'rate_limit' });
      const limited = await call(fake, path, hi);
      assert.deepEqual([limited.status, limited.headers.get('retry-after'), limited.json.error.code], [429, '2', 'rate_limit_exceeded']);
    } finally {
      await fake.close();
    }
  });

  test('DeepSeek: with or without /v1, blank lines before JSON, keep-alive comment in streams, 400 for an unknown model', async () => {
    const fake = await startOpenAIFamilyFake('deepseek');
    try {
      const plain = await call(fake, '/chat/completions', hi);
      assert.ok(plain.text.startsWith('\n'), 'keep-alive blank lines');
      assert.equal(plain.json.usage.prompt_cache_miss_tokens, 11);
      fake.script({ kind: 'stream-text', pieces: ['s'] }, { kind: 'error', error: 'not_found' });
      assert.match((await call(fake, '/v1/chat/completions', { ...hi, stream: true })).text, /^: keep-alive\n\n/);
      const missing = await call(fake, '/chat/completions', hi);
      assert.deepEqual([missing.status, missing.json.error.message], [400, 'Model Not Exist']);
      assert.equal((await call(fake, '/chat/completions', { ...hi, messages: [{ role: 'robot', content: 'x' }] })).status, 422);
    } finally {
      await fake.close();
    }
  });

  test('Together: /v1 with embeddings; the documented 403 for a context overflow', async () => {
    const fake = await startOpenAIFamilyFake('together-ai');
    try {
      fake.script({ kind: 'embedding', vectors: [[0.5]] }, { kind: 'error', error: 'context_length' });
      assert.deepEqual((await call(fake, '/v1/embeddings', { model: 'm', input: 'x' })).json.data[0].embedding, [0.5]);
      assert.equal((await call(fake, '/v1/chat/completions', hi)).status, 403);
    } finally {
      await fake.close();
    }
  });
});
