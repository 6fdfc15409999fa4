/**
 * Anthropic request translation: an OpenAI-format chat body becomes a Messages API body
 * (`POST /v1/messages`), with Anthropic's headers.
 *
 * Anything the Messages API cannot take (an unknown content part, a malformed tool call, an
 * unsupported role) is a `RequestError` 400 `invalid_parameter` whose `param` names the field.
 */
import {
  imageSource,
  invalid,
  requireMessages,
  stopSequences,
  systemText,
  toolCallIdOf,
  toolCallsOf,
  toolChoiceOf,
  toolSpecs,
  withOwnHeaders,
} from '../chat-input.js';
import { isObject, trimTrailingSlashes } from '../openai-compatible.js';
import type { JsonObject, ResolvedTarget, UnifiedRequest, UpstreamRequest } from '../types.js';

const DEFAULT_BASE_URL = 'https://api.anthropic.com/v1';
/** The `anthropic-version` header sent when a target sets no `anthropic_version`. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';
/** Anthropic requires `max_tokens`; used when the client sent neither OpenAI spelling. */
const DEFAULT_MAX_TOKENS = 4096;

type Block = JsonObject;

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

/** An OpenAI `image_url` part as an Anthropic image block (base64 data URL or http(s) URL). */
function imageBlock(part: JsonObject, param: string): Block {
  const image = imageSource(part, param);
  return image.kind === 'base64'
    ? { type: 'image', source: { type: 'base64', media_type: image.mediaType, data: image.data } }
    : { type: 'image', source: { type: 'url', url: image.url } };
}

/** OpenAI message content (string, array of parts or null) as Anthropic content blocks. */
function contentBlocks(content: unknown, param: string): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalid(`${param} must be a string, an array or null`, param);
  const blocks: Block[] = [];
  content.forEach((part, k) => {
    const partParam = `${param}[${k}]`;
    if (!isObject(part)) throw invalid(`${partParam} must be an object`, partParam);
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') blocks.push({ type: 'text', text: part.text });
    } else if (part.type === 'image_url') {
      blocks.push(imageBlock(part, partParam));
    } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
      // An earlier assistant refusal, replayed by the client: keep it as text.
      if (part.refusal !== '') blocks.push({ type: 'text', text: part.refusal });
    } else {
      throw invalid(`${partParam}.type ${JSON.stringify(part.type)} is not supported by anthropic`, `${partParam}.type`);
    }
  });
  return blocks;
}

/** Assistant `tool_calls` as Anthropic `tool_use` blocks. */
function toolUseBlocks(toolCalls: unknown, i: number): Block[] {
  return toolCallsOf(toolCalls, i).map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: call.input }));
}

/** A `tool` role message as an Anthropic `tool_result` block. */
function toolResultBlock(msg: JsonObject, i: number): Block {
  const param = `messages[${i}]`;
  const block: Block = { type: 'tool_result', tool_use_id: toolCallIdOf(msg, i) };
  if (typeof msg.content === 'string') block.content = msg.content;
  else if (msg.content !== null && msg.content !== undefined) {
    block.content = contentBlocks(msg.content, `${param}.content`);
  }
  return block;
}

/** Appends content (a string, as one text block unless empty, or blocks) to `target`. */
function appendBlocks(target: Block[], content: string | Block[]): void {
  if (typeof content === 'string') {
    if (content !== '') target.push({ type: 'text', text: content });
    return;
  }
  // A loop, not push(...content): spreading a huge array as arguments overflows the stack.
  for (const block of content) target.push(block);
}

