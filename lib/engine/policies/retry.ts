/**
 * The retry policy (SPEC §5): retries a target on retryable failures, with exponential backoff
 * and full jitter, or the wait the upstream asked for. A wait is abandoned the moment the
 * request is (the client left, a hedge won), and a wait that does not fit is not made.
 */
import { cancelled, type AttemptCall, type RunContext } from '../context.js';
import type { Failure, Outcome } from '../outcome.js';
import type { RetryPolicy } from '../plan.js';
import { matchesStatus } from '../predicate.js';
import { requestFields } from '../../observe/log-lines.js';

/** Statuses retried on the same target when a policy names none. */
export const DEFAULT_RETRY_CODES: readonly number[] = [429, 500, 502, 503, 504];

/** First backoff step and cap, in ms. */
export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 8_000;

/** True when the failure may be retried on the same target under `policy`. */
export function isRetryable(failure: Failure, policy: RetryPolicy): boolean {
  // A timeout (an idle stream included) is never retried on the same target: fail over instead.
  if (failure.errorClass === 'timeout' || failure.timedOut === true || failure.local === true) return false;
  if (failure.errorClass === 'network') return true;
  // A 4xx other than 429 (and 408, a timeout) says the request itself is wrong for this target.
  if (failure.status >= 400 && failure.status < 500 && failure.status !== 429) return false;
  return matchesStatus(failure.status, policy.onStatusCodes ?? DEFAULT_RETRY_CODES);
}

/**
 * The shortest wait between two tries of one target, whatever the jitter draws or the upstream
 * asks (`retry-after-ms: 0`): never a tight loop.
 */
export const BACKOFF_MIN_MS = 50;

/**
 * Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2^retry)), raised
 * to at least BACKOFF_MIN_MS.
 */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  return Math.max(BACKOFF_MIN_MS, Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry)));
}

/**
 * The wait an upstream asked for, in ms: `retry-after-ms`, else `retry-after` in seconds or as
 * an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: Readonly<Record<string, string>>, now = Date.now()): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  // Only an HTTP date (RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete forms, all
  // in GMT): V8's lenient Date.parse would read "-5" or "abc 1" as dates in 2001.
  if (!/^\s*[A-Za-z]{3,9},?\s.*\d{2}:\d{2}:\d{2}\s+GMT\s*$/.test(value) && !/^\s*[A-Za-z]{3}\s+[A-Za-z]{3}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}\s+\d{4}\s*$/.test(value)) {
    return undefined;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or at once (false) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The info line of a retry about to wait: what failed, how long the wait, and whether the upstream asked for it. */
function logRetry(failure: Failure, call: AttemptCall, ctx: RunContext, waitMs: number, retryAfter: boolean): void {
  const logger = ctx.deps.logger;
  if (!logger.enabled('info')) return;
  const retry = call.retry + 1;
  logger.info(`express-llm-fallback: retrying ${failure.provider} in ${waitMs} ms after ${failure.status} ${failure.errorClass} (retry ${retry} of ${call.leaf.retry.attempts})`, {
    ...requestFields(ctx),
    provider: failure.provider,
    path: failure.path,
    status: failure.status,
    errorClass: failure.errorClass,
    retry,
    waitMs,
    retryAfter,
  });
}

/** Runs `next` with the target's retries. */
export async function retryPolicy(call: AttemptCall, ctx: RunContext, next: (call: AttemptCall) => Promise<Outcome>): Promise<Outcome> {
  const policy = call.leaf.retry;
  let last: Failure | undefined;
  for (;;) {
    const outcome = await next(call);
    // A retry the breaker refused (it opened meanwhile) leaves the failure that caused it.
    if (outcome.kind === 'skipped' && last !== undefined) return last;
    if (outcome.kind !== 'failure') return outcome;
    last = outcome;
    // A probe decides the breaker by itself: it is not retried.
    if (call.probe || call.retry >= policy.attempts || !isRetryable(outcome, policy)) return outcome;
    const asked = policy.useRetryAfterHeader ? outcome.retryAfterMs : undefined;
    const wait = Math.max(BACKOFF_MIN_MS, asked ?? backoffMs(call.retry));
    if (wait > ctx.deps.maxRetryAfterMs || wait >= ctx.totalBy - Date.now()) return outcome;
    logRetry(outcome, call, ctx, wait, asked !== undefined);
    if (!(await sleep(wait, ctx.signal))) return cancelled(ctx, call.leaf);
    call.retry += 1;
  }
}
