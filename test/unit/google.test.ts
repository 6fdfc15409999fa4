import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import request from 'supertest';
import { googleAdapter, FOREIGN_THOUGHT_SIGNATURE } from '../../lib/providers/google/index.js';
import { builtinAdapters, canonicalProvider } from '../../lib/providers/registry.js';
import { InvalidUpstreamResponse, RequestError, UpstreamStreamError } from '../../lib/errors.js';
import { checkProviderSettings } from '../../lib/config/settings.js';
import type { JsonObject, ParseContext, ResolvedTarget, StreamState, UnifiedChunk, UnifiedRequest } from '../../lib/providers/types.js';
import { createApp } from '../helpers/create-app.js';
import { joinedContent, listen, rawText, sseData } from '../helpers/sse.js';
import { startGeminiFake, type GoogleFake } from '../helpers/conformance/fakes/google.js';

const signal = new AbortController().signal;

function target(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'google', apiKey: 'AIza-test-key', headers: {}, settings: {}, ...overrides };
}

function chatReq(body: JsonObject, stream = false): UnifiedRequest {
  return { endpoint: 'chat', body, stream };
}

const hi = [{ role: 'user', content: 'hi' }];

async function build(body: JsonObject, t: ResolvedTarget = target()): Promise<JsonObject> {
  return (await googleAdapter.buildRequest(chatReq({ model: 'gemini-2.0-flash', ...body }), t, signal)).body as JsonObject;
}

function ctx(body: JsonObject = { model: 'gemini-2.0-flash', messages: hi }, endpoint: UnifiedRequest['endpoint'] = 'chat'): ParseContext {
  return { request: { endpoint, body, stream: false }, target: target(), status: 200 };
}

/** Checks the error is the 400 `invalid_parameter` RequestError naming `param`. */
function invalidParameter(param: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_parameter');
    assert.equal(err.param, param);
    if (message) assert.match(err.message, message);
    return true;
  };
}

const toolCall = (id: string, name: string, args: unknown, extra?: JsonObject): JsonObject => ({
  id,
  type: 'function',
  function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) },
  ...(extra ?? {}),
});

describe('google adapter: identity and registry', () => {
  test('name, endpoints, stream usage, no prefill, no settings', () => {
    assert.equal(googleAdapter.name, 'google');
    assert.deepEqual([...googleAdapter.endpoints].sort(), ['chat', 'embedding']);
    assert.equal(googleAdapter.streamUsage, 'always');
    assert.equal(googleAdapter.supportsPrefill, false);
    assert.equal(googleAdapter.settings, undefined);
    const check = checkProviderSettings(googleAdapter, 'google', { vertex_region: 'x' }, 'config.targets[0]');
    assert.equal(check.ok, false);
  });

  test('registered as google, and gemini is its alias', () => {
    assert.equal(builtinAdapters().get('google'), googleAdapter);
    assert.equal(canonicalProvider('Gemini'), 'google');
  });
});

