/**
 * Outcomes are values: what one attempt, one target or one strategy came to is one of these,
 * never an exception. A lost hedge, a client that went away, a timeout and an open breaker are
 * outcomes like a success.
 */
import { errorInfo, type ErrorCode } from '../errors.js';
import type { ErrorClass, JsonObject, UnifiedResponse } from '../providers/types.js';

/** A served, non-streaming answer. */
export interface Success {
  readonly kind: 'success';
  readonly ok: true;
  readonly status: number;
  readonly body: UnifiedResponse;
  /** `body` as the upstream's own JSON text, when the adapter passed it on unchanged: sent as it came, not serialised again. */
  readonly text?: string;
  readonly provider: string;
  /** Path of the target that served, in the client's notation (`config.targets[1]`). */
  readonly path: string;
  /** The model that served (as the provider named it), or the one asked for. */
  readonly model?: string;
  /** Retries made on the serving target. */
  readonly retries: number;
}

/** A committed stream: its first chunk is in `body`, the rest comes through `stream`. */
export interface StreamSuccess extends Omit<Success, 'kind' | 'body'> {
  readonly kind: 'stream';
  readonly body: JsonObject;
  readonly stream: StreamHandle;
}

/** A failed attempt (or a strategy whose attempts all failed). */
export interface Failure {
  readonly kind: 'failure';
  readonly ok: false;
  /** Upstream status, or 408 / 502 for failures without one. */
  readonly status: number;
  readonly errorClass: ErrorClass;
  readonly message: string;
  /** Our code (see ERROR_CODES) or the provider's own. */
  readonly code?: string;
  readonly type?: string;
  readonly param?: string;
  readonly provider: string;
  /** Path of the target that failed. */
  readonly path: string;
  /** Retry-After delay the upstream asked for, in ms. */
  readonly retryAfterMs?: number;
  /** The attempt ran out of time (request_timeout, an idle stream): never retried on the same target. */
  readonly timedOut?: boolean;
  /**
   * The router's own limit or the request's own fault, not the provider's health (the router's
   * memory budget, a body that cannot be serialised): never retried, never counted by a breaker.
   */
  readonly local?: boolean;
}

/** Why a target was not tried. */
export type SkipReason = 'unsupported_endpoint' | 'deadline_exceeded' | 'circuit_open' | 'attempt_limit';

/** Nothing was tried (every target of a node skipped). */
export interface Skipped {
  readonly kind: 'skipped';
  readonly ok: false;
  readonly path: string;
}

/** Why an attempt was abandoned. */
export type CancelReason = 'client_disconnected' | 'hedge_cancelled';

/** Nobody waits for the answer any more: the client went away, or another hedged attempt won. */
export interface Cancelled {
  readonly kind: 'cancelled';
  readonly ok: false;
  readonly reason: CancelReason;
  readonly path: string;
}

/** What a target, a strategy or the whole plan came to. */
export type Outcome = Success | StreamSuccess | Failure | Skipped | Cancelled;

/** A served answer, streamed or not. */
export type Served = Success | StreamSuccess;

/** One step of a committed stream. */
export type StreamStep =
  /** `text`: the chunk as the upstream's own JSON text, when it is passed on unchanged (sent as it came). */
  | { readonly kind: 'chunk'; readonly chunk: JsonObject; readonly text?: string | undefined }
  /** The answer is complete: send `[DONE]`. */
  | { readonly kind: 'done' }
  /** The answer broke and could not be continued: send an in-band error, no `[DONE]`. */
  | { readonly kind: 'error'; readonly message: string; readonly code: 'stream_interrupted' };

/** A committed upstream stream, translated to OpenAI chunks. */
export interface StreamHandle {
  /** Resolves with the next step; after 'done' or 'error' there are no more. Never rejects. */
  next(): Promise<StreamStep>;
  /** Stops the upstream at once (the client went away). */
  abort(): void;
  /** The target serving the stream now (a recovery splice moves it on). */
  readonly servedBy: { readonly path: string; readonly provider: string; readonly model?: string };
}

/** One attempt (or skipped target) as the engine saw it: a trace's attempt row. */
export interface AttemptRecord {
  readonly path: string;
  readonly provider: string;
  /** The model that served, as the provider named it (else the one asked for). */
  readonly model?: string;
  /** The model the attempt asked for, when the provider named another (a dated snapshot). */
  readonly requestedModel?: string;
  /** Upstream status, or the status the failure maps to; absent for skipped targets. */
  readonly status?: number;
  readonly errorClass?: string;
  readonly code?: string;
  /** 0 for the first try of a target, 1.. for its retries. */
  readonly retry: number;
  readonly startedAt: number;
  readonly latencyMs: number;
  /** Why the target was not tried, when it was not. */
  readonly skipped?: SkipReason;
  readonly usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Streams: ms from the start of the attempt to its first content event. */
  readonly ttftMs?: number;
  /** Things worth knowing about the attempt (malformed stream events skipped, a recovery). */
  readonly notes?: readonly string[];
}

/** A failure of one of our own codes (status and type from ERROR_CODES unless given). */
export function failure(
  code: ErrorCode,
  errorClass: ErrorClass,
  message: string,
  at: { readonly provider: string; readonly path: string },
  extra: Partial<Omit<Failure, 'kind' | 'ok' | 'errorClass' | 'message' | 'provider' | 'path'>> = {},
): Failure {
  const info = errorInfo(code);
  return { kind: 'failure', ok: false, status: info.status, errorClass, message, code, type: info.type, provider: at.provider, path: at.path, ...extra };
}

/** Makes a mutable copy of a record type, for records completed later (committed streams). */
export type MutableRecord = { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] };
