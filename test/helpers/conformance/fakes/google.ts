/**
 * Fake Google Gemini API (generativelanguage, `/v1beta`) and Vertex AI (aiplatform, `/v1`) servers
 * for the conformance suite (the contract is ../types.ts), written from Google's public API
 * documentation only (ai.google.dev/api, ai.google.dev/gemini-api/docs/troubleshooting,
 * cloud.google.com/vertex-ai/generative-ai/docs/model-reference/*), never from our adapters.
 *
 * Both speak the same Content format (`contents` of `user`/`model` turns made of parts) and refuse
 * what Google refuses with a 400 INVALID_ARGUMENT in the google.rpc error shape
 * (`{error:{code,message,status,details?}}`), with Google's own messages. They differ in paths,
 * auth (Gemini: an API key in `x-goog-api-key` or `?key=`; Vertex: `Authorization: Bearer`),
 * embeddings (`embedContent`/`batchEmbedContents` versus `:predict`) and a few response fields.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../../../lib/providers/types.js';
import { cut, openSse, sendJson, startScriptedServer, writeRaw } from '../scripted-server.js';
import type { Answer, ConformanceFake, ErrorKind, RawReceived } from '../types.js';
import { checkEmbedding, checkGenerate, parseBody, Refused, rpc, type Refusal } from './google-rules.js';
import { decodeBody, embeddingBody, merged, response, turnOf, type Call, type Method } from './google-wire.js';

/** Where a request's credential came from: `x-goog-api-key`, the `key` query parameter, or a bearer token. */
export type AuthVia = 'header' | 'query' | 'bearer';

/** A running Google fake: the suite's contract plus how each request authenticated. */
export interface GoogleFake extends ConformanceFake {
  /** How `received[index]` (default: the last) carried its credential, undefined when it had none. */
  authVia(index?: number): AuthVia | undefined;
}

/** What differs between the Gemini API and Vertex AI. */
interface Flavour {
  readonly provider: 'Gemini' | 'Vertex AI';
  readonly version: '/v1beta' | '/v1';
  readonly vertex: boolean;
  route(path: string): Call | undefined;
  credential(raw: RawReceived, url: URL): { readonly credential?: string; readonly via?: AuthVia };
  /** The refusal for a missing or wrong credential, or a path naming another project or region. */
  refuse(raw: RawReceived, url: URL, call: Call): Refusal | undefined;
  error(kind: ErrorKind, call: Call): Refusal;
}