describe('google buildRequest: URL and headers', () => {
  const url = async (body: JsonObject, t = target(), stream = false) => (await googleAdapter.buildRequest(chatReq({ messages: hi, ...body }, stream), t, signal)).url;

  test('generateContent on the default base; streamGenerateContent?alt=sse when streaming', async () => {
    assert.equal(await url({ model: 'gemini-2.0-flash' }), 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent');
    assert.equal(
      await url({ model: 'gemini-2.0-flash' }, target(), true),
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
    );
  });

  test('a leading models/ is not doubled; the model is one encoded path segment; baseURL replaces the default', async () => {
    assert.equal(await url({ model: 'models/gemini-1.5-pro' }), 'https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:generateContent');
    assert.equal(await url({ model: '../x?key=1#y' }), 'https://generativelanguage.googleapis.com/v1beta/models/..%2Fx%3Fkey%3D1%23y:generateContent');
    assert.equal(await url({ model: 'g' }, target({ baseURL: 'http://127.0.0.1:9/v1beta//' })), 'http://127.0.0.1:9/v1beta/models/g:generateContent');
  });

  test('a missing or empty model is refused naming model', async () => {
    for (const model of [undefined, '', '  ', 'models/', 42]) {
      await assert.rejects(async () => googleAdapter.buildRequest(chatReq({ model, messages: hi }), target(), signal), invalidParameter('model'));
    }
  });

  test('the key goes in x-goog-api-key, never in the URL; target headers go under ours in any case', async () => {
    const t = target({ headers: { 'x-trace': 'abc', 'X-Goog-Api-Key': 'evil' } });
    const r = await googleAdapter.buildRequest(chatReq({ model: 'g', messages: hi }), t, signal);
    assert.deepEqual(r.headers, { 'x-trace': 'abc', 'x-goog-api-key': 'AIza-test-key' });
    assert.ok(!r.url.includes('AIza'), 'key not in the URL');
    const none = await googleAdapter.buildRequest(chatReq({ model: 'g', messages: hi }), target({ apiKey: undefined }), signal);
    assert.deepEqual(none.headers, {});
  });
});

describe('google request: messages', () => {
  test('system and developer messages become one systemInstruction; user and assistant turns keep their order', async () => {
    const body = await build({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'salut' },
        { role: 'user', content: [{ type: 'text', text: 'and' }, { type: 'text', text: ' then?' }] },
      ],
    });
    assert.deepEqual(body.systemInstruction, { parts: [{ text: 'Be brief.\nAnswer in French.' }] });
    assert.deepEqual(body.contents, [
      { role: 'user', parts: [{ text: 'hi' }] },
      { role: 'model', parts: [{ text: 'salut' }] },
      { role: 'user', parts: [{ text: 'and' }, { text: ' then?' }] },
    ]);
  });

  test('consecutive turns of one role are merged; empty ones are dropped; no system means no systemInstruction', async () => {
    const body = await build({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: '' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: null },
        { role: 'assistant', content: 'c' },
        { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] },
      ],
    });
    assert.equal('systemInstruction' in body, false);
    assert.deepEqual(body.contents, [
      { role: 'user', parts: [{ text: 'a' }, { text: 'b' }] },
      { role: 'model', parts: [{ text: 'c' }, { text: 'no' }] },
    ]);
  });

  test('tool calls become functionCall parts (id kept), tool results functionResponse parts in one user turn', async () => {
    const body = await build({
      messages: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [toolCall('call_a', 'weather', { city: 'Paris' }), toolCall('call_b', 'weather', '{"city":"Rome"}')] },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_b', content: 'sunny, 25' },
        { role: 'tool', tool_call_id: 'call_a', content: [{ type: 'text', text: '[1,2]' }] },
      ],
    });
    const contents = body.contents as JsonObject[];
    assert.equal(contents.length, 3);
    assert.deepEqual(contents[1], {
      role: 'model',
      parts: [
        { text: 'Checking.' },
        { functionCall: { id: 'call_a', name: 'weather', args: { city: 'Paris' } }, thoughtSignature: FOREIGN_THOUGHT_SIGNATURE },
        { functionCall: { id: 'call_b', name: 'weather', args: { city: 'Rome' } } },
      ],
    });
    assert.deepEqual(contents[2], {
      role: 'user',
      parts: [
        { functionResponse: { id: 'call_a', name: 'weather', response: { temp: 21 } } },
        { functionResponse: { id: 'call_b', name: 'weather', response: { content: 'sunny, 25' } } },
        // A JSON array is not an object: it is passed as text.
        { functionResponse: { id: 'call_a', name: 'weather', response: { content: '[1,2]' } } },
      ],
    });
  });

  test("a Gemini reply's thought signature (extra_content.google) goes back on its call; a foreign call gets Google's documented placeholder", async () => {
    const body = await build({
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            toolCall('c1', 'f', {}, { extra_content: { google: { thought_signature: 'c2lnbmF0dXJl' } } }),
            toolCall('c2', 'g', {}),
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'x' },
        { role: 'tool', tool_call_id: 'c2', content: 'y' },
        { role: 'assistant', content: null, tool_calls: [toolCall('c3', 'f', {})] },
        { role: 'tool', tool_call_id: 'c3', content: 'z' },
      ],
    });
    const contents = body.contents as Array<{ parts: JsonObject[] }>;
    assert.equal(contents[1]!.parts[0]!.thoughtSignature, 'c2lnbmF0dXJl');
    assert.equal('thoughtSignature' in contents[1]!.parts[1]!, false);
    assert.equal(contents[3]!.parts[0]!.thoughtSignature, FOREIGN_THOUGHT_SIGNATURE);
  });

  test('images: a base64 data URL is inlineData; an https URL with a known extension is fileData', async () => {
    const body = await build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=2' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
          ],
        },
      ],
    });
    assert.deepEqual((body.contents as JsonObject[])[0], {
      role: 'user',
      parts: [
        { text: 'what is this?' },
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
        { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?size=2' } },
        { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
        { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
      ],
    });
  });

  test('what Gemini cannot take is refused naming the field', async () => {
    const cases: Array<[unknown[], string]> = [
      [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://example.com/a.png' } }] }], 'messages[0].content[0].image_url.url'],
      [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/image' } }] }], 'messages[0].content[0].image_url.url'],
      [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }] }], 'messages[0].content[0].image_url.url'],
      [[{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'ogg' } }] }], 'messages[0].content[0].input_audio.format'],
      [[{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }], 'messages[0].content[0].file.file_data'],
      [[{ role: 'user', content: [{ type: 'video', url: 'x' }] }], 'messages[0].content[0].type'],
      [[{ role: 'user', content: [42] }], 'messages[0].content[0]'],
      [[{ role: 'user', content: 7 }], 'messages[0].content'],
      [[{ role: 'function', content: 'x' }], 'messages[0].role'],
      [['hi'], 'messages[0]'],
      [[{ role: 'user', content: 'q' }, { role: 'tool', tool_call_id: 'nope', content: 'x' }], 'messages[1].tool_call_id'],
      [[{ role: 'tool', content: 'x' }], 'messages[0].tool_call_id'],
      [[{ role: 'assistant', content: null, tool_calls: [toolCall('c', 'f', 'not json')] }], 'messages[0].tool_calls[0].function.arguments'],
      [[{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] }], 'messages[0].content[0]'],
    ];
    for (const [messages, param] of cases) {
      await assert.rejects(build({ messages }), invalidParameter(param), param);
    }
    await assert.rejects(build({ messages: undefined }), (err: unknown) => err instanceof RequestError && err.code === 'missing_parameter' && err.param === 'messages');
  });
});

