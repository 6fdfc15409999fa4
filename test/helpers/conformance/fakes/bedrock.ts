/**
 * A fake AWS Bedrock Runtime, written from AWS's public documentation only (the Bedrock Runtime
 * API reference and its Smithy model, the IAM SigV4 guide, the event-stream encoding guide, the
 * Titan and Cohere embedding parameter pages), never from our adapter. It checks every SigV4
 * signature (or a Bedrock API key) before anything else, validates bodies as Bedrock does
 * (bedrock-validate.ts), answers Converse (JSON), ConverseStream (binary
 * `application/vnd.amazon.eventstream` frames, each written in two TCP writes cut at an awkward
 * offset) and InvokeModel embeddings (Titan, Cohere), and decodes what it received.
 *
 * SigV4 and the event-stream encoding (bedrock-wire.ts) are our own, on node:crypto, so that they
 * stay independent of the libraries the adapter uses.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { isObject, jsonBody, parseJson, sendJson, startScriptedServer } from '../scripted-server.js';
import type { Answer, ConformanceFake, NeutralMessage, NeutralRequest, RawReceived } from '../types.js';
import {
  converseBody,
  DEFAULT_USAGE,
  defaultAnswer,
  embeddingBody,
  ERRORS,
  exceptionFrame,
  streamPlan,
  type Operation,
  type StreamExceptionType,
} from './bedrock-answers.js';
import { validateConverse, validateInvoke } from './bedrock-validate.js';
import { authenticate, decodeLoose, type BedrockFakeOptions } from './bedrock-wire.js';

export type { BedrockFakeOptions } from './bedrock-wire.js';
export type { StreamExceptionType } from './bedrock-answers.js';

/** The Bedrock fake: the suite's contract, plus an in-stream exception on demand. */
export interface BedrockFake extends ConformanceFake {
  /**
   * The next streamed answer sends its pieces, then this exception frame (`:message-type`
   * `exception`) in place of contentBlockStop/messageStop/metadata, then ends: how Bedrock
   * reports an error after a ConverseStream has started.
   */
  failNextStream(type: StreamExceptionType, message?: string): void;
}

type Json = Record<string, unknown>;

const BEDROCK_FAULT = ':http://internal.amazon.com/coral/com.amazon.bedrock/';
const CORAL_FAULT = ':http://internal.amazon.com/coral/com.amazon.coral.service/';

// ---------------------------------------------------------------- decoding

type Route = { readonly op: Operation; readonly model: string };

