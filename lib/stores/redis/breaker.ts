/**
 * RedisBreakerStore: the BreakerStore of a fleet. Every operation is one Lua script run
 * atomically in Redis (see breaker-lua.ts), so failures are counted fleet-wide and exactly one
 * caller per cooldown, of any instance, gets the probe. Outcomes recorded within 5 ms go out
 * together, as one script call (nobody awaits them on a request's path).
 *
 * While Redis is down (or too slow), operations are answered by a MemoryBreakerStore of this
 * instance, with versions above what Redis last said (time-based), so the router's mirror takes
 * them: each instance runs its own breakers until Redis is back, then Redis decides again.
 */
import { isStoreUnavailable, StoreUnavailableError, type Admission, type AttemptResult, type BreakerPolicy, type BreakerSnapshot, type BreakerState, type BreakerStore } from '../breaker-store.js';
import { MemoryBreakerStore } from '../memory-breaker-store.js';
import { ACQUIRE, GET_MANY, RECORD, SNAPSHOT } from './breaker-lua.js';
import { BatchedRedisStore } from './batched.js';
import type { RedisLink } from './link.js';

/** A probe that has not reported within this many cooldowns is considered lost (as in memory). */
const PROBE_STALE_FACTOR = 2;
/** Most outcomes per script call. */
const RECORD_BATCH = 100;
/** Outcomes are gathered this long before they go out together (fewer, larger script calls). */
const RECORD_DELAY_MS = 5;
/** Most outcomes waiting for a script call; beyond, an outcome is dropped (and counted). */
const MAX_QUEUED_RECORDS = 5000;

export interface RedisBreakerStoreOptions {
  /** Key prefix, e.g. `llmfb:`. */
  readonly prefix: string;
  /** How long a key without writes is kept, in ms (at least four windows or cooldowns). */
  readonly ttlMs: number;
  /** Most keys indexed for GET /health (the least recently written leave the index first). */
  readonly maxKeys: number;
  /** How often each router reads back the keys it uses, in ms. */
  readonly refreshIntervalMs: number;
}

interface QueuedRecord {
  readonly key: string;
  readonly policy: BreakerPolicy;
  readonly result: AttemptResult;
  readonly now: number;
  resolve(state: BreakerState): void;
  reject(err: unknown): void;
}

const STATES: Record<string, BreakerState['state']> = { c: 'closed', o: 'open', h: 'half_open' };

/** Six reply fields `[s, oa, cd, f, r, v]` as a BreakerState; undefined for a key without state. */
function decodeState(fields: readonly unknown[], at: number): BreakerState | undefined {
  const state = STATES[String(fields[at])];
  if (!state) return undefined;
  const openedAt = String(fields[at + 1] ?? '');
  const cooldownMs = String(fields[at + 2] ?? '');
  return {
    state,
    ...(openedAt !== '' ? { openedAt: Number(openedAt) } : {}),
    ...(cooldownMs !== '' ? { cooldownMs: Number(cooldownMs) } : {}),
    failures: Number(fields[at + 3]),
    requests: Number(fields[at + 4]),
    version: Number(fields[at + 5]),
  };
}