describe('google request: generation config, tools, unknown fields', () => {
  test('sampling, limits, stop, n, penalties and seed map to generationConfig', async () => {
    const body = await build({
      messages: hi,
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      max_tokens: 100,
      max_completion_tokens: 200,
      stop: 'END',
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 7,
    });
    assert.deepEqual(body.generationConfig, {
      temperature: 0.3,
      topP: 0.9,
      topK: 40,
      candidateCount: 2,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      seed: 7,
      maxOutputTokens: 200,
      stopSequences: ['END'],
    });
    assert.deepEqual((await build({ messages: hi, max_tokens: 9, stop: ['a', 'b'] })).generationConfig, { maxOutputTokens: 9, stopSequences: ['a', 'b'] });
    assert.equal('generationConfig' in (await build({ messages: hi })), false);
  });

  test('response_format: json_object and json_schema set the JSON MIME type (the schema in responseJsonSchema)', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    assert.deepEqual((await build({ messages: hi, response_format: { type: 'json_object' } })).generationConfig, { responseMimeType: 'application/json' });
    assert.deepEqual((await build({ messages: hi, response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema } } })).generationConfig, {
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
    assert.equal('generationConfig' in (await build({ messages: hi, response_format: { type: 'text' } })), false);
  });

  test('bad values are refused naming the parameter', async () => {
    const cases: Array<[JsonObject, string]> = [
      [{ temperature: 'hot' }, 'temperature'],
      [{ top_p: Number.NaN }, 'top_p'],
      [{ max_tokens: '5' }, 'max_tokens'],
      [{ max_completion_tokens: {} }, 'max_completion_tokens'],
      [{ n: '2' }, 'n'],
      [{ stop: 5 }, 'stop'],
      [{ stop: ['ok', 5] }, 'stop[1]'],
      [{ response_format: 'json' }, 'response_format'],
      [{ response_format: { type: 'yaml' } }, 'response_format.type'],
      [{ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
      [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'array' } } }] }, 'tools[0].function.parameters'],
      [{ tools: [{ type: 'web_search' }] }, 'tools[0]'],
      [{ tool_choice: 'required' }, 'tool_choice'],
      [{ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }, 'tool_choice'],
      [{ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'sometimes' }, 'tool_choice'],
    ];
    for (const [extra, param] of cases) {
      await assert.rejects(build({ messages: hi, ...extra }), invalidParameter(param), param);
    }
  });

  test('tools become functionDeclarations with the JSON schema in parametersJsonSchema', async () => {
    const parameters = { type: 'object', properties: { city: { type: 'string', enum: ['Paris'] } }, required: ['city'], additionalProperties: false };
    const body = await build({
      messages: hi,
      tools: [
        { type: 'function', function: { name: 'weather', description: 'Weather of a city', parameters, strict: true } },
        { type: 'function', function: { name: 'now' } },
      ],
    });
    assert.deepEqual(body.tools, [
      {
        functionDeclarations: [
          { name: 'weather', description: 'Weather of a city', parametersJsonSchema: parameters },
          { name: 'now', parametersJsonSchema: { type: 'object', properties: {} } },
        ],
      },
    ]);
    assert.equal('toolConfig' in body, false);
  });

  test('tool_choice maps to functionCallingConfig AUTO / ANY / NONE / ANY with allowedFunctionNames', async () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const config = async (tool_choice: unknown) => (await build({ messages: hi, tools, tool_choice })).toolConfig;
    assert.deepEqual(await config('auto'), { functionCallingConfig: { mode: 'AUTO' } });
    assert.deepEqual(await config('required'), { functionCallingConfig: { mode: 'ANY' } });
    assert.deepEqual(await config('none'), { functionCallingConfig: { mode: 'NONE' } });
    assert.deepEqual(await config({ type: 'function', function: { name: 'f' } }), { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } });
    // Without tools, 'none' and 'auto' say nothing and are left out.
    assert.equal('toolConfig' in (await build({ messages: hi, tool_choice: 'none' })), false);
  });

  test('OpenAI fields Gemini has no counterpart for are dropped, not forwarded', async () => {
    const body = await build({
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
      user: 'u1',
      logit_bias: { 1: 2 },
      parallel_tool_calls: false,
      metadata: { a: 'b' },
      store: true,
    });
    assert.deepEqual(Object.keys(body), ['contents']);
  });
});

