import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { bedrockAdapter, bedrockSettings } from '../../lib/providers/bedrock/index.js';
import { builtinAdapters } from '../../lib/providers/registry.js';
import { ConfigError, InvalidUpstreamResponse, RequestError, UpstreamStreamError } from '../../lib/errors.js';
import type {
  JsonObject,
  ParseContext,
  ResolvedTarget,
  StreamDecoder,
  StreamEvent,
  StreamState,
  UnifiedChunk,
  UnifiedRequest,
  UpstreamRequest,
} from '../../lib/providers/types.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const KEYS = { aws_region: 'us-west-2', aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: SECRET };
const CLAUDE = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const signal = new AbortController().signal;
const hi = [{ role: 'user', content: 'hi' }];

function target(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'bedrock', headers: {}, settings: { ...KEYS }, ...overrides };
}

function chatReq(body: JsonObject, stream = false): UnifiedRequest {
  return { endpoint: 'chat', body, stream };
}

async function send(req: UnifiedRequest, t: ResolvedTarget = target()): Promise<UpstreamRequest> {
  return bedrockAdapter.buildRequest(req, t, signal);
}

/** The Converse body for an OpenAI chat body. */
async function converse(body: JsonObject): Promise<JsonObject> {
  return (await send(chatReq({ model: CLAUDE, ...body }))).body as JsonObject;
}

function ctx(body: JsonObject = { model: CLAUDE, messages: hi }, endpoint: UnifiedRequest['endpoint'] = 'chat'): ParseContext {
  return { request: { endpoint, body, stream: false }, target: target(), status: 200 };
}

/** Checks the error is the 400 `invalid_parameter` RequestError naming `param`. */
function invalidParameter(param: string, pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_parameter');
    assert.equal(err.param, param);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

// ------------------------------------------------------------------------------------------
// An independent SigV4 verifier (node:crypto only), written from the Signature Version 4 docs.
// ------------------------------------------------------------------------------------------

const sha256 = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
/** RFC 3986 encoding of one string (unreserved characters kept). */
const uriEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Verified {
  readonly ok: boolean;
  readonly canonicalUri: string;
  readonly signedHeaders: string[];
  readonly accessKeyId: string;
  readonly scope: string;
}

/** Verifies a request as AWS would: canonical request, string to sign, signing key, signature. */
function verifySigV4(req: { url: string; headers: Record<string, string>; body: string }, secret: string, service = 'bedrock'): Verified {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  assert.ok(m, `authorization header is not SigV4: ${auth}`);
  const [, accessKeyId, date, region, svc, signedList, signature] = m as unknown as string[];
  const amzDate = req.headers['x-amz-date'] ?? '';
  assert.equal(amzDate.slice(0, 8), date, 'x-amz-date matches the credential scope date');
  const url = new URL(req.url);
  // Every service but S3: each path segment, as sent (already encoded), is URI-encoded once more.
  const canonicalUri = url.pathname.split('/').map(uriEncode).join('/');
  const query = [...url.searchParams].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).sort().join('&');
  const signedHeaders = signedList!.split(';');
  const lower = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(lower[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = ['POST', canonicalUri, query, canonicalHeaders, signedList, sha256(req.body)].join('\n');
  const scope = `${date}/${region}/${svc}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), svc!), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return { ok: expected === signature && svc === service, canonicalUri, signedHeaders, accessKeyId: accessKeyId!, scope };
}

function sent(r: UpstreamRequest): { url: string; headers: Record<string, string>; body: string } {
  assert.equal(typeof r.rawBody, 'string');
  return { url: r.url, headers: r.headers, body: r.rawBody as string };
}

describe('bedrock adapter: identity and settings', () => {
  test('adapter fields, registry entry and decoder content type', () => {
    assert.equal(bedrockAdapter.name, 'bedrock');
    assert.deepEqual([...bedrockAdapter.endpoints].sort(), ['chat', 'embedding']);
    assert.equal(bedrockAdapter.maxChoices, 1);
    assert.equal(bedrockAdapter.supportsPrefill, false);
    assert.equal(bedrockAdapter.streamUsage, 'always');
    assert.deepEqual(bedrockAdapter.credentialSettings, ['aws_access_key_id', 'get_credentials']);
    assert.equal(builtinAdapters().get('bedrock'), bedrockAdapter);
    const decoder = bedrockAdapter.streamDecoder as StreamDecoder;
    assert.ok(decoder.contentType.test('application/vnd.amazon.eventstream'));
    assert.ok(!decoder.contentType.test('text/event-stream'));
  });

  test('aws_region is required and region-shaped; get_credentials is a function', () => {
    for (const region of ['us-east-1', 'eu-central-2', 'us-gov-west-1', 'ap-southeast-4']) {
      assert.equal(bedrockSettings.validate({ aws_region: region }).error, undefined, region);
    }
    for (const region of ['us-east-1.evil.example', 'US-EAST-1', 'us-east', '', 'us-east-1/x']) {
      assert.ok(bedrockSettings.validate({ aws_region: region }).error, region);
    }
    assert.ok(bedrockSettings.validate({ aws_access_key_id: 'AKID' }).error, 'aws_region missing');
    assert.ok(bedrockSettings.validate({ aws_region: 'us-east-1', get_credentials: 'not a function' }).error);
    assert.ok(bedrockSettings.validate({ aws_region: 'us-east-1', aws_session_token: 'a\r\nb' }).error, 'header-unsafe token');
    assert.equal(bedrockSettings.validate({ aws_region: 'us-east-1', get_credentials: () => ({}) }).error, undefined);
  });
});

describe('bedrock adapter: URLs', () => {
  test('default host from the region, the model id encoded (":" and an ARN\'s "/"), converse or converse-stream', async () => {
    const r = await send(chatReq({ model: CLAUDE, messages: hi }));
    assert.equal(r.url, 'https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    assert.equal(r.method, 'POST');
    assert.equal(r.headers.accept, 'application/json');
    assert.equal(r.rawBody, JSON.stringify(r.body), 'the bytes sent are the body signed');
    const s = await send(chatReq({ model: CLAUDE, messages: hi }, true));
    assert.match(s.url, /\/converse-stream$/);
    assert.equal(s.headers.accept, 'application/vnd.amazon.eventstream');
    assert.equal((s.body as JsonObject).stream, undefined, 'streaming is chosen by URL, not body');
    const arn = 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0';
    const a = await send(chatReq({ model: arn, messages: hi }), target({ baseURL: 'http://127.0.0.1:9/' }));
    assert.equal(a.url, `http://127.0.0.1:9/model/${encodeURIComponent(arn)}/converse`);
    assert.ok(!a.url.slice('http://127.0.0.1:9/'.length).includes('//'));
  });

  test('a missing, empty, dot-segment or oversized model is invalid, naming model', async () => {
    for (const model of [undefined, '', '  ', '.', '..', 'm'.repeat(2049), 42]) {
      await assert.rejects(send(chatReq({ model, messages: hi })), invalidParameter('model'));
    }
  });
});

