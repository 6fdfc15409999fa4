/**
 * A circuit breaker per target (provider + model + endpoint), SPEC §5: after
 * `failureThreshold` failures out of at least `minimumRequests` within `windowMs`, the target is
 * skipped for `cooldownMs`; then one probe is let through (half-open), and its success closes
 * the breaker again. State lives behind a small BreakerStore so instances can share it.
 */
import { createHash } from 'node:crypto';
import type { ErrorClass } from '../providers/types.js';

/** Breaker thresholds. */
export interface BreakerConfig {
  readonly failureThreshold: number;
  readonly minimumRequests: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
}

/** Defaults for any field a config leaves out. */
export const BREAKER_DEFAULTS: BreakerConfig = { failureThreshold: 5, minimumRequests: 5, windowMs: 60_000, cooldownMs: 30_000 };

/** The state of one target's breaker, as stored. */
export interface BreakerState {
  state: 'closed' | 'open' | 'half_open';
  /** Outcomes within the window: epoch ms and whether it failed. */
  events: Array<{ at: number; failed: boolean }>;
  /** When the breaker last opened (epoch ms). */
  openedAt?: number;
  /** When the half-open probe was let through (epoch ms); a stale probe is replaced. */
  probeAt?: number;
  /** The cooldown in force when it opened (for GET /health's next probe time). */
  cooldownMs?: number;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Where breaker state lives. The default keeps it in memory; a shared implementation (Redis, a
 * database) lets several router instances see the same breakers. Methods may be sync or async.
 */
export interface BreakerStore {
  get(key: string): MaybePromise<BreakerState | undefined>;
  set(key: string, state: BreakerState): MaybePromise<void>;
  /** Every key with state, for GET /health. */
  keys(): MaybePromise<string[]>;
}

/**
 * The default store: a Map in this process, bounded (a key includes the model, which a client
 * may choose freely): past `maxEntries` the least recently written key is dropped.
 */
export class MemoryBreakerStore implements BreakerStore {
  private readonly states = new Map<string, BreakerState>();
  constructor(private readonly maxEntries = 10_000) {}
  get(key: string): BreakerState | undefined {
    return this.states.get(key);
  }
  set(key: string, state: BreakerState): void {
    this.states.delete(key);
    this.states.set(key, state);
    if (this.states.size > this.maxEntries) this.states.delete(this.states.keys().next().value!);
  }
  keys(): string[] {
    return [...this.states.keys()];
  }
}

/** Failures that say something about the target's health (not about the request). */
const COUNTED: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['rate_limit', 'server', 'timeout', 'network', 'invalid_response', 'stream_interrupted', 'auth']);

/** True when a failure of this class counts against the target's breaker. */
export function countsAgainstBreaker(errorClass: ErrorClass): boolean {
  return COUNTED.has(errorClass);
}

/**
 * The breaker key of a target: provider, model, endpoint, and which account and host serve it
 * (a short hash of base URL and key, never the key itself), so two OpenAI accounts in one chain
 * have a breaker each. Stable across instances, for a shared store.
 */
export function breakerKey(provider: string, model: string | undefined, endpoint: string, baseURL?: string, apiKey?: string): string {
  const account = createHash('sha256').update(`${baseURL ?? ''}\n${apiKey ?? ''}`).digest('hex').slice(0, 10);
  return `${provider}|${model ?? '-'}|${endpoint}|${account}`;
}

/** What the engine may do with a target now. */
export type Admission = 'allow' | 'probe' | 'open';

/** A probe that has not reported within this long is considered lost; another may go. */
const PROBE_STALE_FACTOR = 2;

/** Longest wait for the breaker store; past it the breaker fails open (the request goes on). */
export const BREAKER_STORE_TIMEOUT_MS = 250;

/**
 * Breaker decisions over a store. A store that throws, rejects or is slow never fails or holds
 * a request: the breaker then fails open (the target is tried, nothing is recorded), and the
 * trouble is logged once a minute at most.
 */
export class CircuitBreakers {
  private lastComplaint = 0;

  constructor(
    private readonly store: BreakerStore,
    private readonly logger: { error: (...args: unknown[]) => void } = console,
    private readonly now: () => number = Date.now,
  ) {}