describe('google parseResponse', () => {
  const reply = (candidates: unknown[], extra: JsonObject = {}): JsonObject => ({
    candidates,
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, totalTokenCount: 18 },
    modelVersion: 'gemini-2.0-flash-001',
    responseId: 'resp-1',
    ...extra,
  });

  test('text parts are joined, thoughts skipped; id, model, usage (thoughts count as completion)', () => {
    const out = googleAdapter.parseResponse(
      reply([{ content: { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'Hel' }, { text: 'lo' }] }, finishReason: 'STOP', index: 0 }]),
      ctx(),
    );
    assert.equal(out.id, 'resp-1');
    assert.equal(out.object, 'chat.completion');
    assert.equal(out.model, 'gemini-2.0-flash-001');
    assert.equal(typeof out.created, 'number');
    assert.deepEqual(out.choices, [{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(out.usage, { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 });
  });

  test('function calls become tool_calls: own id kept, else a unique call_ id; finish tool_calls; signature in extra_content', () => {
    const out = googleAdapter.parseResponse(
      reply([
        {
          content: {
            role: 'model',
            parts: [
              { functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 'sig' },
              { functionCall: { id: 'fc-9', name: 'g', args: {} } },
              { functionCall: { id: 'fc-9', name: 'h' } },
            ],
          },
          finishReason: 'STOP',
        },
      ]),
      ctx(),
    );
    const message = (out.choices as JsonObject[])[0]!.message as JsonObject;
    const calls = message.tool_calls as JsonObject[];
    assert.equal(message.content, null);
    assert.equal((out.choices as JsonObject[])[0]!.finish_reason, 'tool_calls');
    assert.match(calls[0]!.id as string, /^call_[0-9a-f]{32}$/);
    assert.deepEqual(calls[0]!.function, { name: 'f', arguments: '{"a":1}' });
    assert.deepEqual(calls[0]!.extra_content, { google: { thought_signature: 'sig' } });
    assert.equal(calls[1]!.id, 'fc-9');
    assert.deepEqual(calls[2]!.function, { name: 'h', arguments: '{}' });
    assert.equal(new Set(calls.map((c) => c.id)).size, 3, 'ids unique within the reply');
  });

  test('finish reasons', () => {
    const cases: Array<[unknown, string]> = [
      ['STOP', 'stop'],
      ['MAX_TOKENS', 'length'],
      ['SAFETY', 'content_filter'],
      ['RECITATION', 'content_filter'],
      ['BLOCKLIST', 'content_filter'],
      ['PROHIBITED_CONTENT', 'content_filter'],
      ['SPII', 'content_filter'],
      ['IMAGE_SAFETY', 'content_filter'],
      ['IMAGE_PROHIBITED_CONTENT', 'content_filter'],
      ['MODEL_ARMOR', 'content_filter'],
      ['MALFORMED_FUNCTION_CALL', 'stop'],
      ['OTHER', 'stop'],
      ['LANGUAGE', 'stop'],
      [undefined, 'stop'],
    ];
    for (const [finishReason, expected] of cases) {
      const out = googleAdapter.parseResponse(reply([{ content: { parts: [{ text: 'x' }] }, finishReason }]), ctx());
      assert.equal((out.choices as JsonObject[])[0]!.finish_reason, expected, String(finishReason));
    }
  });

  test('several candidates, a candidate without content, and the fallbacks for model, id and total', () => {
    const out = googleAdapter.parseResponse(
      { candidates: [{ content: { parts: [{ text: 'a' }] }, finishReason: 'STOP', index: 0 }, { finishReason: 'SAFETY', index: 1 }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2 } },
      ctx({ model: 'gemini-x', messages: hi }),
    );
    assert.equal(out.model, 'gemini-x');
    assert.match(out.id as string, /^chatcmpl-/);
    assert.deepEqual(
      (out.choices as JsonObject[]).map((c) => [c.index, (c.message as JsonObject).content, c.finish_reason]),
      [
        [0, 'a', 'stop'],
        [1, null, 'content_filter'],
      ],
    );
    assert.deepEqual(out.usage, { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    assert.deepEqual(googleAdapter.parseResponse({ candidates: [{ content: { parts: [{ text: 'a' }] } }] }, ctx()).usage, {
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
    });
  });

  test('a blocked prompt is a 400 content_filter refusal with the block reason', () => {
    assert.throws(
      () => googleAdapter.parseResponse({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT', safetyRatings: [] }, usageMetadata: { promptTokenCount: 3 } }, ctx()),
      (err: unknown) => {
        assert.ok(err instanceof UpstreamStreamError);
        assert.equal(err.status, 400);
        assert.equal(err.errorClass, 'content_filter');
        assert.equal(err.upstreamCode, 'PROHIBITED_CONTENT');
        assert.match(err.message, /blocked: PROHIBITED_CONTENT/);
        return true;
      },
    );
  });

  test('a body that is not a JSON object, or has neither candidates nor a block reason, is an invalid response', () => {
    for (const body of ['text', null, [], { candidates: [] }, { usageMetadata: {} }, { promptFeedback: {} }]) {
      assert.throws(() => googleAdapter.parseResponse(body, ctx()), InvalidUpstreamResponse, JSON.stringify(body));
    }
  });
});

/** Feeds events to a fresh stream state; `includeUsage` as the reader sets it. */
function feed(events: unknown[], body: JsonObject = { model: 'gemini-2.0-flash', messages: hi }, includeUsage = true): UnifiedChunk[] {
  const state: StreamState = { includeUsage };
  const c = { ...ctx(body), request: { endpoint: 'chat' as const, body, stream: true } };
  return events.flatMap((e) => googleAdapter.parseStreamEvent!({ data: typeof e === 'string' ? e : JSON.stringify(e) }, state, c));
}

const deltas = (chunks: UnifiedChunk[]) => chunks.map((c) => ((c.choices as JsonObject[])[0]?.delta as JsonObject | undefined) ?? { usage: c.usage });

describe('google stream', () => {
  const usage = (p: number, c: number) => ({ promptTokenCount: p, candidatesTokenCount: c, totalTokenCount: p + c });

  test('text: the role once, content deltas, the finish, then one usage chunk with the last usageMetadata', () => {
    const chunks = feed([
      { candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] } }], usageMetadata: { promptTokenCount: 5 }, modelVersion: 'gemini-2.0-flash-001', responseId: 'r1' },
      { candidates: [{ content: { role: 'model', parts: [{ text: 'lo' }] } }], usageMetadata: usage(5, 1), responseId: 'r1' },
      { candidates: [{ content: { role: 'model', parts: [{ text: '!' }] }, finishReason: 'STOP' }], usageMetadata: usage(5, 3), responseId: 'r1' },
    ]);
    assert.deepEqual(deltas(chunks), [
      { role: 'assistant', content: '' },
      { content: 'Hel' },
      { content: 'lo' },
      { content: '!' },
      {},
      { usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } },
    ]);
    assert.equal((chunks[4]!.choices as JsonObject[])[0]!.finish_reason, 'stop');
    assert.deepEqual(chunks[5]!.choices, []);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, 'r1');
      assert.equal(c.model, 'gemini-2.0-flash-001');
    }
  });

  test('usage is sent once, after the finish, even when it arrives later or repeats; never when not asked for', () => {
    const events = [
      { candidates: [{ content: { parts: [{ text: 'a' }] }, finishReason: 'MAX_TOKENS' }] },
      { usageMetadata: usage(2, 1) },
      { usageMetadata: usage(2, 9) },
    ];
    const chunks = feed(events);
    assert.equal((chunks[2]!.choices as JsonObject[])[0]!.finish_reason, 'length');
    assert.deepEqual(chunks.filter((c) => c.usage !== undefined).map((c) => c.usage), [{ prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 }]);
    assert.equal(feed(events, undefined, false).filter((c) => c.usage !== undefined).length, 0);
  });

  test('function calls: each whole as one tool_calls delta, indexes counted across the stream; the finish is tool_calls', () => {
    const chunks = feed([
      { candidates: [{ content: { parts: [{ functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 'sig' }] } }] },
      { candidates: [{ content: { parts: [{ functionCall: { id: 'own', name: 'g', args: {} } }] }, finishReason: 'STOP' }], usageMetadata: usage(3, 4) },
    ]);
    const calls = deltas(chunks).filter((d) => 'tool_calls' in d).map((d) => (d.tool_calls as JsonObject[])[0]!);
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.index, 0);
    assert.match(calls[0]!.id as string, /^call_/);
    assert.deepEqual(calls[0]!.function, { name: 'f', arguments: '{"a":1}' });
    assert.deepEqual(calls[0]!.extra_content, { google: { thought_signature: 'sig' } });
    assert.equal(calls[1]!.index, 1);
    assert.equal(calls[1]!.id, 'own');
    assert.equal(calls[1]!.type, 'function');
    const finish = chunks.find((c) => (c.choices as JsonObject[])[0]?.finish_reason);
    assert.equal((finish!.choices as JsonObject[])[0]!.finish_reason, 'tool_calls');
  });

  test('a safety stop with no content finishes as content_filter', () => {
    const chunks = feed([{ candidates: [{ finishReason: 'SAFETY', safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }], usageMetadata: usage(4, 0) }]);
    assert.deepEqual(deltas(chunks), [{ role: 'assistant', content: '' }, {}, { usage: { prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 } }]);
    assert.equal((chunks[1]!.choices as JsonObject[])[0]!.finish_reason, 'content_filter');
  });

  test('n candidates: each gets its role and finish; usage waits for all of them', () => {
    const chunks = feed(
      [
        { candidates: [{ content: { parts: [{ text: 'a' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: usage(1, 1) },
        { candidates: [{ content: { parts: [{ text: 'b' }] }, finishReason: 'STOP', index: 1 }], usageMetadata: usage(1, 2) },
      ],
      { model: 'g', messages: hi, n: 2 },
    );
    const usageAt = chunks.findIndex((c) => c.usage !== undefined);
    assert.equal(usageAt, chunks.length - 1);
    assert.deepEqual(chunks[usageAt]!.usage, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    assert.deepEqual(
      chunks.slice(0, usageAt).map((c) => (c.choices as JsonObject[])[0]!.index),
      [0, 0, 0, 1, 1, 1],
    );
  });

  test('a blocked prompt throws the refusal; an error event throws its status, class and code', () => {
    assert.throws(
      () => feed([{ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 2 } }]),
      (err: unknown) => err instanceof UpstreamStreamError && err.status === 400 && err.errorClass === 'content_filter' && err.upstreamCode === 'SAFETY',
    );
    const cases: Array<[JsonObject, number, string]> = [
      [{ code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' }, 429, 'rate_limit'],
      [{ code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' }, 503, 'server'],
      [{ code: 500, message: 'Internal error', status: 'INTERNAL' }, 500, 'server'],
      [{ code: 504, message: 'Deadline expired', status: 'DEADLINE_EXCEEDED' }, 504, 'timeout'],
      [{ message: 'odd' }, 500, 'server'],
    ];
    for (const [error, status, errorClass] of cases) {
      assert.throws(
        () => feed([{ candidates: [{ content: { parts: [{ text: 'a' }] } }] }, { error }]),
        (err: unknown) => {
          assert.ok(err instanceof UpstreamStreamError);
          assert.equal(err.status, status);
          assert.equal(err.errorClass, errorClass);
          assert.equal(err.upstreamCode, error.status);
          assert.equal(err.message, error.message ?? 'google stream error');
          return true;
        },
      );
    }
  });

  test('an event that is not a JSON object is an invalid response (the reader skips it)', () => {
    for (const data of ['not json', '42', '"x"']) assert.throws(() => feed([data]), InvalidUpstreamResponse);
  });
});

describe('google classifyError', () => {
  const body = (code: number, status: string, message: string, details?: unknown[]) => ({ error: { code, message, status, ...(details ? { details } : {}) } });
  const keyInvalid = body(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
  ]);

  test('by the canonical status string, then the HTTP status; code is the status string, message the upstream one', () => {
    const cases: Array<[number, unknown, string, string | undefined]> = [
      [400, keyInvalid, 'auth', 'INVALID_ARGUMENT'],
      [400, body(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'), 'bad_request', 'INVALID_ARGUMENT'],
      [400, body(400, 'INVALID_ARGUMENT', 'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).'), 'context_length_exceeded', 'INVALID_ARGUMENT'],
      [400, body(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.'), 'bad_request', 'FAILED_PRECONDITION'],
      [400, body(400, 'OUT_OF_RANGE', 'out of range'), 'bad_request', 'OUT_OF_RANGE'],
      [401, body(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'), 'auth', 'UNAUTHENTICATED'],
      [403, body(403, 'PERMISSION_DENIED', 'Your project has been denied access.'), 'auth', 'PERMISSION_DENIED'],
      [404, body(404, 'NOT_FOUND', 'models/x is not found for API version v1beta'), 'not_found', 'NOT_FOUND'],
      [429, body(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota'), 'rate_limit', 'RESOURCE_EXHAUSTED'],
      [500, body(500, 'INTERNAL', 'An internal error has occurred.'), 'server', 'INTERNAL'],
      [503, body(503, 'UNAVAILABLE', 'The model is overloaded.'), 'server', 'UNAVAILABLE'],
      [504, body(504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'), 'timeout', 'DEADLINE_EXCEEDED'],
      [409, body(409, 'ABORTED', 'aborted'), 'bad_request', 'ABORTED'],
      [429, [body(429, 'RESOURCE_EXHAUSTED', 'quota')], 'rate_limit', 'RESOURCE_EXHAUSTED'],
      [503, JSON.stringify(body(503, 'UNAVAILABLE', 'as text')), 'server', 'UNAVAILABLE'],
    ];
    for (const [status, b, errorClass, code] of cases) {
      const out = googleAdapter.classifyError(status, b, {});
      assert.equal(out.errorClass, errorClass, JSON.stringify(b));
      assert.equal(out.code, code);
      const err = (Array.isArray(b) ? b[0] : typeof b === 'string' ? JSON.parse(b) : b) as { error: { message: string } };
      assert.equal(out.message, err.error.message);
    }
  });

  test('a body without the google.rpc shape: its text (shortened), else the status, by the HTTP status', () => {
    const html = googleAdapter.classifyError(502, '<html>Bad Gateway</html>', {});
    assert.deepEqual(html, { errorClass: 'server', message: '<html>Bad Gateway</html>' });
    assert.equal(googleAdapter.classifyError(404, '', {}).message, 'google returned HTTP 404');
    assert.equal(googleAdapter.classifyError(404, '', {}).errorClass, 'not_found');
    assert.equal(googleAdapter.classifyError(400, 'x'.repeat(600), {}).message.length, 501);
    assert.equal(googleAdapter.classifyError(400, '{broken', {}).errorClass, 'bad_request');
  });
});

describe('google embeddings', () => {
  const embedReq = (body: JsonObject): UnifiedRequest => ({ endpoint: 'embedding', body: { model: 'text-embedding-004', ...body }, stream: false });
  const buildEmbed = async (body: JsonObject) => googleAdapter.buildRequest(embedReq(body), target(), signal);

  test('one string is embedContent, with outputDimensionality from dimensions', async () => {
    const r = await buildEmbed({ input: 'hello', dimensions: 256 });
    assert.equal(r.url, 'https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:embedContent');
    assert.deepEqual(r.body, { content: { parts: [{ text: 'hello' }] }, outputDimensionality: 256 });
    assert.equal(r.headers['x-goog-api-key'], 'AIza-test-key');
  });

  test('an array of strings is batchEmbedContents, each request naming models/{model}', async () => {
    const r = await buildEmbed({ model: 'models/gemini-embedding-001', input: ['a', 'b'] });
    assert.equal(r.url, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents');
    assert.deepEqual(r.body, {
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] } },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] } },
      ],
    });
  });

  test('token arrays, empty or wrong inputs, bad dimensions and encodings are refused naming the field', async () => {
    const cases: Array<[JsonObject, string]> = [
      [{ input: [1, 2, 3] }, 'input'],
      [{ input: [[1, 2]] }, 'input'],
      [{ input: [] }, 'input'],
      [{ input: 7 }, 'input'],
      [{ input: 'x', dimensions: 0 }, 'dimensions'],
      [{ input: 'x', dimensions: 1.5 }, 'dimensions'],
      [{ input: 'x', encoding_format: 'int8' }, 'encoding_format'],
      [{ input: 'x', model: '' }, 'model'],
    ];
    for (const [body, param] of cases) await assert.rejects(buildEmbed(body), invalidParameter(param), JSON.stringify(body));
  });

  test('replies become an OpenAI embedding list (usage 0 when none is reported)', () => {
    const one = googleAdapter.parseResponse({ embedding: { values: [0.1, 0.2] } }, ctx({ model: 'text-embedding-004', input: 'x' }, 'embedding'));
    assert.deepEqual(one, {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      model: 'text-embedding-004',
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    });
    const many = googleAdapter.parseResponse({ embeddings: [{ values: [1] }, { values: [2] }] }, ctx({ model: 'm', input: ['a', 'b'] }, 'embedding'));
    assert.deepEqual((many.data as JsonObject[]).map((d) => [d.index, d.embedding]), [
      [0, [1]],
      [1, [2]],
    ]);
  });

  test("encoding_format base64 gives each vector as little-endian float32 bytes (the OpenAI SDK's default)", () => {
    const out = googleAdapter.parseResponse({ embedding: { values: [0.5, -2, 3.25] } }, ctx({ model: 'm', input: 'x', encoding_format: 'base64' }, 'embedding'));
    const b64 = (out.data as JsonObject[])[0]!.embedding as string;
    const bytes = Buffer.from(b64, 'base64');
    assert.deepEqual([0, 1, 2].map((i) => bytes.readFloatLE(i * 4)), [0.5, -2, 3.25]);
  });

  test('replies without the shape, with non-numeric values or a wrong count are invalid', () => {
    const c = ctx({ model: 'm', input: ['a', 'b'] }, 'embedding');
    for (const body of ['x', {}, { embeddings: [{ values: [1] }] }, { embeddings: [{ values: [1] }, { values: ['x'] }] }, { embedding: {} }]) {
      assert.throws(() => googleAdapter.parseResponse(body, c), InvalidUpstreamResponse, JSON.stringify(body));
    }
  });
});

describe('google through the router (the conformance fake of the Gemini API)', () => {
  let fake: GoogleFake;
  before(async () => {
    fake = await startGeminiFake({ apiKey: 'AIza-test-key' });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  const app = () => createApp({ providers: { google: { apiKey: 'AIza-test-key', baseURL: fake.baseURL } } });
  const config = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'gemini' }] });
  const post = (path: string, body: JsonObject) => request(app()).post(`/v1/${path}`).set('x-portkey-config', config).send(body);

  test('a chat, a tool call and a stream', async () => {
    const res = await post('chat/completions', { model: 'gemini-2.0-flash', messages: [{ role: 'system', content: 'sys' }, ...hi] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.choices[0].message.content, 'Hello from Gemini');
    assert.equal(fake.authVia(), 'header');
    assert.equal(fake.decode().system, 'sys');

    fake.script({ kind: 'tool', id: 'ignored', name: 'weather', arguments: { city: 'Paris' } });
    const tool = await post('chat/completions', { model: 'gemini-2.0-flash', messages: hi, tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] });
    assert.equal(tool.status, 200, JSON.stringify(tool.body));
    assert.equal(tool.body.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(JSON.parse(tool.body.choices[0].message.tool_calls[0].function.arguments), { city: 'Paris' });

    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo'], usage: { input: 4, output: 2 } });
    const stream = await request(app())
      .post('/v1/chat/completions')
      .set('x-portkey-config', config)
      .send({ model: 'gemini-2.0-flash', messages: hi, stream: true, stream_options: { include_usage: true } })
      .buffer(true)
      .parse(rawText);
    assert.equal(stream.status, 200);
    const events = sseData(stream.body as string);
    assert.equal(joinedContent(events), 'Hello');
    assert.deepEqual(events.find((e) => e !== '[DONE]' && e.usage)?.usage, { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    assert.equal(fake.decode().stream, true);
  });

  test('embeddings, and an upstream error with its class', async () => {
    const emb = await post('embeddings', { model: 'text-embedding-004', input: ['a', 'b'] });
    assert.equal(emb.status, 200, JSON.stringify(emb.body));
    assert.equal(emb.body.data.length, 2);
    assert.deepEqual(fake.decode().inputs, ['a', 'b']);

    // The OpenAI SDK asks for base64 when the caller names no encoding, and decodes it itself.
    const server = await listen(app() as unknown as http.RequestListener);
    try {
      const client = new OpenAI({ apiKey: 'client', baseURL: `${server.origin}/v1`, defaultHeaders: { 'x-portkey-config': config }, maxRetries: 0 });
      fake.script({ kind: 'embedding', vectors: [[0.5, -1.25]] });
      const sdk = await client.embeddings.create({ model: 'text-embedding-004', input: 'x' });
      assert.deepEqual(Array.from(sdk.data[0]!.embedding), [0.5, -1.25]);
      assert.equal(JSON.parse(fake.received.at(-1)!.body.toString()).content.parts[0].text, 'x');
    } finally {
      await server.close();
    }

    fake.script({ kind: 'error', error: 'rate_limit' });
    const limited = await post('chat/completions', { model: 'gemini-2.0-flash', messages: hi });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'RESOURCE_EXHAUSTED');
  });
});
