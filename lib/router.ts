/**
 * The Express edge: body parsing, auth, the endpoint table, and writing responses. The only
 * module (with the logs routes) that knows Express.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import createDebug from 'debug';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { ConfigSelector } from './config/source.js';
import type { AttemptFailure, AttemptSuccess } from './engine/plan.js';
import { CircuitBreakers } from './engine/breaker.js';
import { ClientGoneError, runPlan, type EngineDeps, type RunResult } from './engine/run.js';
import { FallbackRouterError, RequestError, errorBody, toOpenAIError } from './errors.js';
import { parseOptions, type RouterOptions, type Settings } from './options.js';
import type { Endpoint, JsonObject } from './providers/types.js';
import { createHttpClient } from './transport/http.js';
import { pumpStream, type StreamEnd } from './transport/sse-writer.js';
import { MemoryTraceStore } from './trace/memory-store.js';
import { createLogsRouter } from './trace/logs-routes.js';
import { createTraceRecorder, safeHook } from './trace/recorder.js';

const debug = createDebug('express-llm-fallback:router');

interface Route {
  readonly endpoint: Endpoint;
  /** Legacy Portkey form: `{ config, params }`. */
  readonly legacy: boolean;
}

/** The endpoint table, relative to the mount path. */
const ROUTES: Readonly<Record<string, Route>> = {
  '/chat/completions': { endpoint: 'chat', legacy: false },
  '/completions': { endpoint: 'completion', legacy: false },
  '/embeddings': { endpoint: 'embedding', legacy: false },
  '/chatComplete': { endpoint: 'chat', legacy: true },
  '/complete': { endpoint: 'completion', legacy: true },
  '/embed': { endpoint: 'embedding', legacy: true },
};

/** What each endpoint's body must hold before any upstream is called. */
const REQUIRED_FIELD: Readonly<Record<Endpoint, string>> = { chat: 'messages', completion: 'prompt', embedding: 'input' };

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function sendJson(res: Response, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

function sendError(res: Response, err: unknown, logger: Settings['logger']): void {
  const { status, body } = toOpenAIError(err);
  if (status >= 500) logger.error('express-llm-fallback: unexpected error:', err instanceof Error ? err.message : err);
  sendJson(res, status, body);
}

function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a positive integer of milliseconds from a header; a bad value is a 400. */
function millisHeader(req: Request, name: string): number | undefined {
  const value = headerValue(req, name);
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\s*\d{1,7}\s*$/.test(value) || Number(value) < 1 || Number(value) > 3_600_000) {
    throw new RequestError(`${name} must be a whole number of milliseconds from 1 to 3600000`, 400, 'invalid_header', 'invalid_request_error', name);
  }
  return Number(value);
}

/** Reads `passthrough` or `buffered` from a header; anything else is a 400. */
function streamModeHeader(req: Request, name: string): 'passthrough' | 'buffered' | undefined {
  const value = headerValue(req, name)?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (value === 'passthrough' || value === 'buffered') return value;
  throw new RequestError(`${name} must be "passthrough" or "buffered"`, 400, 'invalid_header', 'invalid_request_error', name);
}

/** Compares two secrets in constant time (over their digests, so lengths do not leak). */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * Creates the router. Mount it anywhere: `app.use('/v1', createFallbackRouter(options))`.
 * Throws OptionsError at once when an option (or a saved config) is invalid.
 */
