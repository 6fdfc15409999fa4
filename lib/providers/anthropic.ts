/**
 * The Anthropic adapter: OpenAI-format chat requests are translated to Anthropic's Messages API
 * (`POST /v1/messages`), and its replies, errors and stream events are translated back.
 */
import { ConfigError, InvalidUpstreamResponse } from '../errors.js';
import { isObject } from './openai-compatible.js';
import {
  defineProviderAdapter,
  type ClassifiedError,
  type ErrorClass,
  type JsonObject,
  type ParseContext,
  type ProviderAdapter,
  type ResolvedTarget,
  type SseEvent,
  type StreamState,
  type UnifiedChunk,
  type UnifiedRequest,
  type UnifiedResponse,
  type UpstreamRequest,
  type Usage,
} from './types.js';

const DEFAULT_BASE_URL = 'https://api.anthropic.com/v1';
const DEFAULT_VERSION = '2023-06-01';
/** Anthropic requires `max_tokens`; used when the client sent neither OpenAI spelling. */
const DEFAULT_MAX_TOKENS = 4096;

type Block = JsonObject;

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------------
// Request translation
// ---------------------------------------------------------------------------------------------

/** Text of a system/developer message: a string, or the text parts of an array joined by "\n". */
function systemText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new ConfigError(`${param} must be a string or an array`, param);
  const texts: string[] = [];
  content.forEach((part, k) => {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
      throw new ConfigError(`${param}[${k}] must be a text part`, `${param}[${k}]`);
    }
    texts.push(part.text);
  });
  return texts.join('\n');
}

/** An OpenAI `image_url` part as an Anthropic image block (base64 data URL or http(s) URL). */
function imageBlock(part: JsonObject, param: string): Block {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : isObject(image) ? image.url : undefined;
  if (typeof url !== 'string') {
    throw new ConfigError(`${param}.image_url.url must be a string`, `${param}.image_url.url`);
  }
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) {
    return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new ConfigError(
    `${param}.image_url.url must be a base64 data URL or an http(s) URL`,
    `${param}.image_url.url`,
  );
}

/** OpenAI message content (string, array of parts or null) as Anthropic content blocks. */
function contentBlocks(content: unknown, param: string): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) {
    throw new ConfigError(`${param} must be a string, an array or null`, param);
  }
  const blocks: Block[] = [];
  content.forEach((part, k) => {
    const partParam = `${param}[${k}]`;
    if (!isObject(part)) throw new ConfigError(`${partParam} must be an object`, partParam);
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') blocks.push({ type: 'text', text: part.text });
    } else if (part.type === 'image_url') {
      blocks.push(imageBlock(part, partParam));
    } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
      // An earlier assistant refusal, replayed by the client: keep it as text.
      if (part.refusal !== '') blocks.push({ type: 'text', text: part.refusal });
    } else {
      throw new ConfigError(
        `${partParam}.type ${JSON.stringify(part.type)} is not supported by anthropic`,
        `${partParam}.type`,
      );
    }
  });
  return blocks;
}

/** Assistant `tool_calls` as Anthropic `tool_use` blocks. */
function toolUseBlocks(toolCalls: unknown, i: number): Block[] {
  if (toolCalls === null || toolCalls === undefined) return [];
  const param = `messages[${i}].tool_calls`;
  if (!Array.isArray(toolCalls)) throw new ConfigError(`${param} must be an array`, param);
  return toolCalls.map((call, j) => {
    const callParam = `${param}[${j}]`;
    if (!isObject(call) || !isObject(call.function)) {
      throw new ConfigError(`${callParam} must be an object with a function`, callParam);
    }
    if (typeof call.id !== 'string') throw new ConfigError(`${callParam}.id must be a string`, `${callParam}.id`);
    const fn = call.function;
    if (typeof fn.name !== 'string') {
      throw new ConfigError(`${callParam}.function.name must be a string`, `${callParam}.function.name`);
    }
    const argsParam = `${callParam}.function.arguments`;
    let input: unknown;
    if (fn.arguments === undefined || fn.arguments === null || fn.arguments === '') {
      input = {};
    } else if (typeof fn.arguments === 'string') {
      try {
        input = JSON.parse(fn.arguments);
      } catch {
        throw new ConfigError(`${argsParam} is not valid JSON`, argsParam);
      }
    } else {
      input = fn.arguments;
    }
    if (!isObject(input)) throw new ConfigError(`${argsParam} is not a JSON object`, argsParam);
    return { type: 'tool_use', id: call.id, name: fn.name, input };
  });
}