/** Translates OpenAI `messages` into Anthropic `system` and alternating `messages`. */
function translateMessages(messages: unknown[]): { system?: string; messages: AnthropicMessage[] } {
  const systemParts: string[] = [];
  let hasSystem = false;
  const out: AnthropicMessage[] = [];
  // The content of the last message of `out` once something was merged into it: an array of our
  // own that later merges append to in place, so a run of N same-role messages costs O(N) (a
  // fresh copy per merge made it O(N²): 40,000 short messages froze the process for seconds).
  let merged: Block[] | undefined;

  const push = (role: AnthropicMessage['role'], content: string | Block[]): void => {
    const last = out[out.length - 1];
    if (last && last.role === role) {
      // Anthropic requires user/assistant alternation: merge consecutive same-role messages.
      if (merged === undefined) {
        merged = [];
        appendBlocks(merged, last.content);
        last.content = merged;
      }
      appendBlocks(merged, content);
      return;
    }
    if (Array.isArray(content) && content.length === 0) return;
    out.push({ role, content });
    merged = undefined;
  };

  messages.forEach((msg, i) => {
    const param = `messages[${i}]`;
    if (!isObject(msg)) throw invalid(`${param} must be an object`, param);
    switch (msg.role) {
      case 'system':
      case 'developer':
        hasSystem = true;
        systemParts.push(systemText(msg.content, `${param}.content`));
        break;
      case 'user':
        push('user', typeof msg.content === 'string' ? msg.content : contentBlocks(msg.content, `${param}.content`));
        break;
      case 'assistant': {
        const toolUses = toolUseBlocks(msg.tool_calls, i);
        if (toolUses.length === 0 && typeof msg.content === 'string') {
          push('assistant', msg.content);
        } else {
          push('assistant', [...contentBlocks(msg.content, `${param}.content`), ...toolUses]);
        }
        break;
      }
      case 'tool':
        push('user', [toolResultBlock(msg, i)]);
        break;
      default:
        throw invalid(`${param}.role ${JSON.stringify(msg.role)} is not supported by anthropic`, `${param}.role`);
    }
  });

  const system = systemParts.join('\n');
  return hasSystem && system !== '' ? { system, messages: out } : { messages: out };
}

/** OpenAI `tools` as Anthropic tools. */
function translateTools(tools: unknown): Block[] {
  return toolSpecs(tools).map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    input_schema: tool.parameters,
  }));
}

/** OpenAI `tool_choice` as Anthropic `tool_choice`. */
function translateToolChoice(choice: unknown): Block | undefined {
  const read = toolChoiceOf(choice);
  if (read === undefined) return undefined;
  if (read.kind === 'function') return { type: 'tool', name: read.name };
  return { type: read.kind === 'required' ? 'any' : read.kind };
}

/** Translates an OpenAI chat body into an Anthropic Messages API body. */
export function translateBody(body: JsonObject): JsonObject {
  const { system, messages } = translateMessages(requireMessages(body));
  const out: JsonObject = {
    model: body.model,
    max_tokens: body.max_tokens ?? body.max_completion_tokens ?? DEFAULT_MAX_TOKENS,
  };
  if (system !== undefined) out.system = system;
  out.messages = messages;

  const stop = stopSequences(body.stop);
  if (stop !== undefined) out.stop_sequences = stop;

  for (const key of ['temperature', 'top_p', 'top_k', 'stream'] as const) {
    if (body[key] !== undefined && body[key] !== null) out[key] = body[key];
  }
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };

  const tools = translateTools(body.tools);
  if (tools.length > 0) out.tools = tools;

  let toolChoice = translateToolChoice(body.tool_choice);
  if (body.parallel_tool_calls === false && toolChoice?.type !== 'none') {
    // Anthropic rejects tool_choice without tools, so none is created when no tools are sent.
    if (toolChoice === undefined && tools.length > 0) toolChoice = { type: 'auto' };
    if (toolChoice !== undefined) toolChoice.disable_parallel_tool_use = true;
  }
  if (toolChoice !== undefined) out.tool_choice = toolChoice;
  return out;
}

/** Headers our adapter sets; `target.headers` cannot override them, in any letter case. */
export function buildHeaders(target: ResolvedTarget): Record<string, string> {
  const ours: Record<string, string> = {};
  if (target.apiKey) ours['x-api-key'] = target.apiKey;
  const version = target.settings.anthropic_version;
  ours['anthropic-version'] = typeof version === 'string' && version !== '' ? version : DEFAULT_ANTHROPIC_VERSION;
  const beta = target.settings.anthropic_beta;
  const betaValue =
    typeof beta === 'string'
      ? beta
      : Array.isArray(beta)
        ? beta.filter((b): b is string => typeof b === 'string' && b !== '').join(',')
        : '';
  if (betaValue !== '') ours['anthropic-beta'] = betaValue;

  return withOwnHeaders(target, ours);
}

/** The Messages API request for one OpenAI-format chat request. */
export function buildAnthropicRequest(req: UnifiedRequest, target: ResolvedTarget): UpstreamRequest {
  const base = trimTrailingSlashes(target.baseURL || DEFAULT_BASE_URL);
  return { url: `${base}/messages`, method: 'POST', headers: buildHeaders(target), body: translateBody(req.body) };
}