describe('bedrock adapter: Converse request translation', () => {
  test('every message kind: system, user parts, assistant tool calls, tool results, merged turns', async () => {
    const body = await converse({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use metric units.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/jpg;base64,QUJD' } }] },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }, { id: 'call_2', type: 'function', function: { name: 'time', arguments: '' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":3}' },
        { role: 'tool', tool_call_id: 'call_2', content: '12:00' },
        { role: 'user', content: 'Thanks' },
        { role: 'user', content: 'And tomorrow?' },
      ],
      tools: [{ type: 'function', function: { name: 'weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }, { type: 'function', function: { name: 'time' } }],
    });
    assert.deepEqual(body.system, [{ text: 'Be brief.' }, { text: 'Use metric units.' }]);
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ text: 'Weather?' }, { image: { format: 'jpeg', source: { bytes: 'QUJD' } } }] },
      { role: 'assistant', content: [{ text: 'Checking.' }, { toolUse: { toolUseId: 'call_1', name: 'weather', input: { city: 'Oslo' } } }, { toolUse: { toolUseId: 'call_2', name: 'time', input: {} } }] },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_1', content: [{ json: { temp: 3 } }] } },
          { toolResult: { toolUseId: 'call_2', content: [{ text: '12:00' }] } },
          { text: 'Thanks' },
          { text: 'And tomorrow?' },
        ],
      },
    ]);
    assert.deepEqual(body.toolConfig, {
      tools: [
        { toolSpec: { name: 'weather', description: 'Weather by city', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } },
        { toolSpec: { name: 'time', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
    });
    assert.equal(body.inferenceConfig, undefined);
  });

  test('blank text is dropped (Converse refuses blank text blocks); an empty tool result is one empty text', async () => {
    const body = await converse({
      messages: [
        { role: 'user', content: [{ type: 'text', text: '  \n' }, { type: 'text', text: 'Q' }] },
        { role: 'assistant', content: ' ' },
        { role: 'user', content: 'more' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] },
        { role: 'tool', tool_call_id: 'c1', content: '' },
        { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: 'part' }] },
        { role: 'tool', tool_call_id: 'c3', content: '[1,2]' },
      ],
    });
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ text: 'Q' }, { text: 'more' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'c1', name: 'f', input: { a: 1 } } }] },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'c1', content: [{ text: '' }] } },
          { toolResult: { toolUseId: 'c2', content: [{ text: 'part' }] } },
          { toolResult: { toolUseId: 'c3', content: [{ text: '[1,2]' }] } },
        ],
      },
    ]);
  });

  test('inferenceConfig: maxTokens (either spelling), temperature, topP, stopSequences; top_k for Anthropic models only', async () => {
    const body = await converse({ messages: hi, max_completion_tokens: 300, temperature: 0.2, top_p: 0.9, stop: 'END', top_k: 40 });
    assert.deepEqual(body.inferenceConfig, { maxTokens: 300, temperature: 0.2, topP: 0.9, stopSequences: ['END'] });
    assert.deepEqual(body.additionalModelRequestFields, { top_k: 40 });
    const llama = (await send(chatReq({ model: 'meta.llama3-70b-instruct-v1:0', messages: hi, max_tokens: 50, stop: ['a', 'b'], top_k: 40 }))).body as JsonObject;
    assert.deepEqual(llama.inferenceConfig, { maxTokens: 50, stopSequences: ['a', 'b'] });
    assert.equal(llama.additionalModelRequestFields, undefined);
  });

  test('tool_choice: auto -> {auto:{}}, required -> {any:{}}, a function -> {tool:{name}}', async () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    const choiceOf = async (tool_choice: unknown): Promise<unknown> => ((await converse({ messages: hi, tools, tool_choice })).toolConfig as JsonObject).toolChoice;
    assert.deepEqual(await choiceOf('auto'), { auto: {} });
    assert.deepEqual(await choiceOf('required'), { any: {} });
    assert.deepEqual(await choiceOf({ type: 'function', function: { name: 'f' } }), { tool: { name: 'f' } });
  });

  test('tool_choice none: no tools, unless the history holds tool blocks (then tools without a toolChoice)', async () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    assert.equal((await converse({ messages: hi, tools, tool_choice: 'none' })).toolConfig, undefined);
    const history = [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'done' },
    ];
    const withTools = await converse({ messages: history, tools, tool_choice: 'none' });
    assert.deepEqual(withTools.toolConfig, { tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } }] });
    // A history with tool blocks and no declared tools: Converse requires a toolConfig anyway.
    const synthesized = await converse({ messages: history });
    assert.deepEqual(synthesized.toolConfig, { tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object', properties: {} } } } }] });
  });

  test('what Converse cannot take is invalid, naming the field', async () => {
    const cases: Array<[unknown[], string, RegExp?]> = [
      [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }], 'messages[0].content[0].image_url.url', /base64 data URL/],
      [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,QUJD' } }] }], 'messages[0].content[0].image_url.url', /png, jpeg, gif or webp/],
      [[{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }], 'messages[0].content[0].type'],
      [[{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,QUJD' } }] }], 'messages[1].content[0].type', /assistant/],
      [[{ role: 'function', content: 'x' }], 'messages[0].role'],
      [[{ role: 'user', content: 'x' }, { role: 'tool', content: 'r' }], 'messages[1].tool_call_id'],
      [[{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{bad' } }] }], 'messages[0].tool_calls[0].function.arguments'],
      [[{ role: 'user', content: 42 }], 'messages[0].content'],
      [[{ role: 'system', content: 'only a system prompt' }], 'messages', /at least one/],
      ['not-an-array' as unknown as unknown[], 'messages'],
    ];
    for (const [messages, param, pattern] of cases) {
      await assert.rejects(converse({ messages }), (err: unknown) => {
        assert.ok(err instanceof RequestError, `${param}: ${String(err)}`);
        assert.equal(err.param, param);
        if (pattern) assert.match(err.message, pattern);
        return true;
      });
    }
    await assert.rejects(converse({ messages: hi, tool_choice: 'required' }), invalidParameter('tool_choice', /no tools/));
    await assert.rejects(converse({ messages: hi, stop: [1] }), invalidParameter('stop[0]'));
  });
});

describe('bedrock adapter: credentials', () => {
  test('api_key is a Bedrock API key: a bearer token, no SigV4, not overridable by target headers', async () => {
    const r = await send(chatReq({ model: CLAUDE, messages: hi }), target({ apiKey: 'bedrock-api-key-abc', headers: { Authorization: 'Bearer other', 'x-extra': '1' } }));
    assert.equal(r.headers.authorization, 'Bearer bedrock-api-key-abc');
    assert.equal(r.headers.Authorization, undefined);
    assert.equal(r.headers['x-amz-date'], undefined);
    assert.equal(r.headers['x-extra'], '1');
  });

  test('a key id without its secret, a secret without its key id, or nothing at all is missing_provider_setting', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ aws_region: 'us-east-1', aws_access_key_id: 'AKID' }, 'aws_secret_access_key'],
      [{ aws_region: 'us-east-1', aws_secret_access_key: 'S' }, 'aws_access_key_id'],
      [{ aws_region: 'us-east-1' }, 'aws_access_key_id'],
    ];
    for (const [settings, param] of cases) {
      await assert.rejects(send(chatReq({ model: CLAUDE, messages: hi }), target({ settings })), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'missing_provider_setting');
        assert.equal(err.param, param);
        assert.ok(!err.message.includes('S"') && !err.message.includes('AKID'), 'no value quoted');
        return true;
      });
    }
  });

  test('get_credentials (sync or async) signs with what it returns, session token included', async () => {
    for (const get_credentials of [() => ({ accessKeyId: 'ASIAROLE', secretAccessKey: SECRET, sessionToken: 'tok/+=' }), async () => ({ accessKeyId: 'ASIAROLE', secretAccessKey: SECRET, sessionToken: 'tok/+=' })]) {
      const r = await send(chatReq({ model: CLAUDE, messages: hi }), target({ settings: { aws_region: 'eu-west-1', get_credentials } }));
      assert.equal(r.headers['x-amz-security-token'], 'tok/+=');
      const v = verifySigV4(sent(r), SECRET);
      assert.ok(v.ok);
      assert.equal(v.accessKeyId, 'ASIAROLE');
      assert.match(v.scope, /^\d{8}\/eu-west-1\/bedrock\/aws4_request$/);
    }
  });

  test('a get_credentials that throws or returns a bad shape is a 401 auth failure that quotes nothing', async () => {
    const providers: Array<() => unknown> = [
      () => {
        throw new Error(`cannot load profile with secret ${SECRET}`);
      },
      async () => Promise.reject(new Error('expired')),
      () => ({ accessKeyId: 'AKID' }),
      () => ({ accessKeyId: 'AKID', secretAccessKey: 'S', sessionToken: 7 }),
      () => ({ accessKeyId: 'AK\r\nID', secretAccessKey: 'S' }),
      () => null,
    ];
    for (const get_credentials of providers) {
      await assert.rejects(send(chatReq({ model: CLAUDE, messages: hi }), target({ settings: { aws_region: 'us-east-1', get_credentials } })), (err: unknown) => {
        assert.ok(err instanceof UpstreamStreamError, String(err));
        assert.equal(err.status, 401);
        assert.equal(err.errorClass, 'auth');
        assert.ok(!err.message.includes(SECRET) && !err.message.includes('AKID'));
        return true;
      });
    }
  });
});