function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply from Redis: ${typeof reply}`);
  return reply;
}

/** A BreakerStore in Redis, shared by every instance given the same prefix. */
export class RedisBreakerStore extends BatchedRedisStore<QueuedRecord> implements BreakerStore {
  /** This instance's breakers while Redis is unreachable (one outage's worth: cleared when it is back). */
  private local = new MemoryBreakerStore();
  private lastLocalVersion = 0;
  private readonly index: string;
  readonly refreshIntervalMs: number;

  constructor(
    link: RedisLink,
    private readonly options: RedisBreakerStoreOptions,
  ) {
    // Outcomes go out RECORD_BATCH per script call.
    super(link, { delayMs: RECORD_DELAY_MS, batch: RECORD_BATCH, send: (batch) => this.sendRecords(batch) });
    this.index = `${options.prefix}cb:keys`;
    this.refreshIntervalMs = options.refreshIntervalMs;
    link.onUp(() => {
      this.local = new MemoryBreakerStore();
    });
  }

  async acquire(key: string, policy: BreakerPolicy, now: number): Promise<Admission> {
    if (!this.link.usable()) return this.localAcquire(key, policy, now);
    try {
      const reply = asArray(await this.link.eval(ACQUIRE, [this.hash(key), this.index], [key, String(policy.cooldownMs), String(now), String(this.ttl(policy)), String(this.options.maxKeys)]));
      const decision = String(reply[0]);
      const state = decodeState(reply, 1);
      if ((decision !== 'allow' && decision !== 'probe' && decision !== 'open') || !state) throw new Error(`unexpected acquire reply from Redis: ${String(reply[0])}`);
      return { decision, state };
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      return this.localAcquire(key, policy, now);
    }
  }

  record(key: string, policy: BreakerPolicy, result: AttemptResult, now: number): Promise<BreakerState> | BreakerState {
    if (!this.link.usable()) return this.localRecord(key, policy, result, now);
    if (this.queue.length >= MAX_QUEUED_RECORDS) {
      this.link.countDropped(1);
      return Promise.reject(new StoreUnavailableError(`${this.queue.length} outcomes are waiting for Redis; this one was dropped`, 'busy'));
    }
    return new Promise<BreakerState>((resolve, reject) => this.enqueue({ key, policy, result, now, resolve, reject }));
  }

  async get(key: string): Promise<BreakerState | undefined> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: readonly string[]): Promise<Array<BreakerState | undefined>> {
    // Closed: the routers' background refresh stops for good on this answer.
    if (this.link.isClosed) throw new StoreUnavailableError('the Redis stores are closed', 'closed');
    if (!this.link.usable()) return this.fromLocal(keys);
    try {
      const reply = asArray(await this.link.eval(GET_MANY, keys.map((k) => this.hash(k)), []));
      return keys.map((_, i) => decodeState(reply, i * 6));
    } catch (err) {
      if (!isStoreUnavailable(err) || err.reason === 'closed') throw err;
      return this.fromLocal(keys);
    }
  }

  async snapshot(): Promise<BreakerSnapshot[]> {
    const reply = asArray(await this.link.eval(SNAPSHOT, [this.index], [`${this.options.prefix}cb:`, String(this.options.maxKeys)]));
    const out: BreakerSnapshot[] = [];
    for (let i = 0; i + 6 < reply.length; i += 7) {
      const state = decodeState(reply, i + 1);
      if (state) out.push({ key: String(reply[i]), state });
    }
    return out;
  }

  private hash(key: string): string {
    return `${this.options.prefix}cb:${key}`;
  }

  private ttl(policy: BreakerPolicy): number {
    return Math.max(this.options.ttlMs, 4 * Math.max(policy.windowMs, policy.cooldownMs * PROBE_STALE_FACTOR));
  }

  /** Records one batch of outcomes in one script call (locally, if Redis does not take them). */
  private async sendRecords(batch: QueuedRecord[]): Promise<void> {
    const args = [String(Math.max(...batch.map((r) => this.ttl(r.policy)))), String(this.options.maxKeys), `${this.options.prefix}cb:`];
    for (const { key, policy: p, result, now } of batch) {
      args.push(`${result.failed ? 1 : 0}${result.probe ? 1 : 0} ${now} ${p.windowMs} ${p.failureThreshold} ${p.minimumRequests} ${p.cooldownMs} ${key}`);
    }
    try {
      const reply = asArray(await this.link.eval(RECORD, [this.index], args));
      batch.forEach((r, i) => {
        const state = decodeState(String(reply[i]).split('|'), 0);
        if (state) r.resolve(state);
        else r.reject(new Error('unexpected record reply from Redis'));
      });
    } catch (err) {
      for (const r of batch) {
        if (isStoreUnavailable(err)) r.resolve(this.localRecord(r.key, r.policy, r.result, r.now));
        else r.reject(err);
      }
    }
  }

  private localAcquire(key: string, policy: BreakerPolicy, now: number): Admission {
    const { decision, state } = this.local.acquire(key, policy, now);
    return { decision, state: this.lift(state, now) };
  }

  private localRecord(key: string, policy: BreakerPolicy, result: AttemptResult, now: number): BreakerState {
    return this.lift(this.local.record(key, policy, result, now), now);
  }

  private fromLocal(keys: readonly string[]): Array<BreakerState | undefined> {
    const now = Date.now();
    return keys.map((k) => {
      const state = this.local.get(k);
      return state ? this.lift(state, now) : undefined;
    });
  }

  /** A local state with a version above any Redis gave before now (Redis's are time-based too). */
  private lift(state: BreakerState, now: number): BreakerState {
    this.lastLocalVersion = Math.max(this.lastLocalVersion + 1, now * 1000);
    return { ...state, version: this.lastLocalVersion };
  }
}