const TOKENS_MESSAGE = 'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).';
const UNAVAILABLE = rpc(503, 'UNAVAILABLE', 'The service is currently unavailable.');
const header = (raw: RawReceived, name: string): string | undefined => {
  const value = raw.headers[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};
const bearer = (raw: RawReceived): string | undefined => /^Bearer\s+(\S+)$/i.exec(header(raw, 'authorization') ?? '')?.[1];
const errorInfo = (reason: string, service: string): JsonObject => ({
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'googleapis.com', metadata: { service },
});
const decodeSegment = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

/** The Gemini API: `POST /v1beta/models/{model}:{method}`, an API key. */
function geminiFlavour(apiKey: string | undefined): Flavour {
  const keyInvalid = rpc(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
    errorInfo('API_KEY_INVALID', 'generativelanguage.googleapis.com'),
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
  ]);
  const errors: Record<ErrorKind, (call: Call) => Refusal> = {
    invalid_request: () => rpc(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'),
    context_length: () => rpc(400, 'INVALID_ARGUMENT', TOKENS_MESSAGE),
    unauthenticated: () => keyInvalid,
    permission: () => rpc(403, 'PERMISSION_DENIED', 'Your project has been denied access. Please contact support.'),
    not_found: (call) =>
      rpc(404, 'NOT_FOUND', `models/${call.model} is not found for API version v1beta, or is not supported for ${call.method}. Call ListModels to see the list of available models and their supported methods.`),
    rate_limit: () =>
      rpc(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.', [
        { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
        { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }] },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
      ]),
    server: () => rpc(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'),
    unavailable: () => UNAVAILABLE,
    overloaded: () => rpc(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'),
  };
  const credential = (raw: RawReceived, url: URL): { credential?: string; via?: AuthVia } => {
    const inHeader = header(raw, 'x-goog-api-key');
    if (inHeader !== undefined) return { credential: inHeader, via: 'header' };
    const inQuery = url.searchParams.get('key');
    return inQuery ? { credential: inQuery, via: 'query' } : {};
  };
  return {
    provider: 'Gemini',
    version: '/v1beta',
    vertex: false,
    route: (path) => {
      const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/.exec(path);
      const model = m ? decodeSegment(m[1]!) : undefined;
      return m && model ? { model, method: m[2] as Method } : undefined;
    },
    credential,
    refuse: (raw, url) => {
      const key = credential(raw, url).credential;
      if (key === undefined && bearer(raw) !== undefined) {
        return rpc(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
      }
      if (key === undefined) {
        return rpc(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
      }
      return apiKey !== undefined && key !== apiKey ? keyInvalid : undefined;
    },
    error: (kind, call) => errors[kind](call),
  };
}

/** Vertex AI: `POST /v1/projects/{p}/locations/{r}/publishers/google/models/{model}:{method}`, a bearer token. */
function vertexFlavour(project: string, region: string, accessToken: string | undefined): Flavour {
  const resource = (call: Call): string => `projects/${call.project}/locations/${call.region}/publishers/google/models/${call.model}`;
  const denied = (call: Call): Refusal =>
    rpc(403, 'PERMISSION_DENIED', `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/${resource(call)}' (or it may not exist).`);
  const notFound = (call: Call): Refusal => rpc(404, 'NOT_FOUND', `Publisher Model \`${resource(call)}\` not found.`);
  const invalidToken = rpc(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
  const missing = (message: string): Refusal => rpc(401, 'UNAUTHENTICATED', message, [errorInfo('CREDENTIALS_MISSING', 'aiplatform.googleapis.com')]);
  const exhausted = (message: string) => (): Refusal => rpc(429, 'RESOURCE_EXHAUSTED', message);
  const errors: Record<ErrorKind, (call: Call) => Refusal> = {
    invalid_request: () => rpc(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'),
    context_length: () => rpc(400, 'INVALID_ARGUMENT', TOKENS_MESSAGE),
    unauthenticated: () => invalidToken,
    permission: denied,
    not_found: notFound,
    rate_limit: exhausted('Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.'),
    server: () => rpc(500, 'INTERNAL', 'Internal error encountered.'),
    unavailable: () => UNAVAILABLE,
    // Vertex documents capacity exhaustion of the shared (pay-as-you-go) pool as a 429, not a 503.
    overloaded: exhausted('Resource exhausted, please try again later.'),
  };
  return {
    provider: 'Vertex AI',
    version: '/v1',
    vertex: true,
    route: (path) => {
      const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent|predict)$/.exec(path);
      const [p, r, model] = m ? [m[1]!, m[2]!, m[3]!].map(decodeSegment) : [];
      return m && p && r && model ? { model, method: m[4] as Method, project: p, region: r } : undefined;
    },
    credential: (raw) => {
      const token = bearer(raw);
      return token === undefined ? {} : { credential: token, via: 'bearer' };
    },
    refuse: (raw, url, call) => {
      const token = bearer(raw);
      if (token === undefined && (header(raw, 'x-goog-api-key') !== undefined || url.searchParams.has('key'))) {
        return missing('API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal. See https://cloud.google.com/docs/authentication');
      }
      if (token === undefined) {
        return missing('Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
      }
      if (accessToken !== undefined && token !== accessToken) return invalidToken;
      if (call.project !== project) return denied(call);
      return call.region === region ? undefined : notFound(call);
    },
    error: (kind, call) => errors[kind](call),
  };
}

/** A refusal in the google.rpc shape `{error:{code,message,status,details?}}`. */
function sendRefusal(res: http.ServerResponse, r: Refusal, headers?: Readonly<Record<string, string>>): void {
  sendJson(res, r.status, { error: { code: r.status, message: r.message, status: r.code, ...(r.details ? { details: r.details } : {}) } }, headers);
}

/** Streams the events: SSE `data:` frames with `alt=sse` (no terminator), else one JSON array written piece by piece. */
async function stream(res: http.ServerResponse, events: JsonObject[], sse: boolean, cutAfter?: number): Promise<void> {
  if (sse) openSse(res, { 'content-disposition': 'attachment' });
  else res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  if (!sse) await writeRaw(res, '[');
  const count = cutAfter === undefined ? events.length : Math.min(cutAfter, events.length);
  for (let i = 0; i < count; i++) {
    if (res.destroyed) return;
    await writeRaw(res, sse ? `data: ${JSON.stringify(events[i])}\r\n\r\n` : `${i > 0 ? ',\r\n' : ''}${JSON.stringify(events[i])}`);
  }
  if (cutAfter !== undefined) return cut(res);
  res.end(sse ? undefined : ']');
}

/** Answers a checked request with the scripted answer, in the shape its method returns. */
async function answer(f: Flavour, call: Call, body: JsonObject, script: Answer, url: URL, res: http.ServerResponse): Promise<void> {
  if (script.kind === 'error') return sendRefusal(res, f.error(script.error, call), script.headers);
  if (call.method !== 'generateContent' && call.method !== 'streamGenerateContent') {
    if (script.kind !== 'embedding' && script.kind !== 'text') throw new Error(`the scripted '${script.kind}' answer does not fit a ${call.method} request`);
    return sendJson(res, 200, embeddingBody(call, decodeBody(call, body, undefined).inputs ?? [], script));
  }
  const turn = turnOf(script);
  if (!turn) throw new Error(`the scripted '${script.kind}' answer does not fit a ${call.method} request`);
  const id = randomBytes(12).toString('base64url');
  if (call.method === 'generateContent') {
    if (turn.cutAfter !== undefined) return cut(res);
    return sendJson(res, 200, response(f.vertex, call, turn, merged(turn.pieces), true, id, false));
  }
  const finishing = turn.cutAfter === undefined;
  const pieces = turn.pieces.length > 0 ? turn.pieces : [[]];
  const events = pieces.map((parts, i) => response(f.vertex, call, turn, parts, finishing && i === pieces.length - 1, id, true));
  return stream(res, events, url.searchParams.get('alt') === 'sse', turn.cutAfter);
}

/** One request: route, credential, JSON, Google's validation, then the next scripted answer. */
async function handle(f: Flavour, raw: RawReceived, next: () => Answer, res: http.ServerResponse): Promise<void> {
  const url = new URL(raw.url, 'http://fake.invalid');
  const call = raw.method === 'POST' ? f.route(url.pathname) : undefined;
  if (!call) {
    res.writeHead(404, { 'content-type': 'text/html; charset=UTF-8' });
    res.end(`<!DOCTYPE html><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>${url.pathname}</code> was not found on this server (${raw.method}; the fake ${f.provider} serves POST ${f.version}/...). <ins>That's all we know.</ins>`);
    return;
  }
  try {
    const refusal = f.refuse(raw, url, call);
    if (refusal) return sendRefusal(res, refusal);
    const body = parseBody(raw.body);
    if (call.method === 'generateContent' || call.method === 'streamGenerateContent') checkGenerate(body, f.vertex);
    else checkEmbedding(body, call.method, call.model);
    await answer(f, call, body, next(), url, res);
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    if (err instanceof Refused) return sendRefusal(res, err.refusal);
    sendRefusal(res, rpc(500, 'INTERNAL', `fake ${f.provider}: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/** A Google fake of one flavour on the shared scripted server (../scripted-server.ts). */
async function startGoogle(f: Flavour): Promise<GoogleFake> {
  const server = await startScriptedServer(`Hello from ${f.provider}`, (raw, res) => handle(f, raw, () => server.next(), res));
  const { origin, received } = server;
  const at = (index: number): { raw: RawReceived; url: URL } => {
    const raw = received[index];
    if (!raw) throw new Error(`fake ${f.provider}: no request #${index} (${received.length} received)`);
    return { raw, url: new URL(raw.url, 'http://fake.invalid') };
  };
  return {
    origin,
    baseURL: origin + f.version,
    received,
    decode: (index = received.length - 1) => {
      const { raw, url } = at(index);
      const call = f.route(url.pathname);
      if (!call) throw new Error(`fake ${f.provider}: request #${index} (${raw.method} ${url.pathname}) is not a ${f.provider} API call`);
      let body: JsonObject;
      try {
        body = parseBody(raw.body);
      } catch {
        throw new Error(`fake ${f.provider}: request #${index} has no JSON object body`);
      }
      return decodeBody(call, body, f.credential(raw, url).credential);
    },
    authVia: (index = received.length - 1) => {
      const { raw, url } = at(index);
      return f.credential(raw, url).via;
    },
    script: (...answers) => server.script(...answers),
    statusOf: (kind) => f.error(kind, { model: 'model', method: 'generateContent', project: 'p', region: 'r' }).status,
    reset: () => server.reset(),
    close: () => server.close(),
  };
}

/** Starts a fake Gemini API. With `apiKey`, any other key is refused as Gemini refuses it (400 API_KEY_INVALID). */
export function startGeminiFake(opts: { apiKey?: string } = {}): Promise<GoogleFake> {
  return startGoogle(geminiFlavour(opts.apiKey));
}

/** Starts a fake Vertex AI for one project and region. With `accessToken`, any other bearer token is a 401. */
export function startVertexFake(opts: { project: string; region: string; accessToken?: string }): Promise<GoogleFake> {
  return startGoogle(vertexFlavour(opts.project, opts.region, opts.accessToken));
}
