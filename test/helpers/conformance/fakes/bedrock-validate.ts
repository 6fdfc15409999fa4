/**
 * What the Bedrock fake refuses, as Bedrock refuses it (400 ValidationException, message in
 * Bedrock's words where its documentation or its answers give them): the Converse request shape
 * from the Bedrock Runtime Smithy model (fields, unions, enums, ranges, name/id patterns), the
 * conversation rules (first turn user, strictly alternating roles, toolUse/toolResult only with a
 * toolConfig, tool results answering the previous turn's tool uses), and the InvokeModel bodies
 * of the Titan and Cohere embedding models. Each function returns the message, or undefined.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ConverseRequest's members in the Smithy model (the model id is the path's label). */
const CONVERSE_FIELDS = ['messages', 'system', 'inferenceConfig', 'toolConfig', 'guardrailConfig'].concat(
  ['additionalModelRequestFields', 'promptVariables', 'additionalModelResponseFieldPaths', 'requestMetadata'],
  ['performanceConfig', 'serviceTier', 'outputConfig'],
);
/** The ContentBlock union's members. */
const BLOCKS = ['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'reasoningContent'].concat(
  ['cachePoint', 'citationsContent'],
);
const RESULT_BLOCKS = ['json', 'text', 'image', 'document', 'video'];
const INFERENCE_FIELDS = ['maxTokens', 'temperature', 'topP', 'stopSequences'];
const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'];
/** ToolName and ToolUseId in the Smithy model: 1-64 of [a-zA-Z0-9_-]. */
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const FIRST_USER =
  'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
const ALTERNATE =
  'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
const NEED_TOOL_CONFIG = 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';

/** The Smithy constraint message Bedrock answers with. */
function constraint(path: string, value: unknown, rule: string): string {
  return `1 validation error detected: Value '${typeof value === 'string' ? value : JSON.stringify(value)}' at '${path}' failed to satisfy constraint: ${rule}`;
}

/** A union member: exactly one of `allowed` set. */
function unionKey(value: unknown, allowed: readonly string[], path: string): string | { error: string } {
  const keys = isObject(value) ? Object.keys(value) : [];
  const key = keys[0];
  if (keys.length === 1 && key !== undefined && allowed.includes(key)) return key;
  return {
    error: `The union at '${path}' must have exactly one member of [${allowed.join(', ')}]; it has [${keys.join(', ')}].`,
  };
}

function checkImage(image: unknown, path: string): string | undefined {
  if (!isObject(image) || !IMAGE_FORMATS.includes(String(image.format)))
    return constraint(
      `${path}.format`,
      isObject(image) ? image.format : image,
      `Member must satisfy enum value set: [${IMAGE_FORMATS.join(', ')}]`,
    );
  const bytes = isObject(image.source) ? image.source.bytes : undefined;
  if (typeof bytes !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(bytes))
    return `The image at '${path}' needs source.bytes: the image as base64 text (non-empty), got ${JSON.stringify(image.source)}.`;
  return undefined;
}

/** A ToolName or ToolUseId that breaks the model's pattern. */
function badName(path: string, value: unknown): string | undefined {
  if (NAME.test(String(value))) return undefined;
  return constraint(path, value, 'Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+ (length 1-64)');
}

function checkToolUse(use: unknown, path: string): string | undefined {
  const u = isObject(use) ? use : {};
  const named = badName(`${path}.toolUseId`, u.toolUseId) ?? badName(`${path}.name`, u.name);
  if (named) return named;
  if (!isObject(u.input))
    return `The toolUse input at '${path}.input' must be the tool's arguments as a JSON object, got ${JSON.stringify(u.input)}.`;
  return undefined;
}

function checkToolResult(result: unknown, path: string): string | undefined {
  const r = isObject(result) ? result : {};
  const named = badName(`${path}.toolUseId`, r.toolUseId);
  if (named) return named;
  if (r.status !== undefined && r.status !== 'success' && r.status !== 'error')
    return constraint(`${path}.status`, r.status, 'Member must satisfy enum value set: [success, error]');
  if (!Array.isArray(r.content) || r.content.length === 0)
    return `The content field at ${path} cannot be empty: give the tool's result as [{ text }] or [{ json }].`;
  for (const [k, item] of r.content.entries()) {
    const key = unionKey(item, RESULT_BLOCKS, `${path}.content.${k}`);
    if (typeof key !== 'string') return key.error;
    if (key === 'text' && typeof (item as Json).text !== 'string')
      return constraint(`${path}.content.${k}.text`, (item as Json).text, 'Member must be a string');
  }
  return undefined;
}

function checkBlock(block: unknown, path: string): string | undefined {
  const key = unionKey(block, BLOCKS, path);
  if (typeof key !== 'string') return key.error;
  const value = (block as Json)[key];
  if (key === 'text')
    return typeof value === 'string' && value.trim() !== ''
      ? undefined
      : `The text field in the ContentBlock object at ${path} is blank. Add text to the text field, and try again.`;
  if (key === 'image') return checkImage(value, `${path}.image`);
  if (key === 'toolUse') return checkToolUse(value, `${path}.toolUse`);
  if (key === 'toolResult') return checkToolResult(value, `${path}.toolResult`);
  return undefined;
}

