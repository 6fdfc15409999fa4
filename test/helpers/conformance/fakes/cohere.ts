/**
 * A fake Cohere API v2 (chat, chat streaming, embed) for the conformance suite, written from
 * Cohere's public documentation only (never from our adapter):
 * - https://docs.cohere.com/reference/chat and /reference/chat-stream (the v2 OpenAPI spec,
 *   cohere-ai/cohere-developer-experience `cohere-openapi.yaml`): request fields, message shapes,
 *   `tool_choice` REQUIRED|NONE, finish reasons, usage, the typed SSE events (`event:` line and
 *   `type` in the data), error statuses 400/401/403/404/422/429/498/500/503 with `{id, message}`.
 * - https://docs.cohere.com/v2/docs/streaming: the event sequence of text and tool-call streams.
 * - https://docs.cohere.com/reference/embed: `/v2/embed`, `model` and `input_type` required,
 *   `embeddings` by type; https://docs.cohere.com/docs/migrating-v1-to-v2: `embedding_types` required.
 * - https://docs.cohere.com/reference/errors: the 400/401/404/429 messages.
 * Unknown fields are answered 422 "unknown field: parameter 'x' is not a valid field" as the API
 * does (OpenRouterTeam/openrouter-examples#71); the stream ends with `data: [DONE]`
 * (cohere-ai/cohere-python#730). Cohere documents no rate-limit headers, so a 429 carries only
 * the headers the script gives. A content-filter answer is the 498 "blocked input" refusal the
 * spec documents (a request or response with a deny-listed token); v2 has no such finish reason.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { bearer, conformanceFake, decodeChatBody, functionCalls, isObject, jsonBody, jsonError, parseJson, playSse, sendJson, splitUrl, startScriptedServer, usageOf } from '../scripted-server.js';
import type { Answer, ConformanceFake, ErrorKind, NeutralMessage, NeutralRequest, RawReceived, ScriptUsage } from '../types.js';

type Json = Record<string, unknown>;
interface Refusal {
  readonly status: number;
  readonly message: string;
}

const bad = (message: string): Refusal => ({ status: 400, message });
const unknownField = (key: string, page: string): Refusal => ({
  status: 422,
  message: `unknown field: parameter '${key}' is not a valid field. For proper usage, please refer to https://docs.cohere.com/reference/${page}`,
});
const extraKey = (obj: Json, allowed: readonly string[]): string | undefined => Object.keys(obj).find((k) => !allowed.includes(k));

const CHAT_FIELDS = ['stream', 'model', 'messages', 'tools', 'strict_tools', 'documents', 'citation_options', 'response_format', 'safety_mode'];
CHAT_FIELDS.push('max_tokens', 'stop_sequences', 'temperature', 'seed', 'frequency_penalty', 'presence_penalty', 'k', 'p', 'logprobs', 'tool_choice', 'thinking', 'priority');
const MESSAGE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  system: ['role', 'content'],
  user: ['role', 'content'],
  assistant: ['role', 'content', 'tool_calls', 'tool_plan', 'citations'],
  tool: ['role', 'tool_call_id', 'content'],
};
/** The content block types each role may carry, and the field each block's payload is in. */
const BLOCKS: Readonly<Record<string, readonly string[]>> = { system: ['text'], user: ['text', 'image_url'], assistant: ['text', 'thinking'], tool: ['text', 'document'] };
const RANGES: ReadonlyArray<readonly [string, number, number, string]> = [
  ['temperature', 0, 1, 'invalid request: temperature must be between 0 and 1.0 inclusive.'],
  ['p', 0.01, 0.99, 'invalid request: p must be between 0.01 and 0.99 inclusive.'],
  ['k', 0, 500, 'invalid request: k must be between 0 and 500 inclusive.'],
  ['frequency_penalty', 0, 1, 'invalid request: frequency_penalty must be between 0 and 1 inclusive.'],
  ['presence_penalty', 0, 1, 'invalid request: presence_penalty must be between 0 and 1 inclusive.'],
];
const EMBED_FIELDS = ['texts', 'images', 'model', 'input_type', 'inputs', 'max_tokens', 'output_dimension', 'embedding_types', 'truncate', 'priority'];
const INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering', 'image'];

