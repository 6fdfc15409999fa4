/**
 * What the engine needs from the router (EngineDeps), what one request brings (RunInput), and
 * the per-request state every strategy, policy and attempt shares (RunContext).
 */
import type { AxiosInstance } from 'axios';
import type { Endpoint, JsonObject, ProviderAdapter, ResolvedTarget } from '../providers/types.js';
import type { ByteBudget } from '../transport/budget.js';
import type { CircuitBreakers } from './policies/breaker.js';
import type { EngineEvents } from './events.js';
import type { AttemptRecord, Cancelled, CancelReason, Failure, Skipped } from './outcome.js';
import type { AttemptContext, Plan, PlanTarget } from './plan.js';
import type { Logger } from '../observe/logger.js';

/** What the engine needs from the router; built once per router. */
export interface EngineDeps {
  readonly client: AxiosInstance;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly shouldFallback?: (outcome: Failure, ctx: AttemptContext) => boolean;
  readonly finalError: 'last' | 'first';
  readonly maxRetryAfterMs: number;
  /** Upstream attempts one request may make, retries, fallbacks and hedges together. */
  readonly maxAttemptsPerRequest: number;
  /** The router-wide request_timeout: a shorter (client-chosen) timeout says nothing of a provider's health. */
  readonly hostRequestTimeout: number;
  /** The router's logger (observe/logger.ts). */
  readonly logger: Logger;
  readonly events: EngineEvents;
  readonly breakers: CircuitBreakers;
  /** Upstream bytes held in memory across requests (options.maxBufferedBytes). */
  readonly budget: ByteBudget;
  /** The OpenTelemetry subscriber's hooks (observe/otel.ts); absent when `telemetry: false`. */
  readonly tracing?: TracingHooks | undefined;
}

/**
 * What the OpenTelemetry subscriber offers the engine and the edge, so that neither knows
 * anything of OpenTelemetry. Both are synchronous, and return undefined for a request that is
 * not traced.
 */
export interface TracingHooks {
  /**
   * The W3C trace context headers of an attempt (its span as `traceparent`), called just before
   * its upstream request is sent, only for targets with `trace_context: true`.
   */
  traceHeaders(requestId: string, attempt: { readonly path: string; readonly retry: number }): Readonly<Record<string, string>> | undefined;
  /** A function that sees each chunk of a committed stream sent to the client (finish reasons, text). */
  streamTap(requestId: string): ((chunk: JsonObject) => void) | undefined;
}

/** One request to run. */
export interface RunInput {
  readonly requestId: string;
  readonly traceId: string;
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

/** Per-request state. A hedged branch gets a copy with its own `signal`; the rest is shared. */
export interface RunContext {
  readonly input: RunInput;
  readonly deps: EngineDeps;
  readonly plan: Plan;
  /** Aborted when nobody waits for this branch any more (the client left, a hedge won). */
  readonly signal: AbortSignal;
  /** Every attempt and skipped target, in order. */
  readonly attempts: AttemptRecord[];
  /** Epoch ms by which everything must be done (Infinity: no total_timeout). */
  readonly totalBy: number;
  /** Targets skipped because their breaker is open, with when it opened. */
  readonly openSkipped: Array<{ readonly leaf: PlanTarget; readonly openedAt: number }>;
  /** Attempts started so far (shared by hedged branches), against deps.maxAttemptsPerRequest. */
  readonly budget: { started: number; cut: boolean };
  /**
   * Work the answer does not wait for but the request's end does (shared by hedged branches):
   * the aborted losers of a won hedge, until they have recorded themselves (bounded).
   */
  readonly settling: Array<Promise<void>>;
}

/** Creates the context of one request. */
export function createContext(plan: Plan, input: RunInput, deps: EngineDeps, now = Date.now()): RunContext {
  const total = input.totalTimeout ?? plan.totalTimeout;
  return {
    input,
    deps,
    plan,
    signal: input.signal,
    attempts: [],
    totalBy: total === undefined ? Infinity : now + total,
    openSkipped: [],
    budget: { started: 0, cut: false },
    settling: [],
  };
}

/** Adds a finished attempt (or skipped target) to the request and announces it. */
export function record(ctx: RunContext, rec: AttemptRecord): void {
  ctx.attempts.push(rec);
  announce(ctx, rec);
}

/** Announces an attempt already in `ctx.attempts` (a committed stream, when its stream ends). */
export function announce(ctx: RunContext, rec: AttemptRecord): void {
  const events = ctx.deps.events;
  if (events.has('attempt:end')) events.emit('attempt:end', { requestId: ctx.input.requestId, traceId: ctx.input.traceId, record: rec });
}

/** The abort reason of a branch nobody waits for; its `reason` says why. */
export class Cancellation extends Error {
  override readonly name = 'Cancellation';
  constructor(readonly reason: CancelReason) {
    super(reason === 'hedge_cancelled' ? 'cancelled: another hedged attempt answered first' : 'cancelled: the client disconnected');
  }
}

/** Why `signal` was aborted, when it was a cancellation (not a timeout). */
export function cancelReasonOf(signal: AbortSignal): CancelReason | undefined {
  if (!signal.aborted) return undefined;
  return signal.reason instanceof Cancellation ? signal.reason.reason : 'client_disconnected';
}

/** The outcome of a branch nobody waits for any more. */
export function cancelled(ctx: RunContext, at: { readonly path: string }): Cancelled {
  return { kind: 'cancelled', ok: false, reason: cancelReasonOf(ctx.signal) ?? 'client_disconnected', path: at.path };
}

/** The outcome of a node that had nothing to try. */
export function skipped(path: string): Skipped {
  return { kind: 'skipped', ok: false, path };
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

/** The model a body asks for, when it names one. */
export function modelOf(body: JsonObject): string | undefined {
  return typeof body.model === 'string' ? body.model : undefined;
}

/** One target's attempts as they pass through the policies to the kernel. */
export interface AttemptCall {
  readonly leaf: PlanTarget;
  readonly adapter: ProviderAdapter;
  /** The request body with the target's override_params merged over it. */
  readonly body: JsonObject;
  /** 0 for the first try, 1.. for retries. */
  retry: number;
  /** Set by the deadline policy: the attempt's limit in ms, and the instant it ends. */
  timeoutMs: number;
  firstContentBy: number;
  /** Try even when the breaker is open (the last resort of a strategy whose targets all are). */
  readonly force: boolean;
  /** Set by the breaker policy: this try is the half-open probe. */
  probe: boolean;
  /** Stream recovery: forward as it comes, and the text already sent. */
  readonly forcePassthrough?: boolean;
  readonly textPrefix?: string;
}

/** Makes the call of a target run. */
export function attemptCall(leaf: PlanTarget, adapter: ProviderAdapter, body: JsonObject, force = false, extra: Partial<AttemptCall> = {}): AttemptCall {
  return { leaf, adapter, body, retry: 0, timeoutMs: Infinity, firstContentBy: Infinity, force, probe: false, ...extra };
}

/** Announces how a committed stream ended. */
export function announceStreamEnd(ctx: RunContext, by: { readonly path: string; readonly provider: string }, end: 'done' | 'error' | 'gone'): void {
  const events = ctx.deps.events;
  if (events.has('stream:end')) events.emit('stream:end', { requestId: ctx.input.requestId, traceId: ctx.input.traceId, path: by.path, provider: by.provider, end });
}