/** The operation and the (decoded) model id of a request path, when it names one. */
function routeOf(method: string, url: string): Route | undefined {
  const m = /^\/model\/([^/?]+)\/(converse|converse-stream|invoke)(?:\?.*)?$/s.exec(url);
  return method === 'POST' && m ? { op: m[2] as Operation, model: decodeLoose(m[1]!) } : undefined;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const blocksOf = (m: Json): Json[] => list(m.content).filter(isObject);

function toolResultText(content: unknown): string {
  return list(content)
    .filter(isObject)
    .map((c) => (typeof c.text === 'string' ? c.text : c.json !== undefined ? JSON.stringify(c.json) : ''))
    .join('');
}

/** Converse messages in the neutral view: a user turn of tool results becomes one `tool` turn each. */
function decodeMessages(messages: unknown): NeutralMessage[] {
  const out: NeutralMessage[] = [];
  for (const m of list(messages).filter(isObject)) {
    const results = blocksOf(m)
      .map((b) => b.toolResult)
      .filter(isObject);
    for (const r of results)
      out.push({ role: 'tool', toolCallId: String(r.toolUseId), text: toolResultText(r.content) });
    const rest = blocksOf(m).filter((b) => !isObject(b.toolResult));
    if (results.length > 0 && rest.length === 0) continue;
    const text = rest.map((b) => (typeof b.text === 'string' ? b.text : '')).join('');
    const toolCalls = rest
      .map((b) => b.toolUse)
      .filter(isObject)
      .map((u) => ({ id: String(u.toolUseId), name: String(u.name), arguments: u.input }));
    out.push({
      role: m.role === 'assistant' ? 'assistant' : 'user',
      text,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    });
  }
  return out;
}

function decodeRequest(raw: RawReceived, credential: string | undefined): NeutralRequest {
  const route = routeOf(raw.method, raw.url);
  const json = jsonBody(raw);
  const base = { model: route?.model ?? '', credential, messages: [] as NeutralMessage[], tools: [] };
  if (route?.op === 'invoke') {
    const inputs = typeof json.inputText === 'string' ? [json.inputText] : list(json.texts).map(String);
    return { ...base, kind: 'embedding', stream: false, inputs };
  }
  const config = isObject(json.inferenceConfig) ? json.inferenceConfig : {};
  const system = list(json.system)
    .filter(isObject)
    .map((s) => s.text)
    .filter((t): t is string => typeof t === 'string');
  const tools = list(isObject(json.toolConfig) ? json.toolConfig.tools : [])
    .filter(isObject)
    .map((t) => (isObject(t.toolSpec) ? t.toolSpec : {}));
  return {
    ...base,
    kind: 'chat',
    stream: route?.op === 'converse-stream',
    messages: decodeMessages(json.messages),
    tools: tools.map((s) => ({
      name: String(s.name),
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
      ...(isObject(s.inputSchema) ? { parameters: s.inputSchema.json } : {}),
    })),
    ...(system.length > 0 ? { system: system.join('\n') } : {}),
    ...(typeof config.maxTokens === 'number' ? { maxTokens: config.maxTokens } : {}),
    ...(typeof config.temperature === 'number' ? { temperature: config.temperature } : {}),
  };
}

// ---------------------------------------------------------------- the server

/** Cut points that land mid-prelude, mid-prelude-CRC, mid-header, in the payload, mid-message-CRC. */
const CUTS: ReadonlyArray<(frame: Buffer) => number> = [
  () => 5,
  () => 10,
  () => 15,
  (f) => 12 + f.readUInt32BE(4) + 1,
  (f) => f.length - 2,
];


const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

function sendError(
  res: http.ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const fault = /Signature|UnrecognizedClient|MissingAuthentication/.test(type) ? CORAL_FAULT : BEDROCK_FAULT;
  sendJson(res, status, { message }, { 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': type + fault, ...headers });
}

function sendOk(res: http.ServerResponse, body: Json, headers: Record<string, string> = {}): void {
  sendJson(res, 200, body, { 'x-amzn-requestid': randomUUID(), ...headers });
}

/** Writes the frames, each in two TCP writes; `cutAfter` pieces destroys the socket; an exception ends it. */
async function sendStream(
  res: http.ServerResponse,
  answer: Answer,
  started: number,
  failure?: readonly [StreamExceptionType, string],
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
  res.socket?.setNoDelay(true);
  const plan = streamPlan(answer, started);
  const frames = [...plan.head, ...plan.pieces, ...(failure ? [exceptionFrame(...failure)] : plan.tail)];
  const cutAfter = answer.kind === 'stream-text' ? answer.cutAfter : undefined;
  for (const [i, frame] of frames.entries()) {
    if (res.destroyed) return;
    const cut = CUTS[i % CUTS.length]!(frame);
    res.write(frame.subarray(0, cut));
    await pause();
    res.write(frame.subarray(cut));
    await pause();
    if (cutAfter !== undefined && i + 1 - plan.head.length === cutAfter) return void res.destroy();
  }
  res.end();
}

/** Answers a valid, authenticated request with its scripted answer, in the operation's shape. */
function respond(
  res: http.ServerResponse,
  route: Route,
  body: unknown,
  answer: Answer,
  failure?: readonly [StreamExceptionType, string],
): void | Promise<void> {
  const started = Date.now();
  if (answer.kind === 'error') return sendError(res, ...ERRORS[answer.error], answer.headers);
  if ((route.op === 'invoke') !== (answer.kind === 'embedding')) {
    return sendError(
      res,
      500,
      'InternalServerException',
      `Fake script mismatch: a '${answer.kind}' answer for a ${route.op} request.`,
    );
  }
  if (answer.kind === 'embedding') {
    const usage = answer.usage ?? DEFAULT_USAGE;
    const headers = {
      'x-amzn-bedrock-input-token-count': String(usage.input),
      'x-amzn-bedrock-invocation-latency': '1',
    };
    return sendOk(res, embeddingBody(route.model, body as Json, answer), headers);
  }
  if (route.op === 'converse') return sendOk(res, converseBody(answer, started));
  return sendStream(res, answer, started, failure);
}

/** Starts the fake on 127.0.0.1, port 0, on the shared scripted server (../scripted-server.ts). */
export async function startBedrockFake(opts: BedrockFakeOptions): Promise<BedrockFake> {
  const credentials: (string | undefined)[] = [];
  let failure: readonly [StreamExceptionType, string] | undefined;

  async function handle(raw: RawReceived, res: http.ServerResponse): Promise<void> {
    // SigV4 signs the headers as sent, so it reads the raw ones (repeats and case kept).
    const auth = authenticate(opts, raw.method, raw.url, res.req.rawHeaders, raw.body);
    credentials.push(auth.ok ? auth.credential : undefined);
    if (!auth.ok) return sendError(res, auth.status, auth.type, auth.message);
    const route = routeOf(raw.method, raw.url);
    if (!route)
      return sendError(
        res,
        404,
        'UnknownOperationException',
        `No Bedrock Runtime operation at ${raw.method} ${raw.url}.`,
      );
    const body = parseJson(raw.body);
    const contentType = String(raw.headers['content-type'] ?? '');
    const invalid = !contentType.startsWith('application/json')
      ? `Content-Type must be application/json (the ${route.op} request syntax), got '${contentType}'.`
      : route.op === 'invoke'
        ? validateInvoke(route.model, body)
        : validateConverse(body);
    if (invalid) return sendError(res, 400, 'ValidationException', invalid);
    const answer = server.next(defaultAnswer(route.op, body));
    const fail = route.op === 'converse-stream' ? failure : undefined;
    if (fail) failure = undefined;
    return respond(res, route, body, answer, fail);
  }

  const server = await startScriptedServer('Hello from bedrock', (raw, res) =>
    handle(raw, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'InternalServerException', `Fake failure: ${String(error)}`);
      else res.destroy();
    }),
  );
  const { origin, received } = server;
  return {
    origin,
    baseURL: origin,
    received,
    decode: (index = received.length - 1) => {
      const raw = received[index];
      if (!raw) throw new Error(`bedrock fake: no request #${index} (received ${received.length})`);
      return decodeRequest(raw, credentials[index]);
    },
    script: server.script,
    statusOf: (error) => ERRORS[error][0],
    failNextStream: (type, message = `The stream failed: ${type}.`) => void (failure = [type, message]),
    reset: () => {
      server.reset();
      credentials.length = 0;
      failure = undefined;
    },
    close: server.close,
  };
}
