/**
 * The Plan: a resolved config, ready to walk. Built once per distinct config (and cached), it
 * holds no per-request state.
 */
import type { Endpoint, ErrorClass, JsonObject, ResolvedTarget, UnifiedResponse } from '../providers/types.js';
import type { BreakerConfig } from './breaker.js';

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
  /** Deadline for the whole request, in ms, when the config or defaults set one. */
  readonly totalTimeout?: number;
}

/** The outcome of one failed attempt (or of a node whose attempts all failed). */
export interface AttemptFailure {
  readonly ok: false;
  /** Upstream status, or 408 / 502 for failures without one. */
  readonly status: number;
  readonly errorClass: ErrorClass;
  readonly message: string;
  readonly code?: string;
  readonly type?: string;
  readonly param?: string;
  readonly provider: string;
  /** Path of the target that failed. */
  readonly path: string;
  /** Retry-After delay the upstream asked for, in ms. */
  readonly retryAfterMs?: number;
}

/** A served response. */
export interface AttemptSuccess {
  readonly ok: true;
  readonly status: number;
  readonly body: UnifiedResponse;
  readonly provider: string;
  readonly path: string;
  readonly model?: string;
  /** Retries made on the serving target. */
  readonly retries: number;
  /**
   * Streams: the committed stream, to be pumped to the client. `body` then holds the first
   * chunk.
   */
  readonly stream?: StreamHandle;
}

/** One step of a committed stream. */
export type StreamStep =
  | { readonly kind: 'chunk'; readonly chunk: JsonObject }
  /** The answer is complete: send `[DONE]`. */
  | { readonly kind: 'done' }
  /** The answer broke and could not be continued: send an in-band error, no `[DONE]`. */
  | { readonly kind: 'error'; readonly message: string; readonly code: 'stream_interrupted' };

/** A committed upstream stream, translated to OpenAI chunks. */
export interface StreamHandle {
  /** Resolves with the next step; after 'done' or 'error' there are no more. */
  next(): Promise<StreamStep>;
  /** Stops the upstream at once (the client went away). */
  abort(): void;
}

/** What the predicate and `options.shouldFallback` receive. */
export type AttemptOutcome = AttemptFailure;

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