describe('bedrock adapter: SigV4 signature (checked by an independent verifier)', () => {
  test('a model id with ":" is signed with its path segments encoded twice, as SigV4 wants outside S3', async () => {
    const r = await send(chatReq({ model: CLAUDE, messages: hi }));
    const v = verifySigV4(sent(r), SECRET);
    assert.ok(v.ok, 'signature verifies');
    assert.equal(v.canonicalUri, '/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse');
    assert.equal(v.accessKeyId, 'AKIDEXAMPLE');
    for (const name of ['host', 'x-amz-date', 'content-type', 'content-length', 'accept']) assert.ok(v.signedHeaders.includes(name), name);
    assert.equal(r.headers.host, 'bedrock-runtime.us-west-2.amazonaws.com');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.rawBody as string)));
  });

  test('an ARN model id, a session token, custom headers; stale signer headers from the target are not sent', async () => {
    const arn = 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0';
    const t = target({
      baseURL: 'http://127.0.0.1:8123',
      settings: { ...KEYS, aws_session_token: 'FwoGZXIvYXdzEBYaDH+/session==' },
      headers: { 'X-Custom-Trace': '  a   b  ', 'x-amz-date': '20000101T000000Z', authorization: 'x', Host: 'evil.example', 'content-type': 'text/plain' },
    });
    const r = await send(chatReq({ model: arn, messages: [{ role: 'user', content: 'héllo ✓' }] }, true), t);
    const v = verifySigV4(sent(r), SECRET);
    assert.ok(v.ok);
    assert.match(v.canonicalUri, /^\/model\/arn%253Aaws%253Abedrock%253Aus-west-2%253A123456789012%253Ainference-profile%252Fus\.anthropic/);
    assert.equal(r.headers.host, '127.0.0.1:8123');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-amz-security-token'], 'FwoGZXIvYXdzEBYaDH+/session==');
    assert.notEqual(r.headers['x-amz-date'], '20000101T000000Z');
    assert.equal(Object.keys(r.headers).filter((k) => k.toLowerCase() === 'host').length, 1);
    // Every header sent is signed (the custom one with its whitespace folded).
    assert.deepEqual(Object.keys(r.headers).filter((k) => k !== 'authorization').sort(), v.signedHeaders);
    assert.ok(v.signedHeaders.includes('x-custom-trace') && v.signedHeaders.includes('x-amz-security-token'));
  });

  test('the verifier is not vacuous: a changed body, header, path or secret fails it', async () => {
    const r = sent(await send(chatReq({ model: CLAUDE, messages: hi })));
    assert.ok(verifySigV4(r, SECRET).ok);
    assert.ok(!verifySigV4({ ...r, body: `${r.body} ` }, SECRET).ok);
    assert.ok(!verifySigV4({ ...r, headers: { ...r.headers, accept: '*/*' } }, SECRET).ok);
    assert.ok(!verifySigV4({ ...r, url: r.url.replace('%3A0', ':0') }, SECRET).ok, 'the path is signed encoded');
    assert.ok(!verifySigV4(r, `${SECRET}x`).ok);
  });
});

