/**
 * Anthropic response translation: a Messages API reply becomes an OpenAI `chat.completion`. The
 * stop-reason and token-count helpers are shared with the stream translation.
 */
import { InvalidUpstreamResponse } from '../../errors.js';
import { nowSeconds, num } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, UnifiedResponse, Usage } from '../types.js';



/** Anthropic `stop_reason` as OpenAI `finish_reason`. */
export function finishReason(stopReason: unknown): string {
  switch (stopReason) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn, null and anything new.
      return 'stop';
  }
}

/** Prompt tokens: uncached input plus cache writes and cache reads. */
export function promptTokens(usage: JsonObject): number {
  return num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens);
}

/** Turns a Messages API reply into an OpenAI `chat.completion`. */
export function parseAnthropicResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse('anthropic returned a body that is not a JSON object');
  if (body.type !== 'message' || !Array.isArray(body.content)) {
    throw new InvalidUpstreamResponse('anthropic returned a body that is not a message with content');
  }
  const texts: string[] = [];
  const toolCalls: JsonObject[] = [];
  for (const block of body.content) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking, redacted_thinking and server-tool blocks have no OpenAI counterpart.
  }
  const message: JsonObject = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  message.refusal = null;

  const u = isObject(body.usage) ? body.usage : {};
  const prompt = promptTokens(u);
  const completion = num(u.output_tokens);
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  return {
    id: body.id,
    object: 'chat.completion',
    created: nowSeconds(),
    model: typeof body.model === 'string' ? body.model : (ctx.request.body.model as string | undefined),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(body.stop_reason) }],
    usage,
  };
}
