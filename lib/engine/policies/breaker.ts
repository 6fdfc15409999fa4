/**
 * The circuit-breaker policy (SPEC §5), per target (provider + model + endpoint + account).
 *
 * CircuitBreakers keeps a local mirror of what the BreakerStore last said about each key. A
 * request to a target the mirror knows as closed (or as open within its cooldown) is decided
 * without touching the store; only when a cooldown is over is the store asked, atomically, who
 * probes, and only one request of this instance asks at a time. Outcomes are recorded without
 * being awaited. A store that throws, rejects or is slow never fails or holds a request: the
 * breaker fails open, and the trouble is logged once a minute at most.
 *
 * With a store shared by several instances (one with `getMany`), the keys this instance used in
 * the last half minute are read again in the background every {@link BREAKER_REFRESH_MS} (or the
 * store's `refreshIntervalMs`), in one batched call, so that a breaker another instance opened is respected here within a second.
 */
import { createHash } from 'node:crypto';
import { CLOSED, isStoreUnavailable, type BreakerPolicy, type BreakerSnapshot, type BreakerState, type BreakerStore, type StoreStatus } from '../../stores/breaker-store.js';
import { modelOf, record, type AttemptCall, type RunContext } from '../context.js';
import type { EngineEvents } from '../events.js';
import type { Failure, Outcome } from '../outcome.js';
import { createLogger, type Logger, type LoggerInput } from '../../observe/logger.js';

/**
 * Failures that say something about the provider's health, not about the request: an upstream
 * 5xx or 429, a network error or a broken stream, and a timeout no shorter than the host's own
 * (a client's `request_timeout: 1` times out on any provider). Rejections of the request (4xx),
 * auth failures (the key is the config's), garbage answers and the router's own limits never
 * count, so one client cannot open a breaker that every client shares.
 */
export function countsAgainstBreaker(failure: Failure, timeoutMs: number, hostTimeoutMs: number): boolean {
  if (failure.local === true) return false;
  switch (failure.errorClass) {
    case 'rate_limit':
    case 'server':
      return failure.status === 429 || failure.status >= 500;
    case 'network':
    case 'stream_interrupted':
      return true;
    case 'timeout':
      return timeoutMs >= hostTimeoutMs;
    default:
      return false;
  }
}

/**
 * The breaker key of a target: provider, model, endpoint, and which account and host serve it
 * (a short hash of base URL and key, never the key itself), so two OpenAI accounts in one chain
 * have a breaker each. Stable across instances, for a shared store.
 */
export function breakerKey(provider: string, model: string | undefined, endpoint: string, baseURL?: string, apiKey?: string, scope?: string): string {
  const account = createHash('sha256').update(`${baseURL ?? ''}\n${apiKey ?? ''}`).digest('hex').slice(0, 10);
  const key = `${provider}|${model ?? '-'}|${endpoint}|${account}`;
  return scope === undefined ? key : `${key}|${scope}`;
}

/** What the engine may do with a target now. */
export type Decision = 'allow' | 'probe' | 'open';

/** Longest wait for the store's probe decision; past it the breaker fails open. */
export const BREAKER_STORE_TIMEOUT_MS = 250;
/** Most records awaiting a store that has not answered; beyond, outcomes are not recorded. */
const MAX_PENDING_RECORDS = 1000;
/** Most keys mirrored (a key names a model, which a client may choose freely). */
const MAX_MIRRORED = 10_000;
/** How often the keys in use are read again from a shared store (one with `getMany`), unless it says. */
export const BREAKER_REFRESH_MS = 500;
/** A key not admitted for this long is no longer refreshed (nor is anything, once none is left). */
const REFRESH_ACTIVE_MS = 30_000;
/** Most keys per `getMany` call. */
const REFRESH_BATCH = 500;

interface Mirrored {
  state: BreakerState;
  /** A request of this instance is asking the store for the probe, or is the probe. */
  probing: boolean;
  /** When a request last asked about it (kept only for a store with `getMany`). */
  usedAt: number;
  /** When this instance saw the state change last (epoch ms, the `at` of `breaker:state`); 0: never. */
  changedAt: number;
}

/** One key's state for GET /health, with when it last changed, as far as this instance knows. */
export interface BreakerRow extends BreakerSnapshot {
  /** Epoch ms of the last transition this instance saw (or, for an open breaker it never saw change, when it opened). */
  readonly lastTransitionAt?: number;
}

const isThenable = <T>(value: T | Promise<T>): value is Promise<T> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';

export class CircuitBreakers {
  private readonly mirror = new Map<string, Mirrored>();
  private lastComplaint = -Infinity;
  private pending = 0;
  /** The periodic refresh, running while keys are in use (shared stores only). */
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  /** Set once the store said it is closed: no refresh starts again. */
  private refreshStopped = false;
  /** Keys met since the last read, read on the next turn of the event loop. */
  private readonly met = new Set<string>();
  private readonly logger: Logger;

