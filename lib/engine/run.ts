/**
 * The engine: walks a Plan for one request (fallback / loadbalance / single, nested), makes the
 * attempts with retries and timeouts, applies the predicate, and yields one outcome plus a record
 * of every attempt. It knows nothing of Express.
 */
import type { AxiosInstance } from 'axios';
import createDebug from 'debug';
import { FallbackRouterError, InvalidUpstreamResponse } from '../errors.js';
import type { Endpoint, JsonObject, ProviderAdapter, ResolvedTarget, UnifiedRequest, UpstreamRequest } from '../providers/types.js';
import { TransportError, sendJson, timeoutReason, type UpstreamReply } from '../transport/http.js';
import { attemptStream } from './stream.js';
import type { AttemptContext, AttemptFailure, AttemptSuccess, Plan, PlanNode, PlanTarget } from './plan.js';
import type { FallbackInfo } from '../trace/types.js';
import { breakerKey, countsAgainstBreaker, type CircuitBreakers } from './breaker.js';
import { runGroup } from './strategy.js';
import { backoffMs, isRetryable, parseRetryAfter, sleep } from './retry.js';

const debug = createDebug('express-llm-fallback:engine');

// --- provider debug namespaces (express-llm-fallback:provider:<name>): never keys, headers or bodies
const providerDebugRoot = createDebug('express-llm-fallback:provider');
const providerDebugs = new Map<string, createDebug.Debugger>();
/** The `express-llm-fallback:provider:<name>` debugger, cached per provider name. */
export function providerDebug(name: string): createDebug.Debugger {
  let d = providerDebugs.get(name);
  if (!d) {
    d = providerDebugRoot.extend(name);
    providerDebugs.set(name, d);
  }
  return d;
}
// --- end provider debug

/** One attempt (or skipped target) as the engine saw it. */
export interface AttemptRecord {
  readonly path: string;
  readonly provider: string;
  readonly model?: string;
  /** Upstream status, or the status the failure maps to; absent for skipped targets. */
  readonly status?: number;
  readonly errorClass?: string;
  readonly code?: string;
  /** 0 for the first try of a target, 1.. for its retries. */
  readonly retry: number;
  readonly startedAt: number;
  readonly latencyMs: number;
  /** Why the target was not tried, when it was not. */
  readonly skipped?: 'unsupported_endpoint' | 'deadline_exceeded' | 'circuit_open';
  readonly usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Streams: ms from the start of the attempt to its first content event. */
  readonly ttftMs?: number;
  /** Things worth knowing about the attempt (malformed stream events skipped, a recovery). */
  readonly notes?: readonly string[];
}

/** What the engine needs from the router. */
export interface EngineDeps {
  readonly client: AxiosInstance;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly shouldFallback?: (outcome: AttemptFailure, ctx: AttemptContext) => boolean;
  readonly finalError: 'last' | 'first';
  readonly maxRetryAfterMs: number;
  readonly logger: { error: (...args: unknown[]) => void };
  readonly onAttempt?: (record: AttemptRecord) => void;
  /** Called when a fallback strategy moves on from a failed target to the next node. */
  readonly onFallback?: (info: FallbackInfo) => void;
  /** Circuit breakers of the router (used by targets that have a breaker config). */
  readonly breakers: CircuitBreakers;
}

/** One request to run. */
export interface RunInput {
  readonly endpoint: Endpoint;
  /** OpenAI-format body, without `config`. */
  readonly body: JsonObject;
  readonly stream: boolean;
  /** Aborted when the client goes away: no further attempt is made. */
  readonly signal: AbortSignal;
  /** The client's request headers (lower-case names), for `forward_headers`. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Overrides every target's request_timeout (header `x-portkey-request-timeout`). */
  readonly requestTimeout?: number;
  /** Overrides the plan's total_timeout (header `x-portkey-total-timeout`). */
  readonly totalTimeout?: number;
  /** Overrides every target's stream_mode (header `x-portkey-stream-mode`). */
  readonly streamMode?: 'passthrough' | 'buffered';
}

export interface RunResult {
  readonly outcome: AttemptSuccess | AttemptFailure;
  readonly attempts: readonly AttemptRecord[];
}

/**
 * Thrown when the client went away (or, inside a hedge, when the attempt lost the race): nothing
 * is to be sent. `attempts` holds what was done until then, for the trace.
 */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  attempts: readonly AttemptRecord[] = [];
}

