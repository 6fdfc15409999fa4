/**
 * Bedrock request translation: an OpenAI-format chat body becomes a Converse / ConverseStream
 * body (`messages` of content blocks, `system`, `inferenceConfig`, `toolConfig`).
 *
 * What Converse cannot take (an image by URL, an image in an assistant turn, an unknown content
 * part or role) is a `RequestError` 400 `invalid_parameter` whose `param` names the field.
 */
import {
  imageSource,
  invalid,
  maxTokensOf,
  requireMessages,
  stopSequences,
  systemText,
  toolCallIdOf,
  toolCallsOf,
  toolChoiceOf,
  toolSpecs,
} from '../chat-input.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject } from '../types.js';

type Block = JsonObject;

interface ConverseMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** What the translation of `messages` found. */
interface Translated {
  readonly system: Block[];
  readonly messages: ConverseMessage[];
  /** Names of the tools the history's toolUse blocks call (Converse then requires a toolConfig). */
  readonly historyTools: Set<string>;
  /** True when the history holds toolUse or toolResult blocks. */
  readonly hasToolBlocks: boolean;
}

/** Image formats an ImageBlock takes, by media type. */
const IMAGE_FORMATS: Readonly<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** An OpenAI `image_url` part as an ImageBlock: Converse takes the bytes only, never a URL. */
function imageBlock(part: JsonObject, param: string): Block {
  const image = imageSource(part, param);
  const urlParam = `${param}.image_url.url`;
  if (image.kind === 'url') throw invalid(`${urlParam}: bedrock takes images only as base64 data URLs, not http(s) URLs`, urlParam);
  const format = IMAGE_FORMATS[image.mediaType.toLowerCase()];
  if (format === undefined) throw invalid(`${urlParam}: bedrock takes png, jpeg, gif or webp images, not ${image.mediaType}`, urlParam);
  return { image: { format, source: { bytes: image.data } } };
}

/** Text Converse refuses as a content block ("the text field ... is blank"): empty or whitespace. */
function blank(text: string): boolean {
  return text.trim() === '';
}

/** OpenAI message content (a string, an array of parts, or null) as Converse content blocks. */
function contentBlocks(content: unknown, param: string, role: 'user' | 'assistant' | 'tool'): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return blank(content) ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw invalid(`${param} must be a string, an array or null`, param);
  const blocks: Block[] = [];
  content.forEach((part, k) => {
    const partParam = `${param}[${k}]`;
    if (!isObject(part)) throw invalid(`${partParam} must be an object`, partParam);
    if (part.type === 'text' && typeof part.text === 'string') {
      if (!blank(part.text)) blocks.push({ text: part.text });
    } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
      if (!blank(part.refusal)) blocks.push({ text: part.refusal });
    } else if (part.type === 'image_url' && role === 'user') {
      blocks.push(imageBlock(part, partParam));
    } else {
      throw invalid(`${partParam}.type ${JSON.stringify(part.type)} is not supported by bedrock in a ${role} message`, `${partParam}.type`);
    }
  });
  return blocks;
}

/**
 * A tool result's content: a JSON object as a `json` block, anything else as text blocks. The
 * list may not be empty, so an empty result is one empty text.
 */
function toolResultContent(content: unknown, param: string): Block[] {
  if (typeof content === 'string') {
    try {
      const parsed: unknown = JSON.parse(content);
      if (isObject(parsed)) return [{ json: parsed }];
    } catch {
      // not JSON: text
    }
    return [{ text: content }];
  }
  const blocks = contentBlocks(content, param, 'tool');
  return blocks.length > 0 ? blocks : [{ text: '' }];
}

/** A `tool` message as a toolResult block (it goes in a user turn). */
function toolResultBlock(msg: JsonObject, i: number): Block {
  return { toolResult: { toolUseId: toolCallIdOf(msg, i), content: toolResultContent(msg.content, `messages[${i}].content`) } };
}

