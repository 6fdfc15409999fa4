/**
 * The handler of the completion endpoints: reads the request into a RunInput, hands it to the
 * engine, writes the outcome (JSON, SSE or an OpenAI-format error), and announces the end of the
 * request, from which the trace is built.
 */
import { randomUUID } from 'node:crypto';
import createDebug from 'debug';
import type { Request, RequestHandler, Response } from 'express';
import type { ConfigSelector } from '../config/source.js';
import { Cancellation, type EngineDeps } from '../engine/context.js';
import type { EngineEventMap, RequestSummary } from '../engine/events.js';
import type { StreamHandle } from '../engine/outcome.js';
import { runPlan, type RunResult } from '../engine/run.js';
import { isContentChunk } from '../engine/stream/reader.js';
import { RequestError, toOpenAIError } from '../errors.js';
import type { Settings } from '../options.js';
import type { Endpoint, JsonObject } from '../providers/types.js';
import { pumpStream, type StreamEnd } from '../transport/sse-writer.js';
import { clientTraceId, headerValue, isPlainObject, millisHeader, streamModeHeader } from './request.js';
import { answerError, failureBody, sendJson, upstreamError } from './respond.js';

const debug = createDebug('express-llm-fallback:router');

/** One endpoint of the table. */
export interface Route {
  readonly endpoint: Endpoint;
  /** Legacy Portkey form: `{ config, params }`. */
  readonly legacy: boolean;
}

/** What each endpoint's body must hold before any upstream is called. */
const REQUIRED_FIELD: Readonly<Record<Endpoint, string>> = { chat: 'messages', completion: 'prompt', embedding: 'input' };

const GONE = { message: 'The client disconnected before the answer was complete.', type: 'client_error', code: 'client_disconnected' } as const;

/** How deeply a request body may nest (objects and arrays); OpenAI bodies need under 20. */
export const MAX_BODY_DEPTH = 64;

/**
 * The path of a value nested deeper than `max`, or undefined. The scan is iterative (a hostile
 * depth cannot overflow the stack) and allocates nothing per value; a path is spelt out only
 * when there is one to report.
 */
export function tooDeep(root: unknown, max = MAX_BODY_DEPTH): string | undefined {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  let deep = false;
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= max) {
      deep = true;
      break;
    }
    if (Array.isArray(value)) {
      for (const v of value) if (typeof v === 'object' && v !== null) values.push(v), depths.push(depth + 1);
    } else {
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key];
        if (typeof v === 'object' && v !== null) values.push(v), depths.push(depth + 1);
      }
    }
  }
  return deep ? (pathTo(root, max, '') ?? '(body)') : undefined;
}

