/**
 * What the OpenAI-format fake refuses, as OpenAI's chat completions and embeddings reference
 * documents the request (required `model` and `messages`, the roles, `tool_call_id` on tool
 * messages, tool results answering a preceding assistant's `tool_calls` and every one of them,
 * `stream_options` only with `stream`, OpenAI's own field list), plus what a flavour adds
 * (Groq's refused fields and `n`). Each problem names the field, in OpenAI's wording where it is
 * known, so a failing suite says what the adapter sent wrong.
 */
import { isObject } from '../scripted-server.js';
import type { Flavour } from './openai-errors.js';

/** Why a request is refused. */
export interface Problem {
  readonly message: string;
  readonly param: string | null;
  readonly code: string | null;
}

/** The request fields of OpenAI's chat completions reference. */
const CHAT_FIELDS = new Set([
  'model', 'messages', 'audio', 'frequency_penalty', 'function_call', 'functions', 'logit_bias', 'logprobs', 'max_completion_tokens', 'max_tokens',
  'metadata', 'modalities', 'n', 'parallel_tool_calls', 'prediction', 'presence_penalty', 'prompt_cache_key', 'reasoning_effort', 'response_format',
  'safety_identifier', 'seed', 'service_tier', 'stop', 'store', 'stream', 'stream_options', 'temperature', 'tool_choice', 'tools', 'top_logprobs',
  'top_p', 'user', 'verbosity', 'web_search_options',
  // Azure OpenAI's own request fields.
  'data_sources', 'user_security_context',
]);
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

