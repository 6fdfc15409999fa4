/**
 * What the fake Gemini API and Vertex AI servers (./google.ts) refuse in a request body, and how:
 * a 400 INVALID_ARGUMENT in the google.rpc shape with the message Google gives. Written from the
 * Gemini API and Vertex AI references (GenerateContentRequest, Content, Part, Tool, ToolConfig,
 * GenerationConfig, EmbedContentRequest, BatchEmbedContentsRequest, the text-embeddings `predict`
 * body) and the error messages Google returns for them.
 *
 * Google parses JSON into protocol buffers, so a field is accepted under its lowerCamel name or its
 * original snake_case name, and a field the message does not have is refused ("Unknown name").
 */
import { isObject } from '../../../../lib/providers/openai-compatible.js';
import type { JsonObject } from '../../../../lib/providers/types.js';

/** A refusal in Google's error format: HTTP status, google.rpc status name, message, details. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly details?: readonly unknown[];
}

/** Builds a {@link Refusal}. */
export function rpc(status: number, code: string, message: string, details?: readonly unknown[]): Refusal {
  return { status, code, message, ...(details ? { details } : {}) };
}

/** Thrown by the checks below; the server answers with its refusal. */
export class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

/** A 400 INVALID_ARGUMENT refusal. */
export function invalidArg(message: string): Refusal {
  return rpc(400, 'INVALID_ARGUMENT', message);
}

const fail = (message: string): Refused => new Refused(invalidArg(message));
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (name: string): string => name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const invalidValue = (at: string, type: string, value: unknown): Refused =>
  fail(`Invalid value at '${at}' (${type}), ${JSON.stringify(value)}`);

/** A field of a proto-JSON object by its lowerCamel name or its snake_case name. */
export function get(obj: JsonObject, name: string): unknown {
  return obj[name] ?? obj[snake(name)];
}

function onlyKnown(obj: JsonObject, known: readonly string[], at: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(camel(key))) {
      throw fail(`Invalid JSON payload received. Unknown name "${key}"${at ? ` at '${at}'` : ''}: Cannot find field.`);
    }
  }
}

function object(value: unknown, at: string, type: string): JsonObject {
  if (!isObject(value)) throw invalidValue(at, type, value);
  return value;
}

const REQUEST = ['contents', 'systemInstruction', 'tools', 'toolConfig', 'safetySettings', 'generationConfig', 'cachedContent', 'model', 'labels'];
const CONFIG = [
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens',
  'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'enableEnhancedCivicAnswers',
  'speechConfig', 'thinkingConfig', 'imageConfig', 'mediaResolution', 'routingConfig', 'audioTimestamp',
];
const DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];
const PART = [...DATA, 'thought', 'thoughtSignature', 'videoMetadata', 'partMetadata', 'mediaResolution'];
const TOOL = ['functionDeclarations', 'googleSearch', 'googleSearchRetrieval', 'codeExecution', 'urlContext', 'retrieval', 'googleMaps', 'fileSearch', 'computerUse', 'enterpriseWebSearch'];
const DECLARATION = ['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior'];
const MODES = ['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED'];
/** FunctionDeclaration.name: a-z, A-Z, 0-9, underscores, colons, dots and dashes, at most 64, not starting with a digit. */
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

function checkFunctionPart(value: unknown, at: string, payload: 'args' | 'response'): void {
  if (value === undefined) return;
  const fn = object(value, at, payload === 'args' ? 'FunctionCall' : 'FunctionResponse');
  if (typeof fn.name !== 'string' || fn.name === '') throw fail(`* GenerateContentRequest.${at}.name: Name cannot be empty.\n`);
  if (fn[payload] !== undefined && !isObject(fn[payload])) {
    throw invalidValue(`${at}.${payload}`, 'type.googleapis.com/google.protobuf.Struct', fn[payload]);
  }
}

function checkPart(value: unknown, at: string): void {
  const part = object(value, at, 'Part');
  onlyKnown(part, PART, at);
  const data = Object.keys(part).filter((key) => DATA.includes(camel(key)));
  if (data.length === 0) throw fail(`* GenerateContentRequest.${at}.data: required oneof field 'data' must have one initialized field\n`);
  if (data.length > 1) throw fail(`Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '${at}.${data[1]}'`);
  const text = get(part, 'text');
  if (text !== undefined && typeof text !== 'string') throw invalidValue(`${at}.text`, 'TYPE_STRING', text);
  const inline = get(part, 'inlineData');
  if (inline !== undefined && (!isObject(inline) || typeof get(inline, 'mimeType') !== 'string' || typeof inline.data !== 'string')) {
    throw fail(`* GenerateContentRequest.${at}.inline_data: mime_type and data (base64 bytes) are required\n`);
  }
  checkFunctionPart(get(part, 'functionCall'), `${at}.function_call`, 'args');
  checkFunctionPart(get(part, 'functionResponse'), `${at}.function_response`, 'response');
}

