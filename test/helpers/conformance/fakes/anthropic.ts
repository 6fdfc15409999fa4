/**
 * A fake of Anthropic's Messages API (`POST /v1/messages`), written from Anthropic's API
 * reference only: `x-api-key` and `anthropic-version` required, the request rules in
 * anthropic-validate.ts, `{type:'message'}` answers with `stop_reason` and `usage`
 * (`input_tokens`, `output_tokens`), the named SSE events of a streamed answer (`message_start`,
 * `content_block_start`, `ping`, `content_block_delta` with `text_delta` / `input_json_delta`,
 * `content_block_stop`, `message_delta`, `message_stop`; no `[DONE]`), and errors as
 * `{type:'error', error:{type, message}}` with the documented statuses (529 `overloaded_error`),
 * rate-limit headers and `retry-after`.
 */
import type http from 'node:http';
import type { Answer, ConformanceFake, ErrorKind, NeutralMessage, NeutralRequest, RawReceived } from '../types.js';
import { cut, errorHeaders, header, isObject, openSse, parseJson, sendJson, splitUrl, startScriptedServer, usageOf, writeEvent } from '../scripted-server.js';
import { checkBody, checkHeaders, type Refusal } from './anthropic-validate.js';

/** Options of {@link startAnthropicFake}. */
export interface AnthropicFakeOptions {
  /** The only `x-api-key` accepted; any non-empty one when unset. */
  readonly apiKey?: string;
}

const STATUSES: Readonly<Record<ErrorKind, number>> = {
  invalid_request: 400,
  context_length: 400,
  unauthenticated: 401,
  permission: 403,
  not_found: 404,
  rate_limit: 429,
  server: 500,
  // Anthropic documents no 503: its "temporarily unavailable" is the 529 overloaded_error.
  unavailable: 529,
  overloaded: 529,
};

const ERRORS: Readonly<Record<ErrorKind, readonly [type: string, message: (model: string) => string]>> = {
  invalid_request: ['invalid_request_error', () => 'messages.0.content.0.type: Field required'],
  context_length: ['invalid_request_error', () => 'prompt is too long: 208310 tokens > 200000 maximum'],
  unauthenticated: ['authentication_error', () => 'invalid x-api-key'],
  permission: ['permission_error', () => 'Your API key does not have permission to use the specified resource.'],
  not_found: ['not_found_error', (model) => `model: ${model}`],
  rate_limit: ['rate_limit_error', () => 'This request would exceed the rate limit for your organization of 50 requests per minute. Please reduce the prompt length or the maximum tokens requested, or try again later.'],
  server: ['api_error', () => 'Internal server error'],
  unavailable: ['overloaded_error', () => 'Overloaded'],
  overloaded: ['overloaded_error', () => 'Overloaded'],
};

/** The rate-limit headers of the rate-limits page (reset times in RFC 3339), and retry-after. */
function rateLimitHeaders(): Record<string, string> {
  const reset = new Date(Date.now() + 1000).toISOString();
  const headers: Record<string, string> = { 'retry-after': '1' };
  for (const [name, limit] of [['requests', '50'], ['tokens', '48000'], ['input-tokens', '40000'], ['output-tokens', '8000']] as const) {
    headers[`anthropic-ratelimit-${name}-limit`] = limit;
    headers[`anthropic-ratelimit-${name}-remaining`] = '0';
    headers[`anthropic-ratelimit-${name}-reset`] = reset;
  }
  return headers;
}

/** What an answer needs to know about the request. */
interface Exchange {
  readonly model: string;
  readonly stream: boolean;
  readonly id: string;
  readonly requestId: string;
}

/** Starts a fake Anthropic Messages API; its `baseURL` ends in `/v1`. */
export async function startAnthropicFake(opts: AnthropicFakeOptions = {}): Promise<ConformanceFake> {
  let seq = 0;
  const server = await startScriptedServer('Hello from anthropic', async (req, res) => {
    seq += 1;
    const requestId = `req_conf${seq}`;
    const { path } = splitUrl(req.url);
    if (req.method !== 'POST' || path !== '/v1/messages') return sendError(res, { status: 404, type: 'not_found_error', message: 'Not Found' }, requestId);
    const body = parseJson(req.body);
    const refused = checkHeaders(req, opts.apiKey) ?? checkBody(body);
    if (refused) return sendError(res, refused, requestId);
    const b = body as Record<string, unknown>;
    await answer({ model: String(b.model), stream: b.stream === true, id: `msg_conf${seq}`, requestId }, res, server.next());
  });
  return {
    origin: server.origin,
    baseURL: `${server.origin}/v1`,
    received: server.received,
    decode: (index) => decodeAnthropic(server.received.at(index ?? -1)),
    script: server.script,
    statusOf: (kind) => STATUSES[kind],
    reset: server.reset,
    close: server.close,
  };
}

function sendError(res: http.ServerResponse, refusal: Refusal, requestId: string, headers: Record<string, string> = {}): void {
  sendJson(res, refusal.status, { type: 'error', error: { type: refusal.type, message: refusal.message }, request_id: requestId }, { ...headers, 'request-id': requestId });
}

type MessageAnswer = Exclude<Answer, { kind: 'error' } | { kind: 'embedding' }>;