export function createFallbackRouter(options: RouterOptions = {}): Router {
  const settings = parseOptions(options);
  const selector = new ConfigSelector(settings);
  const prefix = settings.headerPrefix;
  const breakers = new CircuitBreakers(settings.breakerStore, settings.logger);
  const engine: EngineDeps = {
    client: createHttpClient(),
    adapters: settings.adapters,
    ...(settings.shouldFallback ? { shouldFallback: settings.shouldFallback } : {}),
    finalError: settings.finalError,
    maxRetryAfterMs: settings.maxRetryAfterMs,
    logger: settings.logger,
    breakers,
    // hooks: a throw or a rejected promise is logged, never surfaced
    ...(settings.hooks.onAttempt ? { onAttempt: safeHook(settings.hooks.onAttempt, 'onAttempt', settings.logger)! } : {}),
    ...(settings.hooks.onFallback ? { onFallback: safeHook(settings.hooks.onFallback, 'onFallback', settings.logger)! } : {}),
  };
  const recorder = createTraceRecorder({
    ...(settings.traceStore || settings.logs.enabled
      ? { store: settings.traceStore ?? new MemoryTraceStore({ maxTraces: settings.logs.maxTraces }) }
      : {}),
    pricing: settings.pricing,
    ...(settings.hooks.onTrace ? { onTrace: settings.hooks.onTrace } : {}),
    logger: settings.logger,
  });
  const hasServerKeys = [...settings.providers.values(), ...settings.virtualKeys.values()].some((p) => p.apiKey);
  if (hasServerKeys && !settings.auth) {
    settings.logger.warn(
      'express-llm-fallback: the router holds server-side provider keys but has no auth option: anyone who can reach it can spend them. Set options.auth.',
    );
  }

  const router = express.Router();
  const jsonParser = express.json({ limit: settings.bodyLimit, strict: false, type: () => true });

  const parseBody: RequestHandler = (req, res, next) => {
    // The host already parsed the body (express.json() or another parser): use what it has.
    const preParsed = (req as { _body?: boolean })._body === true || (req.body !== undefined && req.readableEnded);
    if (preParsed) {
      if (Buffer.isBuffer(req.body) || typeof req.body === 'string') {
        try {
          req.body = JSON.parse(req.body.toString());
        } catch {
          next(new RequestError('Request body is not valid JSON.', 400, 'invalid_json'));
          return;
        }
      }
      next();
      return;
    }
    const type = headerValue(req, 'content-type');
    if (type !== undefined && !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
      next(new RequestError(`Content-Type must be application/json (got "${type.slice(0, 100)}").`, 415, 'unsupported_media_type'));
      return;
    }
    jsonParser(req, res, next);
  };

  const authenticate: RequestHandler = (req, _res, next) => {
    const auth = settings.auth;
    if (!auth) {
      next();
      return;
    }
    const deny = (): void => next(new RequestError(`Missing or invalid ${prefix}api-key.`, 401, 'invalid_api_key', 'authentication_error'));
    if (typeof auth === 'function') {
      Promise.resolve()
        .then(() => auth(req))
        .then((ok) => (ok === true ? next() : deny()))
        .catch((err: unknown) => {
          settings.logger.error('express-llm-fallback: options.auth threw; request denied:', err instanceof Error ? err.message : err);
          deny();
        });
      return;
    }
    const given = headerValue(req, `${prefix}api-key`);
    if (given !== undefined && auth.apiKeys.some((key) => safeEqual(given, key))) next();
    else deny();
  };

  const handle = (route: Route): RequestHandler => (req, res) => {
    const startedAt = Date.now();
    serve(route, req, res, startedAt).catch((err: unknown) => {
      const rejected = !res.headersSent;
      sendError(res, err, settings.logger);
      if (rejected) traceRejected(route, req, res, startedAt, err);
    });
  };

  async function serve(route: Route, req: Request, res: Response, startedAt: number): Promise<void> {
    const traceId = (headerValue(req, `${prefix}trace-id`) ?? '').trim().slice(0, 128) || randomUUID();
    res.setHeader(`${prefix}trace-id`, /^[\x21-\x7e]+$/.test(traceId) ? traceId : randomUUID());
    const raw: unknown = req.body;
    if (!isPlainObject(raw)) throw new RequestError('Request body must be a JSON object.', 400, 'invalid_body');
    let params: JsonObject;
    let bodyConfig: unknown;
    if (route.legacy) {
      if (!isPlainObject(raw.params)) {
        throw new RequestError('Request body must be {"config": ..., "params": {...}} with params an object.', 400, 'invalid_body', 'invalid_request_error', 'params');
      }
      const { config: inner, ...rest } = raw.params;
      params = rest;
      bodyConfig = raw.config ?? inner;
    } else {
      const { config, ...rest } = raw;
      params = rest;
      bodyConfig = config;
    }
    const field = REQUIRED_FIELD[route.endpoint];
    if (params[field] === undefined || params[field] === null) {
      throw new RequestError(`${field} is required.`, 400, 'missing_parameter', 'invalid_request_error', field);
    }
    if (route.endpoint === 'chat' && !Array.isArray(params.messages)) {
      throw new RequestError('messages must be an array.', 400, 'invalid_parameter', 'invalid_request_error', 'messages');
    }
    // Embeddings do not stream: a stray `stream: true` there is sent on as it is, answered as JSON.
    const stream = params.stream === true && route.endpoint !== 'embedding';
    const streamMode = streamModeHeader(req, `${prefix}stream-mode`);
    const requestTimeout = millisHeader(req, `${prefix}request-timeout`);
    const totalTimeout = millisHeader(req, `${prefix}total-timeout`);
    const selected = selector.select(req.headers, bodyConfig);
    debug('%s %s config=%s via %s', req.method, req.path, selected.plan.configId, selected.source);

    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) controller.abort(new ClientGoneError('client disconnected'));
    };
    res.on('close', onClose);
    let result: RunResult;
    try {
      result = await runPlan(
        selected.plan,
        {
          endpoint: route.endpoint,
          body: params,
          stream,
          signal: controller.signal,
          headers: req.headers,
          ...(requestTimeout !== undefined ? { requestTimeout } : {}),
          ...(totalTimeout !== undefined ? { totalTimeout } : {}),
          ...(streamMode !== undefined ? { streamMode } : {}),
        },
        engine,
      );
      const end = await writeOutcome(res, result, controller.signal);
      traceOutcome(route, res, startedAt, selected.plan.configId, stream, params, result, end);
    } catch (err) {
      if (err instanceof ClientGoneError) {
        debug('client went away; chain stopped');
        // The attempts made before it may still have cost something: keep them in the trace.
        recorder.finish({
          traceId: traceIdOf(res),
          configId: selected.plan.configId,
          endpoint: route.endpoint,
          stream,
          startedAt,
          status: 499,
          attempts: err.attempts,
          error: { message: 'The client disconnected before the answer was complete.', type: 'client_error', code: 'client_disconnected' },
        });
        return;
      }
      throw err;
    } finally {
      res.off('close', onClose);
    }
  }

  /** Sends the outcome; for a stream, resolves with how it ended. */
  async function writeOutcome(res: Response, result: RunResult, signal: AbortSignal): Promise<StreamEnd | undefined> {
    const { outcome, attempts } = result;
    const made = attempts.filter((a) => a.skipped === undefined);
    res.setHeader(`${prefix}attempts`, String(made.length));
    res.setHeader(`${prefix}last-used-option-index`, outcome.path);
    res.setHeader(`${prefix}provider`, outcome.provider);
    res.setHeader(`${prefix}retry-attempt-count`, String(retriesOf(outcome, made)));
    if (outcome.ok && outcome.stream) return pumpStream(res, outcome.stream, signal, outcome.provider);
    sendJson(res, outcome.status, outcome.ok ? outcome.body : failureBody(outcome));
    return undefined;
  }

  // --- traces (SPEC §8): one per request, recorded after the response went out
  /** The trace id the client was given (the response header). */
  const traceIdOf = (res: Response): string => String(res.getHeader(`${prefix}trace-id`) ?? '');

  function traceOutcome(
    route: Route,
    res: Response,
    startedAt: number,
    configId: string,
    stream: boolean,
    params: JsonObject,
    result: RunResult,
    end: StreamEnd | undefined,
  ): void {
    const { outcome } = result;
    const capture = settings.logs.captureBodies;
    // A committed stream that then broke (or lost its client) is not a success, whatever
    // status went out with its headers.
    const broken =
      end?.kind === 'error'
        ? { status: 502, error: { message: end.message, type: 'server_error', code: 'stream_interrupted' } }
        : end?.kind === 'gone'
          ? { status: 499, error: { message: 'The client disconnected before the answer was complete.', type: 'client_error', code: 'client_disconnected' } }
          : undefined;
    recorder.finish({
      traceId: traceIdOf(res),
      configId,
      endpoint: route.endpoint,
      stream,
      startedAt,
      status: broken?.status ?? (outcome.ok ? outcome.status : res.statusCode),
      ...(broken ? { error: broken.error } : {}),
      outcome,
      attempts: result.attempts,
      ...(capture ? { requestBody: params } : {}),
      ...(capture && !(outcome.ok && outcome.stream) ? { responseBody: outcome.ok ? outcome.body : failureBody(outcome) } : {}),
    });
  }

  /** A request rejected before any attempt (invalid config, body field or header). */
  function traceRejected(route: Route, req: Request, res: Response, startedAt: number, err: unknown): void {
    const { status, body } = toOpenAIError(err);
    const raw: unknown = req.body;
    const params = isPlainObject(raw) ? (route.legacy ? raw.params : raw) : undefined;
    const capture = settings.logs.captureBodies && isPlainObject(params);
    recorder.finish({
      traceId: traceIdOf(res) || randomUUID(),
      configId: 'invalid',
      endpoint: route.endpoint,
      stream: isPlainObject(params) && params.stream === true,
      startedAt,
      status,
      attempts: [],
      error: { message: body.error.message, type: body.error.type, code: body.error.code },
      ...(capture ? { requestBody: params } : {}), // the recorder drops its `config`
      ...(settings.logs.captureBodies ? { responseBody: body } : {}),
    });
  }
  // --- end traces

  function retriesOf(outcome: AttemptSuccess | AttemptFailure, made: RunResult['attempts']): number {
    if (outcome.ok) return outcome.retries;
    return Math.max(0, made.filter((a) => a.path === outcome.path).length - 1);
  }

  for (const [path, route] of Object.entries(ROUTES)) {
    router.post(path, authenticate, parseBody, handle(route));
    router.all(path, (req, res) => {
      res.setHeader('allow', 'POST');
      sendJson(res, 405, errorBody(`${req.method} is not allowed on ${req.baseUrl}${path}; use POST.`, 'invalid_request_error', 'method_not_allowed'));
    });
  }
  // GET /health: liveness plus each known target's circuit breaker (SPEC §2), behind auth.
  router.get('/health', authenticate, (_req, res) => {
    breakers
      .snapshot()
      .then((targets) => sendJson(res, 200, { status: 'ok', circuit_breaker: { router_wide: settings.circuitBreaker ?? false }, targets }))
      .catch((err: unknown) => sendError(res, err, settings.logger));
  });
  // GET /logs, /logs/ui, /logs/:traceId, behind the same auth (SPEC §10)
  if (settings.logs.enabled && recorder.store) {
    router.use('/logs', createLogsRouter({ store: recorder.store, authenticate, headerPrefix: prefix, logger: settings.logger }));
  }
  // Unknown paths under the mount path are ours to answer; at the root, the host's other
  // routes must keep working, so pass them on.
  router.use((req, res, next) => {
    if (req.baseUrl === '') {
      next();
      return;
    }
    sendJson(res, 404, errorBody(`Unknown path ${req.method} ${req.baseUrl}${req.path}.`, 'invalid_request_error', 'not_found'));
  });
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    sendError(res, mapParserError(err), settings.logger);
  });
  return router;
}

