/**
 * Cohere stream translation: v2 Chat stream events (`message-start`, `content-delta`,
 * `tool-call-start`, `tool-call-delta`, `message-end`, ...) become OpenAI `chat.completion.chunk`s.
 *
 * `tool-plan-delta` yields nothing: the tool plan is Cohere's reasoning before its tool calls
 * ("a chain-of-thought style reflection and plan"), not the answer, and the JSON reply leaves it
 * out too. Citation, `*-end` and debug events have no OpenAI counterpart either.
 */
import { InvalidUpstreamResponse } from '../../errors.js';
import { nowSeconds, toolIndexes } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, StreamEvent, StreamState, UnifiedChunk } from '../types.js';
import { finishReason, usageOf } from './response.js';

// What the adapter keeps in the per-stream state (flat keys): `id`, `model`, `created`,
// `toolIndexByBlock` (Cohere tool-call index -> OpenAI tool_calls index) and `toolCount`. The
// caller sets `includeUsage`.

/** What every chunk carries: the stream's id, created (set on the first) and model (the requested one until Cohere names one). */
function base(state: StreamState, ctx: ParseContext): JsonObject {
  if (typeof state.created !== 'number') state.created = nowSeconds();
  return { id: state.id, object: 'chat.completion.chunk', created: state.created, model: state.model ?? ctx.request.body.model };
}

function chunk(state: StreamState, ctx: ParseContext, delta: JsonObject, finish: string | null = null): UnifiedChunk {
  return { ...base(state, ctx), choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

/** `data.delta.message`, or an empty object. */
function deltaMessage(data: JsonObject): JsonObject {
  const delta = isObject(data.delta) ? data.delta : {};
  return isObject(delta.message) ? delta.message : {};
}

function messageStart(data: JsonObject, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  state.id = data.id;
  state.model = ctx.request.body.model;
  return [chunk(state, ctx, { role: 'assistant', content: '' })];
}

/** `content-start` (may carry a first piece) and `content-delta`: their text; thinking is left out. */
function content(data: JsonObject, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  const block = deltaMessage(data).content;
  if (!isObject(block) || block.type === 'thinking' || typeof block.text !== 'string' || block.text === '') return [];
  return [chunk(state, ctx, { content: block.text })];
}

function toolCallStart(data: JsonObject, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  const call = deltaMessage(data).tool_calls;
  if (!isObject(call)) return [];
  const fn = isObject(call.function) ? call.function : {};
  const index = typeof state.toolCount === 'number' ? state.toolCount : 0;
  state.toolCount = index + 1;
  toolIndexes(state)[typeof data.index === 'number' ? data.index : index] = index;
  const out = [chunk(state, ctx, { tool_calls: [{ index, id: call.id, type: 'function', function: { name: fn.name, arguments: '' } }] })];
  if (typeof fn.arguments === 'string' && fn.arguments !== '') {
    out.push(chunk(state, ctx, { tool_calls: [{ index, function: { arguments: fn.arguments } }] }));
  }
  return out;
}

function toolCallDelta(data: JsonObject, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  const call = deltaMessage(data).tool_calls;
  const fn = isObject(call) && isObject(call.function) ? call.function : {};
  const indexes = toolIndexes(state);
  const index = typeof data.index === 'number' ? indexes[data.index] : undefined;
  if (index === undefined || typeof fn.arguments !== 'string' || fn.arguments === '') return [];
  return [chunk(state, ctx, { tool_calls: [{ index, function: { arguments: fn.arguments } }] })];
}

/** The finish chunk, then (when the reader asks) the usage chunk; ERROR and TIMEOUT throw. */
function messageEnd(data: JsonObject, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  const delta = isObject(data.delta) ? data.delta : {};
  // An `error` without a finish reason is the generation failing too.
  const reason = delta.finish_reason === undefined && typeof delta.error === 'string' && delta.error !== '' ? 'ERROR' : delta.finish_reason;
  const out = [chunk(state, ctx, {}, finishReason(reason, delta.error))];
  if (state.includeUsage === true) out.push({ ...base(state, ctx), choices: [], usage: usageOf(delta.usage) });
  return out;
}

/**
 * Turns one Cohere v2 stream event into OpenAI chunks. Throws `InvalidUpstreamResponse` for an
 * event that is not a JSON object, `UpstreamStreamError` for a `message-end` that reports the
 * generation failed (`ERROR`, or an `error` text) or ran out of time (`TIMEOUT`).
 */
export function parseCohereStreamEvent(event: StreamEvent, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new InvalidUpstreamResponse('cohere stream event is not valid JSON');
  }
  if (!isObject(data)) throw new InvalidUpstreamResponse('cohere stream event is not a JSON object');
  switch (typeof data.type === 'string' ? data.type : event.event) {
    case 'message-start':
      return messageStart(data, state, ctx);
    case 'content-start':
    case 'content-delta':
      return content(data, state, ctx);
    case 'tool-call-start':
      return toolCallStart(data, state, ctx);
    case 'tool-call-delta':
      return toolCallDelta(data, state, ctx);
    case 'message-end':
      return messageEnd(data, state, ctx);
    default:
      // tool-plan-delta, content-end, tool-call-end, citation-start/-end, debug, and new types.
      return [];
  }
}
