/**
 * The Mistral adapter (`mistral-ai`): Mistral's chat completions and embeddings APIs are
 * OpenAI-shaped, on the OpenAI-compatible base, with what differs rewritten:
 *
 * - its request schemas forbid fields they do not define (`additionalProperties: false`, a 422
 *   `extra_forbidden`), so OpenAI-only fields are dropped and renamed ones renamed (`seed` ->
 *   `random_seed`, `max_completion_tokens` -> `max_tokens`, `dimensions` -> `output_dimension`,
 *   `tool_choice: 'required'` -> `'any'`, role `developer` -> `system`);
 * - a tool call id must be exactly nine letters or digits, so every other id in the history is
 *   rewritten to one derived from it (the same on an assistant's call and on its tool result);
 * - a user or system message may not follow a tool result directly (an assistant turn is put
 *   between them), and a function tool must have `parameters`;
 * - its streams carry usage in their last chunk without being asked (`stream_options` is refused);
 * - its replies may hold finish reasons (`model_length`, `error`) and content arrays of its own;
 * - its errors are `{object:'error', message, type, param, code}` or a 422 `{detail:[...]}`.
 *
 * `safe_prompt` and Mistral's other own fields pass through from the body.
 */
import { createHash } from 'node:crypto';
import { UpstreamStreamError } from '../errors.js';
import { invalid, requireMessages } from './chat-input.js';
import { classifyOpenAIError, isObject, openAICompatibleAdapter, parseOpenAIStreamEvent, type OpenAICompatibleAdapter } from './openai-compatible.js';
import type { ClassifiedError, JsonObject, ParseContext, StreamEvent, StreamState, UnifiedChunk, UnifiedRequest, UnifiedResponse } from './types.js';

/** OpenAI chat fields Mistral has no counterpart for (its schema refuses unknown fields). */
const OPENAI_ONLY_CHAT: readonly string[] = [
  'stream_options', 'store', 'logit_bias', 'user', 'service_tier', 'logprobs', 'top_logprobs',
  'modalities', 'audio', 'web_search_options', 'safety_identifier', 'verbosity', 'functions', 'function_call',
];

/** Fields of an OpenAI message that Mistral's message schemas lack (`name` stays on tool messages). */
const OPENAI_ONLY_MESSAGE = ['name', 'refusal', 'annotations', 'audio', 'function_call'] as const;

/** A tool call id as Mistral takes it: nine of a-z, A-Z, 0-9. */
const MISTRAL_TOOL_CALL_ID = /^[A-Za-z0-9]{9}$/;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Nine characters of ID_ALPHABET from a SHA-256 of `original` (and the attempt, after a collision). */
function hashedId(original: string, attempt: number): string {
  const digest = createHash('sha256')
    .update(attempt === 0 ? original : `${attempt}\u0000${original}`)
    .digest();
  let id = '';
  for (let k = 0; k < 9; k++) id += ID_ALPHABET[digest[k]! % ID_ALPHABET.length];
  return id;
}

/** The tool call ids a message carries (an assistant's calls, a tool result's id), as found. */
function idsOf(msg: unknown): unknown[] {
  if (!isObject(msg)) return [];
  if (msg.role === 'tool') return [msg.tool_call_id];
  if (msg.role !== 'assistant' || !Array.isArray(msg.tool_calls)) return [];
  return msg.tool_calls.map((call) => (isObject(call) ? call.id : undefined));
}

/**
 * A function that maps each tool call id of `messages` to one Mistral takes: a valid id is kept;
 * any other becomes nine characters derived from it, the same for the same original, never equal
 * to another id of the request (a valid one it already holds, or another rewritten one).
 */
export function mistralToolCallIds(messages: readonly unknown[]): (id: string) => string {
  const taken = new Set<string>();
  for (const msg of messages) {
    for (const id of idsOf(msg)) if (typeof id === 'string' && MISTRAL_TOOL_CALL_ID.test(id)) taken.add(id);
  }
  const rewritten = new Map<string, string>();
  return (id) => {
    if (MISTRAL_TOOL_CALL_ID.test(id)) return id;
    let out = rewritten.get(id);
    if (out !== undefined) return out;
    for (let attempt = 0; ; attempt++) {
      out = hashedId(id, attempt);
      if (!taken.has(out)) break;
    }
    taken.add(out);
    rewritten.set(id, out);
    return out;
  };
}

/** A tool call id field (`param` names it): absent stays absent, a string is mapped, else refused. */
function mappedId(value: unknown, param: string, mapId: (id: string) => string): unknown {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw invalid(`${param} must be a string`, param);
  return mapId(value);
}

/** An assistant's `tool_calls` with Mistral ids. */
function mistralToolCalls(toolCalls: unknown, i: number, mapId: (id: string) => string): unknown {
  if (toolCalls === undefined || toolCalls === null) return toolCalls;
  const param = `messages[${i}].tool_calls`;
  if (!Array.isArray(toolCalls)) throw invalid(`${param} must be an array`, param);
  return toolCalls.map((call, j) => {
    if (!isObject(call)) throw invalid(`${param}[${j}] must be an object`, `${param}[${j}]`);
    return call.id === undefined ? call : { ...call, id: mappedId(call.id, `${param}[${j}].id`, mapId) };
  });
}

