/**
 * Cohere request translation: an OpenAI-format chat body becomes a Cohere v2 Chat API body
 * (`POST {base}/chat`), an OpenAI embedding body a v2 Embed API body (`POST {base}/embed`).
 *
 * What Cohere cannot take (a content part it has no counterpart for, a named `tool_choice`, token
 * arrays to embed) is a `RequestError` 400 `invalid_parameter` whose `param` names the field.
 * OpenAI fields Cohere has no counterpart for (`user`, `n`, `logit_bias`, ...) are dropped.
 */
import { RequestError } from '../../errors.js';
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

/** Cohere's API base when a target sets no baseURL. */
export const COHERE_BASE_URL = 'https://api.cohere.com/v2';
/** Most texts one v2 Embed call takes. */
export const MAX_EMBED_TEXTS = 96;

type Block = JsonObject;

/** An OpenAI `image_url` part as a Cohere one (a base64 data URI or a web URL, and its `detail`). */
function imageBlock(part: JsonObject, param: string): Block {
  const source = imageSource(part, param);
  const url = source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
  const detail = isObject(part.image_url) ? part.image_url.detail : undefined;
  if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high') {
    throw invalid(`${param}.image_url.detail must be 'auto', 'low' or 'high'`, `${param}.image_url.detail`);
  }
  return { type: 'image_url', image_url: detail === undefined ? { url } : { url, detail } };
}

/** User content (a string, or text and image parts) as Cohere content. */
function userContent(content: unknown, param: string): string | Block[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(`${param} must be a string or an array`, param);
  return content.map((part, k) => {
    const partParam = `${param}[${k}]`;
    if (!isObject(part)) throw invalid(`${partParam} must be an object`, partParam);
    if (part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (part.type === 'image_url') return imageBlock(part, partParam);
    throw invalid(`${partParam}.type ${JSON.stringify(part.type)} is not supported by cohere`, `${partParam}.type`);
  });
}

/** The text of a text part (or of a replayed refusal part); any other part is refused. */
function partText(part: unknown, param: string): string {
  if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
  if (isObject(part) && part.type === 'refusal' && typeof part.refusal === 'string') return part.refusal;
  throw invalid(`${param} must be a text part`, param);
}

/** The text of assistant or tool content: a string, or its text parts joined. */
function plainText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw invalid(`${param} must be a string, an array or null`, param);
  let text = '';
  content.forEach((part, k) => {
    text += partText(part, `${param}[${k}]`);
  });
  return text;
}

/**
 * An assistant message. Cohere refuses text content beside `tool_calls` ("text content is not
 * allowed when tool_calls are provided ... use 'tool_plan'"), so that text is the `tool_plan`.
 * An assistant turn with neither text nor calls is left out.
 */
function assistantMessage(msg: JsonObject, i: number): Block | undefined {
  const text = plainText(msg.content, `messages[${i}].content`);
  const calls = toolCallsOf(msg.tool_calls, i);
  if (calls.length === 0) return text === '' ? undefined : { role: 'assistant', content: text };
  const out: Block = {
    role: 'assistant',
    tool_calls: calls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: JSON.stringify(call.input) },
    })),
  };
  if (text !== '') out.tool_plan = text;
  return out;
}

/** A `tool` message: its call id and its content (a string, or text blocks). */
function toolMessage(msg: JsonObject, i: number): Block {
  const param = `messages[${i}].content`;
  const content = Array.isArray(msg.content)
    ? msg.content.map((part, k) => ({ type: 'text', text: partText(part, `${param}[${k}]`) }))
    : plainText(msg.content, param);
  return { role: 'tool', tool_call_id: toolCallIdOf(msg, i), content };
}

/**
 * OpenAI `messages` as Cohere v2 messages. System and developer messages become one system
 * message, first (Cohere: "system turn must be the first in the list").
 */
function translateMessages(messages: unknown[]): Block[] {
  const system: string[] = [];
  const out: Block[] = [];
  messages.forEach((msg, i) => {
    const param = `messages[${i}]`;
    if (!isObject(msg)) throw invalid(`${param} must be an object`, param);
    switch (msg.role) {
      case 'system':
      case 'developer':
        system.push(systemText(msg.content, `${param}.content`));
        break;
      case 'user':
        out.push({ role: 'user', content: userContent(msg.content, `${param}.content`) });
        break;
      case 'assistant': {
        const turn = assistantMessage(msg, i);
        if (turn !== undefined) out.push(turn);
        break;
      }
      case 'tool':
        out.push(toolMessage(msg, i));
        break;
      default:
        throw invalid(`${param}.role ${JSON.stringify(msg.role)} is not supported by cohere`, `${param}.role`);
    }
  });
  const systemContent = system.filter((s) => s !== '').join('\n');
  return systemContent === '' ? out : [{ role: 'system', content: systemContent }, ...out];
}

/** OpenAI `tool_choice` as Cohere's (`REQUIRED`, `NONE`, or none for auto); a named function is refused. */
function translateToolChoice(choice: unknown, hasTools: boolean): string | undefined {
  const read = toolChoiceOf(choice);
  if (read === undefined || read.kind === 'auto') return undefined;
  if (read.kind === 'function') {
    throw invalid('cohere cannot be made to call one named function: tool_choice must be auto, required or none', 'tool_choice');
  }
  if (read.kind === 'required' && !hasTools) throw invalid("tool_choice 'required' needs tools", 'tool_choice');
  return read.kind === 'required' ? 'REQUIRED' : 'NONE';
}

