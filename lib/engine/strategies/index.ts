/**
 * Runs a node of a plan: a target through its policies, a strategy through its mode (single,
 * loadbalance, fallback, hedged fallback). Strategies get this runner as an argument, so no
 * strategy imports another.
 */
import type { RunContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import type { PlanGroup, PlanNode } from '../plan.js';
import { runTarget } from '../target.js';
import { runFallback } from './fallback.js';
import { runHedged } from './hedge.js';
import { runLoadbalance } from './loadbalance.js';

export function runNode(node: PlanNode, ctx: RunContext): Promise<Outcome> {
  return node.kind === 'target' ? runTarget(node, ctx) : runGroup(node, ctx);
}

async function runGroup(group: PlanGroup, ctx: RunContext): Promise<Outcome> {
  const openBefore = ctx.openSkipped.length;
  const result =
    group.mode === 'single'
      ? await runNode(group.children[0]!, ctx)
      : group.mode === 'loadbalance'
        ? await runLoadbalance(group, ctx, runNode)
        : group.hedgeAfterMs !== undefined
          ? await runHedged(group, group.hedgeAfterMs, ctx, runNode)
          : await runFallback(group, ctx, runNode);
  return result.kind === 'skipped' ? lastResort(ctx, openBefore, result) : result;
}

/**
 * Nothing was tried. If that is because breakers are open, the least recently opened of the
 * targets skipped since `from` is tried rather than failing without trying (SPEC §5).
 */
export function lastResort(ctx: RunContext, from: number, nothing: Outcome): Promise<Outcome> | Outcome {
  const skipped = ctx.openSkipped.slice(from);
  if (skipped.length === 0 || ctx.signal.aborted) return nothing;
  const oldest = skipped.reduce((a, b) => (b.openedAt < a.openedAt ? b : a));
  return runTarget(oldest.leaf, ctx, true);
}