const problem = (message: string, param: string | null, code: string | null = null): Problem => ({ message, param, code });
const missing = (param: string): Problem => problem(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

/** The first problem of a chat completions body, or undefined when the API would take it. */
export function validateChat(flavour: Flavour, body: unknown): Problem | undefined {
  if (!isObject(body)) return problem('We could not parse the JSON body of your request. The API expects a JSON payload.', null);
  if (flavour.requireModel && (typeof body.model !== 'string' || body.model === '')) return problem('you must provide a model parameter', null);
  if (flavour.strictFields) {
    const unknown = Object.keys(body).find((k) => !CHAT_FIELDS.has(k));
    if (unknown !== undefined) return problem(`Unrecognized request argument supplied: ${unknown}`, null);
  }
  const refused = flavour.refusedFields.find((k) => k in body);
  if (refused !== undefined) return problem(`'${refused}' : property '${refused}' is unsupported`, refused);
  if (flavour.refusedFields.length > 0 && body.n !== undefined && body.n !== 1) return problem("'n' : number must be at most 1", 'n');
  if (body.stream_options !== undefined && body.stream !== true) return problem("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  return validateMessages(flavour, body.messages) ?? validateTools(body.tools);
}

function validateMessages(flavour: Flavour, messages: unknown): Problem | undefined {
  if (messages === undefined) return missing('messages');
  if (!Array.isArray(messages)) return problem("Invalid type for 'messages': expected an array of objects.", 'messages', 'invalid_type');
  if (messages.length === 0) return problem("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  let pending: Set<string> | undefined; // tool_call ids of the last assistant turn not yet answered
  for (const [i, m] of messages.entries()) {
    const at = `messages[${i}]`;
    if (!isObject(m)) return problem(`Invalid type for '${at}': expected an object.`, at, 'invalid_type');
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
      return problem(`Invalid value: '${String(m.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, `${at}.role`, 'invalid_value');
    }
    if (flavour.refusedFields.length > 0 && m.name !== undefined) return problem(`'${at}' : property 'name' is unsupported`, `${at}.name`);
    const content = checkContent(m, at);
    if (content) return content;
    if (m.role === 'tool') {
      if (typeof m.tool_call_id !== 'string') return missing(`${at}.tool_call_id`);
      if (!pending?.delete(m.tool_call_id)) {
        return problem("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `${at}.role`);
      }
      continue;
    }
    if (pending !== undefined && pending.size > 0) {
      const ids = [...pending].join(', ');
      return problem(`An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${ids}`, `${at}.role`);
    }
    pending = undefined;
    if (m.role === 'assistant' && m.tool_calls !== undefined) {
      const calls = checkToolCalls(m.tool_calls, at);
      if (!(calls instanceof Set)) return calls;
      pending = calls;
    }
  }
  if (pending !== undefined && pending.size > 0) {
    return problem(`An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`, 'messages');
  }
  return undefined;
}

/** `content` as each role documents it: required text (or parts), nullable for an assistant with tool calls. */
function checkContent(m: Record<string, unknown>, at: string): Problem | undefined {
  const c = m.content;
  if (m.role === 'assistant' && (c === null || c === undefined)) {
    return m.tool_calls !== undefined || m.function_call !== undefined ? undefined : problem("Invalid value for 'content': expected a string, got null.", `${at}.content`, 'invalid_value');
  }
  if (c === undefined) return missing(`${at}.content`);
  if (typeof c === 'string') return undefined;
  if (!Array.isArray(c)) return problem(`Invalid type for '${at}.content': expected one of a string or array of objects.`, `${at}.content`, 'invalid_type');
  for (const [j, part] of c.entries()) {
    if (!isObject(part) || typeof part.type !== 'string') return missing(`${at}.content[${j}].type`);
    if (part.type === 'text' && typeof part.text !== 'string') return missing(`${at}.content[${j}].text`);
  }
  return undefined;
}

/** Checks an assistant's `tool_calls`; their ids, or the problem. */
function checkToolCalls(calls: unknown, at: string): Set<string> | Problem {
  if (!Array.isArray(calls) || calls.length === 0) return problem(`Invalid '${at}.tool_calls': expected a non-empty array.`, `${at}.tool_calls`, 'invalid_value');
  const ids = new Set<string>();
  for (const [j, call] of calls.entries()) {
    const where = `${at}.tool_calls[${j}]`;
    if (!isObject(call) || typeof call.id !== 'string') return missing(`${where}.id`);
    if (call.type !== 'function') return missing(`${where}.type`);
    const fn = call.function;
    if (!isObject(fn) || typeof fn.name !== 'string') return missing(`${where}.function.name`);
    if (typeof fn.arguments !== 'string') return problem(`Invalid type for '${where}.function.arguments': expected a string.`, `${where}.function.arguments`, 'invalid_type');
    ids.add(call.id);
  }
  return ids;
}

function validateTools(tools: unknown): Problem | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) return problem("Invalid type for 'tools': expected an array of objects.", 'tools', 'invalid_type');
  for (const [i, t] of tools.entries()) {
    if (!isObject(t) || t.type !== 'function') return missing(`tools[${i}].type`);
    if (!isObject(t.function) || typeof t.function.name !== 'string') return missing(`tools[${i}].function.name`);
  }
  return undefined;
}

/** The first problem of an embeddings body: `model` (but on Azure) and a non-empty `input`. */
export function validateEmbedding(flavour: Flavour, body: unknown): Problem | undefined {
  if (!isObject(body)) return problem('We could not parse the JSON body of your request. The API expects a JSON payload.', null);
  if (flavour.requireModel && (typeof body.model !== 'string' || body.model === '')) return problem('you must provide a model parameter', null);
  const input = body.input;
  if (input === undefined) return missing('input');
  const items = Array.isArray(input) ? input : [input];
  if (items.length === 0 || items.some((x) => x === '' || (typeof x !== 'string' && !Array.isArray(x)))) {
    return problem("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'input', 'invalid_value');
  }
  if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
    return problem(`Invalid value: '${String(body.encoding_format)}'. Supported values are: 'float' and 'base64'.`, 'encoding_format', 'invalid_value');
  }
  return undefined;
}