const ERRORS: Readonly<Record<ErrorKind, { readonly status: number; readonly message: (model: string) => string }>> = {
  invalid_request: { status: 400, message: () => 'invalid request: message must be at least 1 token long or tool results must be specified.' },
  context_length: { status: 400, message: () => 'too many tokens: size limit exceeded by 1024 tokens. Try using shorter or fewer inputs.' },
  unauthenticated: { status: 401, message: () => 'invalid api token' },
  permission: { status: 403, message: (m) => `forbidden: this API key does not have the permissions needed to use model '${m}'` },
  not_found: { status: 404, message: (m) => `model '${m}' not found, make sure the correct model ID was used and that you have access to the model.` },
  rate_limit: { status: 429, message: () => 'You are past the per minute request limit, please wait and try again later.' },
  server: { status: 500, message: () => 'internal server error, this has been reported to our developers' },
  unavailable: { status: 503, message: () => 'service unavailable, please try again later' },
  overloaded: { status: 503, message: () => 'the service is overloaded: too many users are using it at the same time, please try again later' },
};
const BLOCKED = 'blocked input: please adjust your prompt and try again, as it may be a potential violation of our Usage Guidelines';

function checkContent(content: unknown, role: string): Refusal | undefined {
  if (content === undefined || content === null || (typeof content === 'string' && content.trim() === '' && role !== 'tool')) {
    return role === 'assistant' ? undefined : bad('message must not be empty in a turn');
  }
  if (typeof content === 'string') return undefined;
  if (!Array.isArray(content)) return bad(`invalid request: the content of a ${role} message must be a string or a list of content blocks.`);
  const types = BLOCKS[role] ?? [];
  for (const block of content) {
    if (!isObject(block) || typeof block.type !== 'string' || !types.includes(block.type)) return bad(`invalid request: a ${role} message's content blocks must be of type ${types.join(' or ')}.`);
    const extra = extraKey(block, ['type', block.type]);
    if (extra) return unknownField(extra, 'chat');
  }
  return undefined;
}

function checkToolCalls(calls: unknown, callIds: Set<string>): Refusal | undefined {
  if (calls === undefined) return undefined;
  if (!Array.isArray(calls)) return bad('invalid request: tool_calls must be a list.');
  for (const call of calls) {
    if (!isObject(call)) return bad('tool call must be of type function');
    const extra = extraKey(call, ['id', 'type', 'function']) ?? (isObject(call.function) ? extraKey(call.function, ['name', 'arguments']) : undefined);
    if (extra) return unknownField(extra, 'chat');
    if (call.type !== 'function') return bad('tool call must be of type function');
    if (typeof call.id !== 'string' || call.id === '') return bad('invalid request: every tool call needs an id.');
    if (callIds.has(call.id)) return bad('cannot have duplicate tool ids');
    const fn = call.function;
    if (!isObject(fn) || typeof fn.name !== 'string' || typeof fn.arguments !== 'string') return bad('invalid request: a tool call needs function.name and function.arguments (a JSON string).');
    callIds.add(call.id);
  }
  return undefined;
}

function checkMessages(messages: unknown): Refusal | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return bad('invalid request: messages must be a non-empty list.');
  const callIds = new Set<string>();
  for (const [i, m] of messages.entries()) {
    const fields = isObject(m) && typeof m.role === 'string' ? MESSAGE_FIELDS[m.role] : undefined;
    if (!isObject(m) || !fields) return bad(`invalid request: invalid role in messages at index ${i}. Role must be one of the following: system, user, assistant, tool`);
    const extra = extraKey(m, fields);
    if (extra) return unknownField(extra, 'chat');
    const role = String(m.role);
    if (role === 'tool') {
      if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') return bad('tool call id must be provided with tool message');
      if (!callIds.has(m.tool_call_id)) return bad(`tool call id not found in previous tool calls (tool_call_id '${m.tool_call_id}' at index ${i})`);
    }
    const refusal = checkContent(m.content, role) ?? (role === 'assistant' ? checkToolCalls(m.tool_calls, callIds) : undefined);
    if (refusal) return refusal;
  }
  return undefined;
}

