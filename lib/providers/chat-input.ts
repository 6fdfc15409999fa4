/**
 * Reading an OpenAI-format chat body, for the adapters that translate it into another wire
 * format (Anthropic, Gemini and Vertex, Bedrock Converse, Cohere). Each function checks what it
 * reads and throws a `RequestError` (400 `invalid_parameter`, `param` naming the field) for what
 * no provider could take; what a provider cannot take is for its adapter to refuse.
 */
import { RequestError } from '../errors.js';
import { isObject } from './openai-compatible.js';
import type { JsonObject, ResolvedTarget } from './types.js';

/** A message the adapter cannot translate: 400 `invalid_parameter` naming the field. */
export function invalid(message: string, param: string): RequestError {
  return new RequestError(message, 400, 'invalid_parameter', 'invalid_request_error', param);
}

/** `body.messages` as an array: missing is `missing_parameter`, present but wrong `invalid_parameter`. */
export function requireMessages(body: JsonObject): unknown[] {
  if (Array.isArray(body.messages)) return body.messages;
  const code = body.messages === undefined || body.messages === null ? 'missing_parameter' : 'invalid_parameter';
  throw new RequestError('messages is required and must be an array', 400, code, 'invalid_request_error', 'messages');
}

/** Text of a system/developer message: a string, or the text parts of an array joined by "\n". */
export function systemText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw invalid(`${param} must be a string or an array`, param);
  const texts: string[] = [];
  content.forEach((part, k) => {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
      throw invalid(`${param}[${k}] must be a text part`, `${param}[${k}]`);
    }
    texts.push(part.text);
  });
  return texts.join('\n');
}

/** An `image_url` part's image: inline bytes of a base64 data URL, or an http(s) URL. */
export type ImageSource = { readonly kind: 'base64'; readonly mediaType: string; readonly data: string } | { readonly kind: 'url'; readonly url: string };

/** The image of an OpenAI `image_url` part (`param` names the part). */
export function imageSource(part: JsonObject, param: string): ImageSource {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : isObject(image) ? image.url : undefined;
  if (typeof url !== 'string') throw invalid(`${param}.image_url.url must be a string`, `${param}.image_url.url`);
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { kind: 'base64', mediaType: data[1]!, data: data[2]! };
  if (/^https?:\/\//i.test(url)) return { kind: 'url', url };
  throw invalid(`${param}.image_url.url must be a base64 data URL or an http(s) URL`, `${param}.image_url.url`);
}

/** A tool call's `arguments` (JSON text, or an object) as an object; empty is `{}`. */
export function toolArguments(args: unknown, param: string): JsonObject {
  let input: unknown;
  if (args === undefined || args === null || args === '') input = {};
  else if (typeof args === 'string') {
    try {
      input = JSON.parse(args);
    } catch {
      throw invalid(`${param} is not valid JSON`, param);
    }
  } else input = args;
  if (!isObject(input)) throw invalid(`${param} is not a JSON object`, param);
  return input;
}

/** One assistant tool call, read. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly input: JsonObject;
}

/** An assistant message's `tool_calls` (message `i`), each with an id, a name and its arguments. */
export function toolCallsOf(toolCalls: unknown, i: number): ToolCall[] {
  if (toolCalls === null || toolCalls === undefined) return [];
  const param = `messages[${i}].tool_calls`;
  if (!Array.isArray(toolCalls)) throw invalid(`${param} must be an array`, param);
  return toolCalls.map((call, j) => {
    const callParam = `${param}[${j}]`;
    if (!isObject(call) || !isObject(call.function)) throw invalid(`${callParam} must be an object with a function`, callParam);
    if (typeof call.id !== 'string') throw invalid(`${callParam}.id must be a string`, `${callParam}.id`);
    const fn = call.function;
    if (typeof fn.name !== 'string') throw invalid(`${callParam}.function.name must be a string`, `${callParam}.function.name`);
    return { id: call.id, name: fn.name, input: toolArguments(fn.arguments, `${callParam}.function.arguments`) };
  });
}

/** A `tool` message's `tool_call_id` (message `i`), required. */
export function toolCallIdOf(msg: JsonObject, i: number): string {
  if (typeof msg.tool_call_id !== 'string' || msg.tool_call_id === '') {
    throw invalid(`messages[${i}].tool_call_id is required`, `messages[${i}].tool_call_id`);
  }
  return msg.tool_call_id;
}

/** One declared function tool, read. */
export interface ToolSpec {
  readonly name: string;
  readonly description?: string;
  /** The JSON schema of its parameters; `{type:'object',properties:{}}` when absent. */
  readonly parameters: JsonObject;
}

/** OpenAI `tools` (function tools only); absent or null is none. */
export function toolSpecs(tools: unknown): ToolSpec[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw invalid('tools must be an array', 'tools');
  return tools.map((tool, i) => {
    const param = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function)) throw invalid(`${param} must be a function tool`, param);
    const fn = tool.function;
    if (typeof fn.name !== 'string') throw invalid(`${param}.function.name must be a string`, `${param}.function.name`);
    return {
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      parameters: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
  });
}

/** OpenAI `tool_choice`, read: `auto`, `required`, `none`, or one named function. */
export type ToolChoice = { readonly kind: 'auto' | 'required' | 'none' } | { readonly kind: 'function'; readonly name: string };

/** `body.tool_choice`, or undefined when absent. */
export function toolChoiceOf(choice: unknown): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'required' || choice === 'none') return { kind: choice };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string') {
    return { kind: 'function', name: choice.function.name };
  }
  throw invalid("tool_choice must be 'auto', 'required', 'none' or {type:'function',function:{name}}", 'tool_choice');
}

/** OpenAI `stop` (a string or an array of strings) as a list; absent is undefined. */
export function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop)) {
    stop.forEach((s, k) => {
      if (typeof s !== 'string') throw invalid(`stop[${k}] must be a string`, `stop[${k}]`);
    });
    return stop as string[];
  }
  if (stop === undefined || stop === null) return undefined;
  throw invalid('stop must be a string or an array of strings', 'stop');
}

/** The output-token limit the client asked for (`max_completion_tokens` or `max_tokens`). */
export function maxTokensOf(body: JsonObject): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' ? value : undefined;
}

/**
 * The target's extra headers under the adapter's own (`ours`): a target header can never
 * override one of ours, in any letter case.
 */
export function withOwnHeaders(target: ResolvedTarget, ours: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) {
    if (!(name.toLowerCase() in ours)) headers[name] = value;
  }
  return { ...headers, ...ours };
}
