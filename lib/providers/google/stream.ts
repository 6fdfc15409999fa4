/**
 * Gemini stream translation (`streamGenerateContent?alt=sse`): every `data:` event is a whole
 * `GenerateContentResponse` holding the next piece of each candidate. They become OpenAI
 * `chat.completion.chunk`s: a role chunk per choice first, content deltas, each function call
 * whole as one tool_calls delta, the finish, then one usage chunk. Gemini sends no `[DONE]`: the
 * stream ends with the finish.
 */
import { InvalidUpstreamResponse, UpstreamStreamError } from '../../errors.js';
import { nowSeconds } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, StreamEvent, StreamState, UnifiedChunk, Usage } from '../types.js';
import { googleErrorClass } from './errors.js';
import { blockedPrompt, callId, candidateParts, finishReasonOf, modelOf, newId, toolCallOf, usageOf } from './response.js';

/** What one stream keeps between events (in `state.google`). */
interface GeminiStreamState {
  readonly id: string;
  model: unknown;
  readonly created: number;
  /** Choices whose role chunk went out. */
  readonly started: Set<number>;
  /** Tool calls so far, per choice (the next tool_calls index). */
  readonly toolCounts: Map<number, number>;
  readonly usedIds: Set<string>;
  readonly finished: Set<number>;
  /** Choices that must finish before the usage chunk (the request's `n`). */
  readonly expected: number;
  /** The latest usageMetadata (Gemini repeats it; the last value wins). */
  usage?: Usage;
  usageSent: boolean;
}

function streamState(state: StreamState, data: JsonObject, ctx: ParseContext): GeminiStreamState {
  if (isObject(state.google)) return state.google as unknown as GeminiStreamState;
  const n = ctx.request.body.n;
  const s: GeminiStreamState = {
    id: typeof data.responseId === 'string' && data.responseId !== '' ? data.responseId : newId('chatcmpl-'),
    model: modelOf(data, ctx),
    created: nowSeconds(),
    started: new Set(),
    toolCounts: new Map(),
    usedIds: new Set(),
    finished: new Set(),
    expected: typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1,
    usageSent: false,
  };
  state.google = s as unknown as JsonObject;
  return s;
}

function chunk(s: GeminiStreamState, index: number, delta: JsonObject, finish: string | null = null): UnifiedChunk {
  return {
    id: s.id,
    object: 'chat.completion.chunk',
    created: s.created,
    model: s.model,
    choices: [{ index, delta, logprobs: null, finish_reason: finish }],
  };
}

/** An `{error:{code,message,status}}` event as the failure it stands for. */
function streamError(err: JsonObject, provider: string): UpstreamStreamError {
  const status = typeof err.code === 'number' && err.code >= 400 && err.code <= 599 ? err.code : 500;
  const code = typeof err.status === 'string' && err.status !== '' ? err.status : undefined;
  const message = typeof err.message === 'string' && err.message !== '' ? err.message : `${provider} stream error`;
  return new UpstreamStreamError(message, status, googleErrorClass(status, code, message, err.details), code);
}

/** The chunks of one candidate's piece: role (once), text, function calls, finish. */
function candidateChunks(s: GeminiStreamState, candidate: JsonObject, position: number): UnifiedChunk[] {
  const index = typeof candidate.index === 'number' ? candidate.index : position;
  const out: UnifiedChunk[] = [];
  if (!s.started.has(index)) {
    s.started.add(index);
    out.push(chunk(s, index, { role: 'assistant', content: '' }));
  }
  const { texts, calls } = candidateParts(candidate);
  const text = texts.join('');
  if (text !== '') out.push(chunk(s, index, { content: text }));
  for (const { part, call } of calls) {
    const toolIndex = s.toolCounts.get(index) ?? 0;
    s.toolCounts.set(index, toolIndex + 1);
    out.push(chunk(s, index, { tool_calls: [{ index: toolIndex, ...toolCallOf(part, call, callId(call, s.usedIds)) }] }));
  }
  const reason = candidate.finishReason;
  if (typeof reason === 'string' && reason !== '' && reason !== 'FINISH_REASON_UNSPECIFIED' && !s.finished.has(index)) {
    s.finished.add(index);
    out.push(chunk(s, index, {}, finishReasonOf(reason, s.toolCounts.has(index))));
  }
  return out;
}

/** The usage chunk, once every expected choice finished and usage is known. */
function usageChunk(s: GeminiStreamState, state: StreamState): UnifiedChunk[] {
  if (state.includeUsage !== true || s.usageSent || s.usage === undefined || s.finished.size < s.expected) return [];
  s.usageSent = true;
  return [{ id: s.id, object: 'chat.completion.chunk', created: s.created, model: s.model, choices: [], usage: s.usage }];
}

/**
 * Turns one Gemini stream event into OpenAI chunks. Throws InvalidUpstreamResponse for an event
 * that is not a JSON object; UpstreamStreamError for an error event (its code as status) and for
 * a blocked prompt (400 `content_filter`).
 */
export function parseGeminiStreamEvent(event: StreamEvent, state: StreamState, ctx: ParseContext, provider: string): UnifiedChunk[] {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new InvalidUpstreamResponse(`${provider} stream event is not valid JSON`);
  }
  if (Array.isArray(data) && data.length === 1) data = data[0];
  if (!isObject(data)) throw new InvalidUpstreamResponse(`${provider} stream event is not a JSON object`);
  if (isObject(data.error)) throw streamError(data.error, provider);
  const blocked = blockedPrompt(data, provider);
  if (blocked) throw blocked;

  const s = streamState(state, data, ctx);
  if (typeof data.modelVersion === 'string' && data.modelVersion !== '') s.model = data.modelVersion;
  if (isObject(data.usageMetadata)) s.usage = usageOf(data.usageMetadata);
  const out: UnifiedChunk[] = [];
  const candidates = Array.isArray(data.candidates) ? data.candidates : [];
  candidates.forEach((c, k) => {
    for (const item of candidateChunks(s, isObject(c) ? c : {}, k)) out.push(item);
  });
  for (const item of usageChunk(s, state)) out.push(item);
  return out;
}
