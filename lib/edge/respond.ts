/** Writing JSON answers and OpenAI-format errors on node's ServerResponse. */
import type { ServerResponse } from 'node:http';
import { errorBody, toOpenAIError, type OpenAIErrorBody } from '../errors.js';
import type { Failure } from '../engine/outcome.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
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

export function sendError(res: ServerResponse, err: unknown, logger: { error: (...args: unknown[]) => void }): void {
  const { status, body } = toOpenAIError(err);
  if (status >= 500) logger.error('express-llm-fallback: unexpected error:', err instanceof Error ? (err.stack ?? err.message) : err);
  sendJson(res, status, body);
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
export function failureBody(failure: Failure): OpenAIErrorBody {
  return errorBody(
    failure.message,
    failure.type ?? TYPE_OF_CLASS[failure.errorClass] ?? 'invalid_request_error',
    failure.code ?? null,
    failure.param ?? null,
    failure.provider,
  );
}