/** A Content: `role` (only `user` or `model`, where it matters) and a non-empty `parts`. */
function checkContent(value: unknown, at: string, roles: boolean): JsonObject {
  const content = object(value, at, 'Content');
  onlyKnown(content, ['role', 'parts'], at);
  if (roles && content.role !== undefined && content.role !== 'user' && content.role !== 'model') {
    throw fail('Please use a valid role: user, model.');
  }
  if (!Array.isArray(content.parts) || content.parts.length === 0) {
    throw fail(`* GenerateContentRequest.${at}.parts: contents.parts must not be empty.\n`);
  }
  content.parts.forEach((part, j) => checkPart(part, `${at}.parts[${j}]`));
  return content;
}

const countOf = (content: JsonObject | undefined, field: string): number =>
  (content?.parts as unknown[] | undefined)?.filter((p) => isObject(p) && get(p, field) !== undefined).length ?? 0;

/**
 * Function calling turns: a model turn with function calls follows a user turn; a user turn with
 * function responses follows that model turn and answers each of its calls.
 */
function checkTurns(contents: readonly JsonObject[]): void {
  contents.forEach((content, i) => {
    const previous = contents[i - 1];
    const isModel = content.role === 'model';
    if (isModel && countOf(content, 'functionCall') > 0 && (previous === undefined || previous.role === 'model')) {
      throw fail('Please ensure that function call turn comes immediately after a user turn or after a function response turn.');
    }
    const responses = isModel ? 0 : countOf(content, 'functionResponse');
    if (responses === 0) return;
    const calls = previous?.role === 'model' ? countOf(previous, 'functionCall') : 0;
    if (calls === 0) throw fail('Please ensure that function response turn comes immediately after a function call turn.');
    if (calls !== responses) {
      throw fail('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
    }
  });
}

function checkTools(value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw invalidValue('tools', 'Tool', value);
  value.forEach((item, i) => {
    const tool = object(item, `tools[${i}]`, 'Tool');
    onlyKnown(tool, TOOL, `tools[${i}]`);
    const declarations = get(tool, 'functionDeclarations') ?? [];
    if (!Array.isArray(declarations)) throw invalidValue(`tools[${i}].function_declarations`, 'FunctionDeclaration', declarations);
    declarations.forEach((d, k) => {
      const at = `tools[${i}].function_declarations[${k}]`;
      const declaration = object(d, at, 'FunctionDeclaration');
      onlyKnown(declaration, DECLARATION, at);
      if (typeof declaration.name !== 'string' || !FUNCTION_NAME.test(declaration.name)) {
        throw fail(`* GenerateContentRequest.${at}.name: Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, colons, dots and dashes, with a maximum length of 64.\n`);
      }
      const parameters = get(declaration, 'parameters');
      if (parameters !== undefined) object(parameters, `${at}.parameters`, 'Schema');
    });
  });
}

function checkToolConfig(value: unknown): void {
  if (value === undefined) return;
  const config = object(value, 'tool_config', 'ToolConfig');
  onlyKnown(config, ['functionCallingConfig', 'retrievalConfig'], 'tool_config');
  const calling = get(config, 'functionCallingConfig');
  if (calling === undefined) return;
  const fc = object(calling, 'tool_config.function_calling_config', 'FunctionCallingConfig');
  onlyKnown(fc, ['mode', 'allowedFunctionNames', 'streamFunctionCallArguments'], 'tool_config.function_calling_config');
  if (fc.mode !== undefined && !MODES.includes(String(fc.mode))) {
    throw invalidValue('tool_config.function_calling_config.mode', 'type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode', fc.mode);
  }
  const names = get(fc, 'allowedFunctionNames');
  if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) {
    throw invalidValue('tool_config.function_calling_config.allowed_function_names', 'TYPE_STRING', names);
  }
}

