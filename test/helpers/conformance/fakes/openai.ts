/**
 * A fake of OpenAI's chat completions and embeddings API, and of the providers that speak that
 * format at paths and with auth of their own: Azure OpenAI (`/openai/deployments/{deployment}/…`,
 * `?api-version=`, the `api-key` header, its own error bodies and content-filter annotations),
 * Groq (`/openai/v1`, the fields it refuses), DeepSeek (no version path, keep-alive blank lines and
 * comments) and Together AI. Written from the providers' public API documentation only; see the
 * conformance report for the pages. Strict where the docs are: a request the API would refuse is
 * answered with its 400 (or 401/404) in the provider's own error format, before any script.
 */
import type http from 'node:http';
import type { Answer, ConformanceFake, NeutralMessage, NeutralRequest, RawReceived } from '../types.js';
import { cut, errorHeaders, header, isObject, openSse, parseArguments, parseJson, sendJson, splitUrl, startScriptedServer, usageOf, writeEvent, writeRaw } from '../scripted-server.js';
import { OPENAI_FAMILY, errorBodyOf, type Flavour, type OpenAIFlavour } from './openai-errors.js';
import { validateChat, validateEmbedding } from './openai-validate.js';

export type { OpenAIFlavour } from './openai-errors.js';

/** Options of {@link startOpenAIFamilyFake}. */
export interface OpenAIFamilyFakeOptions {
  /** The only key (or Azure `api-key`) accepted; any non-empty one when unset. */
  readonly apiKey?: string;
}

/** What an answer needs to know about the request it answers. */
interface Exchange {
  readonly flavour: Flavour;
  readonly name: OpenAIFlavour;
  readonly body: Record<string, unknown>;
  readonly kind: 'chat' | 'embedding';
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly model: string;
  readonly seq: number;
}

/** Azure's annotation of a harmless prompt or completion (every category `safe`). */
const AZURE_SAFE = Object.fromEntries(['hate', 'self_harm', 'sexual', 'violence'].map((c) => [c, { filtered: false, severity: 'safe' }]));
const AZURE_FILTERED = { ...AZURE_SAFE, violence: { filtered: true, severity: 'high' } };
/** The model Azure reports serving (it answers with the model, not the deployment name). */
const AZURE_SERVED_MODEL = 'gpt-4o-2024-11-20';

/** Starts a fake OpenAI-format provider of the given flavour. */
export async function startOpenAIFamilyFake(name: OpenAIFlavour, opts: OpenAIFamilyFakeOptions = {}): Promise<ConformanceFake> {
  const flavour = OPENAI_FAMILY[name];
  let seq = 0;
  const server = await startScriptedServer(`Hello from ${name}`, async (req, res) => {
    const route = routeOf(flavour, req);
    if ('refusal' in route) return sendJson(res, route.refusal.status, route.refusal.body);
    const refused = checkAuth(flavour, req, opts.apiKey) ?? checkBody(flavour, req, route.kind);
    if (refused) return sendJson(res, refused.status, refused.body);
    const body = parseJson(req.body) as Record<string, unknown>;
    const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
    seq += 1;
    const ex: Exchange = {
      flavour,
      name,
      body,
      kind: route.kind,
      stream: route.kind === 'chat' && body.stream === true,
      includeUsage: streamOptions.include_usage === true,
      model: name === 'azure-openai' ? AZURE_SERVED_MODEL : String(body.model),
      seq,
    };
    await answer(ex, res, server.next());
  });
  return {
    origin: server.origin,
    baseURL: server.origin + flavour.bases[0],
    received: server.received,
    decode: (index) => decodeOpenAI(name, server.received.at(index ?? -1)),
    script: server.script,
    statusOf: (kind) => flavour.statuses[kind],
    reset: server.reset,
    close: server.close,
  };
}

type Refusal = { readonly status: number; readonly body: unknown };

/** Which endpoint a request is for, or the provider's answer to a path it does not serve. */
function routeOf(flavour: Flavour, req: RawReceived): { kind: 'chat' | 'embedding' } | { refusal: Refusal } {
  const { path, query } = splitUrl(req.url);
  const notFound: Refusal = { status: 404, body: flavour.notFoundBody(req.method, path) };
  if (req.method !== 'POST') return { refusal: notFound };
  if (flavour.azure) {
    const m = /^\/openai\/deployments\/[^/]+\/(chat\/completions|embeddings)$/.exec(path);
    if (!m) return { refusal: notFound };
    const version = query.get('api-version');
    // Azure answers a call without api-version as an unknown resource, and a malformed one as a 400.
    if (version === null) return { refusal: notFound };
    if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(version)) return { refusal: { status: 400, body: { error: { code: 'BadRequest', message: 'API version not supported' } } } };
    return { kind: m[1] === 'embeddings' ? 'embedding' : 'chat' };
  }
  for (const base of flavour.bases) {
    if (path === `${base}/chat/completions`) return { kind: 'chat' };
    if (path === `${base}/embeddings` && flavour.embeddings) return { kind: 'embedding' };
  }
  return { refusal: notFound };
}