function checkTools(tools: unknown, choice: unknown): Refusal | undefined {
  if (choice !== undefined && choice !== 'REQUIRED' && choice !== 'NONE') return bad(`invalid request: tool_choice must be 'REQUIRED' or 'NONE' (received ${JSON.stringify(choice)}).`);
  if (tools === undefined) return choice === 'REQUIRED' ? bad('invalid request: tool_choice REQUIRED needs the tools parameter.') : undefined;
  if (!Array.isArray(tools)) return bad('invalid request: tools must be a list.');
  for (const tool of tools) {
    const fn = isObject(tool) ? tool.function : undefined;
    const extra = isObject(tool) ? (extraKey(tool, ['type', 'function']) ?? (isObject(fn) ? extraKey(fn, ['name', 'description', 'parameters']) : undefined)) : undefined;
    if (extra) return unknownField(extra, 'chat');
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn)) return bad("invalid request: each tool must be {type: 'function', function: {name, parameters}}.");
    if (typeof fn.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(fn.name)) {
      return bad(`invalid request: tool names can only contain certain characters (A-Za-z0-9_) and can't begin with a digit (provided name: '${String(fn.name)}').`);
    }
    if (!isObject(fn.parameters)) return bad(`invalid request: the parameters of tool '${fn.name}' must be a JSON schema object.`);
  }
  return undefined;
}

function checkSampling(body: Json): Refusal | undefined {
  for (const [field, min, max, message] of RANGES) {
    const v = body[field];
    if (v !== undefined && (typeof v !== 'number' || v < min || v > max)) return bad(message);
  }
  const { max_tokens: maxTokens, seed, stop_sequences: stops, response_format: format } = body;
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) return bad('invalid request: max_tokens must be a positive integer.');
  if (seed !== undefined && (!Number.isInteger(seed) || (seed as number) < 0)) return bad('invalid request: seed must be a non-negative integer.');
  const stopsOk = stops === undefined || (Array.isArray(stops) && stops.length <= 5 && stops.every((s) => typeof s === 'string'));
  if (!stopsOk) return bad('invalid request: stop_sequences must be a list of up to 5 strings.');
  if (format !== undefined && (!isObject(format) || (format.type !== 'text' && format.type !== 'json_object'))) return bad("invalid request: response_format.type must be 'text' or 'json_object'.");
  return undefined;
}

/** Refuses a chat body the v2 API refuses: the documented status and message. */
function checkChat(body: Json): Refusal | undefined {
  const extra = extraKey(body, CHAT_FIELDS);
  if (extra) return unknownField(extra, 'chat');
  if (typeof body.model !== 'string' || body.model === '') return bad('a model parameter is required for this endpoint.');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return bad('invalid request: stream must be a boolean.');
  return checkMessages(body.messages) ?? checkTools(body.tools, body.tool_choice) ?? checkSampling(body);
}

/** Refuses an embed body the v2 API refuses. Images and mixed `inputs` are not implemented here (501). */
function checkEmbed(body: Json): Refusal | undefined {
  const extra = extraKey(body, EMBED_FIELDS);
  if (extra) return unknownField(extra, 'embed');
  if (typeof body.model !== 'string' || body.model === '') return bad('a model parameter is required for this endpoint.');
  if (typeof body.input_type !== 'string' || !INPUT_TYPES.includes(body.input_type)) return bad('invalid request: valid input_type must be provided with the provided model');
  const types = body.embedding_types;
  if (!Array.isArray(types) || types.length === 0) return bad('embedding_types parameter is required');
  const other = types.find((t) => t !== 'float' && t !== 'int8' && t !== 'uint8');
  if (other !== undefined || body.images !== undefined || body.inputs !== undefined) {
    return { status: 501, message: `this fake serves texts as float, int8 or uint8 embeddings only (received ${JSON.stringify(other ?? 'images/inputs')})` };
  }
  const texts = body.texts;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) return bad('invalid request: texts must be a non-empty list of strings.');
  if (texts.length > 96) return bad(`invalid request: total number of texts must be at most 96 - received ${texts.length}`);
  const empty = texts.indexOf('');
  return empty >= 0 ? bad(`invalid request: inputs contains an element that is the empty string at index ${empty}`) : undefined;
}

