/**
 * Writing OpenAI-format replies and chunks from another provider's, and reading its error
 * bodies, for the adapters that translate (Anthropic, Gemini and Vertex, Bedrock, Cohere): the
 * small pieces each would otherwise restate.
 */
import { isObject } from './openai-compatible.js';
import type { JsonObject, StreamState, UnifiedChunk, Usage } from './types.js';

/** A finite number, or 0. */
export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Now, in whole seconds (OpenAI's `created`). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The map, kept in the stream state (`toolIndexByBlock`), from the provider's index of a tool
 * call (a content block, Cohere's tool index) to its OpenAI `tool_calls` index.
 */
export function toolIndexes(state: StreamState): Record<number, number> {
  if (!isObject(state.toolIndexByBlock)) state.toolIndexByBlock = {};
  return state.toolIndexByBlock as Record<number, number>;
}

/** The stream's `id`, `created` (now, if it has none yet) and `model`, as every chunk carries them. */
function chunkHead(state: StreamState): JsonObject {
  return {
    id: state.id,
    object: 'chat.completion.chunk',
    created: typeof state.created === 'number' ? state.created : nowSeconds(),
    model: state.model,
  };
}

/** A `chat.completion.chunk` of choice 0, from the stream state's `id`, `created` and `model`. */
export function streamChunk(state: StreamState, delta: JsonObject, finish: string | null = null): UnifiedChunk {
  return { ...chunkHead(state), choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

/** The usage chunk (`choices: []`) a client that asked for `include_usage` gets last. */
export function usageChunk(state: StreamState, usage: Usage): UnifiedChunk {
  return { ...chunkHead(state), choices: [], usage };
}

/** An error body that came as JSON text, parsed; anything else (text that is not JSON) as it came. */
export function parseJsonText(body: unknown): unknown {
  if (typeof body !== 'string' || !/^\s*[[{]/.test(body)) return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
