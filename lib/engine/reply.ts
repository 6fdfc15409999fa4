/**
 * Turning what came back from an upstream (a reply, no reply, an adapter's error) into an
 * attempt's Failure. The one place that maps a transport or adapter error to a status, an error
 * class and a code.
 */
import { FallbackRouterError, InvalidUpstreamResponse, UpstreamStreamError } from '../errors.js';
import { SECRET_SETTING } from '../providers/settings.js';
import type { ProviderAdapter } from '../providers/types.js';
import { TransportError, type UpstreamReply } from '../transport/http.js';
import { requestFields } from '../observe/log-lines.js';
import { serialiseError } from '../observe/logger.js';
import type { RunContext } from './context.js';
import { failure, type Failure } from './outcome.js';
import { parseRetryAfter } from './policies/retry.js';
import type { PlanTarget } from './plan.js';

const at = (leaf: PlanTarget): { provider: string; path: string } => ({ provider: leaf.target.provider, path: leaf.path });

/** Header names whose values are credentials (or carry one). */
const CREDENTIAL_HEADER = /auth|key|token|secret|signature|cookie|session/i;
/** The shortest run of a credential that is masked when an upstream echoes part of it. */
const ECHO_RUN = 12;

/** Secret settings' values by settings object (a plan's targets keep theirs: read once). */
const settingSecrets = new WeakMap<object, readonly string[]>();

/**
 * The values of a target's secret settings (`aws_secret_access_key`, `aws_session_token`, a
 * Vertex service account's `private_key`, ...): strings, and the secret-named string fields of an
 * object or of a JSON text.
 */
function secretsOfSettings(settings: Readonly<Record<string, unknown>>): readonly string[] {
  let found = settingSecrets.get(settings);
  if (found !== undefined) return found;
  const out: string[] = [];
  const take = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      out.push(value);
      if (depth === 0 && value.trimStart().startsWith('{')) {
        try {
          take(JSON.parse(value) as unknown, 1);
        } catch {
          // not JSON: the whole value is masked already
        }
      }
    } else if (depth < 2 && value !== null && typeof value === 'object') {
      for (const [name, field] of Object.entries(value)) if (SECRET_SETTING.test(name)) take(field, depth + 1);
    }
  };
  for (const [name, value] of Object.entries(settings)) if (SECRET_SETTING.test(name)) take(value, 0);
  found = out;
  settingSecrets.set(settings, found);
  return found;
}

/**
 * The credentials an upstream request carries: the target's key, its secret settings and
 * credential-like header values.
 */
export function credentialsOf(leaf: PlanTarget, headers: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  if (leaf.target.apiKey) out.add(leaf.target.apiKey);
  for (const secret of secretsOfSettings(leaf.target.settings)) out.add(secret);
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADER.test(name)) continue;
    out.add(value);
    const bearer = /^\s*(?:bearer|basic|token)\s+(.+)$/i.exec(value);
    if (bearer) out.add(bearer[1]!.trim());
  }
  return [...out].filter((s) => s.length >= 8);
}

/**
 * `text` with every credential the router sent masked: whole, and any run of 12 or more of its
 * characters (an upstream that echoes `Incorrect API key provided: sk-...` in full or in part).
 */
export function maskCredentials(text: string, credentials: readonly string[]): string {
  let out = text;
  for (const secret of credentials) {
    out = out.split(secret).join('***');
    if (secret.length < ECHO_RUN || out.length * secret.length > 4_000_000) continue;
    for (let i = 0; i + ECHO_RUN <= secret.length; i++) {
      const run = secret.slice(i, i + ECHO_RUN);
      if (out.includes(run)) out = out.split(run).join('***');
    }
  }
  return out;
}

/**
 * Logs an adapter's unexpected throw with its stack, the request's trace and config ids and the
 * target, the credentials the target holds masked out of the error's text.
 */
function logAdapterError(ctx: Pick<RunContext, 'deps' | 'input' | 'plan'>, leaf: PlanTarget, what: string, err: unknown): void {
  const credentials = credentialsOf(leaf, leaf.target.headers);
  ctx.deps.logger.error(`express-llm-fallback: the ${leaf.target.provider} adapter's ${what} threw`, {
    ...requestFields(ctx),
    ...at(leaf),
    err: serialiseError(err, (text) => maskCredentials(text, credentials)),
  });
}

/** The attempt's own time ran out before its answer. */
export function timeoutFailure(leaf: PlanTarget, timeoutMs: number): Failure {
  return failure('request_timeout', 'timeout', `${leaf.target.provider} did not answer within ${timeoutMs} ms`, at(leaf), { timedOut: true });
}

/** A reply that never came: unreachable, reset, too large, or out of time. */
export function transportFailure(leaf: PlanTarget, err: unknown, timeoutMs: number): Failure {
  const e = err instanceof TransportError ? err : new TransportError(String(err), 'network');
  const provider = leaf.target.provider;
  if (e.kind === 'timeout' || e.kind === 'aborted') return timeoutFailure(leaf, timeoutMs);
  if (e.kind === 'too_large') return failure('invalid_upstream_response', 'invalid_response', e.message, at(leaf));
  if (e.kind === 'overloaded') return failure('overloaded', 'server', e.message, at(leaf), { local: true });
  return failure('upstream_unreachable', 'network', `${provider}: ${e.message}`, at(leaf));
}

