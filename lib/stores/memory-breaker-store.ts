/**
 * The default BreakerStore: state in this process. Every operation is synchronous, so it is
 * atomic by construction (no await between reading and writing a key).
 */
import { CLOSED, type Admission, type AttemptResult, type BreakerPolicy, type BreakerSnapshot, type BreakerState, type BreakerStore, type StoreStatus } from './breaker-store.js';

/** A probe that has not reported within this many cooldowns is considered lost; another may go. */
const PROBE_STALE_FACTOR = 2;

interface Entry {
  state: BreakerState;
  /** Outcomes within the window, oldest first: epoch ms and whether it failed. */
  events: Array<{ at: number; failed: boolean }>;
  /** When the half-open probe was let through. */
  probeAt?: number;
}

/**
 * In-memory breaker state, bounded: a key names a model, which a client may choose freely, so
 * past `maxEntries` the least recently written key is dropped.
 */
export class MemoryBreakerStore implements BreakerStore {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly maxEntries = 10_000) {}

  acquire(key: string, policy: BreakerPolicy, now: number): Admission {
    const entry = this.entries.get(key);
    if (!entry || entry.state.state === 'closed') return { decision: 'allow', state: entry?.state ?? CLOSED };
    const { state } = entry;
    if (state.state === 'open' && (state.openedAt ?? 0) + (state.cooldownMs ?? policy.cooldownMs) <= now) {
      entry.probeAt = now;
      return { decision: 'probe', state: this.write(key, entry, { ...state, state: 'half_open' }) };
    }
    if (state.state === 'half_open' && (entry.probeAt ?? 0) + (state.cooldownMs ?? policy.cooldownMs) * PROBE_STALE_FACTOR <= now) {
      entry.probeAt = now;
      return { decision: 'probe', state: this.write(key, entry, { ...state }) };
    }
    return { decision: 'open', state };
  }

  record(key: string, policy: BreakerPolicy, result: AttemptResult, now: number): BreakerState {
    const entry = this.entries.get(key) ?? { state: CLOSED, events: [] };
    const { state } = entry;
    if (result.probe || state.state === 'half_open') {
      // The probe decides: success closes with a clean window, failure opens again.
      entry.events = [];
      delete entry.probeAt;
      return this.write(key, entry, result.failed ? opened(state, policy, now) : { state: 'closed', failures: 0, requests: 0, version: state.version + 1 });
    }
    if (state.state === 'open') return state; // a straggler from before it opened
    const inWindow = entry.events.filter((e) => e.at > now - policy.windowMs);
    inWindow.push({ at: now, failed: result.failed });
    // Deciding needs only "at least failureThreshold failures out of at least minimumRequests
    // requests": the newest max(threshold, minimum) failures and minimum successes tell that.
    const failures = inWindow.filter((e) => e.failed).slice(-Math.max(policy.failureThreshold, policy.minimumRequests));
    const successes = inWindow.filter((e) => !e.failed).slice(-policy.minimumRequests);
    entry.events = [...failures, ...successes].sort((a, b) => a.at - b.at);
    if (entry.events.length >= policy.minimumRequests && failures.length >= policy.failureThreshold) {
      entry.events = [];
      return this.write(key, entry, opened(state, policy, now));
    }
    return this.write(key, entry, { state: 'closed', failures: failures.length, requests: entry.events.length, version: state.version + 1 });
  }

  get(key: string): BreakerState | undefined {
    return this.entries.get(key)?.state;
  }

  snapshot(): BreakerSnapshot[] {
    return [...this.entries].map(([key, entry]) => ({ key, state: entry.state }));
  }

  /** Local to this process: each instance has its own breakers. */
  status(): StoreStatus {
    return { kind: 'memory', shared: false, reachable: true };
  }

  private write(key: string, entry: Entry, state: BreakerState): BreakerState {
    entry.state = state;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return state;
  }
}

function opened(previous: BreakerState, policy: BreakerPolicy, now: number): BreakerState {
  return { state: 'open', openedAt: now, cooldownMs: policy.cooldownMs, failures: 0, requests: 0, version: previous.version + 1 };
}
