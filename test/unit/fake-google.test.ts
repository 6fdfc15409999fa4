/**
 * Self-test of the fake Gemini API and Vertex AI servers (test/helpers/conformance/fakes/google.ts):
 * raw HTTP in Google's wire format, so a broken fake is found here and not in the conformance suite.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGeminiFake, startVertexFake, type GoogleFake } from '../helpers/conformance/fakes/google.js';
import type { ErrorKind } from '../helpers/conformance/types.js';

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: any;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Reads a streamed body until it ends or the socket is cut; `cut` says which. */
async function readStream(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; type: string; text: string; cut: boolean }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const decoder = new TextDecoder();
  let text = '';
  let cut = false;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  } catch {
    cut = true;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, cut };
}

/** The JSON payloads of SSE `data:` lines, frames split on blank lines (CRLF or LF). */
function sseEvents(text: string): any[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((frame) => frame.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n'))
    .filter((data) => data !== '')
    .map((data) => JSON.parse(data));
}

const user = (text: string) => ({ role: 'user', parts: [{ text }] });
const KEY = 'AIza-test-key';
const GEMINI_HEADERS = { 'x-goog-api-key': KEY };

describe('fake Gemini API', () => {
  let fake: GoogleFake;
  const gen = (model = 'gemini-2.5-flash') => `${fake.baseURL}/models/${model}:generateContent`;
  const streamUrl = (model = 'gemini-2.5-flash', sse = true) => `${fake.baseURL}/models/${model}:streamGenerateContent${sse ? '?alt=sse' : ''}`;
  before(async () => {
    fake = await startGeminiFake({ apiKey: KEY });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('baseURL is the origin plus /v1beta on 127.0.0.1', () => {
    assert.match(fake.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(fake.baseURL, `${fake.origin}/v1beta`);
  });

  test('a text answer: candidates, STOP, usageMetadata, modelVersion, responseId; decode gives the neutral view', async () => {
    fake.script({ kind: 'text', text: 'Bonjour', usage: { input: 20, output: 5 } });
    const body = {
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Be kind.' }] },
      contents: [user('Hi'), { role: 'model', parts: [{ text: 'Hello!' }] }, { role: 'user', parts: [{ text: 'How' }, { text: ' are you?' }] }],
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } } } }] }],
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
      generationConfig: { maxOutputTokens: 64, temperature: 0.2, stopSequences: ['END'] },
    };
    const r = await post(gen(), body, GEMINI_HEADERS);
    assert.equal(r.status, 200);
    const candidate = r.json.candidates[0];
    assert.deepEqual(candidate.content, { parts: [{ text: 'Bonjour' }], role: 'model' });
    assert.equal(candidate.finishReason, 'STOP');
    assert.deepEqual(r.json.usageMetadata, { promptTokenCount: 20, candidatesTokenCount: 5, totalTokenCount: 25 });
    assert.equal(r.json.modelVersion, 'gemini-2.5-flash');
    assert.equal(typeof r.json.responseId, 'string');
    const d = fake.decode();
    assert.equal(d.kind, 'chat');
    assert.equal(d.stream, false);
    assert.equal(d.model, 'gemini-2.5-flash');
    assert.equal(d.system, 'Be brief.\nBe kind.');
    assert.deepEqual(d.messages, [
      { role: 'user', text: 'Hi' },
      { role: 'assistant', text: 'Hello!' },
      { role: 'user', text: 'How are you?' },
    ]);
    assert.deepEqual(d.tools, [{ name: 'get_weather', description: 'Weather', parameters: body.tools[0]!.functionDeclarations[0]!.parameters }]);
    assert.equal(d.maxTokens, 64);
    assert.equal(d.temperature, 0.2);
    assert.equal(d.credential, KEY);
    assert.equal(fake.authVia(), 'header');
  });

  test('snake_case field names are accepted, as proto JSON parsing accepts them; the key may come as ?key=', async () => {
    const r = await post(`${gen()}?key=${KEY}`, { contents: [user('Hi')], system_instruction: { parts: [{ text: 'S' }] }, generation_config: { max_output_tokens: 9 } });
    assert.equal(r.status, 200);
    assert.equal(r.json.candidates[0].content.parts[0].text, 'Hello from Gemini');
    const d = fake.decode();
    assert.equal(d.system, 'S');
    assert.equal(d.maxTokens, 9);
    assert.equal(d.credential, KEY);
    assert.equal(fake.authVia(), 'query');
  });

  test('credentials are refused as Gemini refuses them, before the script is consulted', async () => {
    fake.script({ kind: 'text', text: 'kept for the next good request' });
    const none = await post(gen(), { contents: [user('Hi')] });
    assert.equal(none.status, 403);
    assert.equal(none.json.error.status, 'PERMISSION_DENIED');
    assert.match(none.json.error.message, /unregistered callers/);
    assert.equal(fake.decode().credential, undefined);
    const wrong = await post(gen(), { contents: [user('Hi')] }, { 'x-goog-api-key': 'nope' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.status, 'INVALID_ARGUMENT');
    assert.equal(wrong.json.error.details[0].reason, 'API_KEY_INVALID');
    assert.equal(fake.decode().credential, 'nope');
    const bearer = await post(gen(), { contents: [user('Hi')] }, { authorization: `Bearer ${KEY}` });
    assert.equal(bearer.status, 401);
    assert.equal(bearer.json.error.status, 'UNAUTHENTICATED');
    const ok = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(ok.json.candidates[0].content.parts[0].text, 'kept for the next good request');
    assert.equal(fake.received.length, 4);
  });

  const refusals: Array<[string, unknown, RegExp]> = [
    ['a role other than user/model', { contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, /^Please use a valid role: user, model\.$/],
    ['a system role inside contents', { contents: [{ role: 'system', parts: [{ text: 'x' }] }, user('Hi')] }, /valid role/],
    ['an empty contents', { contents: [] }, /contents: contents is not specified/],
    ['no contents at all', { generationConfig: {} }, /contents is not specified/],
    ['a turn without parts', { contents: [{ role: 'user', parts: [] }] }, /contents\[0\]\.parts: contents\.parts must not be empty/],
    ['an OpenAI-style part', { contents: [{ role: 'user', parts: [{ type: 'text', text: 'x' }] }] }, /Unknown name "type" at 'contents\[0\]\.parts\[0\]'/],
    ['an empty part', { contents: [{ role: 'user', parts: [{}] }] }, /required oneof field 'data'/],
    ['an OpenAI body field', { contents: [user('Hi')], messages: [] }, /Unknown name "messages": Cannot find field/],
    ['max_tokens in generationConfig', { contents: [user('Hi')], generationConfig: { max_tokens: 5 } }, /Unknown name "max_tokens" at 'generation_config'/],
    ['a non-integer maxOutputTokens', { contents: [user('Hi')], generationConfig: { maxOutputTokens: 1.5 } }, /max_output_tokens/],
    ['an OpenAI tool_choice mode', { contents: [user('Hi')], toolConfig: { functionCallingConfig: { mode: 'required' } } }, /function_calling_config\.mode/],
    ['an invalid function name', { contents: [user('Hi')], tools: [{ functionDeclarations: [{ name: '1 bad name' }] }] }, /Invalid function name/],
    ['a functionResponse without a name', {
      contents: [user('Hi'), { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { response: { ok: 1 } } }] }],
    }, /contents\[2\]\.parts\[0\]\.function_response\.name: Name cannot be empty/],
    ['a string functionResponse.response', {
      contents: [user('Hi'), { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: 'sunny' } }] }],
    }, /function_response\.response' \(type\.googleapis\.com\/google\.protobuf\.Struct\)/],
    ['string functionCall.args', { contents: [user('Hi'), { role: 'model', parts: [{ functionCall: { name: 'f', args: '{"a":1}' } }] }, user('ok')] }, /function_call\.args/],
    ['a function call turn first', { contents: [{ role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] }] }, /function call turn comes immediately after a user turn/],
    ['a function response with no call before it', { contents: [user('Hi'), { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] }] }, /function response turn comes immediately after a function call turn/],
    ['fewer responses than calls', {
      contents: [user('Hi'), { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }, { functionCall: { name: 'g', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] }],
    }, /number of function response parts is equal to the number of function call parts/],
  ];
  for (const [what, body, message] of refusals) {
    test(`refuses ${what} with 400 INVALID_ARGUMENT in Google's error shape`, async () => {
      fake.script({ kind: 'text', text: 'not used' });
      const r = await post(gen(), body, GEMINI_HEADERS);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 400);
      assert.equal(r.json.error.status, 'INVALID_ARGUMENT');
      assert.match(r.json.error.message, message);
      const next = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
      assert.equal(next.json.candidates[0].content.parts[0].text, 'not used', 'a refused request does not use the script');
    });
  }

  test('refuses a body that is not JSON or not an object, and answers an unknown path with 404', async () => {
    assert.match((await post(gen(), '{"contents":', GEMINI_HEADERS)).json.error.message, /Invalid JSON payload received/);
    assert.match((await post(gen(), '[1]', GEMINI_HEADERS)).json.error.message, /Root element must be a message/);
    const wrong = await post(`${fake.origin}/v1/models/gemini-2.5-flash:generateContent`, { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(wrong.status, 404);
    assert.match(wrong.text, /\/v1\/models\/gemini-2\.5-flash:generateContent/);
    assert.throws(() => fake.decode(), /is not a Gemini API call/);
    const chat = await post(`${fake.baseURL}/chat/completions`, {}, GEMINI_HEADERS);
    assert.equal(chat.status, 404);
  });

  test('a tool round trip: functionCall answer; decode of functionCall ids and functionResponse turns', async () => {
    fake.script({ kind: 'tool', id: 'ignored', name: 'get_weather', arguments: { city: 'Paris' }, usage: { input: 3, output: 4 } });
    const r = await post(gen(), { contents: [user('Weather?')] }, GEMINI_HEADERS);
    assert.deepEqual(r.json.candidates[0].content, { parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }], role: 'model' });
    assert.equal(r.json.candidates[0].finishReason, 'STOP');
    assert.equal(r.json.usageMetadata.totalTokenCount, 7);
    await post(gen(), {
      contents: [
        user('Weather in Paris and Rome?'),
        { role: 'model', parts: [{ text: 'Checking.' }, { functionCall: { id: 'c1', name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'get_weather', args: { city: 'Rome' } } }] },
        { role: 'user', parts: [{ functionResponse: { id: 'c1', name: 'get_weather', response: { temp: 20 } } }, { functionResponse: { name: 'get_weather', response: { temp: 25 } } }] },
      ],
    }, GEMINI_HEADERS);
    assert.deepEqual(fake.decode().messages, [
      { role: 'user', text: 'Weather in Paris and Rome?' },
      { role: 'assistant', text: 'Checking.', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_weather', arguments: { city: 'Rome' } }] },
      { role: 'tool', text: '{"temp":20}', toolName: 'get_weather', toolCallId: 'c1' },
      { role: 'tool', text: '{"temp":25}', toolName: 'get_weather' },
    ]);
  });

  test("finish 'length' is MAX_TOKENS; the default usage is 11 in, 7 out", async () => {
    fake.script({ kind: 'text', text: 'cut sh', finish: 'length' });
    const r = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(r.json.candidates[0].finishReason, 'MAX_TOKENS');
    assert.deepEqual(r.json.usageMetadata, { promptTokenCount: 11, candidatesTokenCount: 7, totalTokenCount: 18 });
  });

  test('a streamed text: SSE data events, no [DONE], finishReason and whole usage on the last only', async () => {
    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo', ' there'], usage: { input: 4, output: 3 } });
    const s = await readStream(streamUrl(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(s.status, 200);
    assert.match(s.type, /^text\/event-stream/);
    assert.doesNotMatch(s.text, /\[DONE\]/);
    assert.match(s.text, /^data: \{/);
    const events = sseEvents(s.text);
    assert.equal(events.length, 3);
    assert.deepEqual(events.map((e) => e.candidates[0].content.parts[0].text), ['Hel', 'lo', ' there']);
    assert.deepEqual(events.map((e) => e.candidates[0].finishReason), [undefined, undefined, 'STOP']);
    assert.deepEqual(events[0].usageMetadata, { promptTokenCount: 4, totalTokenCount: 4 });
    assert.deepEqual(events[2].usageMetadata, { promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 });
    assert.ok(events.every((e) => e.modelVersion === 'gemini-2.5-flash' && e.responseId === events[0].responseId));
    const d = fake.decode();
    assert.equal(d.stream, true);
    assert.deepEqual(d.messages, [{ role: 'user', text: 'Hi' }]);
  });

  test('a stream cut after N pieces delivers N events without a finish, then the socket is destroyed', async () => {
    fake.script({ kind: 'stream-text', pieces: ['a', 'b', 'c'], cutAfter: 2 });
    const s = await readStream(streamUrl(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(s.cut, true);
    const events = sseEvents(s.text);
    assert.deepEqual(events.map((e) => e.candidates[0].content.parts[0].text), ['a', 'b']);
    assert.ok(events.every((e) => e.candidates[0].finishReason === undefined));
  });

  test('streamGenerateContent without alt=sse is one JSON array of responses', async () => {
    fake.script({ kind: 'stream-text', pieces: ['x', 'y'] });
    const s = await readStream(streamUrl('gemini-2.5-flash', false), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.match(s.type, /^application\/json/);
    const array = JSON.parse(s.text);
    assert.equal(array.length, 2);
    assert.equal(array[1].candidates[0].finishReason, 'STOP');
  });

  test('a streamed tool call is one whole functionCall part (args parsed from the pieces); a text answer streams as one event', async () => {
    fake.script({ kind: 'stream-tool', id: 'x', name: 'lookup', argumentPieces: ['{"q":', '"cats"}'] }, { kind: 'text', text: 'whole' });
    const events = sseEvents((await readStream(streamUrl(), { contents: [user('Hi')] }, GEMINI_HEADERS)).text);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].candidates[0].content.parts, [{ functionCall: { name: 'lookup', args: { q: 'cats' } } }]);
    assert.equal(events[0].candidates[0].finishReason, 'STOP');
    const text = sseEvents((await readStream(streamUrl(), { contents: [user('Hi')] }, GEMINI_HEADERS)).text);
    assert.deepEqual(text.map((e) => e.candidates[0].content.parts[0].text), ['whole']);
  });

  test('a content-filter block: finishReason SAFETY with a blocked safety rating, no content; streamed too', async () => {
    fake.script({ kind: 'content-filter' }, { kind: 'content-filter' });
    const r = await post(gen(), { contents: [user('bad')] }, GEMINI_HEADERS);
    const c = r.json.candidates[0];
    assert.equal(c.finishReason, 'SAFETY');
    assert.equal(c.content, undefined);
    assert.ok(c.safetyRatings.some((s: any) => s.blocked === true && s.probability === 'HIGH'));
    assert.equal(r.json.usageMetadata.candidatesTokenCount, undefined);
    const events = sseEvents((await readStream(streamUrl(), { contents: [user('bad')] }, GEMINI_HEADERS)).text);
    assert.equal(events.length, 1);
    assert.equal(events[0].candidates[0].finishReason, 'SAFETY');
  });

  const errors: Array<[ErrorKind, number, string, RegExp]> = [
    ['invalid_request', 400, 'INVALID_ARGUMENT', /invalid argument/],
    ['context_length', 400, 'INVALID_ARGUMENT', /input token count \(\d+\) exceeds the maximum number of tokens allowed/],
    ['unauthenticated', 400, 'INVALID_ARGUMENT', /API key not valid/],
    ['permission', 403, 'PERMISSION_DENIED', /denied/],
    ['not_found', 404, 'NOT_FOUND', /models\/gemini-2\.5-flash is not found/],
    ['rate_limit', 429, 'RESOURCE_EXHAUSTED', /quota/],
    ['server', 500, 'INTERNAL', /internal error/],
    ['unavailable', 503, 'UNAVAILABLE', /unavailable/],
    ['overloaded', 503, 'UNAVAILABLE', /^The model is overloaded/],
  ];
  for (const [kind, status, rpcStatus, message] of errors) {
    test(`error '${kind}' is ${status} ${rpcStatus}, and statusOf says so`, async () => {
      assert.equal(fake.statusOf(kind), status);
      fake.script({ kind: 'error', error: kind });
      const r = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
      assert.equal(r.status, status);
      assert.deepEqual([r.json.error.code, r.json.error.status], [status, rpcStatus]);
      assert.match(r.json.error.message, message);
    });
  }

  test('a rate limit carries a RetryInfo detail, and retry-after only when the script gives it', async () => {
    fake.script({ kind: 'error', error: 'rate_limit' }, { kind: 'error', error: 'rate_limit', headers: { 'retry-after': '2' } });
    const plain = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.ok(plain.json.error.details.some((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo' && d.retryDelay === '1s'));
    assert.equal(plain.headers.get('retry-after'), null);
    const withHeader = await post(streamUrl(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(withHeader.status, 429);
    assert.equal(withHeader.headers.get('retry-after'), '2');
  });

  test('embedContent and batchEmbedContents: values back, inputs decoded, each batch request naming models/{model}', async () => {
    const embedUrl = `${fake.baseURL}/models/gemini-embedding-001:embedContent`;
    fake.script({ kind: 'embedding', vectors: [[1, 2]] }, { kind: 'embedding', vectors: [[1], [2]] });
    const one = await post(embedUrl, { content: { parts: [{ text: 'hello' }] } }, GEMINI_HEADERS);
    assert.deepEqual(one.json, { embedding: { values: [1, 2] } });
    assert.deepEqual(fake.decode(), { kind: 'embedding', stream: false, model: 'gemini-embedding-001', messages: [], tools: [], inputs: ['hello'], credential: KEY });
    const batchUrl = `${fake.baseURL}/models/gemini-embedding-001:batchEmbedContents`;
    const requests = ['a', 'b'].map((text) => ({ model: 'models/gemini-embedding-001', content: { parts: [{ text }] } }));
    const batch = await post(batchUrl, { requests }, GEMINI_HEADERS);
    assert.deepEqual(batch.json, { embeddings: [{ values: [1] }, { values: [2] }] });
    assert.deepEqual(fake.decode().inputs, ['a', 'b']);
    const mismatch = await post(batchUrl, { requests: [{ model: 'models/other', content: { parts: [{ text: 'a' }] } }] }, GEMINI_HEADERS);
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.json.error.message, /requests\[0\]\.model/);
    const noModel = await post(batchUrl, { requests: [{ content: { parts: [{ text: 'a' }] } }] }, GEMINI_HEADERS);
    assert.equal(noModel.status, 400);
    const openAI = await post(embedUrl, { input: ['a'] }, GEMINI_HEADERS);
    assert.match(openAI.json.error.message, /Unknown name "input"/);
  });

  test('reset forgets what was received and scripted; a script mistake is a readable 500', async () => {
    fake.script({ kind: 'embedding', vectors: [[1]] });
    const mistake = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(mistake.status, 500);
    assert.match(mistake.json.error.message, /scripted 'embedding' answer does not fit a generateContent request/);
    assert.equal(fake.received.length, 1);
    fake.script({ kind: 'text', text: 'forgotten' });
    fake.reset();
    assert.equal(fake.received.length, 0);
    assert.throws(() => fake.decode(), /no request/);
    const r = await post(gen(), { contents: [user('Hi')] }, GEMINI_HEADERS);
    assert.equal(r.json.candidates[0].content.parts[0].text, 'Hello from Gemini');
  });
});

describe('fake Vertex AI', () => {
  const TOKEN = 'ya29.test-token';
  const AUTH = { authorization: `Bearer ${TOKEN}` };
  let fake: GoogleFake;
  const path = (method: string, project = 'my-proj', region = 'europe-west4', model = 'gemini-2.5-pro') =>
    `${fake.baseURL}/projects/${project}/locations/${region}/publishers/google/models/${model}:${method}`;
  before(async () => {
    fake = await startVertexFake({ project: 'my-proj', region: 'europe-west4', accessToken: TOKEN });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('generateContent: the same Content format, with createTime and trafficType; the bearer token is the credential', async () => {
    assert.equal(fake.baseURL, `${fake.origin}/v1`);
    fake.script({ kind: 'text', text: 'Hallo' });
    const r = await post(path('generateContent'), { contents: [user('Hi')], systemInstruction: { role: 'system', parts: [{ text: 'Sys' }] } }, AUTH);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.candidates[0].content, { parts: [{ text: 'Hallo' }], role: 'model' });
    assert.deepEqual(r.json.usageMetadata, { promptTokenCount: 11, candidatesTokenCount: 7, totalTokenCount: 18, trafficType: 'ON_DEMAND' });
    assert.ok(!Number.isNaN(Date.parse(r.json.createTime)));
    const d = fake.decode();
    assert.deepEqual([d.model, d.system, d.credential, fake.authVia()], ['gemini-2.5-pro', 'Sys', TOKEN, 'bearer']);
  });

  test('a stream reports usage counts only on its last event', async () => {
    fake.script({ kind: 'stream-text', pieces: ['a', 'b'] });
    const events = sseEvents((await readStream(`${path('streamGenerateContent')}?alt=sse`, { contents: [user('Hi')] }, AUTH)).text);
    assert.deepEqual(events[0].usageMetadata, { trafficType: 'ON_DEMAND' });
    assert.equal(events[1].usageMetadata.totalTokenCount, 18);
    assert.equal(events[1].candidates[0].finishReason, 'STOP');
  });

  test('auth and path are refused as Vertex refuses them', async () => {
    const none = await post(path('generateContent'), { contents: [user('Hi')] });
    assert.deepEqual([none.status, none.json.error.status, none.json.error.details[0].reason], [401, 'UNAUTHENTICATED', 'CREDENTIALS_MISSING']);
    const apiKey = await post(path('generateContent'), { contents: [user('Hi')] }, { 'x-goog-api-key': 'AIza' });
    assert.match(apiKey.json.error.message, /API keys are not supported by this API/);
    const wrong = await post(path('generateContent'), { contents: [user('Hi')] }, { authorization: 'Bearer other' });
    assert.equal(wrong.status, 401);
    const project = await post(path('generateContent', 'other-proj'), { contents: [user('Hi')] }, AUTH);
    assert.equal(project.status, 403);
    assert.match(project.json.error.message, /projects\/other-proj\/locations\/europe-west4\/publishers\/google\/models\/gemini-2\.5-pro/);
    const region = await post(path('generateContent', 'my-proj', 'us-central1'), { contents: [user('Hi')] }, AUTH);
    assert.equal(region.status, 404);
    assert.match(region.json.error.message, /^Publisher Model `projects\/my-proj\/locations\/us-central1/);
    const empty = await post(path('generateContent'), { contents: [] }, AUTH);
    assert.match(empty.json.error.message, /at least one contents field is required/);
  });

  test('statusOf: 401 for unauthenticated; overloaded is the documented 429 of the shared capacity', () => {
    assert.equal(fake.statusOf('unauthenticated'), 401);
    assert.equal(fake.statusOf('overloaded'), 429);
    assert.equal(fake.statusOf('rate_limit'), 429);
    assert.equal(fake.statusOf('unavailable'), 503);
  });

  test('embeddings via :predict: instances of {content} in, predictions with statistics.token_count out', async () => {
    fake.script({ kind: 'embedding', vectors: [[0.5], [0.25]], usage: { input: 5, output: 0 } });
    const r = await post(path('predict', 'my-proj', 'europe-west4', 'text-embedding-005'), { instances: [{ content: 'one' }, { content: 'two', task_type: 'RETRIEVAL_QUERY' }] }, AUTH);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions.map((p: any) => p.embeddings.values), [[0.5], [0.25]]);
    assert.equal(r.json.predictions.reduce((n: number, p: any) => n + p.embeddings.statistics.token_count, 0), 5);
    assert.deepEqual(fake.decode().inputs, ['one', 'two']);
    const bad = await post(path('predict', 'my-proj', 'europe-west4', 'text-embedding-005'), { input: ['one'] }, AUTH);
    assert.equal(bad.status, 400);
  });
});
