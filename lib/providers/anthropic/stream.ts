/**
 * Anthropic stream translation: Messages API stream events (`message_start`,
 * `content_block_*`, `message_delta`, `message_stop`, `error`) become OpenAI
 * `chat.completion.chunk`s.
 */
import { InvalidUpstreamResponse, UpstreamStreamError } from '../../errors.js';
import { nowSeconds, num, streamChunk as chunk, toolIndexes, usageChunk } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, StreamEvent, StreamState, UnifiedChunk } from '../types.js';
import { anthropicErrorClass } from './errors.js';
import { finishReason, promptTokens } from './response.js';

// What the adapter keeps in the per-stream state (flat keys, so the caller can read them too):
// `id`, `model`, `created`, `promptTokens`, `completionTokens`, `toolIndexByBlock` (Anthropic
// content-block index -> OpenAI tool_calls index) and `toolCount`. The caller sets `includeUsage`.

/** An `event: error` as the failure it stands for: 529 overloaded, 429 rate limited, else 500. */
function streamError(err: JsonObject | undefined): UpstreamStreamError {
  const type = typeof err?.type === 'string' && err.type !== '' ? err.type : undefined;
  const message = typeof err?.message === 'string' && err.message !== '' ? err.message : 'anthropic stream error';
  const status = type === 'overloaded_error' ? 529 : type === 'rate_limit_error' ? 429 : 500;
  return new UpstreamStreamError(message, status, anthropicErrorClass(status, type, message), type);
}

function messageStart(data: JsonObject, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  const message = isObject(data.message) ? data.message : {};
  const usage = isObject(message.usage) ? message.usage : {};
  state.id = message.id;
  state.model = typeof message.model === 'string' ? message.model : ctx.request.body.model;
  state.created = nowSeconds();
  state.promptTokens = promptTokens(usage);
  state.completionTokens = num(usage.output_tokens);
  return [chunk(state, { role: 'assistant', content: '' })];
}

function contentBlockStart(data: JsonObject, state: StreamState): UnifiedChunk[] {
  const block = isObject(data.content_block) ? data.content_block : {};
  if (block.type === 'tool_use') {
    const index = typeof state.toolCount === 'number' ? state.toolCount : 0;
    state.toolCount = index + 1;
    toolIndexes(state)[num(data.index)] = index;
    return [
      chunk(state, {
        tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }],
      }),
    ];
  }
  if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
    return [chunk(state, { content: block.text })];
  }
  return [];
}

function contentBlockDelta(data: JsonObject, state: StreamState): UnifiedChunk[] {
  const delta = isObject(data.delta) ? data.delta : {};
  if (delta.type === 'text_delta' && typeof delta.text === 'string') {
    return [chunk(state, { content: delta.text })];
  }
  if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
    const index = toolIndexes(state)[num(data.index)];
    if (index === undefined) return [];
    return [chunk(state, { tool_calls: [{ index, function: { arguments: delta.partial_json } }] })];
  }
  // thinking_delta, signature_delta, citations_delta: no OpenAI counterpart.
  return [];
}

function messageDelta(data: JsonObject, state: StreamState): UnifiedChunk[] {
  const delta = isObject(data.delta) ? data.delta : {};
  const usage = isObject(data.usage) ? data.usage : {};
  if (typeof usage.output_tokens === 'number') state.completionTokens = usage.output_tokens;
  if (typeof usage.input_tokens === 'number') state.promptTokens = promptTokens(usage);
  return [chunk(state, {}, finishReason(delta.stop_reason))];
}

function messageStop(state: StreamState): UnifiedChunk[] {
  if (state.includeUsage !== true) return [];
  const prompt = num(state.promptTokens);
  const completion = num(state.completionTokens);
  return [usageChunk(state, { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion })];
}

/**
 * Turns one Anthropic stream event into OpenAI chunks. Throws `InvalidUpstreamResponse` for an
 * event that is not a JSON object, `UpstreamStreamError` for an `error` event.
 */
export function parseAnthropicStreamEvent(event: StreamEvent, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new InvalidUpstreamResponse('anthropic stream event is not valid JSON');
  }
  if (!isObject(data)) throw new InvalidUpstreamResponse('anthropic stream event is not a JSON object');
  const type = typeof data.type === 'string' ? data.type : event.event;

  switch (type) {
    case 'message_start':
      return messageStart(data, state, ctx);
    case 'content_block_start':
      return contentBlockStart(data, state);
    case 'content_block_delta':
      return contentBlockDelta(data, state);
    case 'message_delta':
      return messageDelta(data, state);
    case 'message_stop':
      return messageStop(state);
    case 'error':
      throw streamError(isObject(data.error) ? data.error : undefined);
    default:
      // ping, content_block_stop and event types added later.
      return [];
  }
}
