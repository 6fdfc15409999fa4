/**
 * A fake Mistral AI API (chat completions, streaming, embeddings) for the conformance suite,
 * written from Mistral's public documentation only (never from our adapter):
 * - The OpenAPI spec (mistralai/platform-docs-public `openapi.yaml`, https://docs.mistral.ai/api):
 *   `ChatCompletionRequest` and every message/tool schema are `additionalProperties: false` (so
 *   `seed`, `max_completion_tokens`, `stream_options`, `user` ... are refused 422 `extra_forbidden`),
 *   `random_seed`, `safe_prompt`, `tool_choice` auto|none|any|required, `n` >= 1, temperature
 *   0..1.5; responses `chat.completion` with `prefix: false`, finish reasons, `UsageInfo`;
 *   streams of `data:` chunks ended by `data: [DONE]`; `EmbeddingRequest`/`EmbeddingResponse`.
 * - https://docs.mistral.ai/resources/error-glossary: statuses 400/401/403/404/422/429/500/503,
 *   the `{object:'error', message, type, param, code}` body, `Retry-After` on 429.
 * - https://docs.mistral.ai/capabilities/function_calling: tool call ids like `D681PevKs`, tool
 *   messages with `name` and `tool_call_id`.
 * - https://docs.mistral.ai/capabilities/guardrailing (safety-moderation): a guardrail block is a
 *   403 `{error:{message:'Content blocked by guardrail', status:403}, guardrails:{results}}`.
 * What the API answers beyond the docs, from reports of its real answers: 422 bodies wrap the
 * FastAPI `detail` list in the error envelope (`message: {detail: [...]}`); tool call ids must be
 * 9 characters a-z A-Z 0-9 (400 `invalid_function_call`, code 3280); message order (400
 * `invalid_request_message_order`, code 3230: after `tool` only `assistant` or `tool`; the last
 * message `user`, `tool` or an assistant with `prefix: true`); usage rides on the last chunk with
 * the finish reason; a streamed tool call arrives whole in one chunk; 429 carries
 * `x-ratelimit-*-minute` headers (mistralai/client-ts#169).
 */
import type http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { bearer, conformanceFake, decodeChatBody, functionCalls, isObject, jsonBody, jsonError, parseJson, playSse, sendJson, splitUrl, startScriptedServer, usageOf } from '../scripted-server.js';
import type { Answer, ConformanceFake, ErrorKind, NeutralMessage, NeutralRequest, RawReceived, ScriptUsage } from '../types.js';

type Json = Record<string, unknown>;
type Loc = ReadonlyArray<string | number>;
interface Issue {
  readonly type: string;
  readonly loc: Loc;
  readonly msg: string;
  readonly input: unknown;
}
interface Refusal {
  readonly status: number;
  readonly body: Json;
}
type Check = (v: unknown) => Pick<Issue, 'type' | 'msg'> | undefined;

const CALL_ID = /^[a-zA-Z0-9]{9}$/;
const envelope = (message: unknown, type: string, code: string | null = null, param: string | null = null): Json => ({ object: 'error', message, type, param, code });
const refuse400 = (message: string, type = 'invalid_request_error', code: string | null = null): Refusal => ({ status: 400, body: envelope(message, type, code) });

const num = (min: number, max: number): Check => (v) =>
  typeof v !== 'number' ? { type: 'float_type', msg: 'Input should be a valid number' }
  : v < min ? { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${min}` }
  : v > max ? { type: 'less_than_equal', msg: `Input should be less than or equal to ${max}` }
  : undefined;
const int = (min: number): Check => (v) =>
  !Number.isInteger(v) ? { type: 'int_type', msg: 'Input should be a valid integer' }
  : (v as number) < min ? { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${min}` }
  : undefined;
const typed = (type: 'string' | 'boolean'): Check => (v) => (typeof v === type ? undefined : { type: type === 'string' ? 'string_type' : 'bool_type', msg: `Input should be a valid ${type}` });
const nullable = (check: Check): Check => (v) => (v === null ? undefined : check(v));
const strings: Check = (v) =>
  typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')) ? undefined : { type: 'string_type', msg: 'Input should be a valid string or list of strings' };
