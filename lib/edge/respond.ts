/** Writing JSON answers and OpenAI-format errors on node's ServerResponse. */
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { FallbackRouterError, UpstreamError, errorBody, toOpenAIError, type OpenAIErrorBody } from '../errors.js';
import type { Failure } from '../engine/outcome.js';
import type { LogFields, Logger } from '../observe/logger.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, json?: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = json ?? JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Answers an error with its OpenAI-format body; an unexpected one (not a FallbackRouterError) is logged with its stack. */
export function sendError(res: ServerResponse, err: unknown, logger: Pick<Logger, 'error'>, fields?: LogFields): void {
  const { status, body } = toOpenAIError(err);
  if (!(err instanceof FallbackRouterError)) logUnexpected(logger, err, fields);
  sendJson(res, status, body);
}

function logUnexpected(logger: Pick<Logger, 'error'>, err: unknown, fields: LogFields | undefined): void {
  logger.error('express-llm-fallback: unexpected error', { ...fields, err });
}

/** What answering an error needs from the router's settings. */
export interface ErrorAnswering {
  readonly logger: Pick<Logger, 'error'>;
  readonly onError?: ((err: FallbackRouterError, req: Request, res: Response) => void) | undefined;
  /** The prefix of the trace id header the handler set, so that a logged error carries the trace id. */
  readonly headerPrefix?: string;
}

/** The fields of an error line about a request: its trace id (when the handler gave it one) and where it went. */
function requestFields(req: Request, res: Response, how: ErrorAnswering): LogFields {
  const traceId = how.headerPrefix === undefined ? undefined : res.getHeader(`${how.headerPrefix}trace-id`);
  return { ...(typeof traceId === 'string' ? { traceId } : {}), method: req.method, url: `${req.baseUrl}${req.path}` };
}

/** Any error as the FallbackRouterError options.onError receives (an unexpected one as a 500 with its cause). */
function asRouterError(err: unknown): FallbackRouterError {
  if (err instanceof FallbackRouterError) return err;
  return new FallbackRouterError('Internal error in express-llm-fallback.', 500, 'internal_error', 'server_error', null, { cause: err });
}

/**
 * Answers an error: through options.onError when the host set one and it answers, else with
 * the default OpenAI-format body (`fallback`, or the error's own). Unexpected errors are logged
 * with their stack either way.
 */
export function answerError(req: Request, res: Response, err: unknown, how: ErrorAnswering, fallback?: () => void): void {
  const expected = err instanceof FallbackRouterError;
  if (how.onError) {
    if (!expected) logUnexpected(how.logger, err, requestFields(req, res, how));
    try {
      how.onError(asRouterError(err), req, res);
    } catch (hookErr) {
      how.logger.error('express-llm-fallback: options.onError threw; the default error answer goes out', { ...requestFields(req, res, how), err: hookErr });
    }
    if (res.headersSent || res.writableEnded) return;
    if (fallback) fallback();
    else sendJson(res, toOpenAIError(err).status, toOpenAIError(err).body);
    return;
  }
  if (fallback) fallback();
  else sendError(res, err, how.logger, expected ? undefined : requestFields(req, res, how));
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

/** A failed request's failure as the error options.onError receives. */
export function upstreamError(failure: Failure): UpstreamError {
  const body = failureBody(failure).error;
  return new UpstreamError(body.message, failure.status, body.code ?? 'upstream_error', body.type, body.param, failure.provider, failure.errorClass, failure.path);
}

/** The client's error body for a failed request: the upstream message kept, the provider named. */
export function failureBody(failure: Failure): OpenAIErrorBody {
  return errorBody(
    failure.message,
    failure.type ?? TYPE_OF_CLASS[failure.errorClass] ?? 'invalid_request_error',
    failure.code ?? null,
    failure.param ?? null,
    failure.provider,
  );
}