// ------------------------------------------------------------------------------------------
// The event stream decoder, fed frames made by the codec's own encoder.
// ------------------------------------------------------------------------------------------

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const str = (value: string) => ({ type: 'string' as const, value });

function eventFrame(type: string, payload: unknown): Buffer {
  const headers = { ':message-type': str('event'), ':event-type': str(type), ':content-type': str('application/json') };
  return Buffer.from(codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) }));
}

function exceptionFrame(type: string, message: string): Buffer {
  const headers = { ':message-type': str('exception'), ':exception-type': str(type), ':content-type': str('application/json') };
  return Buffer.from(codec.encode({ headers, body: fromUtf8(JSON.stringify({ message })) }));
}

async function decodeAll(chunks: Iterable<unknown>): Promise<StreamEvent[]> {
  async function* body(): AsyncIterable<unknown> {
    yield* chunks;
  }
  const out: StreamEvent[] = [];
  for await (const event of (bedrockAdapter.streamDecoder as StreamDecoder).decode(body())) out.push(event);
  return out;
}

describe('bedrock adapter: event stream decoder', () => {
  const frames = [
    eventFrame('messageStart', { role: 'assistant' }),
    eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hej, wörld ✓' }, p: 'abcdefghij' }),
    exceptionFrame('throttlingException', 'Too many requests'),
    Buffer.from(codec.encode({ headers: { ':message-type': str('error'), ':error-code': str('InternalFailure'), ':error-message': str('boom') }, body: new Uint8Array(0) })),
  ];
  const all = Buffer.concat(frames);
  const expected: StreamEvent[] = [
    { event: 'messageStart', data: '{"role":"assistant"}' },
    { event: 'contentBlockDelta', data: JSON.stringify({ contentBlockIndex: 0, delta: { text: 'Hej, wörld ✓' }, p: 'abcdefghij' }) },
    { event: 'exception:throttlingException', data: '{"message":"Too many requests"}' },
    { event: 'error:InternalFailure', data: '{"message":"boom"}' },
  ];

  test('frames split at every byte offset decode to the same events', async () => {
    for (let k = 1; k < all.length; k++) {
      assert.deepEqual(await decodeAll([all.subarray(0, k), all.subarray(k)]), expected, `split at ${k}`);
    }
  });

  test('one byte at a time, as Uint8Arrays, and with empty chunks', async () => {
    const bytes = [...all].map((b) => new Uint8Array([b]));
    assert.deepEqual(await decodeAll(bytes), expected);
    assert.deepEqual(await decodeAll([Buffer.alloc(0), all, Buffer.alloc(0)]), expected);
  });

  test('a CRC-corrupted message, a corrupted prelude and an impossible length throw', async () => {
    const payloadFlip = Buffer.from(frames[1]!);
    payloadFlip[payloadFlip.length - 10]! ^= 0x01;
    await assert.rejects(decodeAll([frames[0]!, payloadFlip]), /corrupt.*checksum/i);
    const preludeFlip = Buffer.from(frames[0]!);
    preludeFlip[5]! ^= 0x01; // the headers length
    await assert.rejects(decodeAll([preludeFlip]), /corrupt/i);
    const huge = Buffer.from(frames[0]!);
    huge.writeUInt32BE(0xffffffff, 0);
    await assert.rejects(decodeAll([huge]), /claims 4294967295 bytes/);
    const tiny = Buffer.from(frames[0]!);
    tiny.writeUInt32BE(8, 0);
    await assert.rejects(decodeAll([tiny]), /claims 8 bytes/);
  });

  test('a body that ends inside a message throws, after the whole messages before it', async () => {
    const seen: StreamEvent[] = [];
    await assert.rejects(async () => {
      for await (const e of (bedrockAdapter.streamDecoder as StreamDecoder).decode((async function* () {
        yield Buffer.concat([frames[0]!, frames[1]!.subarray(0, 20)]);
      })())) seen.push(e);
    }, /ended inside a message \(20 bytes left over\)/);
    assert.deepEqual(seen, expected.slice(0, 1));
    await assert.rejects(decodeAll([frames[0]!.subarray(0, 2)]), /ended inside a message/);
  });

  test('text chunks are refused: a binary stream must not be decoded as text', async () => {
    await assert.rejects(decodeAll(['\u0000\u0000']), TypeError);
  });
});

