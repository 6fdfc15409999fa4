/**
 * Gemini response translation: a `GenerateContentResponse` becomes an OpenAI `chat.completion`.
 * The finish-reason, usage, tool-call and blocked-prompt helpers are shared with the stream
 * translation and with Vertex AI.
 */
import { randomUUID } from 'node:crypto';
import { InvalidUpstreamResponse, UpstreamStreamError } from '../../errors.js';
import { nowSeconds, num } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, UnifiedResponse, Usage } from '../types.js';



/** A fresh id with OpenAI's look (`chatcmpl-…`, `call_…`). */
export function newId(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '')}`;
}

/** Finish reasons that mean the answer was withheld by a filter (safety, recitation, blocklists, ...). */
const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'MODEL_ARMOR',
]);

/**
 * A candidate's `finishReason` as OpenAI's `finish_reason`: STOP is `stop` (`tool_calls` when
 * the candidate called functions), MAX_TOKENS `length`, a filter's reason `content_filter`, any
 * other reason `stop`.
 */
export function finishReasonOf(reason: unknown, calledFunctions: boolean): string {
  if (reason === 'MAX_TOKENS') return 'length';
  if (typeof reason === 'string' && FILTERED.has(reason)) return 'content_filter';
  return calledFunctions && (reason === 'STOP' || reason === undefined || reason === null) ? 'tool_calls' : 'stop';
}

/**
 * `usageMetadata` in OpenAI's terms: prompt = promptTokenCount; completion =
 * candidatesTokenCount + thoughtsTokenCount; total = totalTokenCount, or the sum.
 */
export function usageOf(metadata: unknown): Usage {
  const u = isObject(metadata) ? metadata : {};
  const prompt = num(u.promptTokenCount);
  const completion = num(u.candidatesTokenCount) + num(u.thoughtsTokenCount);
  const total = typeof u.totalTokenCount === 'number' && Number.isFinite(u.totalTokenCount) ? u.totalTokenCount : prompt + completion;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
}

/**
 * A reply with no candidates whose prompt was blocked (`promptFeedback.blockReason`): the
 * refusal it stands for (400, `content_filter`, the reason as upstream code). Undefined otherwise.
 */
export function blockedPrompt(body: JsonObject, provider: string): UpstreamStreamError | undefined {
  if (Array.isArray(body.candidates) && body.candidates.length > 0) return undefined;
  const feedback = isObject(body.promptFeedback) ? body.promptFeedback : undefined;
  const reason = feedback?.blockReason;
  if (typeof reason !== 'string' || reason === '') return undefined;
  return new UpstreamStreamError(`${provider}: the prompt was blocked: ${reason}`, 400, 'content_filter', reason);
}

/** One `functionCall` part as an OpenAI tool call, whole. */
export function toolCallOf(part: JsonObject, call: JsonObject, id: string): JsonObject {
  const out: JsonObject = {
    id,
    type: 'function',
    function: { name: typeof call.name === 'string' ? call.name : '', arguments: JSON.stringify(isObject(call.args) ? call.args : {}) },
  };
  // Gemini 3 wants the signature back with the call: kept where Google's own OpenAI endpoint puts it.
  if (typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '') {
    out.extra_content = { google: { thought_signature: part.thoughtSignature } };
  }
  return out;
}

/** A candidate's parts: text (thoughts skipped) and function calls. */
export interface CandidateParts {
  readonly texts: string[];
  /** The `functionCall` parts, each with the part it came in. */
  readonly calls: Array<{ readonly part: JsonObject; readonly call: JsonObject }>;
}

/** Reads a candidate's `content.parts`. */
export function candidateParts(candidate: JsonObject): CandidateParts {
  const content = isObject(candidate.content) ? candidate.content : {};
  const parts = Array.isArray(content.parts) ? content.parts : [];
  const texts: string[] = [];
  const calls: CandidateParts['calls'] = [];
  for (const part of parts) {
    if (!isObject(part) || part.thought === true) continue;
    if (typeof part.text === 'string') texts.push(part.text);
    else if (isObject(part.functionCall)) calls.push({ part, call: part.functionCall });
  }
  return { texts, calls };
}

/** The id of a function call: its own, or a fresh `call_…` not yet used in this reply. */
export function callId(call: JsonObject, used: Set<string>): string {
  let id = typeof call.id === 'string' && call.id !== '' && !used.has(call.id) ? call.id : newId('call_');
  while (used.has(id)) id = newId('call_');
  used.add(id);
  return id;
}

/** One candidate as an OpenAI choice. */
function choiceOf(candidate: JsonObject, position: number, used: Set<string>): JsonObject {
  const { texts, calls } = candidateParts(candidate);
  const toolCalls = calls.map(({ part, call }) => toolCallOf(part, call, callId(call, used)));
  const message: JsonObject = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  message.refusal = null;
  return {
    index: typeof candidate.index === 'number' ? candidate.index : position,
    message,
    logprobs: null,
    finish_reason: finishReasonOf(candidate.finishReason, toolCalls.length > 0),
  };
}

/** The reply's model (`modelVersion`), else the one asked for. */
export function modelOf(body: JsonObject, ctx: ParseContext): unknown {
  return typeof body.modelVersion === 'string' && body.modelVersion !== '' ? body.modelVersion : ctx.request.body.model;
}

/**
 * Turns a `generateContent` reply into an OpenAI `chat.completion`. A blocked prompt throws the
 * refusal (UpstreamStreamError 400 `content_filter`); a body that is not a JSON object, or has
 * neither candidates nor a block reason, throws InvalidUpstreamResponse.
 */
export function parseGeminiResponse(body: unknown, ctx: ParseContext, provider: string): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse(`${provider} returned a body that is not a JSON object`);
  const blocked = blockedPrompt(body, provider);
  if (blocked) throw blocked;
  if (!Array.isArray(body.candidates) || body.candidates.length === 0) {
    throw new InvalidUpstreamResponse(`${provider} returned a response without candidates`);
  }
  const used = new Set<string>();
  const choices = body.candidates.map((c, k) => choiceOf(isObject(c) ? c : {}, k, used));
  return {
    id: typeof body.responseId === 'string' && body.responseId !== '' ? body.responseId : newId('chatcmpl-'),
    object: 'chat.completion',
    created: nowSeconds(),
    model: modelOf(body, ctx) as string | undefined,
    choices,
    usage: usageOf(body.usageMetadata),
  };
}