/** Per-request engine state, shared with the streaming attempt (stream.ts). */
export interface RunState {
  readonly input: RunInput;
  readonly deps: EngineDeps;
  readonly attempts: AttemptRecord[];
  /** Epoch ms by which everything must be done, if any. */
  readonly deadline?: number;
  /** The plan being walked (stream recovery looks for the targets after the one that broke). */
  readonly plan: Plan;
  /** Targets skipped because their breaker is open, with when it opened (shared by branches). */
  readonly openSkipped: Array<{ leaf: PlanTarget; openedAt: number }>;
}

/** Walks the plan and returns the outcome. Throws ClientGoneError when the client disconnected. */
export async function runPlan(plan: Plan, input: RunInput, deps: EngineDeps): Promise<RunResult> {
  const total = input.totalTimeout ?? plan.totalTimeout;
  const state: RunState = {
    input,
    deps,
    attempts: [],
    plan,
    openSkipped: [],
    ...(total !== undefined ? { deadline: Date.now() + total } : {}),
  };
  let result: NodeResult;
  try {
    result = await runNode(plan.root, state);
    if (input.signal.aborted) throw new ClientGoneError('client disconnected');
  } catch (err) {
    if (err instanceof ClientGoneError) err.attempts = state.attempts;
    throw err;
  }
  const outcome: AttemptSuccess | AttemptFailure = result ?? {
    ok: false,
    status: 400,
    errorClass: 'bad_request',
    code: 'unsupported_endpoint',
    type: 'invalid_request_error',
    message: `No target in the config supports the ${input.endpoint} endpoint.`,
    provider: 'express-llm-fallback',
    path: plan.root.path,
  };
  return { outcome, attempts: state.attempts };
}

/** A node's result; null when it had nothing to try (every target skipped). */
export type NodeResult = AttemptSuccess | AttemptFailure | null;

export function runNode(node: PlanNode, state: RunState): Promise<NodeResult> {
  return node.kind === 'target' ? runTarget(node, state) : runGroup(node, state);
}

/**
 * Runs one target with its retries. `force` tries it even when its breaker is open (the last
 * resort of a strategy whose targets are all open); such an attempt counts as the probe.
 */
export async function runTarget(leaf: PlanTarget, state: RunState, force = false): Promise<NodeResult> {
  const { input, deps } = state;
  const adapter = deps.adapters.get(leaf.target.provider);
  if (!adapter || !adapter.endpoints.has(input.endpoint)) {
    record(state, { path: leaf.path, provider: leaf.target.provider, retry: 0, startedAt: Date.now(), latencyMs: 0, skipped: 'unsupported_endpoint' });
    return null;
  }
  const body = { ...input.body, ...leaf.overrideParams };
  const breaker = leaf.breaker;
  const key = breaker
    ? breakerKey(leaf.target.provider, typeof body.model === 'string' ? body.model : undefined, input.endpoint, leaf.target.baseURL, leaf.target.apiKey)
    : undefined;
  let probe = false;
  if (breaker && key) {
    const admission = force ? 'probe' : await deps.breakers.admit(key, breaker);
    if (admission === 'open') {
      record(state, { path: leaf.path, provider: leaf.target.provider, ...(typeof body.model === 'string' ? { model: body.model } : {}), retry: 0, startedAt: Date.now(), latencyMs: 0, skipped: 'circuit_open' });
      state.openSkipped.push({ leaf, openedAt: await deps.breakers.openedAt(key) });
      return null;
    }
    probe = admission === 'probe';
  }
  let retry = 0;
  for (;;) {
    const remaining = state.deadline === undefined ? Infinity : state.deadline - Date.now();
    if (remaining <= 0) {
      record(state, { path: leaf.path, provider: leaf.target.provider, retry, startedAt: Date.now(), latencyMs: 0, skipped: 'deadline_exceeded' });
      return failure(leaf, 408, 'timeout', 'The total_timeout of the request ran out before this target was tried.', 'total_timeout');
    }
    const timeout = Math.min(input.requestTimeout ?? leaf.requestTimeout, remaining);
    const result = await attempt(leaf, adapter, body, timeout, retry, state);
    if (breaker && key) {
      await deps.breakers.report(key, breaker, !result.ok && countsAgainstBreaker(result.errorClass), probe);
    }
    // A probe decides the breaker by itself: no retries on it; nor once this failure opened it.
    const opened = !result.ok && breaker !== undefined && key !== undefined && (await deps.breakers.isOpen(key));
    if (result.ok || probe || opened || retry >= leaf.retry.attempts || !isRetryable(result, leaf.retry)) {
      return result.ok ? { ...result, retries: retry } : result;
    }
    const asked = leaf.retry.useRetryAfterHeader ? result.retryAfterMs : undefined;
    const wait = asked ?? backoffMs(retry);
    const left = state.deadline === undefined ? Infinity : state.deadline - Date.now();
    if (wait > deps.maxRetryAfterMs || wait >= left) {
      debug('not retrying %s: wait %dms exceeds what is allowed', leaf.path, wait);
      return result;
    }
    if (!(await sleep(wait, input.signal))) return result;
    retry += 1;
  }
}

