/** `mode: "fallback"`: the children in order, until one serves or a failure must not fail over. */
import { cancelled, skipped, type RunContext } from '../context.js';
import type { Failure, Outcome } from '../outcome.js';
import type { PlanGroup } from '../plan.js';
import { announceFallback, finalFailure, shouldFailOver, type RunNode } from './decide.js';

export async function runFallback(group: PlanGroup, ctx: RunContext, runNode: RunNode): Promise<Outcome> {
  let first: Failure | undefined;
  let last: Failure | undefined;
  const children = group.children;
  for (let i = 0; i < children.length; i++) {
    if (ctx.signal.aborted) return cancelled(ctx, group);
    const result = await runNode(children[i]!, ctx);
    if (result.kind === 'skipped') continue;
    if (result.kind !== 'failure') return result;
    first ??= result;
    last = result;
    if (!shouldFailOver(result, group, ctx)) return result;
    announceFallback(result, group, children[i + 1], ctx);
  }
  return last === undefined ? skipped(group.path) : finalFailure(first!, last, ctx);
}
