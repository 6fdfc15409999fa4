/**
 * Bedrock response translation: a Converse reply (`output.message.content`, `stopReason`,
 * `usage`) becomes an OpenAI `chat.completion`. The stop-reason and usage helpers are shared
 * with the ConverseStream translation.
 */
import { randomUUID } from 'node:crypto';
import { InvalidUpstreamResponse } from '../../errors.js';
import { nowSeconds, num } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, UnifiedResponse, Usage } from '../types.js';

/** A fresh completion id: Converse replies carry none of their own. */
export function completionId(): string {
  return `chatcmpl-${randomUUID()}`;
}

/** The requested model id (Converse replies do not name the model). */
export function requestedModel(ctx: ParseContext): string | undefined {
  return typeof ctx.request.body.model === 'string' ? ctx.request.body.model : undefined;
}

/** Converse `stopReason` as OpenAI `finish_reason`. */
export function finishReason(stopReason: unknown): string {
  switch (stopReason) {
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      // end_turn, stop_sequence and anything new.
      return 'stop';
  }
}

/** A Converse TokenUsage (`inputTokens`, `outputTokens`, `totalTokens`) in OpenAI's naming. */
export function usageOf(usage: unknown): Usage {
  const u = isObject(usage) ? usage : {};
  const prompt = num(u.inputTokens);
  const completion = num(u.outputTokens);
  const total = typeof u.totalTokens === 'number' && Number.isFinite(u.totalTokens) ? u.totalTokens : prompt + completion;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
}

/** A toolUse block as an OpenAI tool call. */
function toolCallOf(block: JsonObject): JsonObject {
  return { id: block.toolUseId, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } };
}

/** Turns a Converse reply into an OpenAI `chat.completion`. */
export function parseConverseResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse('bedrock returned a body that is not a JSON object');
  const output = isObject(body.output) ? body.output : undefined;
  const reply = output !== undefined && isObject(output.message) ? output.message : undefined;
  if (reply === undefined || !Array.isArray(reply.content)) {
    throw new InvalidUpstreamResponse('bedrock returned a body without output.message.content');
  }
  const texts: string[] = [];
  const toolCalls: JsonObject[] = [];
  for (const block of reply.content) {
    if (!isObject(block)) continue;
    if (typeof block.text === 'string') texts.push(block.text);
    else if (isObject(block.toolUse)) toolCalls.push(toolCallOf(block.toolUse));
    // reasoningContent, citations and other blocks have no OpenAI counterpart.
  }
  const message: JsonObject = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  message.refusal = null;
  return {
    id: completionId(),
    object: 'chat.completion',
    created: nowSeconds(),
    model: requestedModel(ctx),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(body.stopReason) }],
    usage: usageOf(body.usage),
  };
}
