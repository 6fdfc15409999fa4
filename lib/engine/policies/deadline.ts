/**
 * The deadline policy (SPEC §5): `total_timeout` is one instant for the whole request, retries
 * and fallbacks included. Every attempt's own limit is clipped to what is left, and no attempt
 * starts when nothing is left (the target is recorded as skipped: deadline_exceeded).
 */
import { modelOf, record, type AttemptCall, type RunContext } from '../context.js';
import { failure, type Outcome } from '../outcome.js';
import { attemptTimeoutMs } from './timeout.js';

export function deadlinePolicy(call: AttemptCall, ctx: RunContext, next: (call: AttemptCall) => Promise<Outcome>): Promise<Outcome> {
  const { leaf } = call;
  const now = Date.now();
  const left = ctx.totalBy - now;
  if (left <= 0) {
    const model = modelOf(call.body);
    record(ctx, { path: leaf.path, provider: leaf.target.provider, ...(model ? { model } : {}), retry: call.retry, startedAt: now, latencyMs: 0, skipped: 'deadline_exceeded' });
    return Promise.resolve(
      failure('total_timeout', 'timeout', 'The total_timeout of the request ran out before this target was tried.', { provider: leaf.target.provider, path: leaf.path }, { timedOut: true }),
    );
  }
  call.timeoutMs = Math.min(attemptTimeoutMs(leaf, ctx.input), left);
  call.firstContentBy = now + call.timeoutMs;
  return next(call);
}
