/**
 * Traces: one per request, one attempt record per attempt (SPEC §8). A TraceStore keeps them;
 * the default is a bounded in-memory store.
 */
import type { Endpoint } from '../providers/types.js';
import type { StoreContext, StoreStatus } from '../stores/breaker-store.js';

/** Token counts of one attempt or of a whole request. */
export interface TraceUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** One attempt (or skipped target) of a request. */
export interface AttemptTrace {
  /** Target path in the client's notation, e.g. `config.targets[1]`. */
  path: string;
  provider: string;
  model?: string;
  /** Upstream status, or the status the failure maps to (408, 502); absent when skipped. */
  status?: number;
  /** Error class of a failed attempt. */
  errorClass?: string;
  /** Error code of a failed attempt (`rate_limit_exceeded`, `request_timeout`, ...). */
  code?: string;
  /** 0 for the first try of a target, 1.. for its retries. */
  retry: number;
  /** ISO time the attempt started. */
  startedAt: string;
  latencyMs: number;
  /** Streams: time to the first content event. */
  ttftMs?: number;
  /** Why the target was not tried (`unsupported_endpoint`, `circuit_open`, `deadline_exceeded`). */
  skipped?: string;
  /** True for the attempt whose answer the client received. */
  served: boolean;
  usage?: TraceUsage;
  /**
   * Estimated USD cost from options.pricing. 0 when the provider billed nothing (it reported 0
   * tokens, or the attempt failed without usage); absent when skipped or `unpriced`.
   */
  costUsd?: number;
  /**
   * True when the attempt was billed but its cost is unknown: it reported tokens and
   * options.pricing has no price for its model (the model that served, nor the one asked for),
   * or it was answered without any usage (a note says so). Such an attempt has no `costUsd` and
   * is counted in `totals.unpricedAttempts`. Absent otherwise.
   */
  unpriced?: boolean;
  /** Things worth knowing (e.g. malformed stream events skipped). */
  notes?: string[];
}

/** One request. */
export interface Trace {
  /** The request's trace id (the client's `x-portkey-trace-id`, or generated). */
  traceId: string;
  /** Unique id of this request (a trace id may be reused by a client across requests). */
  requestId: string;
  /** Saved config id, or a short stable hash of the inline config. */
  configId: string;
  endpoint: Endpoint;
  stream: boolean;
  /** ISO start time. */
  startedAt: string;
  /** Status the client received. */
  status: number;
  /** Path, provider and model of the target that served, when one did. */
  servedPath?: string;
  provider?: string;
  model?: string;
  latencyMs: number;
  /**
   * The attempt rows, in the order they were made. A request with more than
   * `MAX_TRACE_ATTEMPTS` (100) rows keeps the first and the last ones: see `attemptsOmitted`.
   */
  attempts: AttemptTrace[];
  /**
   * How many attempt rows were left out of `attempts` (the middle of a long request); absent when
   * none was. `totals` still count every attempt, omitted ones included.
   */
  attemptsOmitted?: number;
  /**
   * Where the omitted rows were: `attempts[0 .. attemptsOmittedAt)` are the first rows made,
   * `attempts[attemptsOmittedAt ..]` the last ones. Present with `attemptsOmitted`.
   */
  attemptsOmittedAt?: number;
  /** Sums over all attempts, failed and omitted ones included. */
  totals: TraceUsage & {
    /**
     * The sum of the priced attempts' `costUsd`. When `unpricedAttempts` > 0 it is a lower
     * bound: the unpriced attempts cost something more, unknown.
     */
    costUsd: number;
    /** Attempts made (skipped targets not counted). */
    attempts: number;
    /** Attempts whose cost is unknown (`unpriced`), left out of `costUsd`. 0 when every cost is known. */
    unpricedAttempts: number;
  };
  /**
   * The error the client received, for a request that was not served (OpenAI error fields).
   * Router-made messages never hold a secret; upstream messages are kept as the client saw them.
   */
  error?: { message: string; type?: string; code: string | null; errorClass?: string };
  /**
   * The request params (without `config`); only with options.logs.captureBodies. When their JSON
   * is larger than `MAX_CAPTURED_BODY_BYTES` (64 KiB), a {@link TruncatedBody} instead.
   */
  request?: unknown;
  /**
   * The response body sent to the client; only with options.logs.captureBodies. When its JSON
   * is larger than `MAX_CAPTURED_BODY_BYTES` (64 KiB), a {@link TruncatedBody} instead.
   */
  response?: unknown;
  /** True when anything was cut from this trace to bound its size (rows, a body, text); see `notes`. */
  truncated?: true;
  /** What was cut from this trace, in words (e.g. `attempt rows omitted: ...`). */
  notes?: string[];
}

/** What a captured body larger than the limit is stored as. */
export interface TruncatedBody {
  truncated: true;
  /** Size of the body's whole JSON text, in UTF-8 bytes. */
  bytes: number;
  /** The first bytes of that JSON text (at most the limit), cut at a character boundary. */
  preview: string;
}

/** What `hooks.onFallback` receives when a fallback strategy moves on from a failed target. */
export interface FallbackInfo {
  /** Path of the target that failed, e.g. `config.targets[0]`. */
  readonly from: string;
  /** Path of the node tried next (a target or a nested strategy), e.g. `config.targets[1]`. */
  readonly to: string;
  /** Path of the strategy that decided to fail over. */
  readonly strategyPath: string;
  /** Provider of the failed target. */
  readonly provider: string;
  /** Status of the failure (upstream status, or 408 / 502 for failures without one). */
  readonly status: number;
  readonly errorClass: string;
  readonly code?: string;
}

/** Filters of GET /logs. */
export interface TraceQuery {
  traceId?: string;
  configId?: string;
  status?: number;
  /** A provider that was attempted (or served) in the request. */
  provider?: string;
  /** At most this many, newest first. GET /logs: default 50, at most 500. */
  limit?: number;
  /** Only traces that started before this ISO time or epoch ms. */
  before?: string | number;
}

type MaybePromise<T> = T | Promise<T>;

/** Where traces go. Methods may be sync or async. A store that throws never fails a request. */
export interface TraceStore {
  record(trace: Trace): MaybePromise<void>;
  /** The newest trace with this trace id. */
  get(traceId: string): MaybePromise<Trace | undefined>;
  /** Traces matching the query, newest first. */
  list(query: TraceQuery): MaybePromise<Trace[]>;
  /** Where traces live and whether that is reachable now, for GET /health. */
  status?(): MaybePromise<StoreStatus>;
  /** Called once by each router created with this store, with the router's logger. */
  attach?(context: StoreContext): void;
}