const idsOf = (blocks: readonly Json[], kind: 'toolUse' | 'toolResult'): string[] =>
  blocks.flatMap((b) => (isObject(b[kind]) ? [String((b[kind] as Json).toolUseId)] : []));

/**
 * Tool blocks in one turn: only with a toolConfig, toolUse from the assistant, toolResult from the
 * user, and a user turn after tool uses answering exactly those ids.
 */
function checkToolTurn(
  i: number,
  role: 'user' | 'assistant',
  blocks: Json[],
  pendingUses: string[],
  hasToolConfig: boolean,
): string | undefined {
  const uses = idsOf(blocks, 'toolUse');
  const results = idsOf(blocks, 'toolResult');
  if ((uses.length > 0 || results.length > 0) && !hasToolConfig) return NEED_TOOL_CONFIG;
  if (role === 'user' && uses.length > 0) return `messages.${i}: a toolUse block can only be in an assistant message.`;
  if (role === 'assistant' && results.length > 0) return `messages.${i}: a toolResult block can only be in a user message.`;
  if (role === 'assistant' || (pendingUses.length === 0 && results.length === 0)) return undefined;
  const same = [...pendingUses].sort().join(',') === [...results].sort().join(',');
  if (same) return undefined;
  const [expected, found] = [pendingUses.join(', ') || '(none)', results.join(', ') || '(none)'];
  return `Expected toolResult blocks at messages.${i}.content for the following Ids: ${expected}, but found: ${found}`;
}

/** The turn rules: roles, non-empty content, valid blocks, tool uses answered by the next turn. */
function checkMessages(messages: unknown, hasToolConfig: boolean): string | undefined {
  if (!Array.isArray(messages) || messages.length === 0)
    return `The messages field is ${Array.isArray(messages) ? 'empty' : 'missing'}. ${FIRST_USER}`;
  let pendingUses: string[] = [];
  for (const [i, m] of messages.entries()) {
    if (!isObject(m)) return `The message at messages.${i} must be an object { role, content }.`;
    if (m.role !== 'user' && m.role !== 'assistant')
      return constraint(`messages.${i}.role`, m.role, 'Member must satisfy enum value set: [user, assistant]');
    if (i === 0 && m.role !== 'user') return FIRST_USER;
    if (i > 0 && m.role === (messages[i - 1] as Json).role) return ALTERNATE;
    if (!Array.isArray(m.content) || m.content.length === 0)
      return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    for (const [j, block] of m.content.entries()) {
      const problem = checkBlock(block, `messages.${i}.content.${j}`);
      if (problem) return problem;
    }
    const blocks = m.content as Json[];
    const problem = checkToolTurn(i, m.role, blocks, pendingUses, hasToolConfig);
    if (problem) return problem;
    pendingUses = idsOf(blocks, 'toolUse');
  }
  return undefined;
}

function checkSystem(system: unknown): string | undefined {
  if (system === undefined) return undefined;
  if (!Array.isArray(system)) return constraint('system', system, 'Member must be a list of SystemContentBlock');
  for (const [i, block] of system.entries()) {
    const key = unionKey(block, ['text', 'guardContent', 'cachePoint'], `system.${i}`);
    if (typeof key !== 'string') return key.error;
    const text = (block as Json).text;
    if (key === 'text' && (typeof text !== 'string' || text === ''))
      return constraint(`system.${i}.text`, text, 'Member must have length greater than or equal to 1');
  }
  return undefined;
}

function checkInference(config: unknown): string | undefined {
  if (config === undefined) return undefined;
  if (!isObject(config))
    return constraint('inferenceConfig', config, 'Member must be an InferenceConfiguration object');
  const unknown = Object.keys(config).filter((k) => !INFERENCE_FIELDS.includes(k));
  if (unknown.length > 0)
    return `Unknown field(s) in inferenceConfig: ${unknown.join(', ')}; it takes ${INFERENCE_FIELDS.join(', ')}.`;
  const { maxTokens, temperature, topP, stopSequences } = config;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && (maxTokens as number) >= 1))
    return constraint('inferenceConfig.maxTokens', maxTokens, 'Member must have value greater than or equal to 1');
  for (const [name, v] of [
    ['temperature', temperature],
    ['topP', topP],
  ] as const) {
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1))
      return constraint(`inferenceConfig.${name}`, v, 'Member must have value between 0 and 1');
  }
  if (stopSequences === undefined) return undefined;
  const ok =
    Array.isArray(stopSequences) &&
    stopSequences.length <= 4 &&
    stopSequences.every((s) => typeof s === 'string' && s !== '');
  return ok
    ? undefined
    : constraint(
        'inferenceConfig.stopSequences',
        stopSequences,
        'Member must have length less than or equal to 4, of non-empty strings',
      );
}

