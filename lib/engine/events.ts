/**
 * The engine's typed event stream. Every step of a request is announced here; traces, hooks,
 * `debug` lines (and later metrics and OpenTelemetry spans) are subscribers, never inline calls
 * in the engine. A subscriber that throws is logged and ignored; one that returns a promise is
 * not awaited, so a slow or hanging subscriber never holds a response.
 */
import type { Endpoint } from '../providers/types.js';
import type { FallbackInfo } from '../trace/types.js';
import type { AttemptRecord, Failure, Served } from './outcome.js';

/** What identifies a request in every event. */
export interface RequestRef {
  /** Unique per request. */
  readonly requestId: string;
  /** The client's trace id (or a generated one); a client may reuse it. */
  readonly traceId: string;
}

/** Breaker states as the events and GET /health name them. */
export type BreakerStateName = 'closed' | 'open' | 'half_open';

export interface EngineEventMap {
  'request:start': RequestRef & {
    readonly configId: string;
    readonly endpoint: Endpoint;
    readonly stream: boolean;
    /** Epoch ms. */
    readonly startedAt: number;
  };
  'attempt:start': RequestRef & {
    readonly path: string;
    readonly provider: string;
    readonly model?: string;
    readonly retry: number;
    readonly stream: boolean;
    /** The ms the attempt may take to its answer (streams: to its first content). */
    readonly timeoutMs: number;
  };
  /** An attempt finished (or a target was skipped); a committed stream's attempt ends with its stream. */
  'attempt:end': RequestRef & { readonly record: AttemptRecord };
  /** A fallback strategy moves on from a failed target. */
  fallback: RequestRef & FallbackInfo;
  /** A target's circuit breaker changed state (as this instance learnt it). */
  'breaker:state': {
    readonly key: string;
    readonly from: BreakerStateName;
    readonly to: BreakerStateName;
    /** Epoch ms. */
    readonly at: number;
  };
  /** A stream reached its first content event: from here on the client sees it. */
  'stream:commit': RequestRef & { readonly path: string; readonly provider: string; readonly ttftMs: number };
  /** A committed stream ended: whole, with an in-band error, or with the client gone. */
  'stream:end': RequestRef & {
    readonly path: string;
    readonly provider: string;
    readonly end: 'done' | 'error' | 'gone';
  };
  /** The request is over: the answer is out (or the client went away). */
  'request:end': RequestRef & RequestSummary;
}

/** What the router knows of a finished request: the trace is built from it. */
export interface RequestSummary {
  readonly configId: string;
  readonly endpoint: Endpoint;
  readonly stream: boolean;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Status the client received (499 when it went away, 502 for a stream that broke). */
  readonly status: number;
  /** Absent when the request never reached the engine (e.g. an invalid config). */
  readonly outcome?: Served | Failure;
  /** The target that served in the end (a recovered stream: the one that finished it). */
  readonly servedBy?: { readonly path: string; readonly provider: string; readonly model?: string };
  readonly attempts: readonly AttemptRecord[];
  /** The error the client received, when the router's own account differs from the outcome. */
  readonly error?: { readonly message: string; readonly type?: string; readonly code: string | null };
  /** Only when options.logs.captureBodies is true. */
  readonly requestBody?: unknown;
  readonly responseBody?: unknown;
}

export type EngineEventName = keyof EngineEventMap;
export type EngineListener<K extends EngineEventName> = (payload: EngineEventMap[K]) => unknown;

/** A small typed emitter. `has` lets the engine skip building a payload nobody reads. */
export class EngineEvents {
  private readonly listeners: { [K in EngineEventName]?: Array<EngineListener<K>> } = {};

  constructor(private readonly logger: { error: (...args: unknown[]) => void } = console) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends EngineEventName>(name: K, listener: EngineListener<K>): () => void {
    const list = (this.listeners[name] ??= []) as Array<EngineListener<K>>;
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  has(name: EngineEventName): boolean {
    return (this.listeners[name]?.length ?? 0) > 0;
  }

  emit<K extends EngineEventName>(name: K, payload: EngineEventMap[K]): void {
    const list = this.listeners[name] as Array<EngineListener<K>> | undefined;
    if (list === undefined) return;
    for (const listener of list) {
      try {
        const result = listener(payload);
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          Promise.resolve(result).catch((err: unknown) => this.report(name, err));
        }
      } catch (err) {
        this.report(name, err);
      }
    }
  }

  private report(name: string, err: unknown): void {
    try {
      this.logger.error(`express-llm-fallback: a ${name} subscriber failed:`, err instanceof Error ? err.message : String(err));
    } catch {
      // a logger that throws is ignored too
    }
  }
}