const oneOf = (...values: readonly string[]): Check => (v) =>
  typeof v === 'string' && values.includes(v) ? undefined : { type: 'enum', msg: `Input should be ${values.map((x) => `'${x}'`).join(', ')}` };
const fnType = oneOf('function');
const toolChoice: Check = (v) =>
  (typeof v === 'string' && ['auto', 'none', 'any', 'required'].includes(v)) || (isObject(v) && isObject(v.function) && typeof v.function.name === 'string')
    ? undefined
    : { type: 'enum', msg: "Input should be 'auto', 'none', 'any' or 'required', or {type: 'function', function: {name}}" };
const list: Check = (v) => (Array.isArray(v) ? undefined : { type: 'list_type', msg: 'Input should be a valid list' });
const any: Check = () => undefined;

const CHAT_FIELDS: Readonly<Record<string, Check>> = {
  model: typed('string'), temperature: nullable(num(0, 1.5)), top_p: num(0, 1), max_tokens: nullable(int(0)), stream: typed('boolean'),
  stop: strings, random_seed: nullable(int(0)), metadata: any, messages: list, response_format: any, tools: nullable(list), tool_choice: toolChoice,
  presence_penalty: num(-2, 2), frequency_penalty: num(-2, 2), n: nullable(int(1)), prediction: any, parallel_tool_calls: typed('boolean'),
  prompt_mode: any, reasoning_effort: oneOf('high', 'none'), guardrails: any, prompt_cache_key: any, safe_prompt: typed('boolean'),
};
const EMBED_FIELDS: Readonly<Record<string, Check>> = {
  model: typed('string'), metadata: any, input: strings, output_dimension: nullable(int(1)),
  output_dtype: oneOf('float', 'int8', 'uint8', 'binary', 'ubinary'), encoding_format: oneOf('float', 'base64'),
};
const MESSAGE_FIELDS: Readonly<Record<string, Readonly<Record<string, Check>>>> = {
  system: { role: any, content: any },
  user: { role: any, content: any },
  assistant: { role: any, content: any, tool_calls: nullable(list), prefix: typed('boolean') },
  tool: { role: any, content: any, tool_call_id: nullable(typed('string')), name: nullable(typed('string')) },
};

