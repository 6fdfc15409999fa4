/**
 * The engine's typed event stream. Every step of a request is announced here; traces, hooks,
 * `debug` lines (and later metrics and OpenTelemetry spans) are subscribers, never inline calls
 * in the engine. A subscriber that throws is logged and ignored; one that returns a promise is
 * not awaited, so a slow or hanging subscriber never holds a response.
 */
import type { Endpoint, JsonObject } from '../providers/types.js';
import type { FallbackInfo } from '../trace/types.js';
import type { AttemptRecord, Failure, Served } from './outcome.js';
import { createLogger, type Logger, type LoggerInput } from '../observe/logger.js';

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
    /** The model the client asked for, when its body names one. */
    readonly model?: string;
    /** The client's W3C trace context headers, as received (a span's parent). */
    readonly traceparent?: string;
    readonly tracestate?: string;
    /**
     * The request params (without `config`), only when `options.telemetry.captureBodies` is on:
     * the object the engine runs with, which subscribers read and never change.
     */
    readonly body?: JsonObject;
    /**
     * Where the config came from (`header-config`, `body-config`, `header-fallback`,
     * `header-provider`, `default`): the metrics' bounded `config_id` label of a config that is not
     * a saved one.
     */
    readonly configSource?: string;
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
  /**
   * A hedged fallback (`hedge_after_ms`) started the child at `path` beside a slow one
   * (`started`), or a child it started so gave the answer (`won`).
   */
  hedge: RequestRef & { readonly strategyPath: string; readonly path: string; readonly phase: 'started' | 'won' };
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

  private readonly logger: Logger;

  constructor(logger?: LoggerInput) {
    this.logger = createLogger(logger);
  }

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
          Promise.resolve(result).catch((err: unknown) => this.report(name, err, payload));
        }
      } catch (err) {
        this.report(name, err, payload);
      }
    }
  }

  /** Logs a failed subscriber with the request's trace id when the event has one (the logger never throws). */
  private report(name: string, err: unknown, payload: object): void {
    const traceId = (payload as Partial<RequestRef>).traceId;
    this.logger.error(`express-llm-fallback: a ${name} subscriber failed`, { err, ...(traceId !== undefined ? { traceId } : {}) });
  }
}