/** One OpenAI message as Mistral takes it. */
function mistralMessage(msg: unknown, i: number, mapId: (id: string) => string): JsonObject {
  if (!isObject(msg)) throw invalid(`messages[${i}] must be an object`, `messages[${i}]`);
  const out: JsonObject = { ...msg };
  for (const key of OPENAI_ONLY_MESSAGE) if (key !== 'name' || msg.role !== 'tool') delete out[key];
  if (msg.role === 'developer') out.role = 'system';
  if (msg.role === 'assistant' && 'tool_calls' in msg) out.tool_calls = mistralToolCalls(msg.tool_calls, i, mapId);
  if (msg.role === 'tool' && 'tool_call_id' in msg) {
    out.tool_call_id = mappedId(msg.tool_call_id, `messages[${i}].tool_call_id`, mapId);
  }
  return out;
}

/**
 * The assistant turn put between a tool result and a user or system message: Mistral refuses
 * "Unexpected role 'user' after role 'tool'" (400 `invalid_request_message_order`), and an
 * assistant message without content ("must have either content or tool_calls").
 */
export const MISTRAL_BRIDGE_TURN: Readonly<JsonObject> = { role: 'assistant', content: 'OK.' };

/** OpenAI messages as Mistral takes them, with a bridge turn wherever a tool result is followed by a user or system message. */
function mistralMessages(messages: readonly unknown[]): JsonObject[] {
  const mapId = mistralToolCallIds(messages);
  const out: JsonObject[] = [];
  messages.forEach((msg, i) => {
    const next = mistralMessage(msg, i, mapId);
    if ((next.role === 'user' || next.role === 'system') && out[out.length - 1]?.role === 'tool') out.push({ ...MISTRAL_BRIDGE_TURN });
    out.push(next);
  });
  return out;
}

/** OpenAI `tools` with the `parameters` Mistral requires (OpenAI's are optional: none is no arguments). */
function mistralTools(tools: unknown): unknown {
  if (!Array.isArray(tools)) return tools;
  return tools.map((tool) =>
    isObject(tool) && isObject(tool.function) && tool.function.parameters === undefined
      ? { ...tool, function: { ...tool.function, parameters: { type: 'object', properties: {} } } }
      : tool,
  );
}

/** A number field, or undefined when absent or null; anything else is refused naming it. */
function numberField(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw invalid(`${key} must be a number`, key);
  return value;
}

/** An OpenAI chat body as Mistral's chat completions API takes it (a new object). */
function chatBody(body: JsonObject): JsonObject {
  const out: JsonObject = { ...body, messages: mistralMessages(requireMessages(body)) };
  for (const key of OPENAI_ONLY_CHAT) delete out[key];
  if (body.tools !== undefined) out.tools = mistralTools(body.tools);

  const maxCompletion = numberField(body, 'max_completion_tokens');
  delete out.max_completion_tokens;
  if (maxCompletion !== undefined) out.max_tokens = maxCompletion;

  const seed = numberField(body, 'seed');
  delete out.seed;
  if (seed !== undefined && (out.random_seed === undefined || out.random_seed === null)) out.random_seed = seed;

  // Mistral documents `any` (and, lately, `required`) for "must call a tool": `any` works on both.
  if (body.tool_choice === 'required') out.tool_choice = 'any';
  return out;
}

/** An OpenAI embedding body as Mistral's embeddings API takes it (a new object). */
function embeddingBody(body: JsonObject): JsonObject {
  const out: JsonObject = { ...body };
  delete out.user;
  const dimensions = numberField(body, 'dimensions');
  delete out.dimensions;
  if (dimensions !== undefined && (out.output_dimension === undefined || out.output_dimension === null)) {
    out.output_dimension = dimensions;
  }
  return out;
}

/**
 * Rewrites an OpenAI-format body into the one Mistral takes (see the file comment). Never
 * mutates `body`; throws a `RequestError` naming the field for a tool call id that is not a
 * string, a malformed `tool_calls`, or a non-numeric `seed` / `max_completion_tokens` / `dimensions`.
 */
export function transformMistralBody(body: JsonObject, req: UnifiedRequest): JsonObject {
  return req.endpoint === 'embedding' ? embeddingBody(body) : chatBody(body);
}

/** The text parts of a Mistral content array (reasoning models answer `[{type:'thinking'}, {type:'text'}]`). */
function textOf(content: unknown[]): string {
  let text = '';
  for (const part of content) if (isObject(part) && part.type === 'text' && typeof part.text === 'string') text += part.text;
  return text;
}

/**
 * Makes a Mistral reply or chunk OpenAI-shaped in place: `model_length` is `length`, a content
 * array is its text; a choice that finished with `error` is the failure it reports.
 */
