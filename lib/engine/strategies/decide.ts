/**
 * What the strategies share: the fallback decision (the built-in predicate or
 * options.shouldFallback) and the `fallback` event.
 */
import type { RunContext } from '../context.js';
import type { Failure, Outcome } from '../outcome.js';
import type { AttemptContext, PlanGroup, PlanNode } from '../plan.js';
import { defaultShouldFallback } from '../predicate.js';
import { requestFields } from '../../observe/log-lines.js';

/** A node runner, handed to strategies so they need not import the dispatcher. */
export type RunNode = (node: PlanNode, ctx: RunContext) => Promise<Outcome>;

/** The built-in predicate, or options.shouldFallback (a throw means: do not fail over). */
export function shouldFailOver(failure: Failure, group: PlanGroup, ctx: RunContext): boolean {
  const custom = ctx.deps.shouldFallback;
  if (!custom) return defaultShouldFallback(failure, group.onStatusCodes, group.onErrors);
  const context: AttemptContext = {
    endpoint: ctx.input.endpoint,
    strategyPath: group.path,
    provider: failure.provider,
    targetPath: failure.path,
    attempt: ctx.attempts.filter((a) => a.skipped === undefined).length,
  };
  try {
    return custom(failure, context) === true;
  } catch (err) {
    ctx.deps.logger.error('express-llm-fallback: options.shouldFallback threw; not failing over', { ...requestFields(ctx), provider: failure.provider, path: failure.path, err });
    return false;
  }
}

/** Announces that a strategy moves on from `failure` to `next` (an event, and an info line). */
export function announceFallback(failure: Failure, group: PlanGroup, next: PlanNode | undefined, ctx: RunContext): void {
  const events = ctx.deps.events;
  if (!next || ctx.signal.aborted) return;
  const logger = ctx.deps.logger;
  if (logger.enabled('info')) {
    const to = next.kind === 'target' ? `${next.target.provider} (${next.path})` : next.path;
    logger.info(`express-llm-fallback: falling back from ${failure.provider} (${failure.status} ${failure.errorClass}) to ${to}`, {
      ...requestFields(ctx),
      provider: failure.provider,
      path: failure.path,
      to: next.path,
      status: failure.status,
      errorClass: failure.errorClass,
    });
  }
  if (!events.has('fallback')) return;
  events.emit('fallback', {
    requestId: ctx.input.requestId,
    traceId: ctx.input.traceId,
    from: failure.path,
    to: next.path,
    strategyPath: group.path,
    provider: failure.provider,
    status: failure.status,
    errorClass: failure.errorClass,
    ...(failure.code !== undefined ? { code: failure.code } : {}),
  });
}

/** The failure the client gets when every child failed. */
export function finalFailure(first: Failure, last: Failure, ctx: RunContext): Failure {
  return ctx.deps.finalError === 'first' ? first : last;
}