function checkGenerationConfig(value: unknown): void {
  if (value === undefined) return;
  const config = object(value, 'generation_config', 'GenerationConfig');
  onlyKnown(config, CONFIG, 'generation_config');
  const integer = (name: string): void => {
    const v = get(config, name);
    if (v !== undefined && !((typeof v === 'number' || typeof v === 'string') && Number.isInteger(Number(v)) && v !== '')) {
      throw invalidValue(`generation_config.${snake(name)}`, 'TYPE_INT32', v);
    }
  };
  const number = (name: string): void => {
    const v = get(config, name);
    if (v !== undefined && typeof v !== 'number') throw invalidValue(`generation_config.${snake(name)}`, 'TYPE_FLOAT', v);
  };
  ['maxOutputTokens', 'candidateCount', 'topK', 'seed'].forEach(integer);
  ['temperature', 'topP', 'presencePenalty', 'frequencyPenalty'].forEach(number);
  const stop = get(config, 'stopSequences');
  if (stop !== undefined && (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string'))) {
    throw invalidValue('generation_config.stop_sequences', 'TYPE_STRING', stop);
  }
}

/** A generateContent / streamGenerateContent body, as the Gemini API (or, `vertex`, Vertex AI) checks it. */
export function checkGenerate(body: JsonObject, vertex: boolean): void {
  onlyKnown(body, REQUEST, '');
  const contents = get(body, 'contents');
  if (contents !== undefined && !Array.isArray(contents)) throw invalidValue('contents', 'Content', contents);
  if (!Array.isArray(contents) || contents.length === 0) {
    throw fail(
      vertex
        ? 'Unable to submit request because at least one contents field is required. Learn more: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini'
        : '* GenerateContentRequest.contents: contents is not specified\n',
    );
  }
  checkTurns(contents.map((c, i) => checkContent(c, `contents[${i}]`, true)));
  const system = get(body, 'systemInstruction');
  if (system !== undefined) checkContent(system, 'system_instruction', false);
  checkTools(get(body, 'tools'));
  checkToolConfig(get(body, 'toolConfig'));
  checkGenerationConfig(get(body, 'generationConfig'));
}

function checkEmbedRequest(value: unknown, at: string, model?: string): void {
  const request = object(value, at || 'request', 'EmbedContentRequest');
  const prefix = at ? `${at}.` : '';
  onlyKnown(request, ['model', 'content', 'taskType', 'title', 'outputDimensionality'], at);
  if (request.content === undefined) throw fail(`* EmbedContentRequest.${prefix}content: content is not specified\n`);
  checkContent(request.content, `${prefix}content`, false);
  if (model !== undefined && request.model !== `models/${model}`) {
    throw fail(`* BatchEmbedContentsRequest.${at}.model: the model of each request must be the batch's model "models/${model}", not ${JSON.stringify(request.model)}.\n`);
  }
}

/** An embedContent, batchEmbedContents (Gemini) or text-embeddings predict (Vertex AI) body. */
export function checkEmbedding(body: JsonObject, method: string, model: string): void {
  if (method === 'embedContent') return checkEmbedRequest(body, '');
  if (method === 'batchEmbedContents') {
    onlyKnown(body, ['requests'], '');
    if (!Array.isArray(body.requests) || body.requests.length === 0) throw fail('* BatchEmbedContentsRequest.requests: requests is not specified\n');
    return body.requests.forEach((request, i) => checkEmbedRequest(request, `requests[${i}]`, model));
  }
  onlyKnown(body, ['instances', 'parameters'], '');
  if (!Array.isArray(body.instances) || body.instances.length === 0) throw fail('* PredictRequest.instances: instances must be a non-empty list of {content}\n');
  body.instances.forEach((instance, i) => {
    if (!isObject(instance) || typeof instance.content !== 'string') {
      throw fail(`* PredictRequest.instances[${i}].content: each instance needs the text to embed as a string "content"\n`);
    }
  });
  if (body.parameters !== undefined) onlyKnown(object(body.parameters, 'parameters', 'TextEmbeddingPredictionParams'), ['autoTruncate', 'outputDimensionality'], 'parameters');
}

/** A request body: JSON, and a JSON object (a proto message), else Google's "Invalid JSON payload" refusal. */
export function parseBody(bytes: Buffer): JsonObject {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Refused(invalidArg('Invalid JSON payload received. Unexpected token.'));
  }
  if (!isObject(body)) throw new Refused(invalidArg('Invalid JSON payload received. Root element must be a message.'));
  return body;
}