/** A non-2xx reply (a 1xx/3xx is an invalid one); `body` is its JSON, or its text. */
export function failureFromReply(leaf: PlanTarget, adapter: ProviderAdapter, reply: UpstreamReply, body: unknown, credentials: readonly string[] = []): Failure {
  if (reply.status < 400) {
    return failure('invalid_upstream_response', 'invalid_response', `${leaf.target.provider} answered with unexpected status ${reply.status}`, at(leaf));
  }
  const classified = adapter.classifyError(reply.status, body, reply.headers);
  const retryAfterMs = parseRetryAfter(reply.headers);
  // Every field of the upstream's error reaches the client and the trace: mask them all.
  const mask = (text: string): string => maskCredentials(text, credentials);
  return {
    kind: 'failure',
    ok: false,
    status: reply.status,
    errorClass: classified.errorClass,
    message: mask(classified.message),
    ...(classified.code !== undefined ? { code: mask(classified.code) } : {}),
    ...(classified.type ? { type: mask(classified.type) } : {}),
    ...(classified.param ? { param: mask(classified.param) } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...at(leaf),
  };
}

/**
 * An adapter could not build the request: a target missing a setting (ConfigError), or a
 * message the provider cannot take (RequestError, naming the field). Both are the request's
 * fault, a 400 `invalid_request_error`; anything else is the adapter's own bug.
 */
export function buildFailure(leaf: PlanTarget, err: unknown, ctx: Pick<RunContext, 'deps' | 'input' | 'plan'>): Failure {
  // An upstream the adapter had to reach first refused or failed (an OAuth token endpoint, a
  // credentials function): the failure it stands for, which may fail over.
  if (err instanceof UpstreamStreamError) return refusal(leaf, err);
  if (err instanceof FallbackRouterError) {
    return {
      kind: 'failure',
      ok: false,
      status: 400,
      errorClass: 'bad_request',
      message: err.message,
      code: err.code,
      type: 'invalid_request_error',
      ...(err.param !== null ? { param: err.param } : {}),
      ...at(leaf),
    };
  }
  logAdapterError(ctx, leaf, 'buildRequest', err);
  return failure('internal_error', 'bad_request', `the ${leaf.target.provider} adapter could not build the request`, at(leaf), { status: 400, type: 'invalid_request_error' });
}

/** An adapter's UpstreamStreamError outside a stream, as the failure it names. */
function refusal(leaf: PlanTarget, err: UpstreamStreamError): Failure {
  return failure('upstream_stream_error', err.errorClass, err.message, at(leaf), {
    status: err.status,
    ...(err.status < 500 ? { type: 'invalid_request_error' } : {}),
    ...(err.upstreamCode ? { code: err.upstreamCode } : {}),
  });
}

/** A 2xx body the adapter could not read. */
export function parseFailure(leaf: PlanTarget, err: unknown, ctx: Pick<RunContext, 'deps' | 'input' | 'plan'>): Failure {
  // A 2xx reply that is a refusal in the provider's terms (Gemini's blocked prompt): the
  // adapter throws it as the failure it stands for, with its status and error class.
  if (err instanceof UpstreamStreamError) return refusal(leaf, err);
  const known = err instanceof InvalidUpstreamResponse;
  if (!known) logAdapterError(ctx, leaf, 'parseResponse', err);
  const message = known ? (err as Error).message : `${leaf.target.provider} answered with an unexpected body`;
  return failure('invalid_upstream_response', 'invalid_response', message, at(leaf));
}

/** A body that is not JSON where JSON was due. */
export function notJsonFailure(leaf: PlanTarget, status: number): Failure {
  return failure('invalid_upstream_response', 'invalid_response', `${leaf.target.provider} answered ${status} with a body that is not JSON`, at(leaf));
}

/**
 * What broke a stream before its commit point: a timeout (the first content did not come in
 * time), an error event from the provider, or a cut.
 */
export function streamFailure(leaf: PlanTarget, err: unknown, timeoutMs: number, credentials: readonly string[] = []): Failure {
  const provider = leaf.target.provider;
  if ((err as { name?: unknown } | undefined)?.name === 'TimeoutError') {
    return failure('request_timeout', 'timeout', `${provider} sent no content within ${timeoutMs} ms`, at(leaf), { timedOut: true });
  }
  if (err instanceof UpstreamStreamError) {
    return failure('upstream_stream_error', err.errorClass, maskCredentials(err.message, credentials), at(leaf), {
      status: err.status,
      ...(err.upstreamCode ? { code: maskCredentials(err.upstreamCode, credentials) } : {}),
    });
  }
  return failure('stream_interrupted', 'stream_interrupted', `${provider} stream broke: ${err instanceof Error ? err.message : String(err)}`, at(leaf));
}
