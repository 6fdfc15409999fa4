/**
 * The timeout policy (SPEC §5): an attempt is aborted when it has not answered by an absolute
 * instant (its first content, for a stream), or when a committed stream stays silent for longer
 * than `stream_idle_timeout`. Deadlines are instants, never timers restarted per event, so
 * keep-alive events (Anthropic pings, Azure filter chunks, SSE comments) cannot stretch them.
 */
import type { RunInput } from '../context.js';
import type { PlanTarget } from '../plan.js';

/** The per-attempt time limit: the request header's, else the target's `request_timeout`. */
export function attemptTimeoutMs(leaf: PlanTarget, input: RunInput): number {
  return input.requestTimeout ?? leaf.requestTimeout;
}

/** Which limit a watchdog hit. */
export type Expiry = 'deadline' | 'idle';

/**
 * One timer per attempt. `until(by)` fires at the instant `by` whatever happens meanwhile;
 * `idle(ms, by)` fires after `ms` without a `touch()`, or at `by`. A touch costs one clock read
 * (the timer is re-armed only when it fires early), so a fast stream pays no timer per event.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private by = Infinity;
  private idleMs = Infinity;
  private lastEventAt = 0;
  private stopped = false;

  constructor(private readonly onExpire: (expiry: Expiry) => void) {}

  /** Expire at the absolute instant `by` (epoch ms); events do not move it. */
  until(by: number): void {
    this.idleMs = Infinity;
    this.by = by;
    this.schedule();
  }

  /** Expire after `idleMs` without an event, or at `by`. */
  idle(idleMs: number, by = Infinity): void {
    this.idleMs = idleMs;
    this.by = by;
    this.lastEventAt = Date.now();
    this.schedule();
  }

  /** An event arrived (meaningful in idle mode). */
  touch(): void {
    this.lastEventAt = Date.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const at = Math.min(this.by, this.lastEventAt + this.idleMs);
    if (!Number.isFinite(at)) return;
    this.timer = setTimeout(this.check, Math.max(1, at - Date.now()));
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.stopped) return;
    const now = Date.now();
    if (now >= this.by) this.expire('deadline');
    else if (now - this.lastEventAt >= this.idleMs) this.expire('idle');
    else this.schedule();
  };

  private expire(expiry: Expiry): void {
    this.stopped = true;
    this.onExpire(expiry);
  }
}