/** OpenAI `response_format` as Cohere's: `json_object`, or `json_object` with the schema. */
function translateResponseFormat(format: unknown): Block | undefined {
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) throw invalid('response_format must be an object', 'response_format');
  switch (format.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const spec = format.json_schema;
      if (!isObject(spec) || !isObject(spec.schema)) {
        throw invalid('response_format.json_schema.schema must be an object', 'response_format.json_schema.schema');
      }
      return { type: 'json_object', json_schema: spec.schema };
    }
    default:
      throw invalid("response_format.type must be 'text', 'json_object' or 'json_schema'", 'response_format.type');
  }
}

/** A number field of `body`, undefined when absent or null; anything else is refused naming it. */
function numberOf(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${key} must be a number`, key);
  return value;
}

/** Copies number fields of `from` to `to` under Cohere's names (OpenAI name -> Cohere name). */
function copyNumbers(from: JsonObject, to: JsonObject, names: Readonly<Record<string, string>>): void {
  for (const [openai, cohere] of Object.entries(names)) {
    const value = numberOf(from, openai);
    if (value !== undefined) to[cohere] = value;
  }
}

/** Translates an OpenAI chat body into a Cohere v2 Chat API body. */
export function translateChatBody(body: JsonObject): JsonObject {
  const out: JsonObject = { model: body.model, messages: translateMessages(requireMessages(body)) };
  const tools = toolSpecs(body.tools).map((tool) => ({
    type: 'function',
    function: { name: tool.name, ...(tool.description !== undefined ? { description: tool.description } : {}), parameters: tool.parameters },
  }));
  if (tools.length > 0) out.tools = tools;
  const toolChoice = translateToolChoice(body.tool_choice, tools.length > 0);
  if (toolChoice !== undefined) out.tool_choice = toolChoice;

  copyNumbers(body, out, {
    temperature: 'temperature',
    top_p: 'p',
    top_k: 'k',
    seed: 'seed',
    frequency_penalty: 'frequency_penalty',
    presence_penalty: 'presence_penalty',
  });
  // OpenAI's newer name wins, as in maxTokensOf.
  const maxTokens = numberOf(body, 'max_completion_tokens') ?? numberOf(body, 'max_tokens');
  if (maxTokens !== undefined) out.max_tokens = maxTokens;

  const stop = stopSequences(body.stop);
  if (stop !== undefined) out.stop_sequences = stop;
  const format = translateResponseFormat(body.response_format);
  if (format !== undefined) out.response_format = format;
  if (body.stream !== undefined && body.stream !== null) {
    if (typeof body.stream !== 'boolean') throw invalid('stream must be a boolean', 'stream');
    out.stream = body.stream;
  }
  return out;
}

/** OpenAI embedding `input` as the texts Cohere embeds: text only, 1 to 96 non-empty strings. */
function embedTexts(input: unknown): string[] {
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || texts.length === 0) {
    throw invalid('input must be a string or a non-empty array of strings', 'input');
  }
  if (texts.length > MAX_EMBED_TEXTS) throw invalid(`cohere embeds at most ${MAX_EMBED_TEXTS} inputs per request (got ${texts.length})`, 'input');
  texts.forEach((text, k) => {
    if (typeof text !== 'string') throw invalid(`input[${k}] must be a string: cohere embeds text, not token arrays`, `input[${k}]`);
    if (text === '') throw invalid(`input[${k}] must not be empty`, `input[${k}]`);
  });
  return texts as string[];
}

/**
 * Translates an OpenAI embedding body into a v2 Embed API body: float embeddings of the texts as
 * documents to search (`input_type: 'search_document'`, or the body's own `input_type`), with
 * `dimensions` as `output_dimension`.
 */
export function translateEmbedBody(body: JsonObject): JsonObject {
  const out: JsonObject = {
    model: body.model,
    texts: embedTexts(body.input),
    input_type: typeof body.input_type === 'string' && body.input_type !== '' ? body.input_type : 'search_document',
    embedding_types: ['float'],
  };
  copyNumbers(body, out, { dimensions: 'output_dimension' });
  if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
    throw invalid("encoding_format must be 'float' or 'base64'", 'encoding_format');
  }
  return out;
}

/** The Cohere request (chat or embed) for one OpenAI-format request. */
export function buildCohereRequest(req: UnifiedRequest, target: ResolvedTarget): UpstreamRequest {
  const base = trimTrailingSlashes(target.baseURL || COHERE_BASE_URL);
  const headers = withOwnHeaders(target, target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {});
  if (req.endpoint === 'chat') return { url: `${base}/chat`, method: 'POST', headers, body: translateChatBody(req.body) };
  if (req.endpoint === 'embedding') return { url: `${base}/embed`, method: 'POST', headers, body: translateEmbedBody(req.body) };
  throw new RequestError(`cohere does not serve the ${req.endpoint} endpoint`, 400, 'invalid_parameter', 'invalid_request_error', null);
}
