/**
 * Every error code the router answers with, in one typed list beside its HTTP status and OpenAI
 * error type; the error classes, with stable `code`, `name` and `cause`; and the one place that
 * turns any error into an OpenAI-format error response.
 *
 * The package ships a CJS and an ESM bundle, and a process may load both (a custom adapter that
 * `require`s the errors while the host `import`s the router). `instanceof` therefore checks a
 * `Symbol.for` brand, not the prototype chain, so it holds across the two copies.
 */
import type { ErrorClass } from './providers/types.js';

/** The router's own error codes, each with the status and OpenAI error `type` it answers with. */
export const ERROR_CODES = {
  // the request itself (router edge)
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_body: { status: 400, type: 'invalid_request_error' },
  missing_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_header: { status: 400, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  // the config
  missing_config: { status: 400, type: 'invalid_request_error' },
  invalid_config: { status: 400, type: 'invalid_request_error' },
  invalid_config_json: { status: 400, type: 'invalid_request_error' },
  config_too_large: { status: 400, type: 'invalid_request_error' },
  unknown_config: { status: 400, type: 'invalid_request_error' },
  unknown_provider: { status: 400, type: 'invalid_request_error' },
  unknown_virtual_key: { status: 400, type: 'invalid_request_error' },
  missing_provider: { status: 400, type: 'invalid_request_error' },
  missing_credentials: { status: 400, type: 'invalid_request_error' },
  missing_provider_setting: { status: 400, type: 'invalid_request_error' },
  client_keys_not_allowed: { status: 400, type: 'invalid_request_error' },
  custom_host_not_allowed: { status: 400, type: 'invalid_request_error' },
  host_not_allowed: { status: 400, type: 'invalid_request_error' },
  // what no target could do
  unsupported_endpoint: { status: 400, type: 'invalid_request_error' },
  stream_not_supported: { status: 400, type: 'invalid_request_error' },
  // attempts that got no usable answer
  request_timeout: { status: 408, type: 'timeout_error' },
  total_timeout: { status: 408, type: 'timeout_error' },
  upstream_unreachable: { status: 502, type: 'server_error' },
  invalid_upstream_response: { status: 502, type: 'server_error' },
  stream_interrupted: { status: 502, type: 'server_error' },
  upstream_stream_error: { status: 500, type: 'server_error' },
  overloaded: { status: 503, type: 'server_error' },
  // attempts nobody waits for any more
  client_disconnected: { status: 499, type: 'client_error' },
  hedge_cancelled: { status: 499, type: 'client_error' },
  // the router itself
  internal_error: { status: 500, type: 'server_error' },
  invalid_options: { status: 500, type: 'server_error' },
} as const satisfies Record<string, { readonly status: number; readonly type: string }>;

/** One of the router's own error codes. Upstream failures keep the provider's code instead. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The status and type of one of our codes. */
export function errorInfo(code: ErrorCode): { readonly status: number; readonly type: string } {
  return ERROR_CODES[code];
}

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

const BRAND = Symbol.for('express-llm-fallback.error-kinds');

/** The `kind` of a class and of each class above it, e.g. ['ConfigError', 'FallbackRouterError']. */
function kindsOf(ctor: unknown): string[] {
  const kinds: string[] = [];
  for (let c: unknown = ctor; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const kind: unknown = Object.prototype.hasOwnProperty.call(c, 'kind') ? (c as { kind?: unknown }).kind : undefined;
    if (typeof kind === 'string') kinds.push(kind);
  }
  return kinds;
}

function brand(error: Error, ctor: unknown): void {
  Object.defineProperty(error, BRAND, { value: kindsOf(ctor), enumerable: false });
}

/** True when `value` was made by the class whose kind is `kind` (or one below it), in any copy of the package. */
function hasKind(kind: unknown, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const kinds = (value as { [BRAND]?: unknown })[BRAND];
  return Array.isArray(kinds) && kinds.includes(kind);
}

/**
 * The root of the package's errors (but OptionsError, a TypeError): `instanceof` any of them
 * checks the brand that the constructor stamps, so it holds across the CJS and ESM copies.
 */
export class BrandedError extends Error {
  /** The brand `instanceof` checks; every subclass sets its own. */
  static readonly kind: string = 'BrandedError';
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasKind(this.kind, value);
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    brand(this, new.target);
  }
}

/** Base class: an error the router answers with a given status and OpenAI-format body. */
export class FallbackRouterError extends BrandedError {
  static override readonly kind: string = 'FallbackRouterError';
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
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A request config (or the request that carries it) is invalid: 400 `invalid_config`. */
export class ConfigError extends FallbackRouterError {
  static override readonly kind: string = 'ConfigError';
  override readonly name = 'ConfigError';
  constructor(message: string, param: string | null = null, code: string = 'invalid_config', options?: { cause?: unknown }) {
    super(message, 400, code, 'invalid_request_error', param, options);
  }
}

/**
 * The request itself is malformed (body, content type, size, path, method), or holds something
 * a provider cannot take: an adapter throws `new RequestError(message, 400, 'invalid_parameter',
 * 'invalid_request_error', 'messages[2].content[0].type')` and the attempt fails with a 400 that
 * names the field.
 */
export class RequestError extends FallbackRouterError {
  static override readonly kind: string = 'RequestError';
  override readonly name = 'RequestError';
}

/**
 * Every target failed (or a failure must not fail over): what `options.onError` receives for
 * such a request, with the upstream's status, message, code and `provider` kept.
 */
export class UpstreamError extends FallbackRouterError {
  static override readonly kind: string = 'UpstreamError';
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    status: number,
    code: string,
    type: string,
    param: string | null,
    /** The provider whose failure the client gets. */
    readonly provider: string,
    /** Its error class (`rate_limit`, `server`, `timeout`, ...). */
    readonly errorClass: ErrorClass,
    /** The target path that failed, e.g. `config.targets[1]`. */
    readonly path: string,
  ) {
    super(message, status, code, type, param);
  }
}

/** The router's own options are invalid: thrown by `createFallbackRouter` at construction. */
export class OptionsError extends TypeError {
  static readonly kind: string = 'OptionsError';
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasKind(this.kind, value);
  }
  override readonly name = 'OptionsError';
  readonly code = 'invalid_options';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    brand(this, new.target);
  }
}

/**
 * An upstream answered 2xx with a body that is not what its provider sends (not JSON, wrong
 * shape). Adapters throw it from `parseResponse` and `parseStreamEvent`; the attempt's outcome
 * becomes 502 `invalid_upstream_response` (a malformed stream event is skipped and noted).
 */
export class InvalidUpstreamResponse extends BrandedError {
  static override readonly kind: string = 'InvalidUpstreamResponse';
  override readonly name = 'InvalidUpstreamResponse';
  readonly code = 'invalid_upstream_response';
}

/**
 * An upstream stream carried an error event (HTTP 200, then `{"error":...}` or Anthropic's
 * `event: error`). Adapters throw it from `parseStreamEvent`; before the commit point the attempt
 * fails with `status` and `errorClass` (and may fail over), after it the stream is interrupted.
 */
export class UpstreamStreamError extends BrandedError {
  static override readonly kind: string = 'UpstreamStreamError';
  override readonly name = 'UpstreamStreamError';
  readonly code = 'upstream_stream_error';
  constructor(
    message: string,
    /** The status the failure counts as (500 when the event names none, 429, 529...). */
    readonly status: number,
    /** Its error class, for the predicate (`rate_limit`, `server`, ...). */
    readonly errorClass: ErrorClass,
    /** The provider's own error code, when it sent one. */
    readonly upstreamCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
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