export function failure(
  leaf: PlanTarget,
  status: number,
  errorClass: AttemptFailure['errorClass'],
  message: string,
  code?: string,
  extra: Partial<AttemptFailure> = {},
): AttemptFailure {
  return {
    ok: false,
    status,
    errorClass,
    message,
    ...(code !== undefined ? { code } : {}),
    provider: leaf.target.provider,
    path: leaf.path,
    ...extra,
  };
}

export function record(state: RunState, rec: AttemptRecord): void {
  state.attempts.push(rec);
  announce(state, rec);
}

/**
 * Tells the debug output and the onAttempt hook about a finished attempt. A committed stream's
 * record is pushed at its commit point (so response headers count it) and announced at its end.
 */
export function announce(state: RunState, rec: AttemptRecord): void {
  const pd = providerDebug(rec.provider);
  if (pd.enabled) {
    if (rec.skipped !== undefined) pd('%s skipped: %s', rec.path, rec.skipped);
    else pd('%s retry=%d model=%s -> %d %s in %dms', rec.path, rec.retry, rec.model ?? '-', rec.status ?? 0, rec.errorClass ?? 'ok', rec.latencyMs);
  }
  if (state.deps.onAttempt) {
    try {
      state.deps.onAttempt(rec);
    } catch (err) {
      state.deps.logger.error('express-llm-fallback: onAttempt hook threw:', err);
    }
  }
}