/** A `tool` role message as an Anthropic `tool_result` block. */
function toolResultBlock(msg: JsonObject, i: number): Block {
  const param = `messages[${i}]`;
  if (typeof msg.tool_call_id !== 'string' || msg.tool_call_id === '') {
    throw new ConfigError(`${param}.tool_call_id is required`, `${param}.tool_call_id`);
  }
  const block: Block = { type: 'tool_result', tool_use_id: msg.tool_call_id };
  if (typeof msg.content === 'string') block.content = msg.content;
  else if (msg.content !== null && msg.content !== undefined) {
    block.content = contentBlocks(msg.content, `${param}.content`);
  }
  return block;
}

/** Translates OpenAI `messages` into Anthropic `system` and alternating `messages`. */
function translateMessages(messages: unknown[]): { system?: string; messages: AnthropicMessage[] } {
  const systemParts: string[] = [];
  let hasSystem = false;
  const out: AnthropicMessage[] = [];

  const push = (role: AnthropicMessage['role'], content: string | Block[]): void => {
    const last = out[out.length - 1];
    if (last && last.role === role) {
      // Anthropic requires user/assistant alternation: merge consecutive same-role messages.
      const asBlocks = (c: string | Block[]): Block[] =>
        typeof c === 'string' ? (c === '' ? [] : [{ type: 'text', text: c }]) : c;
      last.content = [...asBlocks(last.content), ...asBlocks(content)];
      return;
    }
    if (Array.isArray(content) && content.length === 0) return;
    out.push({ role, content });
  };

  messages.forEach((msg, i) => {
    const param = `messages[${i}]`;
    if (!isObject(msg)) throw new ConfigError(`${param} must be an object`, param);
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
        throw new ConfigError(
          `${param}.role ${JSON.stringify(msg.role)} is not supported by anthropic`,
          `${param}.role`,
        );
    }
  });

  const system = systemParts.join('\n');
  return hasSystem && system !== '' ? { system, messages: out } : { messages: out };
}

/** OpenAI `tools` as Anthropic tools. */
function translateTools(tools: unknown): Block[] {
  if (!Array.isArray(tools)) throw new ConfigError('tools must be an array', 'tools');
  return tools.map((tool, i) => {
    const param = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function)) {
      throw new ConfigError(`${param} must be a function tool`, param);
    }
    const fn = tool.function;
    if (typeof fn.name !== 'string') {
      throw new ConfigError(`${param}.function.name must be a string`, `${param}.function.name`);
    }
    const out: Block = { name: fn.name };
    if (typeof fn.description === 'string') out.description = fn.description;
    out.input_schema = isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} };
    return out;
  });
}

/** OpenAI `tool_choice` as Anthropic `tool_choice`. */
function translateToolChoice(choice: unknown): Block {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function)) {
    if (typeof choice.function.name === 'string') return { type: 'tool', name: choice.function.name };
  }
  throw new ConfigError(
    "tool_choice must be 'auto', 'required', 'none' or {type:'function',function:{name}}",
    'tool_choice',
  );
}

