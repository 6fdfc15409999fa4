/**
 * What the Anthropic fake refuses, as the Messages API reference documents the request: the
 * `x-api-key` and `anthropic-version` headers, the required `model`, `max_tokens` and `messages`,
 * roles `user`/`assistant` only (the system prompt is a top-level field; consecutive same-role
 * turns are combined into one), non-empty content but for a final assistant turn, `tool_use` only
 * from the assistant and `tool_result` only from the user, every `tool_use` answered by a
 * `tool_result` in the next turn (results first in that turn) and no result without its call,
 * tools declared when tool blocks appear, and no field the API does not know.
 */
import { header, isObject } from '../scripted-server.js';
import type { RawReceived } from '../types.js';

/** A refused request: the status and the Anthropic error type and message. */
export interface Refusal {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

const TOP_LEVEL = new Set([
  'model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k', 'tools', 'tool_choice',
  'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management',
]);
const BLOCK_TYPES = new Set(['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'search_result']);
/** API versions of the versioning page. */
const VERSIONS = new Set(['2023-06-01', '2023-01-01']);

const invalid = (message: string): Refusal => ({ status: 400, type: 'invalid_request_error', message });

/** The headers' problem (auth first), or undefined. */
export function checkHeaders(req: RawReceived, apiKey: string | undefined): Refusal | undefined {
  const key = header(req, 'x-api-key');
  if (key === undefined || key === '') return { status: 401, type: 'authentication_error', message: 'x-api-key header is required' };
  if (apiKey !== undefined && key !== apiKey) return { status: 401, type: 'authentication_error', message: 'invalid x-api-key' };
  const version = header(req, 'anthropic-version');
  if (version === undefined) return invalid('anthropic-version: header is required');
  if (!VERSIONS.has(version)) return invalid(`anthropic-version: invalid version "${version}"`);
  return undefined;
}

/** The body's first problem, or undefined when the Messages API would take it. */
export function checkBody(body: unknown): Refusal | undefined {
  if (!isObject(body)) return invalid('The request body is not valid JSON.');
  const extra = Object.keys(body).find((k) => !TOP_LEVEL.has(k));
  if (extra !== undefined) return invalid(`${extra}: Extra inputs are not permitted`);
  if (typeof body.model !== 'string' || body.model === '') return invalid('model: Field required');
  if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return invalid('max_tokens: Input should be a valid integer greater than or equal to 1');
  if (body.temperature !== undefined && (typeof body.temperature !== 'number' || body.temperature < 0 || body.temperature > 1)) {
    return invalid('temperature: Input should be a number between 0 and 1');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return invalid('stream: Input should be a valid boolean');
  if (body.system !== undefined && typeof body.system !== 'string' && !isTextBlocks(body.system)) return invalid('system: Input should be a valid string or a list of text blocks');
  return checkTools(body.tools, body.tool_choice) ?? checkMessages(body.messages, body.tools !== undefined);
}

function isTextBlocks(value: unknown): boolean {
  return Array.isArray(value) && value.every((b) => isObject(b) && b.type === 'text' && typeof b.text === 'string');
}

function checkTools(tools: unknown, choice: unknown): Refusal | undefined {
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return invalid('tools: Input should be a valid list');
    for (const [i, t] of tools.entries()) {
      if (!isObject(t) || typeof t.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.name)) return invalid(`tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
      // A custom tool (no `type`, or `custom`) needs its JSON schema; server tools have a `type` of their own.
      if ((t.type === undefined || t.type === 'custom') && !isObject(t.input_schema)) return invalid(`tools.${i}.custom.input_schema: Field required`);
    }
  }
  if (choice !== undefined) {
    if (!isObject(choice) || !['auto', 'any', 'tool', 'none'].includes(String(choice.type))) return invalid("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'");
    if (choice.type === 'tool' && typeof choice.name !== 'string') return invalid('tool_choice.tool.name: Field required');
  }
  return undefined;
}

/** The blocks of a message's content (a string is one text block). */
function blocksOf(content: unknown): unknown[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return Array.isArray(content) ? content : [];
}

function checkMessages(messages: unknown, hasTools: boolean): Refusal | undefined {
  if (messages === undefined) return invalid('messages: Field required');
  if (!Array.isArray(messages)) return invalid('messages: Input should be a valid list');
  if (messages.length === 0) return invalid('messages: List should have at least 1 item after validation, not 0');
  for (const [i, m] of messages.entries()) {
    const problem = checkMessage(m, i, i === messages.length - 1, hasTools);
    if (problem) return problem;
  }
  return checkToolPairs(messages as Array<Record<string, unknown>>);
}

function checkMessage(m: unknown, i: number, last: boolean, hasTools: boolean): Refusal | undefined {
  if (!isObject(m)) return invalid(`messages.${i}: Input should be a valid dictionary`);
  if (m.role === 'system') {
    return invalid('messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
  }
  if (m.role !== 'user' && m.role !== 'assistant') return invalid(`messages.${i}.role: Input should be 'user' or 'assistant'`);
  if (typeof m.content !== 'string' && !Array.isArray(m.content)) return invalid(`messages.${i}.content: Input should be a valid string or a list of content blocks`);
  const blocks = blocksOf(m.content);
  if (blocks.length === 0 && !(last && m.role === 'assistant')) {
    return invalid(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
  }
  for (const [j, b] of blocks.entries()) {
    const problem = checkBlock(b, `messages.${i}.content.${j}`, m.role, hasTools);
    if (problem) return problem;
  }
  return undefined;
}

function checkBlock(b: unknown, at: string, role: string, hasTools: boolean): Refusal | undefined {
  if (!isObject(b) || typeof b.type !== 'string' || !BLOCK_TYPES.has(b.type)) return invalid(`${at}: Input tag '${String(isObject(b) ? b.type : b)}' found using 'type' does not match any of the expected tags`);
  if (b.type === 'text' && (typeof b.text !== 'string' || b.text === '')) return invalid('messages: text content blocks must be non-empty');
  if ((b.type === 'tool_use' || b.type === 'tool_result') && !hasTools) return invalid('Requests which include `tool_use` or `tool_result` blocks must define tools.');
  if (b.type === 'tool_use') {
    if (role !== 'assistant') return invalid(`${at}: tool_use blocks may only appear in assistant messages`);
    if (typeof b.id !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(b.id)) return invalid(`${at}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
    if (typeof b.name !== 'string') return invalid(`${at}.tool_use.name: Field required`);
    if (!isObject(b.input)) return invalid(`${at}.tool_use.input: Input should be a valid dictionary`);
  }
  if (b.type === 'tool_result') {
    if (role !== 'user') return invalid(`${at}: tool_result blocks may only appear in user messages`);
    if (typeof b.tool_use_id !== 'string') return invalid(`${at}.tool_result.tool_use_id: Field required`);
    if (b.content !== undefined && typeof b.content !== 'string' && !Array.isArray(b.content)) return invalid(`${at}.tool_result.content: Input should be a valid string or list`);
  }
  return undefined;
}

/**
 * Every `tool_use` of an assistant turn is answered by a `tool_result` in the next turn, placed
 * before any other content there, and every `tool_result` answers a `tool_use` of the turn just
 * before. Consecutive messages of one role are one turn, as the API combines them.
 */
function checkToolPairs(messages: Array<Record<string, unknown>>): Refusal | undefined {
  const turns: Array<{ role: unknown; first: number; blocks: Array<Record<string, unknown>> }> = [];
  for (const [i, m] of messages.entries()) {
    const blocks = blocksOf(m.content).filter(isObject);
    const prev = turns.at(-1);
    if (prev && prev.role === m.role) prev.blocks.push(...blocks);
    else turns.push({ role: m.role, first: i, blocks });
  }
  for (const [t, turn] of turns.entries()) {
    const results = turn.blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id));
    const uses = new Set((turns[t - 1]?.blocks ?? []).filter((b) => b.type === 'tool_use').map((b) => String(b.id)));
    const stray = results.find((id) => !uses.has(id));
    if (stray !== undefined) {
      return invalid(`messages.${turn.first}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
    }
    const firstOther = turn.blocks.findIndex((b) => b.type !== 'tool_result');
    if (results.length > 0 && firstOther !== -1 && turn.blocks.slice(firstOther).some((b) => b.type === 'tool_result')) {
      return invalid(`messages.${turn.first}.content: tool_result blocks must come first in the user message content, before any other content`);
    }
    const next = turns[t + 1];
    const ownUses = turn.blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
    if (next === undefined || ownUses.length === 0) continue;
    const answered = new Set(next.blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id)));
    const unanswered = ownUses.filter((id) => !answered.has(id));
    if (unanswered.length > 0) {
      return invalid(`messages.${next.first}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
    }
  }
  return undefined;
}
