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
   * Grows with every change the store makes (by one in {@link MemoryBreakerStore}; a shared store
   * may use a clock-based number, so that it still grows after the store lost its data); the
   * router's mirror keeps the newest state it has seen, whatever order answers arrive in.
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
 * What the router hands a store once, when it is created with it (`attach`): its logger, so that
 * a shared store reports its outages where the host reads the router's warnings.
 */
export interface StoreContext {
  readonly logger: { warn: (message: string) => unknown; error: (message: string) => unknown; info?: ((message: string) => unknown) | undefined };
}

/** Where a store keeps its data and whether it can reach it now, for GET /health. */
export interface StoreStatus {
  /** `memory`, `redis`, or a custom store's own name. */
  readonly kind: string;
  /** True when several router instances share it (their breakers and traces are one). */
  readonly shared: boolean;
  /** False while a shared store cannot be reached (the router then runs on local state). */
  readonly reachable: boolean;
  /** Why it is unreachable, or other detail, in words. */
  readonly detail?: string;
  /** Commands or records dropped since start because the store was slow or down. */
  readonly dropped?: number;
}

/**
 * A shared store that cannot answer now, and has said so once itself: the router falls back to
 * local state without logging again. Recognised by its `code` (not by `instanceof`, so the ESM
 * and CJS copies of the package agree).
 */
export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable';
  constructor(
    message: string,
    /** `down` (unreachable or too slow), `busy` (too many commands in flight), `closed`. */
    readonly reason: 'down' | 'busy' | 'closed',
  ) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** Whether an error is a {@link StoreUnavailableError} (of any copy of the package). */
export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'store_unavailable';
}

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
  /**
   * Reads many keys' states in one round trip (undefined for a key without state), in the order
   * asked. A store shared by several instances implements it: the router then reads every key it
   * used lately in the background every `refreshIntervalMs` (while it is in use), so that a
   * breaker another instance opened is respected here within a second; it also replaces `get`. A store
   * that rejects with a {@link StoreUnavailableError} of reason `closed` stops that refresh.
   */
  getMany?(keys: readonly string[]): MaybePromise<ReadonlyArray<BreakerState | undefined>>;
  /** How often the router reads the keys in use again through `getMany`, in ms. @default 500 */
  readonly refreshIntervalMs?: number;
  /** Every key with state, for GET /health. */
  snapshot?(): MaybePromise<BreakerSnapshot[]>;
  /** Where the state lives and whether it is reachable now, for GET /health. */
  status?(): MaybePromise<StoreStatus>;
  /** Called once by each router created with this store, with the router's logger. */
  attach?(context: StoreContext): void;
  /** Releases connections or timers. */
  close?(): Promise<void>;
}

/** The state of a key no one has reported on. */
export const CLOSED: BreakerState = { state: 'closed', failures: 0, requests: 0, version: 0 };