/** OpenAI error `type` for failures whose upstream gave none. */
const TYPE_OF_CLASS: Readonly<Record<string, string>> = {
  rate_limit: 'rate_limit_error',
  server: 'server_error',
  timeout: 'timeout_error',
  network: 'server_error',
  auth: 'authentication_error',
  not_found: 'not_found_error',
  stream_interrupted: 'server_error',
  invalid_response: 'server_error',
};

/** The client's error body for a failed request: the upstream message kept, the provider named. */
function failureBody(failure: AttemptFailure): ReturnType<typeof errorBody> {
  return errorBody(
    failure.message,
    failure.type ?? TYPE_OF_CLASS[failure.errorClass] ?? 'invalid_request_error',
    failure.code ?? null,
    failure.param ?? null,
    failure.provider,
  );
}

/** Maps body-parser's errors (status + type) to our error classes. */
function mapParserError(err: unknown): unknown {
  if (err instanceof FallbackRouterError) return err;
  const e = err as { type?: string; status?: number; limit?: number };
  switch (e.type) {
    case 'entity.parse.failed':
      return new RequestError('Request body is not valid JSON.', 400, 'invalid_json');
    case 'entity.too.large':
      return new RequestError(`Request body is larger than the limit of ${e.limit ?? '?'} bytes.`, 413, 'payload_too_large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new RequestError('Unsupported request body encoding or charset.', 415, 'unsupported_media_type');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new RequestError('Request body could not be read.', 400, 'invalid_body');
    default:
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
        return new RequestError('Request body could not be read.', e.status, 'invalid_body');
      }
      return err;
  }
}
