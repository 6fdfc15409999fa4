/**
 * One target of a plan, with its policies around the attempt kernel:
 * retry( breaker( deadline( kernel ))). Every retry passes the breaker again, so a breaker that
 * opens stops the retries, and the deadline again, so none starts when the time is up.
 */
import { attemptCall, record, type AttemptCall, type RunContext } from './context.js';
import { attempt } from './kernel.js';
import type { Outcome } from './outcome.js';
import type { PlanTarget } from './plan.js';
import { breakerPolicy } from './policies/breaker.js';
import { deadlinePolicy } from './policies/deadline.js';
import { retryPolicy } from './policies/retry.js';
import { recoverer } from './stream/recovery.js';

/** One attempt, with stream recovery when the target asks for it. */
function recoverableAttempt(call: AttemptCall, ctx: RunContext): Promise<Outcome> {
  return attempt(call, ctx, ctx.input.stream ? { recover: recoverer(ctx, call.leaf, recoverableAttempt) } : {});
}

const deadlined = (call: AttemptCall, ctx: RunContext): Promise<Outcome> => deadlinePolicy(call, ctx, (c) => recoverableAttempt(c, ctx));
const guarded = (call: AttemptCall, ctx: RunContext): Promise<Outcome> => breakerPolicy(call, ctx, (c) => deadlined(c, ctx));

/**
 * Runs one target with its retries. `force` tries it even when its breaker is open (the last
 * resort of a strategy whose targets are all open); such an attempt counts as the probe.
 */
export function runTarget(leaf: PlanTarget, ctx: RunContext, force = false): Promise<Outcome> {
  const { input, deps } = ctx;
  const adapter = deps.adapters.get(leaf.target.provider);
  if (!adapter || !adapter.endpoints.has(input.endpoint)) {
    record(ctx, { path: leaf.path, provider: leaf.target.provider, retry: 0, startedAt: Date.now(), latencyMs: 0, skipped: 'unsupported_endpoint' });
    return Promise.resolve({ kind: 'skipped', ok: false, path: leaf.path });
  }
  const body = Object.keys(leaf.overrideParams).length === 0 ? input.body : { ...input.body, ...leaf.overrideParams };
  return retryPolicy(attemptCall(leaf, adapter, body, force), ctx, (c) => guarded(c, ctx));
}