const usage = (u: ScriptUsage): Json => ({
  billed_units: { input_tokens: u.input, output_tokens: u.output },
  tokens: { input_tokens: u.input, output_tokens: u.output },
});
const frame = (type: string, data: Json = {}): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const delta = (message: Json): Json => ({ delta: { message } });
const plan = (name: string): string => `I will use the ${name} tool.`;
const SSE = { 'content-type': 'text/event-stream' }; // no charset, as Cohere sends it

const sendError = (res: http.ServerResponse, status: number, message: string, headers?: Readonly<Record<string, string>>): void => sendJson(res, status, { id: randomUUID(), message }, headers);

/** Answers a scripted error or content block (true), for chat and embed alike. */
function answeredFailure(res: http.ServerResponse, model: string, answer: Answer): answer is Extract<Answer, { kind: 'error' | 'content-filter' }> {
  if (answer.kind === 'error') sendError(res, ERRORS[answer.error].status, ERRORS[answer.error].message(model), answer.headers);
  else if (answer.kind === 'content-filter') sendError(res, 498, BLOCKED);
  else return false;
  return true;
}

function answerChat(res: http.ServerResponse, body: Json, answer: Answer): void | Promise<void> {
  const id = randomUUID();
  const stream = body.stream === true;
  if (answeredFailure(res, String(body.model), answer)) return;
  if (answer.kind === 'embedding') return sendError(res, 500, 'fake misuse: an embedding answer was scripted for a chat request');
  if (answer.kind === 'tool' || answer.kind === 'stream-tool') {
    const args = answer.kind === 'tool' ? [JSON.stringify(answer.arguments)] : answer.argumentPieces;
    if (!stream) {
      const call = { id: answer.id, type: 'function', function: { name: answer.name, arguments: args.join('') } };
      return sendJson(res, 200, { id, finish_reason: 'TOOL_CALL', message: { role: 'assistant', tool_plan: plan(answer.name), tool_calls: [call] }, usage: usage(usageOf(answer)) });
    }
    const start = { tool_calls: { id: answer.id, type: 'function', function: { name: answer.name, arguments: '' } } };
    return playSse(res, SSE, [
      frame('message-start', { id, ...delta({ role: 'assistant' }) }),
      frame('tool-plan-delta', delta({ tool_plan: plan(answer.name) })),
      frame('tool-call-start', { index: 0, ...delta(start) }),
      ...args.map((a) => frame('tool-call-delta', { index: 0, ...delta({ tool_calls: { function: { arguments: a } } }) })),
      frame('tool-call-end', { index: 0 }),
      frame('message-end', { delta: { finish_reason: 'TOOL_CALL', usage: usage(usageOf(answer)) } }),
      'data: [DONE]\n\n',
    ]);
  }
  const pieces = answer.kind === 'text' ? [answer.text] : answer.pieces;
  const finish = answer.finish === 'length' ? 'MAX_TOKENS' : 'COMPLETE';
  if (!stream) return sendJson(res, 200, { id, finish_reason: finish, message: { role: 'assistant', content: [{ type: 'text', text: pieces.join('') }] }, usage: usage(usageOf(answer)) });
  const cut = answer.kind === 'stream-text' && answer.cutAfter !== undefined && answer.cutAfter <= pieces.length ? 2 + answer.cutAfter : undefined;
  return playSse(res, SSE, [
    frame('message-start', { id, ...delta({ role: 'assistant' }) }),
    frame('content-start', { index: 0, ...delta({ content: { type: 'text', text: '' } }) }),
    ...pieces.map((text) => frame('content-delta', { index: 0, ...delta({ content: { text } }) })),
    frame('content-end', { index: 0 }),
    frame('message-end', { delta: { finish_reason: finish, usage: usage(usageOf(answer)) } }),
    'data: [DONE]\n\n',
  ], cut);
}

