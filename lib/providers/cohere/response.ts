/**
 * Cohere response translation: a v2 Chat reply becomes an OpenAI `chat.completion`, a v2 Embed
 * reply an OpenAI embedding `list`. The finish-reason and usage helpers are shared with the
 * stream translation.
 */
import { InvalidUpstreamResponse, UpstreamStreamError } from '../../errors.js';
import { nowSeconds, num } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, UnifiedResponse, Usage } from '../types.js';



/**
 * Cohere `finish_reason` as OpenAI's. `ERROR` ("the generation failed due to an internal error")
 * and `TIMEOUT` ("stopped because it exceeded the allowed time limit") are no answer: they throw
 * the failure they stand for (500 `server`, 504 `timeout`), so the router can fail over.
 * `ERROR_TOXIC` and `ERROR_LIMIT` (older Cohere values) are `content_filter` and `length`.
 */
export function finishReason(reason: unknown, error?: unknown): string {
  switch (reason) {
    case 'MAX_TOKENS':
    case 'ERROR_LIMIT':
      return 'length';
    case 'TOOL_CALL':
      return 'tool_calls';
    case 'ERROR_TOXIC':
      return 'content_filter';
    case 'ERROR':
      throw new UpstreamStreamError(errorText(error, 'cohere: the generation failed (finish_reason ERROR)'), 500, 'server', 'ERROR');
    case 'TIMEOUT':
      throw new UpstreamStreamError(errorText(error, 'cohere: the generation exceeded its time limit (finish_reason TIMEOUT)'), 504, 'timeout', 'TIMEOUT');
    default:
      // COMPLETE, STOP_SEQUENCE, and anything new.
      return 'stop';
  }
}

function errorText(error: unknown, fallback: string): string {
  return typeof error === 'string' && error !== '' ? `cohere: ${error}` : fallback;
}

/** Token counts from Cohere `usage`: `tokens` (what the model read and wrote), else `billed_units`. */
export function usageOf(usage: unknown): Usage {
  const u = isObject(usage) ? usage : {};
  const tokens = isObject(u.tokens) ? u.tokens : {};
  const billed = isObject(u.billed_units) ? u.billed_units : {};
  const prompt = num(tokens.input_tokens ?? billed.input_tokens);
  const completion = num(tokens.output_tokens ?? billed.output_tokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** A Cohere tool call (`{id, type, function:{name, arguments}}`) as an OpenAI one. */
export function openAIToolCall(call: JsonObject): JsonObject {
  const fn = isObject(call.function) ? call.function : {};
  const args = fn.arguments;
  return {
    id: call.id,
    type: 'function',
    function: { name: fn.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) },
  };
}

/** The text of Cohere content: a string, or its `text` blocks joined (`thinking` blocks left out). */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  let text: string | null = null;
  for (const block of content) {
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') text = (text ?? '') + block.text;
  }
  return text;
}

/**
 * Turns a v2 Chat reply into an OpenAI `chat.completion`. The `tool_plan` beside tool calls is
 * Cohere's reasoning about them, not the answer, and is left out (as in the stream).
 */
function parseChat(body: JsonObject, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body.message)) throw new InvalidUpstreamResponse('cohere returned a chat response without a message');
  const calls = Array.isArray(body.message.tool_calls) ? body.message.tool_calls.filter(isObject).map(openAIToolCall) : [];
  const message: JsonObject = { role: 'assistant', content: contentText(body.message.content) };
  if (calls.length > 0) message.tool_calls = calls;
  message.refusal = null;
  const finish = finishReason(body.finish_reason);
  return {
    id: body.id,
    object: 'chat.completion',
    created: nowSeconds(),
    model: ctx.request.body.model as string | undefined,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: usageOf(body.usage),
  };
}

/** Little-endian float32 bytes of a vector, base64: OpenAI's `encoding_format: 'base64'`. */
function base64Floats(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, k) => bytes.writeFloatLE(value, k * 4));
  return bytes.toString('base64');
}

/** Turns a v2 Embed reply (`embeddings.float`) into an OpenAI embedding list. */
function parseEmbed(body: JsonObject, ctx: ParseContext): UnifiedResponse {
  const vectors = isObject(body.embeddings) ? body.embeddings.float : undefined;
  if (!Array.isArray(vectors) || !vectors.every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
    throw new InvalidUpstreamResponse('cohere returned an embed response without float embeddings');
  }
  const base64 = ctx.request.body.encoding_format === 'base64';
  const data = (vectors as number[][]).map((vector, index) => ({
    object: 'embedding',
    index,
    embedding: base64 ? base64Floats(vector) : vector,
  }));
  const billed = isObject(body.meta) && isObject(body.meta.billed_units) ? body.meta.billed_units : {};
  const prompt = num(billed.input_tokens);
  const out: JsonObject = { object: 'list', data, model: ctx.request.body.model, usage: { prompt_tokens: prompt, total_tokens: prompt } };
  return out as UnifiedResponse;
}

/**
 * Turns a 2xx Cohere body into its OpenAI counterpart (chat or embedding). Throws
 * `InvalidUpstreamResponse` for a body without Cohere's shape, `UpstreamStreamError` for a chat
 * reply that finished with `ERROR` or `TIMEOUT`.
 */
export function parseCohereResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse('cohere returned a body that is not a JSON object');
  return ctx.request.endpoint === 'embedding' ? parseEmbed(body, ctx) : parseChat(body, ctx);
}