/** The path to a value `left` levels down (recursion bounded by `left`). */
function pathTo(value: unknown, left: number, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (left === 0) return path;
  const entries = Array.isArray(value) ? value.map((v, i) => [`${path}[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [path ? `${path}.${k}` : k, v] as const);
  for (const [p, v] of entries) {
    const found = pathTo(v, left - 1, p);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The request's params and the config it carries in its body. */
function readBody(route: Route, raw: unknown): { params: JsonObject; bodyConfig: unknown } {
  if (!isPlainObject(raw)) throw new RequestError('Request body must be a JSON object.', 400, 'invalid_body');
  const deep = tooDeep(raw);
  if (deep !== undefined) {
    const param = deep.length > 200 ? `${deep.slice(0, 200)}…` : deep;
    throw new RequestError(`Request body is nested more than ${MAX_BODY_DEPTH} levels deep (at ${param}).`, 400, 'invalid_body', 'invalid_request_error', param);
  }
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
  return { params, bodyConfig };
}

export function completionHandler(route: Route, settings: Settings, selector: ConfigSelector, engine: EngineDeps): RequestHandler {
  const prefix = settings.headerPrefix;
  const events = engine.events;
  const end = (summary: RequestSummary & { traceId: string; requestId: string }): void => events.emit('request:end', summary);

  async function serve(req: Request, res: Response, requestId: string, traceId: string, startedAt: number): Promise<void> {
    if (engine.budget.spent) {
      throw new RequestError('The router holds as many upstream bytes as it may (maxBufferedBytes); try again shortly.', 503, 'overloaded', 'server_error');
    }
    const { params, bodyConfig } = readBody(route, req.body);
    // Embeddings do not stream: a stray `stream: true` there is sent on as it is, answered as JSON.
    const stream = params.stream === true && route.endpoint !== 'embedding';
    const streamMode = streamModeHeader(req, `${prefix}stream-mode`);
    const requestTimeout = millisHeader(req, `${prefix}request-timeout`);
    const totalTimeout = millisHeader(req, `${prefix}total-timeout`);
    const selected = selector.select(req.headers, bodyConfig);
    const configId = selected.plan.configId;
    if (debug.enabled) debug('[%s] %s %s config=%s via %s', traceId, req.method, req.path, configId, selected.source);
    if (events.has('request:start')) events.emit('request:start', startEvent(req, params, { requestId, traceId, configId, configSource: selected.source, endpoint: route.endpoint, stream, startedAt }));

    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) controller.abort(new Cancellation('client_disconnected'));
    };
    res.on('close', onClose);
    try {
      const result = await runPlan(
        selected.plan,
        {
          requestId,
          traceId,
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
      const { outcome, attempts } = result;
      const base = { requestId, traceId, configId, endpoint: route.endpoint, stream, startedAt, attempts };
      const capture = settings.logs.captureBodies ? { requestBody: params } : {};
      if (outcome.kind === 'cancelled') {
        // The attempts made before it may still have cost something: keep them in the trace.
        debug('[%s] client went away; chain stopped', traceId);
        await result.settled;
        end({ ...base, status: 499, error: GONE, ...capture });
        return;
      }
      writeHeaders(res, result);
      if (outcome.kind === 'stream') {
        const broke = (err: unknown): void => settings.logger.error('express-llm-fallback: unexpected error in a committed stream', { traceId, requestId, configId, provider: outcome.provider, path: outcome.path, err });
        const how = await pumpStream(res, tapped(outcome.stream, engine.tracing?.streamTap(requestId)), controller.signal, outcome.provider, broke, isContentChunk);
        await result.settled;
        end({ ...base, status: streamStatus(how), outcome, servedBy: outcome.stream.servedBy, ...streamError(how), ...capture });
        return;
      }
      const body = outcome.ok ? outcome.body : failureBody(outcome);
      if (outcome.ok) sendJson(res, outcome.status, body, outcome.text);
      else answerError(req, res, upstreamError(outcome), settings, () => sendJson(res, outcome.status, body));
      // The answer is out; the trace waits for hedge losers still recording themselves.
      await result.settled;
      end({ ...base, status: res.statusCode, outcome, ...capture, ...(settings.logs.captureBodies ? { responseBody: body } : {}) });
    } finally {
      res.off('close', onClose);
    }
  }

  /** The request:start event: the model asked for, the client's trace context, the body when telemetry captures it. */
  function startEvent(req: Request, params: JsonObject, base: { -readonly [K in keyof EngineEventMap['request:start']]: EngineEventMap['request:start'][K] }): EngineEventMap['request:start'] {
    // Filled in place (no spread per field): this runs on every request a subscriber follows.
    if (typeof params.model === 'string') base.model = params.model;
    const traceparent = headerValue(req, 'traceparent');
    if (traceparent !== undefined) {
      base.traceparent = traceparent;
      const tracestate = headerValue(req, 'tracestate');
      if (tracestate !== undefined) base.tracestate = tracestate;
    }
    if (settings.observe.telemetry.captureBodies) base.body = params;
    return base;
  }

  /** The response headers of SPEC §7. */
  function writeHeaders(res: Response, { outcome, attempts, started }: RunResult): void {
    if (outcome.kind === 'cancelled') return;
    let made = 0;
    let onPath = 0;
    for (const a of attempts) {
      if (a.skipped !== undefined) continue;
      made += 1;
      if (a.path === outcome.path) onPath += 1;
    }
    // Hedge losers may not have recorded themselves yet; they were started all the same.
    made = Math.max(made, started);
    res.setHeader(`${prefix}attempts`, String(made));
    res.setHeader(`${prefix}last-used-option-index`, outcome.path);
    res.setHeader(`${prefix}provider`, outcome.provider);
    res.setHeader(`${prefix}retry-attempt-count`, String(outcome.ok ? outcome.retries : Math.max(0, onPath - 1)));
    if (outcome.ok) return;
    // The router already retried or failed over: an SDK that retries the whole chain (the openai
    // and portkey-ai SDKs do, twice, on 429/5xx) would only repeat it. They honour this header.
    if (made > 1) res.setHeader('x-should-retry', 'false');
    if (outcome.retryAfterMs !== undefined) {
      res.setHeader('retry-after', String(Math.ceil(outcome.retryAfterMs / 1000)));
      res.setHeader('retry-after-ms', String(outcome.retryAfterMs));
    }
  }

  /** A request rejected before any attempt (invalid config, body field or header). */
  function rejected(req: Request, res: Response, requestId: string, traceId: string, startedAt: number, err: unknown): void {
    const { status, body } = toOpenAIError(err);
    const raw: unknown = req.body;
    const params = isPlainObject(raw) ? (route.legacy ? raw.params : raw) : undefined;
    const capture = settings.logs.captureBodies && isPlainObject(params);
    end({
      requestId,
      traceId,
      configId: 'invalid',
      endpoint: route.endpoint,
      stream: isPlainObject(params) && params.stream === true,
      startedAt,
      status,
      attempts: [],
      error: { message: body.error.message, type: body.error.type, code: body.error.code },
      ...(capture ? { requestBody: params, responseBody: body } : {}), // the recorder drops `config`
    });
  }

  return (req, res) => {
    const startedAt = Date.now();
    const requestId = randomUUID();
    const traceId = clientTraceId(req, prefix) ?? randomUUID();
    res.setHeader(`${prefix}trace-id`, traceId);
    serve(req, res, requestId, traceId, startedAt).catch((err: unknown) => {
      const before = !res.headersSent;
      if (before) answerError(req, res, err, settings);
      else {
        settings.logger.error('express-llm-fallback: unexpected error after the answer started', { traceId, requestId, err });
        res.end();
      }
      if (before) rejected(req, res, requestId, traceId, startedAt, err);
    });
  };
}

/**
 * The stream as the client reads it, each chunk shown to `tap` first (the OpenTelemetry
 * subscriber's, for a traced request: finish reasons and, with captureBodies, the text). A tap
 * that throws is ignored.
 */
function tapped(handle: StreamHandle, tap: ((chunk: JsonObject) => void) | undefined): StreamHandle {
  if (tap === undefined) return handle;
  return {
    next: () =>
      handle.next().then((step) => {
        if (step.kind === 'chunk') {
          try {
            tap(step.chunk);
          } catch {
            // telemetry never fails a stream
          }
        }
        return step;
      }),
    abort: () => handle.abort(),
    get servedBy() {
      return handle.servedBy;
    },
  };
}

/** The status a trace gives a stream: a committed stream that broke or lost its client is not a success. */
function streamStatus(how: StreamEnd): number {
  return how.kind === 'error' ? 502 : how.kind === 'gone' ? 499 : 200;
}

function streamError(how: StreamEnd): Pick<RequestSummary, 'error'> {
  if (how.kind === 'error') return { error: { message: how.message, type: 'server_error', code: 'stream_interrupted' } };
  if (how.kind === 'gone') return { error: GONE };
  return {};
}