function checkToolConfig(toolConfig: unknown): string | undefined {
  if (toolConfig === undefined) return undefined;
  const tools = isObject(toolConfig) ? toolConfig.tools : undefined;
  if (!Array.isArray(tools) || tools.length === 0)
    return constraint('toolConfig.tools', tools, 'Member must have length greater than or equal to 1');
  const names: string[] = [];
  for (const [i, tool] of tools.entries()) {
    const spec = isObject(tool) && isObject(tool.toolSpec) ? tool.toolSpec : {};
    const named = badName(`toolConfig.tools.${i}.toolSpec.name`, spec.name);
    if (named) return named;
    if (spec.description !== undefined && (typeof spec.description !== 'string' || spec.description === ''))
      return constraint(
        `toolConfig.tools.${i}.toolSpec.description`,
        spec.description,
        'Member must have length greater than or equal to 1',
      );
    if (!isObject(spec.inputSchema) || !isObject(spec.inputSchema.json))
      return `toolConfig.tools.${i}.toolSpec.inputSchema must be { json: <a JSON Schema object> }, got ${JSON.stringify(spec.inputSchema)}.`;
    names.push(String(spec.name));
  }
  const choice = (toolConfig as Json).toolChoice;
  if (choice === undefined) return undefined;
  const key = unionKey(choice, ['auto', 'any', 'tool'], 'toolConfig.toolChoice');
  if (typeof key !== 'string') return key.error;
  const named = (choice as Json).tool;
  if (key === 'tool' && !(isObject(named) && names.includes(String(named.name))))
    return `toolConfig.toolChoice.tool.name must name one of the tools (${names.join(', ')}), got ${JSON.stringify(named)}.`;
  return undefined;
}

/** Validates a Converse / ConverseStream body; the model id travels in the path, never the body. */
export function validateConverse(body: unknown): string | undefined {
  if (!isObject(body)) return 'The request body must be a JSON object (the Converse request syntax).';
  const unknown = Object.keys(body).filter((k) => !CONVERSE_FIELDS.includes(k));
  if (unknown.length > 0)
    return `Unknown field(s) in the Converse request: ${unknown.join(', ')}. It takes: ${CONVERSE_FIELDS.join(', ')}.`;
  return (
    checkMessages(body.messages, body.toolConfig !== undefined) ??
    checkSystem(body.system) ??
    checkInference(body.inferenceConfig) ??
    checkToolConfig(body.toolConfig)
  );
}

/** Which embedding body a model id takes (ids may carry a region prefix or be an ARN). */
export function embeddingFamily(model: string): 'titan-v1' | 'titan-v2' | 'cohere' | undefined {
  if (model.includes('titan-embed-text-v2')) return 'titan-v2';
  if (model.includes('titan-embed')) return 'titan-v1';
  return model.includes('cohere.embed') ? 'cohere' : undefined;
}

const malformed = (detail: string): string =>
  `Malformed input request: #${detail}, please reformat your input and try again.`;

/** Validates an InvokeModel body for the Titan and Cohere embedding models (their parameter pages). */
export function validateInvoke(model: string, body: unknown): string | undefined {
  const family = embeddingFamily(model);
  if (!family)
    return `This fake serves InvokeModel for embedding models only (amazon.titan-embed-*, cohere.embed-*), not '${model}'.`;
  if (!isObject(body)) return malformed(': expected type: JSONObject');
  const spec = {
    'titan-v1': { allowed: ['inputText'], required: ['inputText'] },
    'titan-v2': { allowed: ['inputText', 'dimensions', 'normalize', 'embeddingTypes'], required: ['inputText'] },
    cohere: {
      allowed: ['texts', 'input_type', 'truncate', 'embedding_types', 'images'],
      required: ['texts', 'input_type'],
    },
  }[family];
  const extra = Object.keys(body).find((k) => !spec.allowed.includes(k));
  if (extra !== undefined) return malformed(`: extraneous key [${extra}] is not permitted`);
  const missing = spec.required.find((k) => body[k] === undefined);
  if (missing !== undefined) return malformed(`: required key [${missing}] not found`);
  if (family !== 'cohere') {
    if (typeof body.inputText !== 'string' || body.inputText === '')
      return malformed(`/inputText: expected a non-empty string, found: ${JSON.stringify(body.inputText)}`);
    if (body.dimensions !== undefined && ![256, 512, 1024].includes(body.dimensions as number))
      return malformed(`/dimensions: ${JSON.stringify(body.dimensions)} is not a valid enum value`);
    if (body.normalize !== undefined && typeof body.normalize !== 'boolean')
      return malformed(`/normalize: expected type: Boolean, found: ${typeof body.normalize}`);
    return undefined;
  }
  const { texts, input_type: inputType, truncate } = body;
  if (!Array.isArray(texts) || texts.length > 96 || !texts.every((t) => typeof t === 'string'))
    return malformed(`/texts: expected an array of at most 96 strings, found: ${JSON.stringify(texts)}`);
  if (!['search_document', 'search_query', 'classification', 'clustering', 'image'].includes(String(inputType)))
    return malformed(`/input_type: ${JSON.stringify(inputType)} is not a valid enum value`);
  if (truncate !== undefined && !['NONE', 'START', 'END'].includes(String(truncate)))
    return malformed(`/truncate: ${JSON.stringify(truncate)} is not a valid enum value`);
  return undefined;
}
