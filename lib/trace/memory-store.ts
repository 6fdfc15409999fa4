/**
 * The default TraceStore: the most recent traces in memory, bounded by `options.logs.maxTraces`
 * (the oldest are dropped first). Also the query semantics every store should follow, exported
 * as {@link traceMatches} so a custom store can reuse them.
 */
import type { Trace, TraceQuery, TraceStore } from './types.js';

/** Traces returned by `list` when the query sets no limit. */
export const DEFAULT_LIST_LIMIT = 50;
/** The largest `limit` honoured. */
export const MAX_LIST_LIMIT = 500;

/** `before` as epoch ms: a number, a string of digits (epoch ms) or an ISO time; NaN when unreadable. */
export function beforeMs(before: string | number | undefined): number | undefined {
  if (before === undefined) return undefined;
  if (typeof before === 'number') return before;
  const text = before.trim();
  return /^\d+$/.test(text) ? Number(text) : Date.parse(text);
}

/** The effective limit of a query: default 50, clamped to 1..500. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * Whether a trace matches a query's filters (`limit` aside): same trace id, config id and final
 * status; `provider` matches a trace in which that provider was attempted or served; `before`
 * keeps traces that started strictly before that time.
 */
export function traceMatches(trace: Trace, query: TraceQuery): boolean {
  if (query.traceId !== undefined && trace.traceId !== query.traceId) return false;
  if (query.configId !== undefined && trace.configId !== query.configId) return false;
  if (query.status !== undefined && trace.status !== query.status) return false;
  if (query.provider !== undefined) {
    const provider = query.provider;
    if (trace.provider !== provider && !trace.attempts.some((a) => a.provider === provider)) return false;
  }
  const before = beforeMs(query.before);
  if (before !== undefined && !(Date.parse(trace.startedAt) < before)) return false;
  return true;
}

/** Options of {@link MemoryTraceStore}. */
export interface MemoryTraceStoreOptions {
  /** How many traces are kept; the oldest are dropped first. @default 1000 */
  maxTraces?: number;
}

/**
 * The default store: keeps the last `maxTraces` traces in memory (per router, per process).
 * Traces are ordered by start time; `list` returns the newest first.
 */
export class MemoryTraceStore implements TraceStore {
  readonly maxTraces: number;
  /** Oldest first, ordered by start time. */
  private readonly traces: Trace[] = [];
  private readonly startMs: number[] = [];

  constructor(options: MemoryTraceStoreOptions = {}) {
    const max = options.maxTraces ?? 1000;
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError(`MemoryTraceStore: maxTraces must be a whole number of at least 1, e.g. new MemoryTraceStore({ maxTraces: 1000 })`);
    }
    this.maxTraces = max;
  }

  /** How many traces are held. */
  get size(): number {
    return this.traces.length;
  }

  record(trace: Trace): void {
    const started = Date.parse(trace.startedAt);
    const at = Number.isNaN(started) ? Date.now() : started;
    // Requests mostly finish in the order they started: insert from the end.
    let i = this.startMs.length;
    while (i > 0 && this.startMs[i - 1]! > at) i -= 1;
    this.traces.splice(i, 0, trace);
    this.startMs.splice(i, 0, at);
    if (this.traces.length > this.maxTraces) {
      const excess = this.traces.length - this.maxTraces;
      this.traces.splice(0, excess);
      this.startMs.splice(0, excess);
    }
  }

  get(traceId: string): Trace | undefined {
    for (let i = this.traces.length - 1; i >= 0; i--) {
      if (this.traces[i]!.traceId === traceId) return this.traces[i];
    }
    return undefined;
  }

  list(query: TraceQuery = {}): Trace[] {
    const limit = listLimit(query.limit);
    const out: Trace[] = [];
    for (let i = this.traces.length - 1; i >= 0 && out.length < limit; i--) {
      const trace = this.traces[i]!;
      if (traceMatches(trace, query)) out.push(trace);
    }
    return out;
  }

  /** Forgets every trace. */
  clear(): void {
    this.traces.length = 0;
    this.startMs.length = 0;
  }
}
