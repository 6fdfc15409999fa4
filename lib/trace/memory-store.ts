/**
 * The default TraceStore: the most recent traces in memory, bounded by `options.logs.maxTraces`
 * and by `options.logs.maxBytes` (each trace's size is its JSON length, measured once when it is
 * recorded; the oldest are dropped first). Also the query semantics every store should follow, exported
 * as {@link traceMatches} so a custom store can reuse them.
 */
import { MAX_TRACE_BYTES, fitTrace } from './bounds.js';
import type { Trace, TraceQuery, TraceStore } from './types.js';

/** Bytes of traces (their JSON length) the default store keeps: 50 MiB. */
export const DEFAULT_TRACE_STORE_MAX_BYTES = 50 * 1024 * 1024;
/** One trace takes at most this share of the store's `maxBytes` (a larger one is cut to fit). */
export const MAX_TRACE_SHARE_OF_STORE = 1 / 4;

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
  /**
   * How many bytes of traces are kept, each measured once as the length of its JSON when it is
   * recorded; the oldest are dropped first while the total is over it. A trace larger than a
   * quarter of it (or than `MAX_TRACE_BYTES`) is kept cut to fit (see `Trace.truncated`), never
   * dropped, so the newest trace is always kept. @default 52428800 (50 MiB)
   */
  maxBytes?: number;
}

/**
 * The default store: keeps the last `maxTraces` traces in memory (per router, per process).
 * Traces are ordered by start time; `list` returns the newest first.
 */
export class MemoryTraceStore implements TraceStore {
  readonly maxTraces: number;
  readonly maxBytes: number;
  /** The most one trace may take (a larger one is cut to fit). */
  readonly maxTraceBytes: number;
  /**
   * Oldest first, ordered by start time, from `head` on: the oldest are dropped by moving `head`,
   * and the arrays are compacted only once half of them is dropped (a full store of 100,000
   * traces would otherwise move 100,000 entries of three arrays for every trace recorded).
   */
  private readonly traces: Array<Trace | undefined> = [];
  private head = 0;
  private readonly startMs: number[] = [];
  /** Each trace's size, measured when it was recorded. */
  private readonly sizes: number[] = [];
  private totalBytes = 0;

  constructor(options: MemoryTraceStoreOptions = {}) {
    const max = options.maxTraces ?? 1000;
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError(`MemoryTraceStore: maxTraces must be a whole number of at least 1, e.g. new MemoryTraceStore({ maxTraces: 1000 })`);
    }
    const maxBytes = options.maxBytes ?? DEFAULT_TRACE_STORE_MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new TypeError(`MemoryTraceStore: maxBytes must be a whole number of at least 1, e.g. new MemoryTraceStore({ maxBytes: 50 * 1024 * 1024 })`);
    }
    this.maxTraces = max;
    this.maxBytes = maxBytes;
    this.maxTraceBytes = Math.max(1, Math.min(MAX_TRACE_BYTES, Math.floor(maxBytes * MAX_TRACE_SHARE_OF_STORE)));
  }

  /** How many traces are held. */
  get size(): number {
    return this.traces.length - this.head;
  }

  /** The size of the traces held, as measured when each was recorded (at most `maxBytes`, unless one alone is larger). */
  get bytes(): number {
    return this.totalBytes;
  }

  record(trace: Trace): void {
    // Measured once; a trace too large for its share is kept cut to fit (a new object).
    const fitted = fitTrace(trace, this.maxTraceBytes);
    const started = Date.parse(trace.startedAt);
    const at = Number.isNaN(started) ? Date.now() : started;
    // Requests mostly finish in the order they started: insert from the end.
    const head = this.head;
    let i = this.startMs.length;
    while (i > head && this.startMs[i - 1]! > at) i -= 1;
    if (i === this.traces.length) {
      this.traces.push(fitted.trace);
      this.startMs.push(at);
      this.sizes.push(fitted.bytes);
    } else {
      this.traces.splice(i, 0, fitted.trace);
      this.startMs.splice(i, 0, at);
      this.sizes.splice(i, 0, fitted.bytes);
    }
    this.totalBytes += fitted.bytes;
    // The oldest go first, while over either bound; the last trace is always kept.
    const end = this.traces.length;
    let drop = head + Math.max(0, end - head - this.maxTraces);
    let bytes = this.totalBytes;
    for (let k = head; k < drop; k++) bytes -= this.sizes[k]!;
    while (bytes > this.maxBytes && drop < end - 1) {
      bytes -= this.sizes[drop]!;
      drop += 1;
    }
    if (drop === head) return;
    for (let k = head; k < drop; k++) this.traces[k] = undefined; // let them go now
    this.head = drop;
    this.totalBytes = bytes;
    if (this.head >= 1024 && this.head * 2 >= end) {
      this.traces.splice(0, this.head);
      this.startMs.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  get(traceId: string): Trace | undefined {
    for (let i = this.traces.length - 1; i >= this.head; i--) {
      if (this.traces[i]!.traceId === traceId) return this.traces[i];
    }
    return undefined;
  }

  list(query: TraceQuery = {}): Trace[] {
    const limit = listLimit(query.limit);
    const out: Trace[] = [];
    for (let i = this.traces.length - 1; i >= this.head && out.length < limit; i--) {
      const trace = this.traces[i]!;
      if (traceMatches(trace, query)) out.push(trace);
    }
    return out;
  }

  /** Forgets every trace. */
  clear(): void {
    this.traces.length = 0;
    this.head = 0;
    this.startMs.length = 0;
    this.sizes.length = 0;
    this.totalBytes = 0;
  }
}