  private async guard<T>(what: string, op: () => Promise<T>, fallback: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        op(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${BREAKER_STORE_TIMEOUT_MS} ms`)), BREAKER_STORE_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      if (this.now() - this.lastComplaint > 60_000) {
        this.lastComplaint = this.now();
        this.logger.error(`express-llm-fallback: breakerStore failed (${what}); breakers fail open:`, err instanceof Error ? err.message : err);
      }
      return fallback;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Whether a target may be tried now; 'probe' means it is the half-open probe. */
  admit(key: string, config: BreakerConfig): Promise<Admission> {
    return this.guard('admit', () => this.admitNow(key, config), 'allow');
  }

  /** Records an attempt's outcome (`failed` only for failures that count). */
  report(key: string, config: BreakerConfig, failed: boolean, wasProbe: boolean): Promise<void> {
    return this.guard('report', () => this.reportNow(key, config, failed, wasProbe), undefined);
  }

  /** True while the breaker is open (no side effect, unlike admit). */
  isOpen(key: string): Promise<boolean> {
    return this.guard('get', async () => (await this.store.get(key))?.state === 'open', false);
  }

  /** When an open breaker opened, for choosing the least recently opened one. */
  openedAt(key: string): Promise<number> {
    return this.guard('get', async () => (await this.store.get(key))?.openedAt ?? 0, 0);
  }

  private async admitNow(key: string, config: BreakerConfig): Promise<Admission> {
    const state = await this.store.get(key);
    if (!state || state.state === 'closed') return 'allow';
    const now = this.now();
    const probeDue = (state.openedAt ?? 0) + config.cooldownMs <= now;
    if (state.state === 'open' && probeDue) {
      await this.store.set(key, { ...state, state: 'half_open', probeAt: now });
      return 'probe';
    }
    if (state.state === 'half_open' && (state.probeAt ?? 0) + config.cooldownMs * PROBE_STALE_FACTOR <= now) {
      await this.store.set(key, { ...state, probeAt: now });
      return 'probe';
    }
    return 'open';
  }

  private async reportNow(key: string, config: BreakerConfig, failed: boolean, wasProbe: boolean): Promise<void> {
    const now = this.now();
    const state = (await this.store.get(key)) ?? { state: 'closed' as const, events: [] };
    if (wasProbe || state.state === 'half_open') {
      // The probe decides: success closes (with a clean window), failure opens again.
      await this.store.set(key, failed ? { state: 'open', events: [], openedAt: now, cooldownMs: config.cooldownMs } : { state: 'closed', events: [] });
      return;
    }
    if (state.state === 'open') return; // a straggler from before it opened
    const inWindow = [...state.events.filter((e) => e.at > now - config.windowMs), { at: now, failed }];
    // Deciding needs only "at least failureThreshold failures out of at least minimumRequests
    // requests": the newest max(threshold, minimum) failures and minimum successes tell that.
    const failuresKept = inWindow.filter((e) => e.failed).slice(-Math.max(config.failureThreshold, config.minimumRequests));
    const successesKept = inWindow.filter((e) => !e.failed).slice(-config.minimumRequests);
    const events = [...failuresKept, ...successesKept].sort((a, b) => a.at - b.at);
    const failures = failuresKept.length;
    if (events.length >= config.minimumRequests && failures >= config.failureThreshold) {
      await this.store.set(key, { state: 'open', events: [], openedAt: now, cooldownMs: config.cooldownMs });
      return;
    }
    await this.store.set(key, { state: 'closed', events });
  }

  /** Every known target's state, for GET /health. */
  async snapshot(): Promise<Array<Record<string, unknown>>> {
    const keys = await this.store.keys();
    const now = this.now();
    const rows: Array<Record<string, unknown>> = [];
    for (const key of keys) {
      const state = await this.store.get(key);
      if (!state) continue;
      const [provider, model, endpoint, account] = key.split('|');
      const events = state.events.filter((e) => e.at > now - 3_600_000);
      rows.push({
        target: key,
        provider,
        model: model === '-' ? null : model,
        endpoint,
        account: account ?? null,
        state: state.state,
        recent_requests: events.length,
        recent_failures: events.filter((e) => e.failed).length,
        opened_at: state.openedAt !== undefined && state.state !== 'closed' ? new Date(state.openedAt).toISOString() : null,
        next_probe_at:
          state.state === 'open' && state.openedAt !== undefined
            ? new Date(state.openedAt + (state.cooldownMs ?? BREAKER_DEFAULTS.cooldownMs)).toISOString()
            : null,
      });
    }
    return rows;
  }
}