/** The target as sent: the client headers named in `forward_headers` are added. */
export function withForwardedHeaders(leaf: PlanTarget, headers: RunInput['headers']): ResolvedTarget {
  if (leaf.forwardHeaders.length === 0) return leaf.target;
  const extra: Record<string, string> = {};
  for (const name of leaf.forwardHeaders) {
    const value = headers[name];
    if (value === undefined) continue;
    extra[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { ...leaf.target, headers: { ...extra, ...leaf.target.headers } };
}

async function attempt(
  leaf: PlanTarget,
  adapter: ProviderAdapter,
  body: JsonObject,
  timeoutMs: number,
  retry: number,
  state: RunState,
): Promise<AttemptSuccess | AttemptFailure> {
  const { input, deps } = state;
  providerDebug(leaf.target.provider)('%s start retry=%d model=%s stream=%s timeout=%dms', leaf.path, retry, typeof body.model === 'string' ? body.model : '-', input.stream, timeoutMs);
  if (input.stream) return attemptStream(leaf, adapter, body, timeoutMs, retry, state);
  const startedAt = Date.now();
  const request = { endpoint: input.endpoint, body, stream: false };
  const target = withForwardedHeaders(leaf, input.headers);
  const model = typeof body.model === 'string' ? body.model : undefined;
  const done = (result: AttemptSuccess | AttemptFailure, usage?: AttemptRecord['usage']): AttemptSuccess | AttemptFailure => {
    record(state, {
      path: leaf.path,
      provider: leaf.target.provider,
      ...(result.ok ? (result.model ? { model: result.model } : {}) : model ? { model } : {}),
      status: result.status,
      ...(result.ok ? {} : { errorClass: result.errorClass, ...(result.code ? { code: result.code } : {}) }),
      retry,
      startedAt,
      latencyMs: Date.now() - startedAt,
      ...(usage ? { usage } : {}),
    });
    return result;
  };

  const upstream = buildUpstream(leaf, adapter, request, target);
  if ('ok' in upstream) return done(upstream);

  const controller = new AbortController();
  const onClientGone = (): void => controller.abort(input.signal.reason);
  input.signal.addEventListener('abort', onClientGone, { once: true });
  const timer = setTimeout(() => controller.abort(timeoutReason()), timeoutMs);
  let reply;
  try {
    debug('attempt %s %s retry=%d timeout=%dms', leaf.path, leaf.target.provider, retry, timeoutMs);
    reply = await sendJson(deps.client, upstream, { signal: controller.signal });
  } catch (err) {
    return cancelledStops(done(transportFailure(leaf, err, timeoutMs, controller.signal.reason)) as AttemptFailure);
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', onClientGone);
  }

  let json: unknown;
  let parsed = false;
  try {
    json = JSON.parse(reply.text);
    parsed = true;
  } catch {
    json = undefined;
  }

  if (reply.status >= 200 && reply.status < 300) {
    if (!parsed) {
      return done(failure(leaf, 502, 'invalid_response', `${leaf.target.provider} answered ${reply.status} with a body that is not JSON`, 'invalid_upstream_response', { type: 'server_error' }));
    }
    try {
      const response = adapter.parseResponse(json, { request, target, status: reply.status });
      const served = typeof response.model === 'string' ? response.model : model;
      const success: AttemptSuccess = {
        ok: true,
        status: 200,
        body: response,
        provider: leaf.target.provider,
        path: leaf.path,
        ...(served ? { model: served } : {}),
        retries: retry,
      };
      return done(success, response.usage);
    } catch (err) {
      const message = err instanceof InvalidUpstreamResponse ? err.message : `${leaf.target.provider} answered with an unexpected body`;
      if (!(err instanceof InvalidUpstreamResponse)) deps.logger.error('express-llm-fallback: adapter parseResponse threw:', (err as Error).message);
      return done(failure(leaf, 502, 'invalid_response', message, 'invalid_upstream_response', { type: 'server_error' }));
    }
  }
  return done(failureFromReply(leaf, adapter, reply, parsed ? json : reply.text));
}

/**
 * The failure of a request that got no reply. A client that went away is not a failure of the
 * target: it stops the whole request (ClientGoneError).
 */
export function transportFailure(leaf: PlanTarget, err: unknown, timeoutMs: number, reason?: unknown): AttemptFailure {
  const e = err instanceof TransportError ? err : new TransportError(String(err), 'network');
  if (e.kind === 'aborted') {
    // Recorded like any attempt (it may have cost something), then cancelledStops() ends the chain.
    const hedge = (reason as { name?: string } | undefined)?.name === 'HedgeCancelled';
    return failure(leaf, 499, 'network', hedge ? 'cancelled: another hedged attempt answered first' : 'cancelled: the client disconnected', hedge ? 'hedge_cancelled' : 'client_disconnected');
  }
  if (e.kind === 'timeout') {
    return failure(leaf, 408, 'timeout', `${leaf.target.provider} did not answer within ${timeoutMs} ms`, 'request_timeout', { type: 'timeout_error' });
  }
  if (e.kind === 'too_large') {
    return failure(leaf, 502, 'invalid_response', e.message, 'invalid_upstream_response', { type: 'server_error' });
  }
  return failure(leaf, 502, 'network', `${leaf.target.provider}: ${e.message}`, 'upstream_unreachable', { type: 'server_error' });
}

/** A cancelled attempt (status 499) stops the chain: the client is gone, or a hedge won. */
export function cancelledStops(f: AttemptFailure): AttemptFailure {
  if (f.status === 499) throw new ClientGoneError(f.message);
  return f;
}

/** The failure of a non-2xx reply (a 1xx/3xx is an invalid reply); `body` is its JSON, or its text. */
export function failureFromReply(leaf: PlanTarget, adapter: ProviderAdapter, reply: UpstreamReply, body: unknown): AttemptFailure {
  if (reply.status < 400) {
    return failure(leaf, 502, 'invalid_response', `${leaf.target.provider} answered with unexpected status ${reply.status}`, 'invalid_upstream_response', { type: 'server_error' });
  }
  const classified = adapter.classifyError(reply.status, body);
  const retryAfterMs = parseRetryAfter(reply.headers);
  return failure(leaf, reply.status, classified.errorClass, classified.message, classified.code, {
    ...(classified.type ? { type: classified.type } : {}),
    ...(classified.param ? { param: classified.param } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** Builds the upstream request, or the failure of a target the adapter cannot build one for. */
export function buildUpstream(
  leaf: PlanTarget,
  adapter: ProviderAdapter,
  request: UnifiedRequest,
  target: ResolvedTarget,
): UpstreamRequest | AttemptFailure {
  try {
    return adapter.buildRequest(request, target);
  } catch (err) {
    const code = err instanceof FallbackRouterError ? err.code : 'invalid_request';
    return failure(leaf, 400, 'bad_request', (err as Error).message, code, { type: 'invalid_request_error' });
  }
}