  constructor(
    private readonly store: BreakerStore,
    private readonly events: EngineEvents,
    logger?: LoggerInput,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = createLogger(logger);
  }

  /** Whether a request may go to the target now; synchronous unless a cooldown is over. */
  admit(key: string, policy: BreakerPolicy): Decision | Promise<Decision> {
    const m = this.mirror.get(key) ?? this.meet(key);
    if (this.store.getMany) this.used(m);
    if (m.state.state === 'closed') return 'allow';
    const now = this.now();
    if (m.state.state === 'open' && (m.state.openedAt ?? 0) + (m.state.cooldownMs ?? policy.cooldownMs) > now) return 'open';
    if (m.probing) return 'open';
    m.probing = true;
    const settle = (decision: Decision, state?: BreakerState): Decision => {
      if (state) this.apply(key, state);
      if (decision !== 'probe') m.probing = false;
      return decision;
    };
    let answer;
    try {
      answer = this.store.acquire(key, policy, now);
    } catch (err) {
      this.complain('acquire', err);
      return settle('allow');
    }
    if (!isThenable(answer)) return settle(answer.decision, answer.state);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${BREAKER_STORE_TIMEOUT_MS} ms`)), BREAKER_STORE_TIMEOUT_MS);
    });
    return Promise.race([answer, timeout]).then(
      (a) => settle(a.decision, a.state),
      (err: unknown) => {
        this.complain('acquire', err);
        return settle('allow');
      },
    ).finally(() => clearTimeout(timer));
  }

  /** Records an attempt's outcome without waiting for the store. */
  report(key: string, policy: BreakerPolicy, failed: boolean, probe: boolean): void {
    const m = this.mirror.get(key);
    // One time for the record: a breaker this record opens has opened then, in the store and in
    // the mirror alike (its `openedAt`, and the `at` of its transition).
    const now = this.now();
    if (probe && m) {
      // What the probe decided is known at once; the store's answer (newer) confirms it.
      m.probing = false;
      this.change(key, m, failed ? { ...m.state, state: 'open', openedAt: now, cooldownMs: policy.cooldownMs } : { ...CLOSED, version: m.state.version }, now);
    }
    let answer;
    try {
      answer = this.store.record(key, policy, { failed, probe }, now);
    } catch (err) {
      this.complain('record', err);
      return;
    }
    if (!isThenable(answer)) {
      this.apply(key, answer, now);
      return;
    }
    if (this.pending >= MAX_PENDING_RECORDS) {
      answer.then(undefined, () => undefined); // not counted, but never an unhandled rejection
      return;
    }
    this.pending += 1;
    answer.then(
      (state) => {
        this.pending -= 1;
        this.apply(key, state, now);
      },
      (err: unknown) => {
        this.pending -= 1;
        this.complain('record', err);
      },
    );
  }

  /** Forgets this instance's probe (it was abandoned); the store's goes stale by itself. */
  release(key: string): void {
    const m = this.mirror.get(key);
    if (m) m.probing = false;
  }

  /** When an open breaker opened (0 when unknown), for choosing the least recently opened one. */
  openedAt(key: string): number {
    return this.mirror.get(key)?.state.openedAt ?? 0;
  }

  /** Where the breaker state lives and whether it is reachable, for GET /health. */
  async storeStatus(): Promise<StoreStatus> {
    return this.store.status ? await this.store.status() : { kind: 'custom', shared: false, reachable: true };
  }

  /**
   * Every known target's state, for GET /health: the store's view when it has one, each with the
   * time of its last transition (this instance's, when it mirrors the same state).
   */
  async snapshot(): Promise<BreakerRow[]> {
    let rows: readonly BreakerSnapshot[] | undefined;
    if (this.store.snapshot) {
      try {
        rows = await this.store.snapshot();
      } catch (err) {
        this.complain('snapshot', err);
      }
    }
    return (rows ?? [...this.mirror].map(([key, m]) => ({ key, state: m.state }))).map((row) => {
      const m = this.mirror.get(row.key);
      const seen = m !== undefined && m.changedAt > 0 && m.state.state === row.state.state ? m.changedAt : undefined;
      const at = seen ?? (row.state.state === 'open' ? row.state.openedAt : undefined);
      return at === undefined ? row : { ...row, lastTransitionAt: at };
    });
  }

  /**
   * A key seen for the first time: mirrored as closed at once, while the store is asked in the
   * background what other instances know of it.
   */
  private meet(key: string): Mirrored {
    const m: Mirrored = { state: CLOSED, probing: false, usedAt: 0, changedAt: 0 };
    this.mirror.set(key, m);
    if (this.mirror.size > MAX_MIRRORED) this.mirror.delete(this.mirror.keys().next().value!);
    if (this.store.getMany) {
      if (this.met.size === 0) setImmediate(() => void this.refresh(this.met));
      this.met.add(key);
      return m;
    }
    if (!this.store.get) return m;
    try {
      const answer = this.store.get(key);
      if (!isThenable(answer)) {
        if (answer) this.apply(key, answer);
      } else {
        answer.then(
          (state) => state && this.apply(key, state),
          (err: unknown) => this.complain('get', err),
        );
      }
    } catch (err) {
      this.complain('get', err);
    }
    return m;
  }

  /** Marks a key as in use, and keeps the periodic refresh running while any is. */
  private used(m: Mirrored): void {
    m.usedAt = this.now();
    if (this.refreshTimer || this.refreshStopped) return;
    this.refreshTimer = setInterval(() => {
      if (this.refreshing) return;
      const since = this.now() - REFRESH_ACTIVE_MS;
      const keys = [...this.mirror].filter(([, e]) => e.usedAt >= since).map(([k]) => k);
      if (keys.length === 0) this.stopRefresh();
      else void this.refresh(keys);
    }, this.store.refreshIntervalMs ?? BREAKER_REFRESH_MS);
    this.refreshTimer.unref();
  }

  private stopRefresh(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** Reads the keys' states from the store in batches and takes the newer ones; never throws. */
  private async refresh(which: Iterable<string>): Promise<void> {
    const keys = [...which];
    if (which instanceof Set) which.clear();
    this.refreshing = true;
    try {
      for (let i = 0; i < keys.length && this.store.getMany; i += REFRESH_BATCH) {
        const batch = keys.slice(i, i + REFRESH_BATCH);
        const states = await this.store.getMany(batch);
        batch.forEach((key, j) => {
          const state = states[j];
          if (state && this.mirror.has(key)) this.apply(key, state);
        });
      }
    } catch (err) {
      if (isStoreUnavailable(err) && err.reason === 'closed') {
        this.refreshStopped = true;
        this.stopRefresh();
      } else {
        this.complain('getMany', err);
      }
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * Takes a state from the store when it is newer than the mirrored one. `at`: when the change
   * happened, when this instance's own record made it (else now, when it is seen).
   */
  private apply(key: string, state: BreakerState, at?: number): void {
    const m = this.mirror.get(key) ?? this.meet(key);
    if (state.version < m.state.version) return;
    this.change(key, m, state, at);
  }

  private change(key: string, m: Mirrored, state: BreakerState, at = this.now()): void {
    const from = m.state.state;
    m.state = state;
    if (from === state.state) return;
    m.changedAt = at;
    if (this.events.has('breaker:state')) this.events.emit('breaker:state', { key, from, to: state.state, at: m.changedAt });
  }

  private complain(what: string, err: unknown): void {
    // A shared store that is unreachable has said so itself, once per outage.
    if (isStoreUnavailable(err) || this.now() - this.lastComplaint < 60_000) return;
    this.lastComplaint = this.now();
    this.logger.error(`express-llm-fallback: breakerStore failed (${what}); breakers fail open`, { err, operation: what });
  }
}

/** The breaker around a target's attempts: skips an open target, admits one probe, records outcomes. */
export async function breakerPolicy(call: AttemptCall, ctx: RunContext, next: (call: AttemptCall) => Promise<Outcome>): Promise<Outcome> {
  const policy = call.leaf.breaker;
  if (!policy) return next(call);
  const { leaf } = call;
  const breakers = ctx.deps.breakers;
  const key = breakerKey(leaf.target.provider, modelOf(call.body), ctx.input.endpoint, leaf.target.baseURL, leaf.target.apiKey, policy.scope);
  if (call.force && call.retry === 0) {
    call.probe = true;
  } else {
    const admitted = breakers.admit(key, policy);
    const decision = typeof admitted === 'string' ? admitted : await admitted;
    if (decision === 'open') {
      if (call.retry === 0) {
        const model = modelOf(call.body);
        record(ctx, { path: leaf.path, provider: leaf.target.provider, ...(model ? { model } : {}), retry: 0, startedAt: Date.now(), latencyMs: 0, skipped: 'circuit_open' });
        ctx.openSkipped.push({ leaf, openedAt: breakers.openedAt(key) });
      }
      return { kind: 'skipped', ok: false, path: leaf.path };
    }
    call.probe = decision === 'probe';
  }
  const outcome = await next(call);
  if (outcome.kind === 'failure') breakers.report(key, policy, countsAgainstBreaker(outcome, call.timeoutMs, ctx.plan.trusted ? leaf.requestTimeout : ctx.deps.hostRequestTimeout), call.probe);
  else if (outcome.ok) breakers.report(key, policy, false, call.probe);
  else if (call.probe) breakers.release(key); // a probe nobody waited for tells nothing
  return outcome;
}
