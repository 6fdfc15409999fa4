/**
 * Gemini request translation: an OpenAI chat body becomes a `generateContent` body (contents,
 * systemInstruction, generationConfig, tools, toolConfig), and the Gemini API request around it
 * (`{base}/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse`, with the key in
 * `x-goog-api-key`). The body translation is shared with Vertex AI.
 *
 * OpenAI fields Gemini has no counterpart for are dropped, never forwarded.
 */
import { invalid, requireMessages, stopSequences, toolChoiceOf, toolSpecs, withOwnHeaders } from '../chat-input.js';
import { isObject, trimTrailingSlashes } from '../openai-compatible.js';
import type { JsonObject, ResolvedTarget, UnifiedRequest, UpstreamRequest } from '../types.js';
import { translateMessages, type ContentOptions } from './contents.js';

/** The Gemini API's default base (the version path included). */
export const GOOGLE_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

/** Numeric OpenAI fields and the `generationConfig` field each becomes. */
const NUMBER_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['temperature', 'temperature'],
  ['top_p', 'topP'],
  ['top_k', 'topK'],
  ['n', 'candidateCount'],
  ['presence_penalty', 'presencePenalty'],
  ['frequency_penalty', 'frequencyPenalty'],
  ['seed', 'seed'],
];

/** A numeric field, or undefined when absent; anything else is refused naming it. */
function numberField(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${key} must be a number`, key);
  return value;
}

/** OpenAI `response_format` as `responseMimeType` and `responseJsonSchema`. */
function responseFormat(format: unknown): JsonObject {
  if (format === undefined || format === null) return {};
  if (!isObject(format)) throw invalid('response_format must be an object', 'response_format');
  switch (format.type) {
    case 'text':
      return {};
    case 'json_object':
      return { responseMimeType: 'application/json' };
    case 'json_schema': {
      const spec = isObject(format.json_schema) ? format.json_schema : undefined;
      if (!isObject(spec?.schema)) {
        throw invalid('response_format.json_schema.schema must be a JSON schema object', 'response_format.json_schema.schema');
      }
      // responseJsonSchema takes JSON Schema as it is (responseSchema takes only an OpenAPI subset).
      return { responseMimeType: 'application/json', responseJsonSchema: spec.schema };
    }
    default:
      throw invalid("response_format.type must be 'text', 'json_object' or 'json_schema'", 'response_format.type');
  }
}

/** The `generationConfig` of an OpenAI chat body; undefined when it sets nothing. */
export function generationConfig(body: JsonObject): JsonObject | undefined {
  const config: JsonObject = {};
  for (const [from, to] of NUMBER_FIELDS) {
    const value = numberField(body, from);
    if (value !== undefined) config[to] = value;
  }
  // max_completion_tokens ?? max_tokens, each checked under its own name.
  const hasCompletion = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null;
  const max = numberField(body, hasCompletion ? 'max_completion_tokens' : 'max_tokens');
  if (max !== undefined) config.maxOutputTokens = max;
  const stop = stopSequences(body.stop);
  if (stop !== undefined && stop.length > 0) config.stopSequences = stop;
  Object.assign(config, responseFormat(body.response_format));
  return Object.keys(config).length > 0 ? config : undefined;
}

/**
 * OpenAI `tools` as one Gemini tool of `functionDeclarations`. The parameters go in
 * `parametersJsonSchema`, which takes JSON Schema as it is (`parameters` takes only an OpenAPI
 * subset) but must describe an object.
 */
function functionDeclarations(tools: unknown): JsonObject[] {
  return toolSpecs(tools).map((tool, i) => {
    const schema = tool.parameters;
    if (schema.type !== undefined && schema.type !== 'object') {
      throw invalid(`tools[${i}].function.parameters must describe an object (type 'object')`, `tools[${i}].function.parameters`);
    }
    return {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parametersJsonSchema: schema,
    };
  });
}

/** OpenAI `tool_choice` as `toolConfig.functionCallingConfig`; needs tools unless `none`/`auto`. */
function toolConfig(choice: unknown, declared: JsonObject[]): JsonObject | undefined {
  const read = toolChoiceOf(choice);
  if (read === undefined) return undefined;
  if (declared.length === 0) {
    if (read.kind === 'none' || read.kind === 'auto') return undefined;
    throw invalid('tool_choice needs tools', 'tool_choice');
  }
  if (read.kind === 'function') {
    if (!declared.some((d) => d.name === read.name)) throw invalid(`tool_choice names ${JSON.stringify(read.name)}, which is not in tools`, 'tool_choice');
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [read.name] } };
  }
  const mode = read.kind === 'required' ? 'ANY' : read.kind === 'none' ? 'NONE' : 'AUTO';
  return { functionCallingConfig: { mode } };
}

/** Translates an OpenAI chat body into a Gemini `generateContent` body. */
export function translateGeminiBody(body: JsonObject, o: ContentOptions): JsonObject {
  const { contents, systemInstruction } = translateMessages(requireMessages(body), o);
  const out: JsonObject = { contents };
  if (systemInstruction !== undefined) out.systemInstruction = systemInstruction;
  const config = generationConfig(body);
  if (config !== undefined) out.generationConfig = config;
  const declarations = functionDeclarations(body.tools);
  if (declarations.length > 0) out.tools = [{ functionDeclarations: declarations }];
  const choice = toolConfig(body.tool_choice, declarations);
  if (choice !== undefined) out.toolConfig = choice;
  return out;
}

/** The request's model without a leading `models/`; missing or empty is refused. */
export function modelName(body: JsonObject): string {
  const model = typeof body.model === 'string' ? body.model.trim().replace(/^models\//, '') : '';
  if (model === '') throw invalid('model is required and must be a non-empty string', 'model');
  return model;
}

/** The request's model as one URL path segment (see {@link modelName}), encoded. */
export function modelSegment(body: JsonObject): string {
  return encodeURIComponent(modelName(body));
}

/** The Gemini API's chat path of a model: the JSON method, or the SSE stream. */
export function chatMethod(req: UnifiedRequest): string {
  return req.stream ? ':streamGenerateContent?alt=sse' : ':generateContent';
}

/** The Gemini API's base for a target (its baseURL, or the default), without trailing slashes. */
export function googleBase(target: ResolvedTarget): string {
  return trimTrailingSlashes(target.baseURL || GOOGLE_DEFAULT_BASE_URL);
}

/** Our headers for the Gemini API: the key in `x-goog-api-key`, the target's headers under it. */
export function googleHeaders(target: ResolvedTarget): Record<string, string> {
  return withOwnHeaders(target, target.apiKey ? { 'x-goog-api-key': target.apiKey } : {});
}

/** The Gemini API request for one OpenAI-format chat request. */
export function buildGoogleChatRequest(req: UnifiedRequest, target: ResolvedTarget): UpstreamRequest {
  const model = modelSegment(req.body);
  return {
    url: `${googleBase(target)}/models/${model}${chatMethod(req)}`,
    method: 'POST',
    headers: googleHeaders(target),
    body: translateGeminiBody(req.body, { provider: 'google', callIds: true }),
  };
}