/** The credential a request carries: Azure's `api-key` header, else a bearer token. */
function credentialOf(flavour: Flavour, req: RawReceived): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1]?.trim();
  return (flavour.azure ? header(req, 'api-key') : undefined) ?? bearer;
}

function checkAuth(flavour: Flavour, req: RawReceived, apiKey: string | undefined): Refusal | undefined {
  const given = credentialOf(flavour, req);
  if (given === undefined || given === '') return { status: 401, body: flavour.missingKeyBody };
  if (apiKey !== undefined && given !== apiKey) return { status: 401, body: errorBodyOf(flavour, 'unauthenticated', '') };
  return undefined;
}

function checkBody(flavour: Flavour, req: RawReceived, kind: 'chat' | 'embedding'): Refusal | undefined {
  const body = parseJson(req.body);
  const problem = kind === 'chat' ? validateChat(flavour, body) : validateEmbedding(flavour, body);
  return problem ? { status: flavour.validationStatus, body: flavour.invalidBody(problem.message, problem.param, problem.code) } : undefined;
}

/** Writes the scripted answer in the shape the request asked for (JSON or a stream). */
async function answer(ex: Exchange, res: http.ServerResponse, a: Answer): Promise<void> {
  if (a.kind === 'error') {
    const headers = errorHeaders(a.error === 'rate_limit' ? ex.flavour.rateLimitHeaders : {}, a.headers);
    return sendJson(res, ex.flavour.statuses[a.error], errorBodyOf(ex.flavour, a.error, ex.model), headers);
  }
  if ((a.kind === 'embedding') !== (ex.kind === 'embedding')) throw new Error(`scripted ${a.kind} answer for a ${ex.kind} request`);
  if (a.kind === 'embedding') return sendJson(res, 200, embeddingBody(ex, a), {}, ex.flavour.jsonPrefix);
  if (!ex.stream) {
    if (a.kind === 'stream-text' && a.cutAfter !== undefined) return cut(res);
    return sendJson(res, 200, completionBody(ex, a), {}, ex.flavour.jsonPrefix);
  }
  return streamAnswer(ex, res, a);
}

type ChatAnswer = Exclude<Answer, { kind: 'error' } | { kind: 'embedding' }>;

/** The assistant message, finish reason and usage an answer stands for. */
function outcomeOf(a: ChatAnswer): { message: Record<string, unknown>; finish: string; usage: { input: number; output: number } } {
  switch (a.kind) {
    case 'text':
    case 'stream-text': {
      const content = a.kind === 'text' ? a.text : a.pieces.join('');
      return { message: { role: 'assistant', content, refusal: null }, finish: a.finish ?? 'stop', usage: usageOf(a) };
    }
    case 'tool':
    case 'stream-tool': {
      const args = a.kind === 'tool' ? JSON.stringify(a.arguments) : a.argumentPieces.join('');
      const call = { id: a.id, type: 'function', function: { name: a.name, arguments: args } };
      return { message: { role: 'assistant', content: null, refusal: null, tool_calls: [call] }, finish: 'tool_calls', usage: usageOf(a) };
    }
    case 'content-filter':
      return { message: { role: 'assistant', content: null, refusal: null }, finish: 'content_filter', usage: { input: 11, output: 0 } };
  }
}