/** Pydantic-style checks of one object: extra fields, missing required fields, field types. */
function checkObject(obj: unknown, fields: Readonly<Record<string, Check>>, required: readonly string[], loc: Loc, issues: Issue[]): obj is Json {
  if (!isObject(obj)) {
    issues.push({ type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object', input: obj });
    return false;
  }
  for (const key of required) if (!(key in obj)) issues.push({ type: 'missing', loc: [...loc, key], msg: 'Field required', input: obj });
  for (const [key, value] of Object.entries(obj)) {
    const check = fields[key];
    const issue = check ? check(value) : { type: 'extra_forbidden', msg: 'Extra inputs are not permitted' };
    if (issue) issues.push({ ...issue, loc: [...loc, key], input: value });
  }
  return true;
}

function checkMessage(m: unknown, loc: Loc, issues: Issue[]): void {
  const role = isObject(m) ? m.role : undefined;
  const fields = typeof role === 'string' ? MESSAGE_FIELDS[role] : undefined;
  if (!isObject(m) || !fields) {
    const msg =
      role === undefined
        ? "Unable to extract tag using discriminator 'role'"
        : `Input tag '${String(role)}' found using 'role' does not match any of the expected tags: 'assistant', 'system', 'tool', 'user'`;
    issues.push({ type: role === undefined ? 'union_tag_not_found' : 'union_tag_invalid', loc, msg, input: m });
    return;
  }
  const at = [...loc, String(role)];
  checkObject(m, fields, role === 'assistant' ? [] : ['content'], at, issues);
  if (role !== 'assistant' || !Array.isArray(m.tool_calls)) return;
  m.tool_calls.forEach((call, j) => {
    if (checkObject(call, { id: typed('string'), type: fnType, function: any, index: int(0) }, ['function'], [...at, 'tool_calls', j], issues)) {
      checkObject(call.function, { name: typed('string'), arguments: any }, ['name', 'arguments'], [...at, 'tool_calls', j, 'function'], issues);
    }
  });
}

function schemaIssues(body: Json, route: 'chat' | 'embed'): Issue[] {
  const issues: Issue[] = [];
  if (route === 'embed') {
    checkObject(body, EMBED_FIELDS, ['model', 'input'], ['body'], issues);
    return issues;
  }
  checkObject(body, CHAT_FIELDS, ['model', 'messages'], ['body'], issues);
  if (Array.isArray(body.messages)) body.messages.forEach((m, i) => checkMessage(m, ['body', 'messages', i], issues));
  if (Array.isArray(body.tools)) {
    body.tools.forEach((tool, j) => {
      const loc = ['body', 'tools', j];
      if (checkObject(tool, { type: fnType, function: any }, ['function'], loc, issues)) {
        checkObject(tool.function, { name: typed('string'), description: typed('string'), strict: typed('boolean'), parameters: any }, ['name', 'parameters'], [...loc, 'function'], issues);
      }
    });
  }
  return issues;
}

const ORDER: Readonly<Record<string, readonly string[]>> = {
  system: ['user', 'assistant', 'system'],
  user: ['assistant', 'system', 'user'],
  assistant: ['assistant', 'user', 'tool'],
  tool: ['assistant', 'tool'],
};

/** What the serving layer refuses with 400 once the schema holds: call ids, message order, last role. */
function conversationRefusal(messages: readonly Json[]): Refusal | undefined {
  if (messages.length === 0) return refuse400('Conversation must have at least one message.', 'invalid_request_message_order', '3230');
  const ids = messages.flatMap((m) => [
    ...(Array.isArray(m.tool_calls) ? m.tool_calls.filter(isObject).map((c) => c.id ?? 'null') : []),
    ...(m.role === 'tool' && typeof m.tool_call_id === 'string' ? [m.tool_call_id] : []),
  ]);
  const badId = ids.find((id) => typeof id !== 'string' || !CALL_ID.test(id));
  if (badId !== undefined) return refuse400(`Tool call id was ${String(badId)} but must be a-z, A-Z, 0-9, with a length of 9.`, 'invalid_function_call', '3280');
  for (let i = 1; i < messages.length; i++) {
    const [before, role] = [String(messages[i - 1]?.role), String(messages[i]?.role)];
    if (!ORDER[before]?.includes(role)) return refuse400(`Unexpected role '${role}' after role '${before}'`, 'invalid_request_message_order', '3230');
  }
  const last = messages[messages.length - 1] as Json;
  const ok = last.role === 'user' || last.role === 'tool' || (last.role === 'assistant' && last.prefix === true);
  return ok ? undefined : refuse400(`Expected last role User or Tool (or Assistant with prefix True) for serving but got ${String(last.role)}`, 'invalid_request_message_order', '3230');
}

const ERRORS: Readonly<Record<ErrorKind, { readonly status: number; readonly body: (model: string) => Json }>> = {
  invalid_request: { status: 400, body: () => envelope('Invalid request: the request could not be served as sent.', 'invalid_request_error') },
  context_length: { status: 400, body: (m) => envelope(`Prompt contains 40960 tokens and 0 draft tokens, too large for model ${m} with 32768 maximum context length`, 'invalid_request_error') },
  unauthenticated: { status: 401, body: () => envelope('Unauthorized', 'authentication_error') },
  permission: { status: 403, body: (m) => envelope(`Your subscription tier does not give access to the model ${m}.`, 'invalid_request_error') },
  not_found: { status: 404, body: (m) => envelope(`Invalid model: ${m}`, 'invalid_request_error', 'unknown_model', 'model') },
  rate_limit: { status: 429, body: () => envelope('Rate limit exceeded', 'rate_limit_error') },
  server: { status: 500, body: () => envelope('Internal server error', 'server_error') },
  unavailable: { status: 503, body: () => envelope('Service unavailable', 'server_error') },
  overloaded: { status: 503, body: () => envelope('The service is temporarily overloaded, please retry later.', 'server_error') },
};
const RATE_HEADERS = {
  'retry-after': '1',
  'x-ratelimit-limit-req-minute': '60',
  'x-ratelimit-remaining-req-minute': '0',
  'x-ratelimit-limit-tokens-minute': '500000',
  'x-ratelimit-remaining-tokens-minute': '0',
};
const GUARDRAIL_BLOCK = {
  error: { message: 'Content blocked by guardrail', status: 403 },
  guardrails: {
    results: {
      moderation_llm_v2: { model_name: 'mistral-moderation-latest', decisions: { violence_and_threats: { threshold: 0.1, score: 0.9, violated: true } }, violated: true, action: 'block' },
    },
  },
};

/** Mistral's own 9-character id for a scripted id that is not one already (stable per id). */
const mistralId = (id: string): string => (CALL_ID.test(id) ? id : createHash('sha256').update(id).digest('base64').replace(/[^a-zA-Z0-9]/g, '').slice(0, 9));
const SSE = { 'content-type': 'text/event-stream' }; // no charset, as Mistral sends it
const usage = (u: ScriptUsage): Json => ({ prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output });

/** Answers a scripted error or guardrail block (true), for chat and embeddings alike. */
function answeredFailure(res: http.ServerResponse, model: string, answer: Answer): answer is Extract<Answer, { kind: 'error' | 'content-filter' }> {
  if (answer.kind === 'error') {
    const { status, body } = ERRORS[answer.error];
    sendJson(res, status, body(model), { ...(answer.error === 'rate_limit' ? RATE_HEADERS : {}), ...answer.headers });
  } else if (answer.kind === 'content-filter') sendJson(res, 403, GUARDRAIL_BLOCK);
  else return false;
  return true;
}

function answerChat(res: http.ServerResponse, body: Json, answer: Answer): void | Promise<void> {
  const model = String(body.model);
  if (answeredFailure(res, model, answer)) return;
  if (answer.kind === 'embedding') return sendJson(res, 500, envelope('fake misuse: an embedding answer was scripted for a chat request', 'server_error'));
  const base = { id: randomUUID().replace(/-/g, ''), created: Math.floor(Date.now() / 1000), model };
  const chunk = (choice: Json, extra: Json = {}): string => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, ...choice }], ...extra })}\n\n`;
  const tool = answer.kind === 'tool' || answer.kind === 'stream-tool';
  const pieces = answer.kind === 'tool' ? [JSON.stringify(answer.arguments)] : answer.kind === 'stream-tool' ? answer.argumentPieces : answer.kind === 'text' ? [answer.text] : answer.pieces;
  const call = tool ? { id: mistralId(answer.id), type: 'function', function: { name: answer.name, arguments: pieces.join('') } } : undefined;
  const finish = tool ? 'tool_calls' : answer.finish === 'length' ? 'length' : 'stop';
  if (body.stream !== true) {
    const message = { role: 'assistant', content: call ? '' : pieces.join(''), tool_calls: call ? [call] : null, prefix: false };
    const n = typeof body.n === 'number' ? body.n : 1;
    const choices = Array.from({ length: n }, (_, index) => ({ index, message, finish_reason: finish }));
    return sendJson(res, 200, { ...base, object: 'chat.completion', choices, usage: usage(usageOf(answer)) });
  }
  const content = call ? [chunk({ delta: { tool_calls: [{ ...call, index: 0 }] }, finish_reason: null })] : pieces.map((text) => chunk({ delta: { content: text }, finish_reason: null }));
  const cut = answer.kind === 'stream-text' && answer.cutAfter !== undefined && answer.cutAfter <= pieces.length ? 1 + answer.cutAfter : undefined;
  return playSse(res, SSE, [
    chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }),
    ...content,
    chunk({ delta: { content: '' }, finish_reason: finish }, { usage: usage(usageOf(answer)) }),
    'data: [DONE]\n\n',
  ], cut);
}

const inputsOf = (input: unknown): string[] => (typeof input === 'string' ? [input] : Array.isArray(input) ? input.map(String) : []);

function answerEmbed(res: http.ServerResponse, body: Json, answer: Answer): void {
  const inputs = inputsOf(body.input);
  if (answeredFailure(res, String(body.model), answer)) return;
  const vectors = answer.kind === 'embedding' ? answer.vectors : answer.kind === 'text' ? inputs.map(() => [0.1, 0.2, 0.3]) : undefined;
  if (!vectors || vectors.length !== inputs.length) {
    return sendJson(res, 500, envelope(`fake misuse: a ${answer.kind} answer with ${vectors?.length ?? 0} vectors was scripted for ${inputs.length} inputs`, 'server_error'));
  }
  const base64 = body.encoding_format === 'base64';
  const data = vectors.map((v, index) => ({ object: 'embedding', embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v, index }));
  const input = usageOf(answer.kind === 'embedding' ? answer : {}).input;
  sendJson(res, 200, { id: randomUUID().replace(/-/g, ''), object: 'list', data, model: body.model, usage: { prompt_tokens: input, completion_tokens: 0, total_tokens: input } });
}

function handle(rec: RawReceived, res: http.ServerResponse, next: () => Answer, apiKey: string | undefined): void | Promise<void> {
  const { path } = splitUrl(rec.url);
  const route = rec.method === 'POST' ? ({ '/v1/chat/completions': 'chat', '/v1/embeddings': 'embed' } as const)[path] : undefined;
  if (!route) return sendJson(res, 404, envelope(`Not Found: ${rec.method} ${path}`, 'invalid_request_error'));
  const token = bearer(rec);
  if (token === undefined || (apiKey !== undefined && token !== apiKey)) return sendJson(res, 401, ERRORS.unauthenticated.body(''));
  const body = parseJson(rec.body);
  const syntax = body === undefined ? jsonError(rec.body) : undefined;
  const notJson = syntax !== undefined ? { type: 'json_invalid', msg: `JSON decode error: ${syntax}` } : { type: 'model_attributes_type', msg: 'Input should be a valid dictionary or object' };
  const issues: Issue[] = isObject(body) ? schemaIssues(body, route) : [{ ...notJson, loc: ['body'], input: {} }];
  if (issues.length > 0 || !isObject(body)) return sendJson(res, 422, envelope({ detail: issues }, 'invalid_request_error'));
  const refusal = route === 'chat' ? conversationRefusal((body.messages as unknown[]).filter(isObject)) : undefined;
  if (refusal) return sendJson(res, refusal.status, refusal.body);
  return route === 'chat' ? answerChat(res, body, next()) : answerEmbed(res, body, next());
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  return Array.isArray(content) ? content.filter(isObject).map((c) => (c.type === 'text' && typeof c.text === 'string' ? c.text : '')).join('') : '';
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function neutralMessage(m: Json): NeutralMessage {
  const text = textOf(m.content);
  if (m.role === 'tool') return { role: 'tool', text, toolCallId: str(m.tool_call_id), toolName: str(m.name) };
  if (m.role !== 'assistant') return { role: 'user', text };
  const toolCalls = functionCalls(m.tool_calls);
  return toolCalls.length > 0 ? { role: 'assistant', text, toolCalls } : { role: 'assistant', text };
}

/** The neutral view of one received request, decoded tolerantly (whatever was refused). */
function decodeMistral(rec: RawReceived): NeutralRequest {
  const body = jsonBody(rec);
  const common = { model: str(body.model) ?? '', credential: bearer(rec) };
  if (splitUrl(rec.url).path.endsWith('/embeddings')) return { kind: 'embedding', stream: false, ...common, messages: [], tools: [], inputs: inputsOf(body.input) };
  return { ...common, ...decodeChatBody(body, textOf, neutralMessage) };
}

/**
 * Starts a fake Mistral AI API on 127.0.0.1 (port 0) on the shared scripted server. `baseURL` is
 * origin + `/v1`. With `apiKey`, only `Authorization: Bearer <apiKey>` is accepted; without, any
 * bearer token. A request the API refuses is answered Mistral's way without consuming the script.
 */
export async function startMistralFake(opts: { apiKey?: string } = {}): Promise<ConformanceFake> {
  const server = await startScriptedServer('Hello from mistral-ai', (rec, res) => handle(rec, res, () => server.next(), opts.apiKey));
  return conformanceFake(server, 'mistral', '/v1', decodeMistral, (error) => ERRORS[error].status);
}
