/**
 * Self-test of the Bedrock fake (test/helpers/conformance/fakes/bedrock*.ts): its SigV4 and
 * event-stream code against published vectors, then the server over raw HTTP on 127.0.0.1 in
 * Bedrock's own format (signed requests, Converse, ConverseStream frames, InvokeModel), so that a
 * broken fake shows here and not as a mystery in the conformance suite.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { ErrorKind } from '../helpers/conformance/types.js';
import { startBedrockFake, type BedrockFake } from '../helpers/conformance/fakes/bedrock.js';
import { crc32, encodeFrame, sha256Hex, sigV4 } from '../helpers/conformance/fakes/bedrock-wire.js';

const CREDS = { region: 'eu-west-3', accessKeyId: 'AKIDFAKEBEDROCK', secretAccessKey: 'fake/secret+key' };
const MORE = { sessionToken: 'session-token-1', apiKey: 'bedrock-api-key-1' };
const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const PATH = `/model/${encodeURIComponent(MODEL)}`;
const amzNow = (offsetMs = 0): string =>
  new Date(Date.now() + offsetMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

interface SendOptions {
  readonly method?: string;
  readonly creds?: Partial<typeof CREDS & typeof MORE>;
  readonly amzDate?: string;
  readonly contentType?: string;
  /** Replaces the whole Authorization header. */
  readonly authorization?: string;
  /** Header names to leave out of SignedHeaders. */
  readonly unsigned?: readonly string[];
}

/** Sends a SigV4-signed request (service `bedrock`) the way an AWS client does. */
async function send(fake: BedrockFake, path: string, body: unknown, o: SendOptions = {}): Promise<Response> {
  const c = { ...CREDS, ...MORE, ...o.creds };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const amzDate = o.amzDate ?? amzNow();
  const headers: Record<string, string> = { host: new URL(fake.origin).host, 'x-amz-date': amzDate };
  headers['content-type'] = o.contentType ?? 'application/json';
  if (c.sessionToken) headers['x-amz-security-token'] = c.sessionToken;
  const signedPart = Object.fromEntries(Object.entries(headers).filter(([n]) => !o.unsigned?.includes(n)));
  const method = o.method ?? 'POST';
  const { secretAccessKey, region } = c;
  const payloadHash = sha256Hex(text);
  const service = 'bedrock';
  const s = sigV4({ method, url: path, headers: signedPart, payloadHash, amzDate, region, service, secretAccessKey });
  const scope = `${c.accessKeyId}/${amzDate.slice(0, 8)}/${region}/bedrock/aws4_request`;
  const authorization =
    o.authorization ?? `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=${s.signedHeaders}, Signature=${s.signature}`;
  const { host: _host, ...sent } = headers; // fetch sends the host itself
  const init = { method, headers: { ...sent, authorization }, body: method === 'GET' ? undefined : text };
  return fetch(fake.origin + path, init);
}

type Frame = { headers: Record<string, string>; payload: Record<string, unknown> };

/** Our own reading of the event-stream encoding: lengths, both CRCs, string headers, JSON payload. */
function decodeFrames(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  for (let at = 0; at < bytes.length; ) {
    const total = bytes.readUInt32BE(at);
    const headersEnd = at + 12 + bytes.readUInt32BE(at + 4);
    assert.equal(bytes.readUInt32BE(at + 8), crc32(bytes.subarray(at, at + 8)), 'prelude CRC');
    assert.equal(bytes.readUInt32BE(at + total - 4), crc32(bytes.subarray(at, at + total - 4)), 'message CRC');
    const headers: Record<string, string> = {};
    for (let h = at + 12; h < headersEnd; ) {
      const nameEnd = h + 1 + bytes[h]!;
      assert.equal(bytes[nameEnd], 7, 'string header value type');
      const valueEnd = nameEnd + 3 + bytes.readUInt16BE(nameEnd + 1);
      headers[bytes.toString('utf8', h + 1, nameEnd)] = bytes.toString('utf8', nameEnd + 3, valueEnd);
      h = valueEnd;
    }
    const payload = JSON.parse(bytes.toString('utf8', headersEnd, at + total - 4)) as Record<string, unknown>;
    frames.push({ headers, payload });
    at += total;
  }
  return frames;
}