/** Translates OpenAI `messages` into Converse `system` and `messages`, same-role turns merged. */
function translateMessages(list: unknown[]): Translated {
  const system: Block[] = [];
  const messages: ConverseMessage[] = [];
  const historyTools = new Set<string>();
  let hasToolBlocks = false;
  const push = (role: ConverseMessage['role'], blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    // Converse wants user and assistant turns to alternate: a run of one role is one turn. Each
    // turn's array is our own, so appending in place keeps a long run linear.
    if (last?.role === role) for (const block of blocks) last.content.push(block);
    else messages.push({ role, content: blocks });
  };
  list.forEach((msg, i) => {
    const param = `messages[${i}]`;
    if (!isObject(msg)) throw invalid(`${param} must be an object`, param);
    switch (msg.role) {
      case 'system':
      case 'developer': {
        const text = systemText(msg.content, `${param}.content`);
        if (text !== '') system.push({ text });
        break;
      }
      case 'user':
        push('user', contentBlocks(msg.content, `${param}.content`, 'user'));
        break;
      case 'assistant': {
        const calls = toolCallsOf(msg.tool_calls, i);
        for (const call of calls) historyTools.add(call.name);
        hasToolBlocks ||= calls.length > 0;
        const uses = calls.map((call) => ({ toolUse: { toolUseId: call.id, name: call.name, input: call.input } }));
        push('assistant', [...contentBlocks(msg.content, `${param}.content`, 'assistant'), ...uses]);
        break;
      }
      case 'tool':
        hasToolBlocks = true;
        push('user', [toolResultBlock(msg, i)]);
        break;
      default:
        throw invalid(`${param}.role ${JSON.stringify(msg.role)} is not supported by bedrock`, `${param}.role`);
    }
  });
  if (messages.length === 0) throw invalid('messages must hold at least one user or assistant message with content', 'messages');
  return { system, messages, historyTools, hasToolBlocks };
}

/**
 * OpenAI `tools` and `tool_choice` as a Converse `toolConfig`. ToolChoice has `auto`, `any` and
 * `tool` but no `none`: `none` sends no tools, unless the history holds tool blocks, for which
 * Converse requires a toolConfig (then the tools go without a toolChoice). A history with tool
 * blocks and no declared tools gets a minimal spec for each tool it calls.
 */
function toolConfigOf(body: JsonObject, t: Translated): JsonObject | undefined {
  const choice = toolChoiceOf(body.tool_choice);
  let tools: Block[] = toolSpecs(body.tools).map((tool) => ({
    toolSpec: {
      name: tool.name,
      ...(tool.description !== undefined && tool.description !== '' ? { description: tool.description } : {}),
      inputSchema: { json: tool.parameters },
    },
  }));
  if (tools.length === 0 && choice !== undefined && choice.kind !== 'none' && choice.kind !== 'auto') {
    throw invalid(`tool_choice ${choice.kind === 'function' ? `names the function ${JSON.stringify(choice.name)}` : 'is required'} but no tools are declared`, 'tool_choice');
  }
  if (choice?.kind === 'none' && !t.hasToolBlocks) return undefined;
  if (tools.length === 0 && t.hasToolBlocks) {
    tools = [...t.historyTools].map((name) => ({ toolSpec: { name, inputSchema: { json: { type: 'object', properties: {} } } } }));
  }
  if (tools.length === 0) return undefined;
  if (choice === undefined || choice.kind === 'none') return { tools };
  if (choice.kind === 'function') return { tools, toolChoice: { tool: { name: choice.name } } };
  return { tools, toolChoice: choice.kind === 'required' ? { any: {} } : { auto: {} } };
}

/** `maxTokens`, `temperature`, `topP` and `stopSequences`, those the client set. */
function inferenceConfigOf(body: JsonObject): JsonObject | undefined {
  const config: JsonObject = {};
  const maxTokens = maxTokensOf(body);
  if (maxTokens !== undefined) config.maxTokens = maxTokens;
  if (typeof body.temperature === 'number') config.temperature = body.temperature;
  if (typeof body.top_p === 'number') config.topP = body.top_p;
  const stop = stopSequences(body.stop);
  if (stop !== undefined && stop.length > 0) config.stopSequences = stop;
  return Object.keys(config).length > 0 ? config : undefined;
}

/**
 * Translates an OpenAI chat body into a Converse body for `modelId`. `top_k` goes in
 * `additionalModelRequestFields` for Anthropic models only, whose Bedrock request parameters
 * document it by that name; other families name it differently or lack it.
 */
export function translateConverseBody(body: JsonObject, modelId: string): JsonObject {
  const translated = translateMessages(requireMessages(body));
  const out: JsonObject = { messages: translated.messages };
  if (translated.system.length > 0) out.system = translated.system;
  const inference = inferenceConfigOf(body);
  if (inference !== undefined) out.inferenceConfig = inference;
  const toolConfig = toolConfigOf(body, translated);
  if (toolConfig !== undefined) out.toolConfig = toolConfig;
  if (typeof body.top_k === 'number' && /(^|[./:])anthropic\./.test(modelId)) out.additionalModelRequestFields = { top_k: body.top_k };
  return out;
}
