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
import type { AttemptContext, AttemptFailure, AttemptSuccess, Plan, PlanGroup, PlanNode, PlanTarget } from './plan.js';
import type { FallbackInfo } from '../trace/types.js';
import { defaultShouldFallback } from './predicate.js';
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
  readonly skipped?: 'unsupported_endpoint' | 'deadline_exceeded' | 'stream_unsupported';
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

/** Thrown when the client went away: nothing is to be sent. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
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
}

/** Walks the plan and returns the outcome. Throws ClientGoneError when the client disconnected. */
export async function runPlan(plan: Plan, input: RunInput, deps: EngineDeps): Promise<RunResult> {
  const total = input.totalTimeout ?? plan.totalTimeout;
  const state: RunState = {
    input,
    deps,
    attempts: [],
    plan,
    ...(total !== undefined ? { deadline: Date.now() + total } : {}),
  };
  const result = await runNode(plan.root, state);
  if (input.signal.aborted) throw new ClientGoneError('client disconnected');
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

type NodeResult = AttemptSuccess | AttemptFailure | null;

function runNode(node: PlanNode, state: RunState): Promise<NodeResult> {
  return node.kind === 'target' ? runTarget(node, state) : runGroup(node, state);
}

async function runGroup(group: PlanGroup, state: RunState): Promise<NodeResult> {
  if (group.mode === 'single') return runNode(group.children[0]!, state);
  if (group.mode === 'loadbalance') {
    const pool = group.children.filter((child) => child.weight > 0);
    while (pool.length > 0) {
      const index = pickWeighted(pool);
      const result = await runNode(pool[index]!, state);
      if (result !== null) return result;
      pool.splice(index, 1); // that child cannot serve this endpoint: pick among the others
    }
    return null;
  }
  let first: AttemptFailure | undefined;
  let last: AttemptFailure | undefined;
  for (const child of group.children) {
    if (state.input.signal.aborted) break;
    const result = await runNode(child, state);
    if (result === null) continue;
    if (result.ok) return result;
    first ??= result;
    last = result;
    if (!shouldFailOver(result, group, state)) return result;
    debug('fallback from %s (%d %s)', result.path, result.status, result.errorClass);
    const next = group.children[group.children.indexOf(child) + 1];
    if (next && state.deps.onFallback && !state.input.signal.aborted) {
      try {
        state.deps.onFallback({
          from: result.path,
          to: next.path,
          strategyPath: group.path,
          provider: result.provider,
          status: result.status,
          errorClass: result.errorClass,
          ...(result.code !== undefined ? { code: result.code } : {}),
        });
      } catch (err) {
        state.deps.logger.error('express-llm-fallback: onFallback hook threw:', err instanceof Error ? err.message : err);
      }
    }
  }
  if (last === undefined) return null;
  return state.deps.finalError === 'first' ? first! : last;
}

function shouldFailOver(failure: AttemptFailure, group: PlanGroup, state: RunState): boolean {
  const custom = state.deps.shouldFallback;
  if (!custom) return defaultShouldFallback(failure, group.onStatusCodes, group.onErrors);
  const ctx: AttemptContext = {
    endpoint: state.input.endpoint,
    strategyPath: group.path,
    provider: failure.provider,
    targetPath: failure.path,
    attempt: state.attempts.filter((a) => a.skipped === undefined).length,
  };
  try {
    return custom(failure, ctx) === true;
  } catch (err) {
    state.deps.logger.error('express-llm-fallback: options.shouldFallback threw; not failing over:', err);
    return false;
  }
}

function pickWeighted(pool: readonly PlanNode[]): number {
  const total = pool.reduce((sum, node) => sum + node.weight, 0);
  let roll = Math.random() * total;
  for (let i = 0; i < pool.length; i++) {
    roll -= pool[i]!.weight;
    if (roll < 0) return i;
  }
  return pool.length - 1;
}

async function runTarget(leaf: PlanTarget, state: RunState): Promise<NodeResult> {
  const { input, deps } = state;
  const adapter = deps.adapters.get(leaf.target.provider);
  if (!adapter || !adapter.endpoints.has(input.endpoint)) {
    record(state, { path: leaf.path, provider: leaf.target.provider, retry: 0, startedAt: Date.now(), latencyMs: 0, skipped: 'unsupported_endpoint' });
    return null;
  }
  const body = { ...input.body, ...leaf.overrideParams };
  let retry = 0;
  for (;;) {
    const remaining = state.deadline === undefined ? Infinity : state.deadline - Date.now();
    if (remaining <= 0) {
      record(state, { path: leaf.path, provider: leaf.target.provider, retry, startedAt: Date.now(), latencyMs: 0, skipped: 'deadline_exceeded' });
      return failure(leaf, 408, 'timeout', 'The total_timeout of the request ran out before this target was tried.', 'total_timeout');
    }
    const timeout = Math.min(input.requestTimeout ?? leaf.requestTimeout, remaining);
    const result = await attempt(leaf, adapter, body, timeout, retry, state);
    if (result.ok || retry >= leaf.retry.attempts || !isRetryable(result, leaf.retry)) {
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
    return done(transportFailure(leaf, err, timeoutMs));
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
export function transportFailure(leaf: PlanTarget, err: unknown, timeoutMs: number): AttemptFailure {
  const e = err instanceof TransportError ? err : new TransportError(String(err), 'network');
  if (e.kind === 'aborted') throw new ClientGoneError('client disconnected');
  if (e.kind === 'timeout') {
    return failure(leaf, 408, 'timeout', `${leaf.target.provider} did not answer within ${timeoutMs} ms`, 'request_timeout', { type: 'timeout_error' });
  }
  if (e.kind === 'too_large') {
    return failure(leaf, 502, 'invalid_response', e.message, 'invalid_upstream_response', { type: 'server_error' });
  }
  return failure(leaf, 502, 'network', `${leaf.target.provider}: ${e.message}`, 'upstream_unreachable', { type: 'server_error' });
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