/** Translates an OpenAI chat body into an Anthropic Messages API body. */
function translateBody(body: JsonObject): JsonObject {
  if (!Array.isArray(body.messages)) {
    throw new ConfigError('messages is required and must be an array', 'messages');
  }
  const { system, messages } = translateMessages(body.messages);
  const out: JsonObject = {
    model: body.model,
    max_tokens: body.max_tokens ?? body.max_completion_tokens ?? DEFAULT_MAX_TOKENS,
  };
  if (system !== undefined) out.system = system;
  out.messages = messages;

  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;

  for (const key of ['temperature', 'top_p', 'top_k', 'stream'] as const) {
    if (body[key] !== undefined && body[key] !== null) out[key] = body[key];
  }
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };

  const tools = body.tools === undefined || body.tools === null ? [] : translateTools(body.tools);
  if (tools.length > 0) out.tools = tools;

  let toolChoice: Block | undefined;
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    toolChoice = translateToolChoice(body.tool_choice);
  }
  if (body.parallel_tool_calls === false && toolChoice?.type !== 'none') {
    // Anthropic rejects tool_choice without tools, so none is created when no tools are sent.
    if (toolChoice === undefined && tools.length > 0) toolChoice = { type: 'auto' };
    if (toolChoice !== undefined) toolChoice.disable_parallel_tool_use = true;
  }
  if (toolChoice !== undefined) out.tool_choice = toolChoice;
  return out;
}

/** Headers our adapter sets; `target.headers` cannot override them, in any letter case. */
function buildHeaders(target: ResolvedTarget): Record<string, string> {
  const ours: Record<string, string> = {};
  if (target.apiKey) ours['x-api-key'] = target.apiKey;
  const version = target.settings.anthropic_version;
  ours['anthropic-version'] = typeof version === 'string' && version !== '' ? version : DEFAULT_VERSION;
  const beta = target.settings.anthropic_beta;
  const betaValue =
    typeof beta === 'string'
      ? beta
      : Array.isArray(beta)
        ? beta.filter((b): b is string => typeof b === 'string' && b !== '').join(',')
        : '';
  if (betaValue !== '') ours['anthropic-beta'] = betaValue;

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) {
    if (!(name.toLowerCase() in ours)) headers[name] = value;
  }
  return { ...headers, ...ours };
}

// ---------------------------------------------------------------------------------------------
// Response translation
// ---------------------------------------------------------------------------------------------

/** Anthropic `stop_reason` as OpenAI `finish_reason`. */
function finishReason(stopReason: unknown): string {
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
function promptTokens(usage: JsonObject): number {
  return num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens);
}

function parseResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
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

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

function isContextMessage(message: string): boolean {
  return /prompt is too long/i.test(message) || (/context/i.test(message) && /too long|exceed/i.test(message));
}

function classFromType(type: string | undefined, message: string): ErrorClass | undefined {
  switch (type) {
    case 'rate_limit_error':
      return 'rate_limit';
    case 'authentication_error':
    case 'permission_error':
      return 'auth';
    case 'not_found_error':
      return 'not_found';
    case 'request_too_large':
      return 'bad_request';
    case 'api_error':
    case 'overloaded_error':
      return 'server';
    case 'invalid_request_error':
      return isContextMessage(message) ? 'context_length_exceeded' : undefined;
    default:
      return undefined;
  }
}

function classFromStatus(status: number): ErrorClass {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 413) return 'bad_request';
  if (status >= 500) return 'server'; // includes 529 overloaded
  if (status >= 400) return 'bad_request';
  return 'server';
}

function classifyError(status: number, body: unknown): ClassifiedError {
  let parsed = body;
  if (typeof body === 'string' && body.trimStart().startsWith('{')) {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = body;
    }
  }
  const err = isObject(parsed) && isObject(parsed.error) ? parsed.error : undefined;
  const type = typeof err?.type === 'string' && err.type !== '' ? err.type : undefined;
  let message: string;
  if (typeof err?.message === 'string' && err.message !== '') message = err.message;
  else if (typeof body === 'string' && body.trim() !== '') {
    const text = body.trim();
    message = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  } else message = `Anthropic returned HTTP ${status}`;

  const errorClass = classFromType(type, message) ?? classFromStatus(status);
  return type === undefined ? { errorClass, message } : { errorClass, message, code: type, type };
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

