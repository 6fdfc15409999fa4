/**
 * The Plan: a resolved config, ready to walk. Built once per distinct config (and cached), it
 * holds no per-request state.
 */
import type { Endpoint, ErrorClass, JsonObject, ResolvedTarget } from '../providers/types.js';
import type { BreakerPolicy as BreakerConfig } from '../stores/breaker-store.js';
import type { Failure, Served, StreamHandle, StreamStep } from './outcome.js';

/** Retry policy of one target (SPEC §5). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly onStatusCodes?: ReadonlyArray<number | string>;
  readonly useRetryAfterHeader: boolean;
}

/** Settings every node carries, inherited from its parent unless set on it. */
export interface Inherited {
  readonly retry: RetryPolicy;
  readonly requestTimeout: number;
  readonly streamIdleTimeout: number;
  readonly streamMode: 'passthrough' | 'buffered';
  readonly streamRecovery: 'none' | 'continue';
  readonly customHost?: string;
  readonly forwardHeaders: readonly string[];
  /** `trace_context`: the attempts carry their OpenTelemetry trace context upstream. */
  readonly traceContext: boolean;
  /** `override_params` merged from the root down to this node. */
  readonly overrideParams: Readonly<JsonObject>;
}

/** A leaf: one provider target. */
export interface PlanTarget extends Inherited {
  readonly kind: 'target';
  /** Path in the client's notation: `config`, `config.targets[1]`, `config.options[0]`. */
  readonly path: string;
  readonly weight: number;
  readonly target: ResolvedTarget;
  readonly supportsPrefill?: boolean;
  /** The circuit breaker guarding this target, when one is configured. */
  readonly breaker?: BreakerConfig;
}

/** A strategy over child nodes. */
export interface PlanGroup {
  readonly kind: 'group';
  readonly path: string;
  readonly weight: number;
  readonly mode: 'fallback' | 'loadbalance' | 'single';
  readonly onStatusCodes?: ReadonlyArray<number | string>;
  readonly onErrors?: readonly ErrorClass[];
  readonly hedgeAfterMs?: number;
  readonly children: readonly PlanNode[];
}

export type PlanNode = PlanTarget | PlanGroup;

/** A whole request plan. */
export interface Plan {
  readonly root: PlanNode;
  /** Saved config id, or a short stable hash of the normalised inline config. */
  readonly configId: string;
  /** True for the host's own configs (saved, default); false for a config a request brought. */
  readonly trusted: boolean;
  /** Deadline for the whole request, in ms, when the config or defaults set one. */
  readonly totalTimeout?: number;
}

/** What the predicate and `options.shouldFallback` receive: the failed attempt. */
export type AttemptOutcome = Failure;
/** @deprecated 0.1 names, kept for imports: a failed and a served attempt. */
export type AttemptFailure = Failure;
export type AttemptSuccess = Served;
export type { StreamHandle, StreamStep };

/** Context of a fallback decision. */
export interface AttemptContext {
  readonly endpoint: Endpoint;
  /** The strategy that is deciding. */
  readonly strategyPath: string;
  /** Provider of the failed attempt. */
  readonly provider: string;
  /** Path of the failed target. */
  readonly targetPath: string;
  /** 1-based count of attempts made so far for this request. */
  readonly attempt: number;
}
