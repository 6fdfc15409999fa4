/**
 * RedisTraceStore: the traces of every instance in one place, so `/logs`, `/logs/:traceId` and
 * `/logs/ui` on any instance show them all, with the filters of {@link traceMatches}, newest first,
 * bounded by `maxTraces` (the oldest go on write) and expiring after `ttlSeconds`. Listing uses
 * sorted-set indexes (see traces-lua.ts), not a scan.
 *
 * `record` never waits: traces recorded within 20 ms go out together in one script call. While Redis is down, the traces of this instance are kept here (the newest
 * `localTraces`), answered from here, and sent to Redis once it is back.
 */
import { fitTrace, MAX_TRACE_BYTES } from '../../trace/bounds.js';
import { beforeMs, listLimit, traceMatches } from '../../trace/memory-store.js';
import type { Trace, TraceQuery, TraceStore } from '../../trace/types.js';
import { isStoreUnavailable } from '../breaker-store.js';
import { BatchedRedisStore } from './batched.js';
import type { RedisLink } from './link.js';
import { LIST_TRACES, RECORD_TRACES } from './traces-lua.js';

/** Traces are gathered this long before they go out together (fewer, larger script calls). */
const RECORD_DELAY_MS = 20;
/** Most traces per script call, and most bytes of them. */
const RECORD_BATCH = 50;
const RECORD_BATCH_BYTES = 1024 * 1024;
/** Most traces waiting for a script call; beyond, traces are dropped (and counted). */
const MAX_QUEUED_TRACES = 2000;

export interface RedisTraceStoreOptions {
  readonly prefix: string;
  readonly ttlSeconds: number;
  readonly maxTraces: number;
  /** Most traces kept on this instance while Redis is down. */
  readonly localTraces: number;
  /** Most index entries one listing examines (a rare combination of filters may find fewer). */
  readonly maxScan: number;
  /** Longest wait for a trace write or a listing, in ms. */
  readonly timeoutMs: number;
}

interface Encoded {
  readonly trace: Trace;
  readonly args: string[];
  readonly bytes: number;
}

/** How many of the queue's first traces fit one script call: RECORD_BATCH, RECORD_BATCH_BYTES, at least one. */
function batchLength(queue: readonly Encoded[]): number {
  let n = 0;
  let bytes = 0;
  while (n < queue.length && n < RECORD_BATCH && (n === 0 || bytes + queue[n]!.bytes <= RECORD_BATCH_BYTES)) bytes += queue[n++]!.bytes;
  return n;
}

/** A TraceStore in Redis, shared by every instance given the same prefix. */
export class RedisTraceStore extends BatchedRedisStore<Encoded> implements TraceStore {
  /** This instance's traces recorded while Redis was down, oldest first. */
  private outage: Trace[] = [];

  constructor(
    link: RedisLink,
    private readonly options: RedisTraceStoreOptions,
  ) {
    // At most RECORD_BATCH traces and RECORD_BATCH_BYTES of them per script call (at least one).
    super(link, { delayMs: RECORD_DELAY_MS, batch: RECORD_BATCH, take: batchLength, send: (batch) => this.sendTraces(batch) });
    link.onUp(() => {
      const held = this.outage;
      this.outage = [];
      for (const trace of held) this.record(trace);
    });
  }

  record(trace: Trace): void {
    if (!this.link.usable()) {
      this.keepLocally(trace);
      return;
    }
    if (this.queue.length >= MAX_QUEUED_TRACES) {
      this.link.countDropped(1);
      return;
    }
    let encoded: Encoded;
    try {
      encoded = this.encode(trace);
    } catch {
      this.link.countDropped(1); // a trace that cannot be serialised (a BigInt, a cycle)
      return;
    }
    this.enqueue(encoded);
  }

  async get(traceId: string): Promise<Trace | undefined> {
    const [trace] = await this.list({ traceId, limit: 1 });
    return trace;
  }

  async list(query: TraceQuery = {}): Promise<Trace[]> {
    const limit = listLimit(query.limit);
    const before = beforeMs(query.before);
    if (before !== undefined && Number.isNaN(before)) return [];
    if (!this.link.usable()) return this.listLocal(query, limit);
    const filters = [query.traceId, query.configId, query.status === undefined ? undefined : String(query.status), query.provider];
    let reply: unknown;
    try {
      reply = await this.link.eval(
        LIST_TRACES,
        [],
        [this.options.prefix, String(limit), before === undefined ? '+inf' : `(${before}`, String(this.options.maxScan), ...filters.map((f) => f ?? '')],
        this.options.timeoutMs,
      );
    } catch (err) {
      if (!isStoreUnavailable(err) || err.reason === 'closed') throw err;
      return this.listLocal(query, limit);
    }
    if (!Array.isArray(reply)) throw new Error(`unexpected list reply from Redis: ${typeof reply}`);
    const out: Trace[] = [];
    for (const body of reply.slice(1)) {
      let trace: Trace;
      try {
        trace = JSON.parse(String(body)) as Trace;
      } catch {
        continue; // not written by this store
      }
      if (traceMatches(trace, query)) out.push(trace);
    }
    return out;
  }

  /** The script arguments of one trace (its JSON cut to MAX_TRACE_BYTES when larger). */
  private encode(trace: Trace): Encoded {
    let json = JSON.stringify(trace);
    if (json.length > MAX_TRACE_BYTES) json = JSON.stringify(fitTrace(trace, MAX_TRACE_BYTES, json.length).trace);
    const started = Date.parse(trace.startedAt);
    const providers = new Set<string>();
    if (trace.provider) providers.add(trace.provider);
    for (const a of trace.attempts) if (a.provider) providers.add(a.provider);
    const fields = [trace.requestId, trace.traceId, trace.configId, String(trace.status), String(Number.isNaN(started) ? Date.now() : started), ...providers];
    // One argument for the fields (fewer to encode): each as `<bytes>:<text>`, whatever it holds.
    const args = [fields.map((f) => `${Buffer.byteLength(f)}:${f}`).join(''), json];
    return { trace, args, bytes: json.length };
  }

  /** Writes one batch of traces in one script call (kept here, if Redis is down). */
  private async sendTraces(batch: Encoded[]): Promise<void> {
    const args = [this.options.prefix, String(this.options.ttlSeconds), String(this.options.maxTraces), String(Date.now())];
    for (const e of batch) args.push(...e.args);
    try {
      await this.link.eval(RECORD_TRACES, [`${this.options.prefix}tr:all`], args, this.options.timeoutMs);
    } catch (err) {
      if (isStoreUnavailable(err) && err.reason === 'down') for (const e of batch) this.keepLocally(e.trace);
      else this.link.countDropped(batch.length);
    }
  }

  private keepLocally(trace: Trace): void {
    this.outage.push(trace);
    if (this.outage.length > this.options.localTraces) this.outage.splice(0, this.outage.length - this.options.localTraces);
  }

  /** The traces held during an outage that match, newest first. */
  private listLocal(query: TraceQuery, limit: number): Trace[] {
    const out: Trace[] = [];
    for (let i = this.outage.length - 1; i >= 0 && out.length < limit; i--) {
      if (traceMatches(this.outage[i]!, query)) out.push(this.outage[i]!);
    }
    return out.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  }
}