function answerEmbed(res: http.ServerResponse, body: Json, answer: Answer): void {
  const texts = body.texts as string[];
  if (answeredFailure(res, String(body.model), answer)) return;
  const vectors = answer.kind === 'embedding' ? answer.vectors : answer.kind === 'text' ? texts.map(() => [0.1, 0.2, 0.3]) : undefined;
  if (!vectors || vectors.length !== texts.length) {
    return sendError(res, 500, `fake misuse: a ${answer.kind} answer with ${vectors?.length ?? 0} vectors was scripted for an embed request of ${texts.length} texts`);
  }
  const as: Readonly<Record<string, (v: number) => number>> = {
    float: (v) => v,
    int8: (v) => Math.max(-128, Math.min(127, Math.round(v * 127))),
    uint8: (v) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))),
  };
  const embeddings = Object.fromEntries((body.embedding_types as string[]).map((t) => [t, vectors.map((vec) => vec.map(as[t] ?? ((v) => v)))]));
  const input = usageOf(answer.kind === 'embedding' ? answer : {}).input;
  sendJson(res, 200, { id: randomUUID(), response_type: 'embeddings_by_type', embeddings, texts, meta: { api_version: { version: '2' }, billed_units: { input_tokens: input } } });
}

function handle(rec: RawReceived, res: http.ServerResponse, next: () => Answer, apiKey: string | undefined): void | Promise<void> {
  const route = rec.method === 'POST' ? { '/v2/chat': 'chat', '/v2/embed': 'embed' }[splitUrl(rec.url).path] : undefined;
  if (!route) return sendError(res, 404, '404 page not found');
  const token = bearer(rec);
  if (token === undefined) return sendError(res, 401, 'no api key supplied');
  if (apiKey !== undefined && token !== apiKey) return sendError(res, 401, 'invalid api token');
  const body = parseJson(rec.body);
  if (!isObject(body)) return sendError(res, 400, `invalid json syntax: ${jsonError(rec.body) ?? 'the body must be a JSON object'}`);
  const refusal = route === 'chat' ? checkChat(body) : checkEmbed(body);
  if (refusal) return sendError(res, refusal.status, refusal.message);
  return route === 'chat' ? answerChat(res, body, next()) : answerEmbed(res, body, next());
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isObject)
    .map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : b.type === 'document' && isObject(b.document) ? JSON.stringify(b.document.data) : ''))
    .join('');
}

function neutralMessage(m: Json): NeutralMessage {
  const text = textOf(m.content);
  if (m.role === 'tool') return { role: 'tool', text, toolCallId: typeof m.tool_call_id === 'string' ? m.tool_call_id : undefined };
  if (m.role !== 'assistant') return { role: 'user', text };
  const toolCalls = functionCalls(m.tool_calls);
  return toolCalls.length > 0 ? { role: 'assistant', text, toolCalls } : { role: 'assistant', text };
}

/** The neutral view of one received request, decoded tolerantly (whatever was refused). */
function decodeCohere(rec: RawReceived): NeutralRequest {
  const body = jsonBody(rec);
  const common = { model: typeof body.model === 'string' ? body.model : '', credential: bearer(rec) };
  if (splitUrl(rec.url).path.endsWith('/embed')) {
    const inputs = Array.isArray(body.texts) ? body.texts.map(String) : [];
    return { kind: 'embedding', stream: false, ...common, messages: [], tools: [], inputs };
  }
  return { ...common, ...decodeChatBody(body, textOf, neutralMessage) };
}

/**
 * Starts a fake Cohere v2 API on 127.0.0.1 (port 0) on the shared scripted server. `baseURL` is
 * origin + `/v2`. With `apiKey`, only `Authorization: Bearer <apiKey>` is accepted; without, any
 * bearer token. A request the docs refuse is answered Cohere's way without consuming the script.
 */
export async function startCohereFake(opts: { apiKey?: string } = {}): Promise<ConformanceFake> {
  const server = await startScriptedServer('Hello from cohere', (rec, res) => handle(rec, res, () => server.next(), opts.apiKey));
  return conformanceFake(server, 'cohere', '/v2', decodeCohere, (kind) => ERRORS[kind].status);
}
