/**
 * Error classes with stable codes, and the one place that turns any error into an OpenAI-format
 * error response.
 */

/** The body of every error the router sends: OpenAI's error format, plus `provider` when known. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
    provider?: string;
  };
}

/** Base class: an error the router answers with a given status and OpenAI-format body. */
export class FallbackRouterError extends Error {
  override readonly name: string = 'FallbackRouterError';
  constructor(
    message: string,
    /** HTTP status to answer with. */
    readonly status: number,
    /** Stable machine-readable code. */
    readonly code: string,
    /** OpenAI error `type`. */
    readonly type: string = 'invalid_request_error',
    /** The offending parameter, when there is one. */
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** A request config (or the request that carries it) is invalid: 400 `invalid_config`. */
export class ConfigError extends FallbackRouterError {
  override readonly name = 'ConfigError';
  constructor(message: string, param: string | null = null, code = 'invalid_config') {
    super(message, 400, code, 'invalid_request_error', param);
  }
}

/** The request itself is malformed (body, content type, size, path, method). */
export class RequestError extends FallbackRouterError {
  override readonly name = 'RequestError';
}

/** The router's own options are invalid: thrown by `createFallbackRouter` at construction. */
export class OptionsError extends TypeError {
  override readonly name = 'OptionsError';
  readonly code = 'invalid_options';
}

/**
 * An upstream answered 2xx with a body that is not what its provider sends (not JSON, wrong
 * shape). Adapters throw it from `parseResponse`; the attempt's outcome becomes 502
 * `invalid_upstream_response`.
 */
export class InvalidUpstreamResponse extends Error {
  override readonly name = 'InvalidUpstreamResponse';
  readonly code = 'invalid_upstream_response';
}

/** Builds an OpenAI-format error body. */
export function errorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
  provider?: string,
): OpenAIErrorBody {
  const error: OpenAIErrorBody['error'] = { message, type, param, code };
  if (provider !== undefined) error.provider = provider;
  return { error };
}

/** Maps any thrown value to a status and an OpenAI-format body; unknown errors become a 500. */
export function toOpenAIError(err: unknown): { status: number; body: OpenAIErrorBody } {
  if (err instanceof FallbackRouterError) {
    return { status: err.status, body: errorBody(err.message, err.type, err.code, err.param) };
  }
  return {
    status: 500,
    body: errorBody('Internal error in express-llm-fallback.', 'server_error', 'internal_error'),
  };
}
