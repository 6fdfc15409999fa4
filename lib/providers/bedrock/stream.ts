/**
 * Bedrock stream translation: ConverseStream events (`messageStart`, `contentBlockStart`,
 * `contentBlockDelta`, `contentBlockStop`, `messageStop`, `metadata`, and the exception messages)
 * become OpenAI `chat.completion.chunk`s.
 */
import { InvalidUpstreamResponse } from '../../errors.js';
import { nowSeconds, num, streamChunk as chunk, toolIndexes, usageChunk } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, StreamEvent, StreamState, UnifiedChunk } from '../types.js';
import { bedrockStreamError } from './errors.js';
import { ERROR_EVENT_PREFIX, EXCEPTION_EVENT_PREFIX } from './eventstream.js';
import { completionId, finishReason, requestedModel, usageOf } from './response.js';

/**
 * The per-stream state (flat keys): `id`, `created`, `model`, `toolIndexByBlock` (Converse
 * contentBlockIndex -> OpenAI tool_calls index) and `toolCount`. The caller sets `includeUsage`.
 */
function begin(state: StreamState, ctx: ParseContext): void {
  if (typeof state.id === 'string') return;
  state.id = completionId();
  state.created = nowSeconds();
  state.model = requestedModel(ctx);
}

/** contentBlockStart: a toolUse block opens an OpenAI tool call (its id and name, no arguments yet). */
function blockStart(data: JsonObject, state: StreamState): UnifiedChunk[] {
  const start = isObject(data.start) ? data.start : {};
  if (!isObject(start.toolUse)) return [];
  const index = num(state.toolCount);
  state.toolCount = index + 1;
  toolIndexes(state)[num(data.contentBlockIndex)] = index;
  const { toolUseId, name } = start.toolUse;
  return [chunk(state, { tool_calls: [{ index, id: toolUseId, type: 'function', function: { name, arguments: '' } }] })];
}

/** contentBlockDelta: text as content, a toolUse input piece as that call's arguments. */
function blockDelta(data: JsonObject, state: StreamState): UnifiedChunk[] {
  const delta = isObject(data.delta) ? data.delta : {};
  if (typeof delta.text === 'string') return delta.text === '' ? [] : [chunk(state, { content: delta.text })];
  if (isObject(delta.toolUse) && typeof delta.toolUse.input === 'string') {
    const index = toolIndexes(state)[num(data.contentBlockIndex)];
    if (index === undefined) return [];
    return [chunk(state, { tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] })];
  }
  // reasoningContent, citations and deltas added later have no OpenAI counterpart.
  return [];
}

/** metadata: the usage chunk (`choices: []`), when the caller wants usage. */
function metadata(data: JsonObject, state: StreamState): UnifiedChunk[] {
  if (state.includeUsage !== true || !isObject(data.usage)) return [];
  return [usageChunk(state, usageOf(data.usage))];
}

/**
 * Turns one ConverseStream event into OpenAI chunks. Throws `UpstreamStreamError` for an
 * exception or error message, `InvalidUpstreamResponse` for an event that is not a JSON object.
 */
export function parseBedrockStreamEvent(event: StreamEvent, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  const name = event.event ?? '';
  if (name.startsWith(EXCEPTION_EVENT_PREFIX)) throw bedrockStreamError(name.slice(EXCEPTION_EVENT_PREFIX.length), event.data);
  if (name.startsWith(ERROR_EVENT_PREFIX)) throw bedrockStreamError(name.slice(ERROR_EVENT_PREFIX.length), event.data);
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new InvalidUpstreamResponse(`bedrock stream event ${name} is not valid JSON`);
  }
  if (!isObject(data)) throw new InvalidUpstreamResponse(`bedrock stream event ${name} is not a JSON object`);
  begin(state, ctx);
  switch (name) {
    case 'messageStart':
      return [chunk(state, { role: 'assistant', content: '' })];
    case 'contentBlockStart':
      return blockStart(data, state);
    case 'contentBlockDelta':
      return blockDelta(data, state);
    case 'messageStop':
      return [chunk(state, {}, finishReason(data.stopReason))];
    case 'metadata':
      return metadata(data, state);
    default:
      // contentBlockStop and event types added later.
      return [];
  }
}
