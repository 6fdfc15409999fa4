/**
 * Where circuit-breaker state lives: a small interface of atomic operations (like
 * express-rate-limit's Store), so that a shared implementation (Redis, a database) lets a fleet
 * of router instances fail over as one. The default is {@link MemoryBreakerStore}.
 *
 * The router keeps a local mirror of what the store last said: a request to a healthy target
 * never awaits the store, outcomes are recorded without being awaited, and the store is asked
 * (awaited) only when a target's cooldown is over and a probe may go.
 */

/** Breaker thresholds of one target (SPEC §5). */
export interface BreakerPolicy {
  /** Failures within the window that open the breaker. */
  readonly failureThreshold: number;
  /** Requests within the window before it may open. */
  readonly minimumRequests: number;
  readonly windowMs: number;
  /** How long an open breaker skips its target before one probe is let through. */
  readonly cooldownMs: number;
  /**
   * Set for a `cb_config` a request brought: its breakers are kept apart (the key ends in this
   * scope), so one client's thresholds never decide for the others.
   */
  readonly scope?: string;
}

/** @deprecated The name of {@link BreakerPolicy} in 0.1. */
export type BreakerConfig = BreakerPolicy;

/** Defaults for any field a config leaves out. */
export const BREAKER_DEFAULTS: BreakerPolicy = { failureThreshold: 5, minimumRequests: 5, windowMs: 60_000, cooldownMs: 30_000 };

/** One target's breaker, as a store reports it. */
export interface BreakerState {
  readonly state: 'closed' | 'open' | 'half_open';
  /** When it last opened (epoch ms); set while open or half-open. */
  readonly openedAt?: number;
  /** The cooldown in force when it opened. */
  readonly cooldownMs?: number;
  /** Failures and requests counted in the current window. */
  readonly failures: number;
  readonly requests: number;
  /**
   * Grows by one with every change the store makes; the router's mirror keeps the newest state
   * it has seen, whatever order answers arrive in.
   */
  readonly version: number;
}

/** What the store decided about one request to a target. */
export interface Admission {
  /** `allow`: closed; `probe`: this request is the one half-open probe; `open`: skip the target. */
  readonly decision: 'allow' | 'probe' | 'open';
  readonly state: BreakerState;
}

/** What one attempt tells the breaker. */
export interface AttemptResult {
  /** True for failures that say something about the target's health (not about the request). */
  readonly failed: boolean;
  /** True when the attempt was the half-open probe (or a last-resort try of an open target). */
  readonly probe: boolean;
}

/** One key's state, for GET /health. */
export interface BreakerSnapshot {
  readonly key: string;
  readonly state: BreakerState;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Breaker state storage. Each method is one atomic operation: concurrent calls (from one
 * instance or many) never lose an update, and only one caller per cooldown gets `probe`.
 * Methods may be sync or async; a store that throws, rejects or is slow never fails a request
 * (the breaker then fails open).
 */
export interface BreakerStore {
  /**
   * Decides whether a request may go to the target now. Closed: `allow`. Open within the
   * cooldown: `open`. Open past it: the first caller gets `probe` (the state becomes
   * half-open) and every other caller `open`, until the probe reports or goes stale (twice
   * the cooldown without a report), when one more probe is admitted.
   */
  acquire(key: string, policy: BreakerPolicy, now: number): MaybePromise<Admission>;
  /**
   * Counts one attempt's result. A probe's result decides alone: success closes (with a clean
   * window), failure opens again. Otherwise, `failureThreshold` failures out of at least
   * `minimumRequests` within `windowMs` open the breaker. Returns the state after the update.
   */
  record(key: string, policy: BreakerPolicy, result: AttemptResult, now: number): MaybePromise<BreakerState>;
  /**
   * Reads one key's state without changing it. The router calls it in the background (never
   * awaited on a request's path) the first time it meets a key, to learn what other instances
   * wrote; without it, an instance learns a key's state from its own acquire and record calls.
   */
  get?(key: string): MaybePromise<BreakerState | undefined>;
  /** Every key with state, for GET /health. */
  snapshot?(): MaybePromise<BreakerSnapshot[]>;
  /** Releases connections or timers. */
  close?(): Promise<void>;
}

/** The state of a key no one has reported on. */
export const CLOSED: BreakerState = { state: 'closed', failures: 0, requests: 0, version: 0 };