/** OpenAI's usage object, with the fields DeepSeek and Groq add. */
function usageBody(ex: Exchange, usage: { input: number; output: number }): Record<string, unknown> {
  const base = { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
  if (ex.name === 'deepseek') return { ...base, prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: usage.input };
  return base;
}

function completionBody(ex: Exchange, a: ChatAnswer): Record<string, unknown> {
  const { message, finish, usage } = outcomeOf(a);
  const choice: Record<string, unknown> = { index: 0, message, logprobs: null, finish_reason: finish };
  if (ex.flavour.azure) choice.content_filter_results = finish === 'content_filter' ? AZURE_FILTERED : AZURE_SAFE;
  return {
    id: `chatcmpl-conf${ex.seq}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: ex.model,
    choices: [choice],
    usage: usageBody(ex, usage),
    system_fingerprint: 'fp_conformance',
    ...(ex.flavour.azure ? { prompt_filter_results: [{ prompt_index: 0, content_filter_results: AZURE_SAFE }] } : {}),
    ...(ex.name === 'groq' ? { x_groq: { id: `req_conf${ex.seq}` } } : {}),
  };
}

function embeddingBody(ex: Exchange, a: Extract<Answer, { kind: 'embedding' }>): Record<string, unknown> {
  const base64 = ex.body.encoding_format === 'base64';
  const data = a.vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v }));
  const input = usageOf(a).input;
  return { object: 'list', data, model: ex.model, usage: { prompt_tokens: input, total_tokens: input } };
}

/** A `chat.completion.chunk` with one choice (Azure: with its filter annotation). */
function chunk(ex: Exchange, delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const choice: Record<string, unknown> = { index: 0, delta, logprobs: null, finish_reason: finish };
  if (ex.flavour.azure) choice.content_filter_results = finish === 'content_filter' ? AZURE_FILTERED : delta.content ? AZURE_SAFE : {};
  return {
    id: `chatcmpl-conf${ex.seq}`,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: ex.model,
    system_fingerprint: 'fp_conformance',
    choices: [choice],
    ...(ex.includeUsage ? { usage: null } : {}),
    ...extra,
  };
}

/** The streamed form of an answer: OpenAI's chunk sequence, then `data: [DONE]`. */
async function streamAnswer(ex: Exchange, res: http.ServerResponse, a: ChatAnswer): Promise<void> {
  openSse(res, ex.name === 'groq' ? { 'x-groq-region': 'conformance' } : {});
  if (ex.name === 'deepseek') await writeRaw(res, ': keep-alive\n\n');
  if (ex.flavour.azure) {
    await writeEvent(res, { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: AZURE_SAFE }] });
  }
  const groqId = ex.name === 'groq' ? { x_groq: { id: `req_conf${ex.seq}` } } : {};
  await writeEvent(res, chunk(ex, { role: 'assistant', content: '', refusal: null }, null, groqId));
  const { finish, usage } = outcomeOf(a);
  const pieces = deltasOf(a);
  const cutAfter = a.kind === 'stream-text' ? a.cutAfter : undefined;
  for (const [i, delta] of pieces.entries()) {
    if (cutAfter === i) return cut(res);
    await writeEvent(res, chunk(ex, delta, null));
  }
  if (cutAfter !== undefined) return cut(res);
  const groqUsage = ex.name === 'groq' ? { x_groq: { id: `req_conf${ex.seq}`, usage: usageBody(ex, usage) } } : {};
  await writeEvent(res, chunk(ex, {}, finish, groqUsage));
  if (ex.includeUsage) {
    const last = chunk(ex, {}, null, { usage: usageBody(ex, usage) });
    await writeEvent(res, { ...last, choices: [] });
  }
  await writeEvent(res, '[DONE]');
  res.end();
}

/** The content or tool-call deltas an answer streams as. */
function deltasOf(a: ChatAnswer): Record<string, unknown>[] {
  switch (a.kind) {
    case 'text':
      return [{ content: a.text }];
    case 'stream-text':
      return a.pieces.map((content) => ({ content }));
    case 'tool':
    case 'stream-tool': {
      const pieces = a.kind === 'tool' ? [JSON.stringify(a.arguments)] : a.argumentPieces;
      const start = { tool_calls: [{ index: 0, id: a.id, type: 'function', function: { name: a.name, arguments: '' } }] };
      return [start, ...pieces.map((piece) => ({ tool_calls: [{ index: 0, function: { arguments: piece } }] }))];
    }
    case 'content-filter':
      return [];
  }
}

/** Text of an OpenAI message content: the string, or its text parts joined. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isObject(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}

function decodeMessage(m: Record<string, unknown>): NeutralMessage {
  if (m.role === 'tool') return { role: 'tool', text: textOf(m.content), toolCallId: String(m.tool_call_id) };
  if (m.role !== 'assistant') return { role: 'user', text: textOf(m.content) };
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls.filter(isObject) : [];
  const toolCalls = calls.map((c) => {
    const fn = isObject(c.function) ? c.function : {};
    return { id: String(c.id), name: String(fn.name), arguments: parseArguments(fn.arguments) };
  });
  return { role: 'assistant', text: textOf(m.content), ...(toolCalls.length > 0 ? { toolCalls } : {}) };
}

/** A received request in the suite's neutral view. */
function decodeOpenAI(name: OpenAIFlavour, req: RawReceived | undefined): NeutralRequest {
  if (!req) throw new Error(`the ${name} fake received no such request`);
  const flavour = OPENAI_FAMILY[name];
  const { path } = splitUrl(req.url);
  const raw = parseJson(req.body);
  const body = isObject(raw) ? raw : {};
  const deployment = /^\/openai\/deployments\/([^/]+)\//.exec(path)?.[1];
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => textOf(m.content));
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).map((t) => {
    const fn = isObject(t.function) ? t.function : {};
    return { name: String(fn.name), ...(typeof fn.description === 'string' ? { description: fn.description } : {}), parameters: fn.parameters };
  });
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const input = body.input;
  return {
    kind: path.endsWith('/embeddings') ? 'embedding' : 'chat',
    stream: body.stream === true,
    model: deployment !== undefined ? decodeURIComponent(deployment) : String(body.model ?? ''),
    ...(system.length > 0 ? { system: system.join('\n') } : {}),
    messages: messages.filter((m) => m.role !== 'system' && m.role !== 'developer').map(decodeMessage),
    tools,
    ...(input !== undefined ? { inputs: (Array.isArray(input) ? input : [input]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) } : {}),
    ...(typeof maxTokens === 'number' ? { maxTokens } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
    credential: credentialOf(flavour, req),
  };
}