/** Reads a stream to its end (or to the socket's destruction), keeping the network chunks. */
async function readStream(res: Response): Promise<{ chunks: Buffer[]; frames: Frame[]; broken: boolean }> {
  const chunks: Buffer[] = [];
  let broken = false;
  try {
    for await (const chunk of res.body!) chunks.push(Buffer.from(chunk));
  } catch {
    broken = true;
  }
  const bytes = Buffer.concat(chunks);
  let complete = 0;
  const whole = (at: number): boolean => at + 4 <= bytes.length && at + bytes.readUInt32BE(at) <= bytes.length;
  while (whole(complete)) complete += bytes.readUInt32BE(complete);
  return { chunks, frames: decodeFrames(bytes.subarray(0, complete)), broken };
}

const events = (frames: Frame[]): string[] =>
  frames.map((f) => f.headers[':event-type'] ?? `!${f.headers[':exception-type']}`);
const USER = { role: 'user', content: [{ text: 'Hi' }] };
const CHAT = { messages: [USER] };

describe('fake-bedrock wire code, against published vectors', () => {
  test('CRC-32 is the GZIP one (check value of "123456789")', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  test('encodeFrame gives the bytes of a published event-stream example, with and without a header', () => {
    const payload = Buffer.from('{"foo": "bar"}');
    const bare = encodeFrame({}, payload);
    assert.deepEqual([...bare.subarray(0, 12)], [0, 0, 0, 30, 0, 0, 0, 0, 186, 242, 246, 138]);
    assert.deepEqual([...bare.subarray(-4)], [174, 114, 88, 228]);
    const typed = encodeFrame({ 'content-type': 'application/json' }, payload);
    assert.deepEqual([...typed.subarray(0, 12)], [0, 0, 0, 62, 0, 0, 0, 32, 64, 93, 249, 70]);
    assert.deepEqual([...typed.subarray(12, 28)], [12, ...Buffer.from('content-type'), 7, 0, 16]);
    assert.deepEqual([...typed.subarray(-4)], [111, 162, 191, 59]);
  });

  test('sigV4 reproduces the AWS test suite (get-vanilla, get-vanilla-query-order-key-case)', () => {
    const [amzDate, secretAccessKey] = ['20150830T123600Z', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'];
    const headers = { host: 'example.amazonaws.com', 'x-amz-date': amzDate };
    const base = { method: 'GET', headers, amzDate, region: 'us-east-1', service: 'service', secretAccessKey };
    const payloadHash = sha256Hex('');
    const vanilla = sigV4({ ...base, payloadHash, url: '/' }).signature;
    assert.equal(vanilla, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
    const queryOrder = sigV4({ ...base, payloadHash, url: '/?Param2=value2&Param1=value1' }).signature;
    assert.equal(queryOrder, 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500');
  });

  test('the canonical request matches one Bedrock itself printed: path segments encoded twice (%3A -> %253A)', () => {
    // From a real InvalidSignatureException body quoted in BerriAI/litellm#14763.
    const headers = {
      'content-type': 'application/json', host: 'bedrock-runtime.us-east-2.amazonaws.com', 'x-amz-date': '20250921T101604Z',
      'x-forwarded-for': '10.0.20.180,45.222.29.73', 'x-forwarded-host': 'litellm.heaven.za.net', 'x-forwarded-port': '443',
      'x-forwarded-proto': 'https', 'x-forwarded-server': 'aeeb7cda9e5b', 'x-real-ip': '10.0.20.180',
    };
    const url = '/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream';
    const payloadHash = 'fea7815fd74adf3ef10f764bcea846ea6a3ffec335c8754302d2e40114f9db3e';
    const where = { amzDate: '20250921T101604Z', region: 'us-east-2', service: 'bedrock', secretAccessKey: 'unused here' };
    const s = sigV4({ method: 'POST', url, headers, payloadHash, ...where });
    assert.equal(s.canonical.split('\n')[1], '/model/us.anthropic.claude-sonnet-4-20250514-v1%253A0/converse-stream');
    assert.equal(sha256Hex(s.canonical), 'd61e31a0afb51765f0b2ee88381d0950cc8a0fc054633f0e163ff85336a4beae');
    assert.equal(s.stringToSign.split('\n')[2], '20250921/us-east-2/bedrock/aws4_request');
  });
});

describe('fake-bedrock server', () => {
  let fake: BedrockFake;
  before(async () => {
    fake = await startBedrockFake({ ...CREDS, ...MORE });
  });
  afterEach(() => fake.reset());
  after(() => fake.close());

  test('baseURL is the bare origin on 127.0.0.1; a signed Converse gets the default answer', async () => {
    assert.match(fake.baseURL, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await send(fake, `${PATH}/converse`, CHAT);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, any>;
    assert.deepEqual(body.output, { message: { role: 'assistant', content: [{ text: 'Hello from bedrock' }] } });
    assert.deepEqual(body.usage, { inputTokens: 11, outputTokens: 7, totalTokens: 18 });
    assert.equal(body.stopReason, 'end_turn');
    assert.equal(typeof body.metrics.latencyMs, 'number');
    assert.equal(fake.decode().credential, CREDS.accessKeyId);
    assert.equal(fake.decode().model, MODEL);
  });

  test("credentials are checked before the script: Bedrock's 403s, then a signed or bearer request passes", async () => {
    // Bedrock prints the canonical request it expected: the model id's ':' encoded twice.
    const WRONG_SIGNATURE = /should have been\n'POST\n\/model\/anthropic\.claude-3-5-haiku-20241022-v1%253A0\/converse/;
    fake.script({ kind: 'text', text: 'kept for later' });
    const cases: Array<[SendOptions, number, string, RegExp]> = [
      [{ creds: { secretAccessKey: 'wrong' } }, 403, 'InvalidSignatureException', WRONG_SIGNATURE],
      [{ creds: { accessKeyId: 'AKIDOTHER' } }, 403, 'UnrecognizedClientException', /security token .* is invalid/],
      [{ creds: { sessionToken: '' } }, 403, 'UnrecognizedClientException', /security token/],
      [{ creds: { region: 'us-east-1' } }, 403, 'InvalidSignatureException', /scoped to a valid region: 'eu-west-3'/],
      [{ amzDate: amzNow(-6 * 60_000) }, 403, 'InvalidSignatureException', /Signature expired/],
      [{ unsigned: ['host'] }, 403, 'InvalidSignatureException', /'host' must be a 'SignedHeader'/],
      [{ authorization: 'Bearer not-the-key' }, 403, 'UnrecognizedClientException', /security token/],
      [{ authorization: 'AWS4-HMAC-SHA256 garbage' }, 400, 'IncompleteSignatureException', /requires 'Credential'/],
    ];
    for (const [options, status, type, message] of cases) {
      const res = await send(fake, `${PATH}/converse`, CHAT, options);
      assert.equal(res.status, status, JSON.stringify(options));
      assert.match(res.headers.get('x-amzn-errortype') ?? '', new RegExp(`^${type}:`));
      assert.match(((await res.json()) as { message: string }).message, message);
      assert.equal(fake.decode().credential, undefined);
    }
    const ok = await send(fake, `${PATH}/converse`, CHAT);
    assert.equal(((await ok.json()) as any).output.message.content[0].text, 'kept for later');
    const bearer = await send(fake, `${PATH}/converse`, CHAT, { authorization: `Bearer ${MORE.apiKey}` });
    assert.equal(bearer.status, 200, 'a Bedrock API key as a bearer token');
    assert.equal(fake.decode().credential, MORE.apiKey);
  });

  test('a signature over a once-encoded path (not twice, as AWS wants) is refused', async () => {
    const amzDate = amzNow();
    const url = `${PATH}/converse`;
    const body = JSON.stringify(CHAT);
    const host = new URL(fake.origin).host;
    const signed = 'content-type;host;x-amz-date;x-amz-security-token';
    const token = MORE.sessionToken;
    const headerLines = `content-type:application/json\nhost:${host}\nx-amz-date:${amzDate}\nx-amz-security-token:${token}\n`;
    const canonical = ['POST', url, '', headerLines, signed, sha256Hex(body)].join('\n'); // url as sent: encoded once
    const scope = `${amzDate.slice(0, 8)}/${CREDS.region}/bedrock/aws4_request`;
    const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
    const key = [amzDate.slice(0, 8), CREDS.region, 'bedrock', 'aws4_request'].reduce(hmac, `AWS4${CREDS.secretAccessKey}`);
    const signature = hmac(key, ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n')).toString('hex');
    const credential = `${CREDS.accessKeyId}/${scope}`;
    const authorization = `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signed}, Signature=${signature}`;
    const res = await send(fake, url, body, { authorization });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { message: string }).message, /%253A/);
  });

  test('an unknown path or method is 404 UnknownOperationException', async () => {
    const wrong = [['POST', `${PATH}/chat`], ['GET', `${PATH}/converse`], ['POST', '/v1/chat/completions']] as const;
    for (const [method, path] of wrong) {
      const res = await send(fake, path, '', { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.match(res.headers.get('x-amzn-errortype') ?? '', /^UnknownOperationException:/);
    }
  });

  test('bodies Bedrock refuses are 400 ValidationException naming the problem, and use no answer', async () => {
    fake.script({ kind: 'text', text: 'still here' });
    const tools = { tools: [{ toolSpec: { name: 'get_time', inputSchema: { json: { type: 'object' } } } }] };
    const use = { role: 'assistant', content: [{ toolUse: { toolUseId: 'call_1', name: 'get_time', input: {} } }] };
    const result = (toolUseId: string) => ({ role: 'user', content: [{ toolResult: { toolUseId, content: [{ text: '1' }] } }] });
    const image = { image: { format: 'bmp', source: { bytes: 'AAAA' } } };
    const badTool = { tools: [{ toolSpec: { name: 'bad name', inputSchema: { json: {} } } }] };
    const cases: Array<[unknown, RegExp]> = [
      [{ messages: [USER], stream: true }, /Unknown field\(s\) in the Converse request: stream/],
      [{ messages: [] }, /must start with a user message/],
      [{ messages: [{ role: 'assistant', content: [{ text: 'x' }] }] }, /must start with a user message/],
      [{ messages: [USER, USER] }, /must alternate between user and assistant/],
      [{ messages: [{ role: 'system', content: [{ text: 'x' }] }] }, /enum value set: \[user, assistant\]/],
      [{ messages: [{ role: 'user', content: [] }] }, /content field in the Message object at messages\.0 is empty/],
      [{ messages: [{ role: 'user', content: [{ text: '  ' }] }] }, /ContentBlock object at messages\.0\.content\.0 is blank/],
      [{ messages: [USER, use, result('call_1')] }, /toolConfig field must be defined/],
      [{ toolConfig: tools, messages: [USER, use, result('call_2')] }, /messages\.2\.content .* Ids: call_1, but found: call_2/],
      [{ toolConfig: tools, messages: [USER, use, USER] }, /Expected toolResult blocks.*call_1/],
      [{ messages: [USER], inferenceConfig: { temperature: 1.5 } }, /'inferenceConfig\.temperature' failed to satisfy/],
      [{ messages: [USER], inferenceConfig: { max_tokens: 5 } }, /Unknown field\(s\) in inferenceConfig: max_tokens/],
      [{ messages: [USER], toolConfig: badTool }, /toolSpec\.name/],
      [{ messages: [{ role: 'user', content: [image] }] }, /image\.format/],
      [{ messages: [USER], system: [{ text: '' }] }, /system\.0\.text/],
    ];
    for (const [body, message] of cases) {
      const res = await send(fake, `${PATH}/converse`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const errorType = res.headers.get('x-amzn-errortype');
      assert.equal(errorType, 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/');
      assert.match(((await res.json()) as { message: string }).message, message);
    }
    const wrongType = await send(fake, `${PATH}/converse`, CHAT, { contentType: 'text/plain' });
    assert.equal(wrongType.status, 400);
    const ok = await send(fake, `${PATH}/converse`, CHAT);
    assert.equal(((await ok.json()) as any).output.message.content[0].text, 'still here');
  });

  test('decode() gives the neutral view of a full Converse conversation', async () => {
    const timeSchema = { type: 'object', properties: { tz: { type: 'string' } } };
    const calls = [
      { id: 'call_1', name: 'get_time', arguments: { tz: 'UTC' } },
      { id: 'call_2', name: 'get_date', arguments: {} },
    ];
    const uses = calls.map(({ id, name, arguments: input }) => ({ toolUse: { toolUseId: id, name, input } }));
    const results = [
      { toolResult: { toolUseId: 'call_1', content: [{ json: { time: '12:00' } }] } },
      { toolResult: { toolUseId: 'call_2', content: [{ text: 'Monday' }], status: 'success' } },
    ];
    const specs = [
      { name: 'get_time', description: 'The time', inputSchema: { json: timeSchema } },
      { name: 'get_date', inputSchema: { json: { type: 'object' } } },
    ];
    const body = {
      system: [{ text: 'Be brief.' }, { text: 'Be kind.' }],
      messages: [
        { role: 'user', content: [{ text: 'Time ' }, { text: 'and date?' }] },
        { role: 'assistant', content: [{ text: 'Checking.' }, ...uses] },
        { role: 'user', content: results },
      ],
      inferenceConfig: { maxTokens: 64, temperature: 0.5, topP: 0.9, stopSequences: ['END'] },
      toolConfig: { tools: specs.map((toolSpec) => ({ toolSpec })), toolChoice: { auto: {} } },
    };
    assert.equal((await send(fake, `${PATH}/converse`, body)).status, 200);
    const { kind, stream, model, system, maxTokens, temperature, messages, tools } = fake.decode();
    assert.deepEqual(
      { kind, stream, model, system, maxTokens, temperature },
      { kind: 'chat', stream: false, model: MODEL, system: 'Be brief.\nBe kind.', maxTokens: 64, temperature: 0.5 },
    );
    assert.deepEqual(messages, [
      { role: 'user', text: 'Time and date?' },
      { role: 'assistant', text: 'Checking.', toolCalls: calls },
      { role: 'tool', toolCallId: 'call_1', text: '{"time":"12:00"}' },
      { role: 'tool', toolCallId: 'call_2', text: 'Monday' },
    ]);
    assert.deepEqual(tools, [
      { name: 'get_time', description: 'The time', parameters: timeSchema },
      { name: 'get_date', parameters: { type: 'object' } },
    ]);
  });

  test('Converse answers: length, tool call, content filter, scripted usage', async () => {
    fake.script(
      { kind: 'text', text: 'cut', finish: 'length', usage: { input: 3, output: 4 } },
      { kind: 'tool', id: 'call_9', name: 'get_time', arguments: { tz: 'UTC' } },
      { kind: 'content-filter' },
    );
    const read = async () => (await (await send(fake, `${PATH}/converse`, CHAT)).json()) as Record<string, any>;
    const length = await read();
    assert.deepEqual([length.stopReason, length.usage], ['max_tokens', { inputTokens: 3, outputTokens: 4, totalTokens: 7 }]);
    const tool = await read();
    const toolUse = { toolUseId: 'call_9', name: 'get_time', input: { tz: 'UTC' } };
    assert.deepEqual([tool.stopReason, tool.output.message.content], ['tool_use', [{ toolUse }]]);
    const filtered = await read();
    assert.deepEqual([filtered.stopReason, filtered.output.message.content], ['content_filtered', []]);
  });

  test('each scripted error is the documented status, x-amzn-ErrorType and {message}; headers pass through', async () => {
    const expected: Array<[ErrorKind, number, string]> = [
      ['invalid_request', 400, 'ValidationException'], ['context_length', 400, 'ValidationException'],
      ['unauthenticated', 403, 'UnrecognizedClientException'], ['permission', 403, 'AccessDeniedException'],
      ['not_found', 404, 'ResourceNotFoundException'], ['rate_limit', 429, 'ThrottlingException'],
      ['server', 500, 'InternalServerException'], ['unavailable', 503, 'ServiceUnavailableException'],
      ['overloaded', 429, 'ModelNotReadyException'],
    ];
    for (const [kind, status, type] of expected) {
      assert.equal(fake.statusOf(kind), status, kind);
      fake.script({ kind: 'error', error: kind, headers: { 'retry-after': '2' } });
      const res = await send(fake, `${PATH}/converse`, CHAT);
      assert.equal(res.status, status, kind);
      assert.equal(res.headers.get('x-amzn-errortype')?.split(':')[0], type, kind);
      assert.equal(res.headers.get('retry-after'), '2');
      const { message } = (await res.json()) as { message: string };
      assert.ok(message.length > 0, kind);
      if (kind === 'context_length') assert.equal(message, 'Input is too long for requested model.');
    }
  });

  test('ConverseStream: eventstream frames in the documented order, cut across network reads', async () => {
    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo', '!'], usage: { input: 5, output: 3 } });
    const res = await send(fake, `${PATH}/converse-stream`, CHAT);
    assert.equal(res.headers.get('content-type'), 'application/vnd.amazon.eventstream');
    const { chunks, frames, broken } = await readStream(res);
    assert.equal(broken, false);
    const deltas = ['contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta'];
    assert.deepEqual(events(frames), ['messageStart', ...deltas, 'contentBlockStop', 'messageStop', 'metadata']);
    for (const { headers, payload } of frames) {
      const described = [headers[':message-type'], headers[':content-type'], typeof payload.p];
      assert.deepEqual(described, ['event', 'application/json', 'string']);
    }
    const texts = frames.slice(1, 4).map((f) => [f.payload.contentBlockIndex, f.payload.delta]);
    assert.deepEqual(texts, [[0, { text: 'Hel' }], [0, { text: 'lo' }], [0, { text: '!' }]]);
    assert.equal(frames[5]!.payload.stopReason, 'end_turn');
    assert.deepEqual(frames[6]!.payload.usage, { inputTokens: 5, outputTokens: 3, totalTokens: 8 });
    assert.ok(chunks.length > frames.length, `frames split over reads (${chunks.length} reads, ${frames.length} frames)`);
    assert.equal(fake.decode().stream, true);
  });

  test('ConverseStream tool call: contentBlockStart with the id and name, then toolUse.input pieces', async () => {
    fake.script({ kind: 'stream-tool', id: 'call_5', name: 'get_time', argumentPieces: ['{"tz":', '"UTC"}'] });
    const { frames } = await readStream(await send(fake, `${PATH}/converse-stream`, CHAT));
    const deltas = ['contentBlockDelta', 'contentBlockDelta'];
    const order = ['messageStart', 'contentBlockStart', ...deltas, 'contentBlockStop', 'messageStop', 'metadata'];
    assert.deepEqual(events(frames), order);
    assert.deepEqual(frames[1]!.payload.start, { toolUse: { toolUseId: 'call_5', name: 'get_time' } });
    const inputs = frames.slice(2, 4).map((f) => f.payload.delta);
    assert.deepEqual(inputs, [{ toolUse: { input: '{"tz":' } }, { toolUse: { input: '"UTC"}' } }]);
    assert.equal(frames[5]!.payload.stopReason, 'tool_use');
  });

  test('ConverseStream: cutAfter, an exception frame, an HTTP error before the stream, a content filter', async () => {
    const stream = async () => readStream(await send(fake, `${PATH}/converse-stream`, CHAT));
    fake.script({ kind: 'stream-text', pieces: ['a', 'b', 'c'], cutAfter: 1 });
    const cut = await stream();
    assert.equal(cut.broken, true);
    assert.deepEqual(events(cut.frames), ['messageStart', 'contentBlockDelta']);

    fake.failNextStream('throttlingException', 'slow down');
    const failed = await stream();
    assert.deepEqual(events(failed.frames), ['messageStart', 'contentBlockDelta', '!throttlingException']);
    const last = failed.frames[2]!;
    assert.deepEqual([last.headers[':message-type'], last.payload], ['exception', { message: 'slow down' }]);

    fake.script({ kind: 'error', error: 'rate_limit' }, { kind: 'content-filter' });
    const refused = await send(fake, `${PATH}/converse-stream`, CHAT);
    assert.deepEqual([refused.status, refused.headers.get('content-type')], [429, 'application/json']);
    const filtered = await stream();
    assert.deepEqual(events(filtered.frames), ['messageStart', 'messageStop', 'metadata']);
    assert.equal(filtered.frames[1]!.payload.stopReason, 'content_filtered');
  });

  test('InvokeModel embeddings: Titan and Cohere bodies in, their shapes out, strict like Bedrock', async () => {
    const TITAN = `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`;
    const COHERE = '/model/cohere.embed-english-v3/invoke';
    const embed = async (path: string, body: unknown) =>
      (await (await send(fake, path, body)).json()) as Record<string, unknown>;
    fake.script({ kind: 'embedding', vectors: [[1, 2]], usage: { input: 4, output: 0 } });
    fake.script({ kind: 'embedding', vectors: [[1], [2]] });

    const titan = await embed(TITAN, { inputText: 'hello', dimensions: 256 });
    assert.deepEqual(titan, { embedding: [1, 2], inputTextTokenCount: 4, embeddingsByType: { float: [1, 2] } });
    const { kind, inputs, model } = fake.decode();
    assert.deepEqual([kind, inputs, model], ['embedding', ['hello'], 'amazon.titan-embed-text-v2:0']);

    const cohere = await embed(COHERE, { texts: ['a', 'b'], input_type: 'search_document' });
    const { embeddings, response_type: type, texts, id } = cohere;
    assert.deepEqual([embeddings, type, texts, typeof id], [[[1], [2]], 'embeddings_floats', ['a', 'b'], 'string']);
    assert.deepEqual(fake.decode().inputs, ['a', 'b']);

    const refusals: Array<[string, unknown, RegExp]> = [
      [COHERE, { texts: ['a'] }, /required key \[input_type\] not found/],
      ['/model/amazon.titan-embed-text-v1/invoke', { inputText: 'a', dimensions: 256 }, /extraneous key \[dimensions\]/],
      ['/model/amazon.titan-embed-text-v1/invoke', { input: 'a' }, /extraneous key \[input\] is not permitted/],
    ];
    for (const [path, body, message] of refusals) {
      const res = await send(fake, path, body);
      assert.equal(res.status, 400, path);
      assert.match(((await res.json()) as { message: string }).message, message);
    }
    const unscripted = await embed(COHERE, { texts: ['x', 'y', 'z'], input_type: 'search_query' });
    assert.equal((unscripted.embeddings as unknown[]).length, 3);
  });

  test('reset() forgets the requests and the script', async () => {
    fake.script({ kind: 'text', text: 'forgotten' });
    await send(fake, `${PATH}/chat`, '');
    fake.reset();
    assert.equal(fake.received.length, 0);
    assert.throws(() => fake.decode(), /no request/);
    const res = await send(fake, `${PATH}/converse`, CHAT);
    assert.equal(((await res.json()) as any).output.message.content[0].text, 'Hello from bedrock');
  });
});