/** The content blocks, stop reason and usage an answer stands for. */
function outcomeOf(a: MessageAnswer): { content: Array<Record<string, unknown>>; stop: string; usage: { input: number; output: number } } {
  switch (a.kind) {
    case 'text':
    case 'stream-text': {
      const text = a.kind === 'text' ? a.text : a.pieces.join('');
      return { content: [{ type: 'text', text }], stop: a.finish === 'length' ? 'max_tokens' : 'end_turn', usage: usageOf(a) };
    }
    case 'tool':
    case 'stream-tool': {
      const input = a.kind === 'tool' ? a.arguments : (JSON.parse(a.argumentPieces.join('')) as unknown);
      return { content: [{ type: 'tool_use', id: a.id, name: a.name, input }], stop: 'tool_use', usage: usageOf(a) };
    }
    case 'content-filter':
      // The stop reason of a response the safety classifiers stopped.
      return { content: [], stop: 'refusal', usage: { input: 11, output: 0 } };
  }
}

async function answer(ex: Exchange, res: http.ServerResponse, a: Answer): Promise<void> {
  if (a.kind === 'error') {
    const [type, message] = ERRORS[a.error];
    const headers = errorHeaders(a.error === 'rate_limit' ? rateLimitHeaders() : {}, a.headers);
    return sendError(res, { status: STATUSES[a.error], type, message: message(ex.model) }, ex.requestId, headers);
  }
  if (a.kind === 'embedding') throw new Error('scripted an embedding answer: the Messages API has no embeddings');
  if (ex.stream) return streamAnswer(ex, res, a);
  if (a.kind === 'stream-text' && a.cutAfter !== undefined) return cut(res);
  const { content, stop, usage } = outcomeOf(a);
  sendJson(
    res,
    200,
    { id: ex.id, type: 'message', role: 'assistant', model: ex.model, content, stop_reason: stop, stop_sequence: null, usage: usageBody(usage.input, usage.output) },
    { 'request-id': ex.requestId },
  );
}

function usageBody(input: number, output: number): Record<string, number> {
  return { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output };
}

/** The documented event sequence of a streamed message, with the answer's pieces. */
async function streamAnswer(ex: Exchange, res: http.ServerResponse, a: MessageAnswer): Promise<void> {
  const { stop, usage } = outcomeOf(a);
  const send = (type: string, data: Record<string, unknown>): Promise<void> => writeEvent(res, { type, ...data }, type);
  openSse(res, { 'request-id': ex.requestId });
  const message = { id: ex.id, type: 'message', role: 'assistant', content: [], model: ex.model, stop_reason: null, stop_sequence: null, usage: usageBody(usage.input, 1) };
  await send('message_start', { message });
  const block = blockOf(a);
  if (block) {
    await send('content_block_start', { index: 0, content_block: block.start });
    await send('ping', {});
    const cutAfter = a.kind === 'stream-text' ? a.cutAfter : undefined;
    for (const [i, delta] of block.deltas.entries()) {
      if (cutAfter === i) return cut(res);
      await send('content_block_delta', { index: 0, delta });
    }
    if (cutAfter !== undefined) return cut(res);
    await send('content_block_stop', { index: 0 });
  }
  await send('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.output } });
  await send('message_stop', {});
  res.end();
}

/** The one content block an answer streams: its start and its deltas. */
function blockOf(a: MessageAnswer): { start: Record<string, unknown>; deltas: Array<Record<string, unknown>> } | undefined {
  switch (a.kind) {
    case 'text':
    case 'stream-text': {
      const pieces = a.kind === 'text' ? [a.text] : a.pieces;
      return { start: { type: 'text', text: '' }, deltas: pieces.map((text) => ({ type: 'text_delta', text })) };
    }
    case 'tool':
    case 'stream-tool': {
      const pieces = a.kind === 'tool' ? [JSON.stringify(a.arguments)] : a.argumentPieces;
      return { start: { type: 'tool_use', id: a.id, name: a.name, input: {} }, deltas: pieces.map((partial_json) => ({ type: 'input_json_delta', partial_json })) };
    }
    case 'content-filter':
      return undefined;
  }
}

/** Text of content: the string, or the text blocks joined. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (isObject(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
}

/** A message as neutral turns: a user turn's tool results become `tool` messages (first, as sent). */
function decodeMessage(m: Record<string, unknown>): NeutralMessage[] {
  const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? m.content.filter(isObject) : [];
  const text = textOf(blocks);
  if (m.role === 'assistant') {
    const toolCalls = blocks.filter((b) => b.type === 'tool_use').map((b) => ({ id: String(b.id), name: String(b.name), arguments: b.input }));
    return [{ role: 'assistant', text, ...(toolCalls.length > 0 ? { toolCalls } : {}) }];
  }
  const results: NeutralMessage[] = blocks
    .filter((b) => b.type === 'tool_result')
    .map((b) => ({ role: 'tool', text: textOf(b.content), toolCallId: String(b.tool_use_id) }));
  return results.length > 0 && text === '' ? results : [...results, { role: 'user', text }];
}

function decodeAnthropic(req: RawReceived | undefined): NeutralRequest {
  if (!req) throw new Error('the anthropic fake received no such request');
  const raw = parseJson(req.body);
  const body = isObject(raw) ? raw : {};
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).map((t) => ({
    name: String(t.name),
    ...(typeof t.description === 'string' ? { description: t.description } : {}),
    parameters: t.input_schema,
  }));
  const system = typeof body.system === 'string' ? body.system : Array.isArray(body.system) ? body.system.map((b) => (isObject(b) ? String(b.text) : '')).join('\n') : undefined;
  return {
    kind: 'chat',
    stream: body.stream === true,
    model: String(body.model ?? ''),
    ...(system !== undefined ? { system } : {}),
    messages: messages.flatMap(decodeMessage),
    tools,
    ...(typeof body.max_tokens === 'number' ? { maxTokens: body.max_tokens } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
    credential: header(req, 'x-api-key'),
  };
}