/**
 * What the adapter keeps in the per-stream state (flat keys, so the caller can read them too):
 * `id`, `model`, `created`, `promptTokens`, `completionTokens`, `toolIndexByBlock` (Anthropic
 * content-block index -> OpenAI tool_calls index) and `toolCount`. The caller sets `includeUsage`.
 */
function toolIndexes(state: StreamState): Record<number, number> {
  if (!isObject(state.toolIndexByBlock)) state.toolIndexByBlock = {};
  return state.toolIndexByBlock as Record<number, number>;
}

function chunk(state: StreamState, delta: JsonObject, finish: string | null = null): UnifiedChunk {
  return {
    id: state.id,
    object: 'chat.completion.chunk',
    created: typeof state.created === 'number' ? state.created : nowSeconds(),
    model: state.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

function streamError(err: JsonObject | undefined): Error {
  const type = typeof err?.type === 'string' ? err.type : undefined;
  const message = typeof err?.message === 'string' && err.message !== '' ? err.message : 'anthropic stream error';
  const status = type === 'overloaded_error' ? 529 : type === 'rate_limit_error' ? 429 : 500;
  const { errorClass } = classifyError(status, { type: 'error', error: { type, message } });
  return Object.assign(new Error(message), { name: 'UpstreamStreamError', status, errorClass, code: type });
}

function parseStreamEvent(event: SseEvent, state: StreamState, ctx: ParseContext): UnifiedChunk[] {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new InvalidUpstreamResponse('anthropic stream event is not valid JSON');
  }
  if (!isObject(data)) throw new InvalidUpstreamResponse('anthropic stream event is not a JSON object');
  const type = typeof data.type === 'string' ? data.type : event.event;

  switch (type) {
    case 'message_start': {
      const message = isObject(data.message) ? data.message : {};
      const usage = isObject(message.usage) ? message.usage : {};
      state.id = message.id;
      state.model = typeof message.model === 'string' ? message.model : ctx.request.body.model;
      state.created = nowSeconds();
      state.promptTokens = promptTokens(usage);
      state.completionTokens = num(usage.output_tokens);
      return [chunk(state, { role: 'assistant', content: '' })];
    }
    case 'content_block_start': {
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
    case 'content_block_delta': {
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
    case 'message_delta': {
      const delta = isObject(data.delta) ? data.delta : {};
      const usage = isObject(data.usage) ? data.usage : {};
      if (typeof usage.output_tokens === 'number') state.completionTokens = usage.output_tokens;
      if (typeof usage.input_tokens === 'number') state.promptTokens = promptTokens(usage);
      return [chunk(state, {}, finishReason(delta.stop_reason))];
    }
    case 'message_stop': {
      if (state.includeUsage !== true) return [];
      const prompt = num(state.promptTokens);
      const completion = num(state.completionTokens);
      return [
        {
          id: state.id,
          object: 'chat.completion.chunk',
          created: typeof state.created === 'number' ? state.created : nowSeconds(),
          model: state.model,
          choices: [],
          usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
        },
      ];
    }
    case 'error':
      throw streamError(isObject(data.error) ? data.error : undefined);
    default:
      // ping, content_block_stop and event types added later.
      return [];
  }
}

// ---------------------------------------------------------------------------------------------

/** Adapter for Anthropic's Messages API (chat only). */
export const anthropicAdapter: ProviderAdapter = defineProviderAdapter({
  name: 'anthropic',
  endpoints: new Set(['chat'] as const),
  supportsPrefill: true,
  // The Messages API answers one choice, whatever `n` asks for.
  maxChoices: 1,
  buildRequest(req: UnifiedRequest, target: ResolvedTarget): UpstreamRequest {
    const base = (target.baseURL || DEFAULT_BASE_URL).replace(/\/+$/, '');
    return { url: `${base}/messages`, method: 'POST', headers: buildHeaders(target), body: translateBody(req.body) };
  },
  parseResponse,
  parseStreamEvent,
  classifyError,
});