function openAIChoices<T extends JsonObject>(body: T, field: 'message' | 'delta'): T {
  if (!Array.isArray(body.choices)) return body;
  for (const choice of body.choices) {
    if (!isObject(choice)) continue;
    if (choice.finish_reason === 'error') {
      throw new UpstreamStreamError('mistral-ai stopped the generation with finish_reason "error"', 500, 'server');
    }
    if (choice.finish_reason === 'model_length') choice.finish_reason = 'length';
    const message = choice[field];
    if (isObject(message) && Array.isArray(message.content)) message.content = textOf(message.content);
  }
  return body;
}

/**
 * Mistral's last chunk carries `usage` beside the finish reason; OpenAI's streams (and the
 * reader) have it in a chunk of its own with no choices, after the finish: split in two (the
 * usage chunk only when the reader asks, `state.includeUsage`).
 */
function separateUsage(chunk: UnifiedChunk, state: StreamState): UnifiedChunk[] {
  if (!isObject(chunk.usage) || !Array.isArray(chunk.choices) || chunk.choices.length === 0) return [chunk];
  const { usage, ...rest } = chunk;
  if (state.includeUsage !== true) return [rest];
  return [rest, { id: chunk.id, object: chunk.object, created: chunk.created, model: chunk.model, choices: [], usage }];
}

/** A 422 validation error's `loc` (`['body','messages',0,'content']`) as a param (`messages[0].content`). */
function paramOf(loc: unknown): string | undefined {
  if (!Array.isArray(loc)) return undefined;
  let param = '';
  for (const [k, part] of loc.entries()) {
    if (k === 0 && (part === 'body' || part === 'query' || part === 'path' || part === 'header')) continue;
    if (typeof part === 'number') param += `[${part}]`;
    else if (typeof part === 'string') param += param === '' ? part : `.${part}`;
  }
  return param === '' ? undefined : param;
}

/** A validation error list (`detail`) as an OpenAI error: the first entry's message and field. */
function validationError(detail: unknown[]): JsonObject {
  const first = detail.find(isObject);
  if (first === undefined) return { message: 'mistral-ai refused the request (validation error)', type: 'invalid_request_error' };
  const param = paramOf(first.loc);
  const msg = typeof first.msg === 'string' && first.msg !== '' ? first.msg : 'invalid value';
  const more = detail.length > 1 ? ` (and ${detail.length - 1} more)` : '';
  return { message: `${param !== undefined ? `${param}: ` : ''}${msg}${more}`, type: 'invalid_request_error', param, code: first.type };
}

/** A Mistral error body in OpenAI's `{error:{...}}` shape; anything else as it is. */
function asOpenAIError(body: unknown): unknown {
  if (!isObject(body) || isObject(body.error)) return body;
  if (Array.isArray(body.detail)) return { error: validationError(body.detail) };
  // A 422 the gateway wrapped: {object:'error', message:{detail:[...]}, type, param, code}.
  if (isObject(body.message) && Array.isArray(body.message.detail)) return { error: validationError(body.message.detail) };
  if (typeof body.message === 'string') return { error: { message: body.message, type: body.type, param: body.param, code: body.code } };
  if (typeof body.detail === 'string') return { error: { message: body.detail } };
  return body;
}

/**
 * Classifies a non-2xx Mistral reply: its `{object:'error', message, type, param, code}` body, a
 * 422 `{detail:[{loc, msg, type}]}` (the first entry's message, its `loc` as the param), or an
 * OpenAI-style one, like `classifyOpenAIError`. A prompt too long for the model is
 * `context_length_exceeded`; a guardrail's block (403 "Content blocked by guardrail") is
 * `content_filter`, and a guardrail that could not be evaluated (`block_on_error`) is `server`.
 */
export function classifyMistralError(status: number, body: unknown): ClassifiedError {
  const classified = classifyOpenAIError('mistral-ai', status, asOpenAIError(body));
  const { message } = classified;
  if (/blocked by guardrail/i.test(message)) return { ...classified, errorClass: 'content_filter' };
  if (/error in guardrail evaluation/i.test(message)) return { ...classified, errorClass: 'server' };
  if (classified.errorClass === 'bad_request' && /too large for model|maximum context length|context window/i.test(message)) {
    return { ...classified, errorClass: 'context_length_exceeded' };
  }
  return classified;
}

const base = openAICompatibleAdapter({
  name: 'mistral-ai',
  defaultBaseURL: 'https://api.mistral.ai/v1',
  endpoints: ['chat', 'embedding'],
  // The last chunk of every stream carries usage; `stream_options` is refused (422).
  streamUsage: 'always',
  transformBody: transformMistralBody,
  classifyError: (status, body) => classifyMistralError(status, body),
});

/** Adapter for Mistral's chat completions and embeddings APIs (`https://api.mistral.ai/v1`). */
export const mistralAdapter: OpenAICompatibleAdapter = {
  ...base,
  parseResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
    const reply = base.parseResponse(body, ctx);
    return ctx.request.endpoint === 'chat' ? openAIChoices(reply, 'message') : reply;
  },
  parseStreamEvent(event: StreamEvent, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
    return parseOpenAIStreamEvent(event, state, ctx).flatMap((chunk) => separateUsage(openAIChoices(chunk, 'delta'), state));
  },
};
