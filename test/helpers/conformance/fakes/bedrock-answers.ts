/**
 * What the Bedrock fake answers, in Bedrock's shapes (Bedrock Runtime API reference): the error
 * table per ErrorKind (status, `x-amzn-ErrorType`, message), the Converse body, the ConverseStream
 * events (messageStart, contentBlockStart for a tool use, contentBlockDelta per piece,
 * contentBlockStop, messageStop, metadata; each payload with Bedrock's `p` padding), the exception
 * frame, and the Titan / Cohere InvokeModel embedding bodies.
 */
import { randomUUID } from 'node:crypto';
import type { Answer, ErrorKind, ScriptUsage } from '../types.js';
import { embeddingFamily } from './bedrock-validate.js';
import { encodeFrame } from './bedrock-wire.js';

/** The exception events ConverseStream documents inside a stream (`:exception-type`). */
export type StreamExceptionType =
  | 'internalServerException'
  | 'modelStreamErrorException'
  | 'validationException'
  | 'throttlingException'
  | 'serviceUnavailableException';

type Json = Record<string, unknown>;
/** The three Bedrock Runtime operations the fake serves. */
export type Operation = 'converse' | 'converse-stream' | 'invoke';

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Usage when the script gives none. */
export const DEFAULT_USAGE: ScriptUsage = { input: 11, output: 7 };

/** Status, `x-amzn-ErrorType` and message per error kind, from the Bedrock Runtime API reference. */
export const ERRORS: Record<ErrorKind, readonly [number, string, string]> = {
  invalid_request: [400, 'ValidationException', 'Malformed input request, please reformat your input and try again.'],
  context_length: [400, 'ValidationException', 'Input is too long for requested model.'],
  unauthenticated: [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'],
  permission: [403, 'AccessDeniedException', "You don't have access to the model with the specified model ID."],
  not_found: [404, 'ResourceNotFoundException', 'The requested model was not found.'],
  rate_limit: [429, 'ThrottlingException', 'Too many requests, please wait before trying again.'],
  server: [
    500,
    'InternalServerException',
    'The system encountered an unexpected error during processing. Try your request again.',
  ],
  unavailable: [503, 'ServiceUnavailableException', 'Bedrock is unable to process your request.'],
  overloaded: [429, 'ModelNotReadyException', 'Model is not ready for inference. Wait and try your request again.'],
};

const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
let padTurn = 0;

/** An event frame; the payload carries Bedrock's `p` padding field, which clients must ignore. */
function eventFrame(type: string, payload: Json): Buffer {
  const p = PADDING.slice(0, 3 + ((padTurn++ * 17) % 50));
  const headers = { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' };
  return encodeFrame(headers, Buffer.from(JSON.stringify({ ...payload, p })));
}

/** An exception frame, as ConverseStream sends an error after the stream has started. */
export function exceptionFrame(type: StreamExceptionType, message: string): Buffer {
  const headers = { ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' };
  return encodeFrame(headers, Buffer.from(JSON.stringify({ message })));
}

/** A Converse stream: opening events, one delta per scripted piece, closing events. */
export interface StreamPlan {
  readonly head: Buffer[];
  readonly pieces: Buffer[];
  readonly tail: Buffer[];
}
const usageOf = (u: ScriptUsage = DEFAULT_USAGE) => ({
  inputTokens: u.input,
  outputTokens: u.output,
  totalTokens: u.input + u.output,
});
const stopOf = (finish?: 'stop' | 'length'): string => (finish === 'length' ? 'max_tokens' : 'end_turn');

/** Turns a chat answer into the Converse stream's events, in the documented order. */
export function streamPlan(answer: Answer, started: number): StreamPlan {
  const head = [eventFrame('messageStart', { role: 'assistant' })];
  const delta = (d: Json): Buffer => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: d });
  let pieces: Buffer[] = [];
  let stopReason = 'content_filtered';
  if (answer.kind === 'stream-text' || answer.kind === 'text') {
    pieces = (answer.kind === 'text' ? [answer.text] : answer.pieces).map((text) => delta({ text }));
    stopReason = stopOf(answer.finish);
  } else if (answer.kind === 'stream-tool' || answer.kind === 'tool') {
    head.push(
      eventFrame('contentBlockStart', {
        contentBlockIndex: 0,
        start: { toolUse: { toolUseId: answer.id, name: answer.name } },
      }),
    );
    pieces = (answer.kind === 'tool' ? [JSON.stringify(answer.arguments)] : answer.argumentPieces).map((input) =>
      delta({ toolUse: { input } }),
    );
    stopReason = 'tool_use';
  }
  const usage = 'usage' in answer ? answer.usage : undefined;
  const tail = [
    ...(stopReason === 'content_filtered' ? [] : [eventFrame('contentBlockStop', { contentBlockIndex: 0 })]),
    eventFrame('messageStop', { stopReason }),
    eventFrame('metadata', { usage: usageOf(usage), metrics: { latencyMs: Date.now() - started } }),
  ];
  return { head, pieces, tail };
}

/** The Converse (non-streamed) body for a chat answer. */
export function converseBody(answer: Answer, started: number): Json {
  let content: Json[] = [];
  let stopReason = 'content_filtered';
  if (answer.kind === 'text' || answer.kind === 'stream-text') {
    content = [{ text: answer.kind === 'text' ? answer.text : answer.pieces.join('') }];
    stopReason = stopOf(answer.finish);
  } else if (answer.kind === 'tool' || answer.kind === 'stream-tool') {
    const input =
      answer.kind === 'tool' ? answer.arguments : (JSON.parse(answer.argumentPieces.join('') || '{}') as unknown);
    content = [{ toolUse: { toolUseId: answer.id, name: answer.name, input } }];
    stopReason = 'tool_use';
  }
  const usage = 'usage' in answer ? answer.usage : undefined;
  return {
    output: { message: { role: 'assistant', content } },
    stopReason,
    usage: usageOf(usage),
    metrics: { latencyMs: Date.now() - started },
  };
}

/** The InvokeModel body for an embedding answer, in the Titan or Cohere shape the model id names. */
export function embeddingBody(model: string, body: Json, answer: Extract<Answer, { kind: 'embedding' }>): Json {
  const usage = answer.usage ?? DEFAULT_USAGE;
  const family = embeddingFamily(model);
  if (family === 'cohere') {
    const texts = body.texts as string[];
    return {
      embeddings: texts.map((_, i) => answer.vectors[i] ?? []),
      id: randomUUID(),
      response_type: 'embeddings_floats',
      texts,
    };
  }
  const embedding = answer.vectors[0] ?? [];
  return {
    embedding,
    inputTextTokenCount: usage.input,
    ...(family === 'titan-v2' ? { embeddingsByType: { float: embedding } } : {}),
  };
}

/** Once the script is used up: Bedrock's greeting, or one small vector per text to embed. */
export function defaultAnswer(op: Operation, body: unknown): Answer {
  if (op !== 'invoke') return { kind: 'text', text: 'Hello from bedrock' };
  const count = isObject(body) && Array.isArray(body.texts) ? body.texts.length : 1;
  return { kind: 'embedding', vectors: Array.from({ length: count }, (_, i) => [0.1 * (i + 1), 0.2, 0.3]) };
}