// ------------------------------------------------------------------------------------------
// The stream parser over a whole ConverseStream.
// ------------------------------------------------------------------------------------------

function parseAll(events: StreamEvent[], state: StreamState = { includeUsage: true }): UnifiedChunk[] {
  return events.flatMap((e) => bedrockAdapter.parseStreamEvent!(e, state, ctx()));
}

const ev = (event: string, data: unknown): StreamEvent => ({ event, data: JSON.stringify(data) });

describe('bedrock adapter: ConverseStream translation', () => {
  const sequence = [
    ev('messageStart', { role: 'assistant', p: 'ab' }),
    ev('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Let me ' } }),
    ev('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'check.' } }),
    ev('contentBlockStop', { contentBlockIndex: 0 }),
    ev('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_1', name: 'weather' } } }),
    ev('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } }),
    ev('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"Oslo"}' } } }),
    ev('contentBlockStop', { contentBlockIndex: 1 }),
    ev('messageStop', { stopReason: 'tool_use' }),
    ev('metadata', { usage: { inputTokens: 12, outputTokens: 7, totalTokens: 19 }, metrics: { latencyMs: 300 } }),
  ];

  test('role, text, a tool call and its argument pieces, the finish and the usage chunk', () => {
    const chunks = parseAll(sequence);
    const deltas = chunks.map((c) => (c.choices as JsonObject[])[0]?.delta);
    assert.deepEqual(deltas, [
      { role: 'assistant', content: '' },
      { content: 'Let me ' },
      { content: 'check.' },
      { tool_calls: [{ index: 0, id: 'tooluse_1', type: 'function', function: { name: 'weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] },
      {},
      undefined,
    ]);
    assert.equal((chunks[6]!.choices as JsonObject[])[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(chunks[7]!.choices, []);
    assert.deepEqual(chunks[7]!.usage, { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 });
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.match(String(chunks[0]!.id), /^chatcmpl-/);
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === CLAUDE));
  });

  test('no usage chunk when the caller does not want usage; stop reasons map to finish reasons', () => {
    assert.equal(parseAll(sequence, {}).some((c) => c.usage !== undefined), false);
    const cases: Array<[string, string]> = [['end_turn', 'stop'], ['stop_sequence', 'stop'], ['max_tokens', 'length'], ['guardrail_intervened', 'content_filter'], ['content_filtered', 'content_filter'], ['tool_use', 'tool_calls']];
    for (const [stopReason, finish] of cases) {
      const [c] = parseAll([ev('messageStop', { stopReason })]);
      assert.equal((c!.choices as JsonObject[])[0]!.finish_reason, finish, stopReason);
    }
  });

  test('exceptions in the stream are failures with their documented status and class', () => {
    const cases: Array<[string, string, number, string]> = [
      ['throttlingException', 'Too many tokens', 429, 'rate_limit'],
      ['serviceUnavailableException', 'Unavailable', 503, 'server'],
      ['internalServerException', 'Oops', 500, 'server'],
      ['modelStreamErrorException', 'Model stream broke', 424, 'server'],
      ['validationException', 'Bad input', 400, 'bad_request'],
      ['validationException', 'Input is too long for requested model.', 400, 'context_length_exceeded'],
      ['somethingNewException', 'new', 500, 'server'],
    ];
    for (const [type, message, status, errorClass] of cases) {
      assert.throws(() => parseAll([ev(`exception:${type}`, { message })]), (err: unknown) => {
        assert.ok(err instanceof UpstreamStreamError, type);
        assert.equal(err.status, status, type);
        assert.equal(err.errorClass, errorClass, type);
        assert.equal(err.message, message);
        assert.equal(err.upstreamCode, type[0]!.toUpperCase() + type.slice(1));
        return true;
      });
    }
    assert.throws(() => parseAll([ev('error:InternalFailure', { message: 'boom' })]), (err: unknown) => err instanceof UpstreamStreamError && err.status === 500);
  });

  test('malformed events are InvalidUpstreamResponse (skipped by the reader); unknown events are ignored', () => {
    assert.throws(() => parseAll([{ event: 'contentBlockDelta', data: '{not json' }]), InvalidUpstreamResponse);
    assert.throws(() => parseAll([{ event: 'contentBlockDelta', data: '[1]' }]), InvalidUpstreamResponse);
    assert.deepEqual(parseAll([ev('somethingNew', { x: 1 }), ev('contentBlockDelta', { contentBlockIndex: 5, delta: { toolUse: { input: 'x' } } })]), []);
  });

  test('decoder and parser together over an encoded ConverseStream split into odd pieces', async () => {
    const wire = Buffer.concat([
      eventFrame('messageStart', { role: 'assistant' }),
      eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello' } }),
      eventFrame('messageStop', { stopReason: 'end_turn' }),
      eventFrame('metadata', { usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 } }),
    ]);
    const pieces: Buffer[] = [];
    for (let at = 0, i = 0; at < wire.length; i++) pieces.push(wire.subarray(at, (at += [1, 7, 3, 13][i % 4]!)));
    const chunks = parseAll(await decodeAll(pieces));
    assert.equal(chunks.map((c) => ((c.choices as JsonObject[])[0]?.delta as JsonObject | undefined)?.content ?? '').join(''), 'Hello');
    assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });
});

describe('bedrock adapter: Converse reply translation', () => {
  test('text and toolUse blocks, stop reason, usage, the requested model and a fresh id', () => {
    const reply = {
      output: { message: { role: 'assistant', content: [{ text: 'Sure, ' }, { text: 'checking.' }, { toolUse: { toolUseId: 'tooluse_9', name: 'weather', input: { city: 'Oslo' } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 20, outputTokens: 9, totalTokens: 29 },
      metrics: { latencyMs: 120 },
    };
    const out = bedrockAdapter.parseResponse(reply, ctx());
    assert.equal(out.object, 'chat.completion');
    assert.equal(out.model, CLAUDE);
    assert.match(String(out.id), /^chatcmpl-/);
    const [choice] = out.choices as JsonObject[];
    assert.equal(choice!.finish_reason, 'tool_calls');
    assert.deepEqual(choice!.message, {
      role: 'assistant',
      content: 'Sure, checking.',
      tool_calls: [{ id: 'tooluse_9', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }],
      refusal: null,
    });
    assert.deepEqual(out.usage, { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 });
    const filtered = bedrockAdapter.parseResponse({ output: { message: { role: 'assistant', content: [] } }, stopReason: 'guardrail_intervened', usage: {} }, ctx());
    assert.equal((filtered.choices as JsonObject[])[0]!.finish_reason, 'content_filter');
    assert.equal(((filtered.choices as JsonObject[])[0]!.message as JsonObject).content, null);
  });

  test('a 2xx without output.message.content is an invalid upstream response', () => {
    for (const body of ['text', null, {}, { output: {} }, { output: { message: { content: 'x' } } }]) {
      assert.throws(() => bedrockAdapter.parseResponse(body, ctx()), InvalidUpstreamResponse);
    }
  });
});

describe('bedrock adapter: error classification', () => {
  const h = (type: string): Record<string, string> => ({ 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  test('docs-shaped replies: the exception from x-amzn-errortype or __type, the message from message/Message', () => {
    const cases: Array<[number, unknown, Record<string, string>, string, string]> = [
      [400, { message: 'Malformed input request' }, h('ValidationException'), 'bad_request', 'ValidationException'],
      [400, { message: 'Input is too long for requested model.' }, h('ValidationException'), 'context_length_exceeded', 'ValidationException'],
      [400, { message: 'prompt is too long: 210000 tokens > 200000 maximum' }, h('ValidationException'), 'context_length_exceeded', 'ValidationException'],
      [429, { message: 'Too many requests, please wait before trying again.' }, h('ThrottlingException'), 'rate_limit', 'ThrottlingException'],
      [400, { message: 'quota' }, h('ServiceQuotaExceededException'), 'rate_limit', 'ServiceQuotaExceededException'],
      [403, { message: "You don't have access to the model" }, h('AccessDeniedException'), 'auth', 'AccessDeniedException'],
      [403, { Message: 'The security token included in the request is invalid.' }, h('UnrecognizedClientException'), 'auth', 'UnrecognizedClientException'],
      [403, { message: 'The request signature we calculated does not match the signature you provided.' }, h('InvalidSignatureException'), 'auth', 'InvalidSignatureException'],
      [403, { message: 'The security token included in the request is expired' }, h('ExpiredTokenException'), 'auth', 'ExpiredTokenException'],
      [404, { message: 'Model not found' }, h('ResourceNotFoundException'), 'not_found', 'ResourceNotFoundException'],
      [408, { message: 'Model timed out' }, h('ModelTimeoutException'), 'timeout', 'ModelTimeoutException'],
      [500, { message: 'Internal' }, h('InternalServerException'), 'server', 'InternalServerException'],
      [503, { message: 'Unavailable' }, h('ServiceUnavailableException'), 'server', 'ServiceUnavailableException'],
      [429, { message: 'Model is not ready' }, h('ModelNotReadyException'), 'server', 'ModelNotReadyException'],
      [424, { message: 'Model error' }, h('ModelErrorException'), 'server', 'ModelErrorException'],
      [403, { __type: 'com.amazon.coral.service#UnrecognizedClientException', message: 'bad token' }, {}, 'auth', 'UnrecognizedClientException'],
      [429, '{"__type":"ThrottlingException","message":"slow down"}', {}, 'rate_limit', 'ThrottlingException'],
    ];
    for (const [status, body, headers, errorClass, code] of cases) {
      const c = bedrockAdapter.classifyError(status, body, headers);
      assert.equal(c.errorClass, errorClass, `${code} ${JSON.stringify(body)}`);
      assert.equal(c.code, code);
      const expectedMessage = typeof body === 'string' ? 'slow down' : ((body as JsonObject).message ?? (body as JsonObject).Message);
      assert.equal(c.message, expectedMessage);
    }
  });

  test('without a known exception the status decides; a text body is kept as the message', () => {
    const gateway = bedrockAdapter.classifyError(502, '<html>Bad Gateway</html>', {});
    assert.deepEqual(gateway, { errorClass: 'server', message: '<html>Bad Gateway</html>' });
    assert.equal(bedrockAdapter.classifyError(429, {}, {}).errorClass, 'rate_limit');
    assert.equal(bedrockAdapter.classifyError(400, { message: 'x' }, h('SomeNewException')).errorClass, 'bad_request');
    assert.equal(bedrockAdapter.classifyError(400, { message: 'x' }, h('SomeNewException')).code, 'SomeNewException');
    assert.equal(bedrockAdapter.classifyError(500, '', {}).message, 'bedrock returned HTTP 500');
  });
});

describe('bedrock adapter: embeddings through InvokeModel', () => {
  const embedReq = (body: JsonObject): UnifiedRequest => ({ endpoint: 'embedding', body, stream: false });
  const embedCtx = (body: JsonObject): ParseContext => ctx(body, 'embedding');

  test('Titan: {inputText, dimensions?} to /invoke, one text per request', async () => {
    const r = await send(embedReq({ model: 'amazon.titan-embed-text-v2:0', input: 'hello', dimensions: 256 }));
    assert.equal(r.url, 'https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke');
    assert.deepEqual(r.body, { inputText: 'hello', dimensions: 256 });
    assert.ok(verifySigV4(sent(r), SECRET).ok);
    assert.deepEqual((await send(embedReq({ model: 'amazon.titan-embed-text-v1', input: ['one'] }))).body, { inputText: 'one' });
    await assert.rejects(send(embedReq({ model: 'amazon.titan-embed-text-v2:0', input: ['a', 'b'] })), invalidParameter('input', /one per request/));
    await assert.rejects(send(embedReq({ model: 'amazon.titan-embed-text-v2:0', input: 'a', dimensions: 0 })), invalidParameter('dimensions'));
  });

  test('Cohere: {texts, input_type: search_document}; other families and token arrays are invalid', async () => {
    for (const model of ['cohere.embed-english-v3', 'us.cohere.embed-v4:0']) {
      assert.deepEqual((await send(embedReq({ model, input: ['a', 'b'] }))).body, { texts: ['a', 'b'], input_type: 'search_document' });
    }
    await assert.rejects(send(embedReq({ model: 'meta.llama3-8b-instruct-v1:0', input: 'a' })), invalidParameter('model'));
    await assert.rejects(send(embedReq({ model: 'cohere.embed-english-v3', input: [[1, 2]] })), invalidParameter('input[0]'));
    await assert.rejects(send(embedReq({ model: 'cohere.embed-english-v3', input: [] })), invalidParameter('input'));
    await assert.rejects(send(embedReq({ model: 'cohere.embed-english-v3', input: 'a', encoding_format: 'hex' })), invalidParameter('encoding_format'));
  });

  test('replies of both families become an OpenAI list; base64 when asked', () => {
    const titan = bedrockAdapter.parseResponse({ embedding: [0.5, -0.25], inputTextTokenCount: 3 }, embedCtx({ model: 'amazon.titan-embed-text-v2:0', input: 'x' }));
    assert.deepEqual(titan, {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.25] }],
      model: 'amazon.titan-embed-text-v2:0',
      usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 },
    });
    const cohereCtx = embedCtx({ model: 'cohere.embed-english-v3', input: ['a', 'b'] });
    const floats = bedrockAdapter.parseResponse({ id: 'x', response_type: 'embeddings_floats', texts: ['a', 'b'], embeddings: [[1, 2], [3, 4]] }, cohereCtx);
    assert.deepEqual((floats.data as JsonObject[]).map((d) => [d.index, d.embedding]), [[0, [1, 2]], [1, [3, 4]]]);
    const byType = bedrockAdapter.parseResponse({ response_type: 'embeddings_by_type', embeddings: { float: [[5, 6]] } }, cohereCtx);
    assert.deepEqual((byType.data as JsonObject[])[0]!.embedding, [5, 6]);
    const b64 = bedrockAdapter.parseResponse({ embedding: [0.5, -0.25] }, embedCtx({ model: 'amazon.titan-embed-text-v2:0', input: 'x', encoding_format: 'base64' }));
    const bytes = Buffer.from((b64.data as JsonObject[])[0]!.embedding as string, 'base64');
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4)], [0.5, -0.25]);
  });

  test('an embedding reply of neither shape is an invalid upstream response', () => {
    for (const body of [{}, { embedding: ['x'] }, { embeddings: 'no' }, { embeddings: [[1, 'a']] }, 'text']) {
      assert.throws(() => bedrockAdapter.parseResponse(body, embedCtx({ model: 'cohere.embed-english-v3', input: 'a' })), InvalidUpstreamResponse);
    }
  });
});
