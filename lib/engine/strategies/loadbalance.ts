/**
 * `mode: "loadbalance"`: one child picked at random by weight (0: never). A child that could
 * not serve at all (every target skipped) gives way to another pick among the rest.
 */
import { cancelled, skipped, type RunContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import type { PlanGroup, PlanNode } from '../plan.js';
import type { RunNode } from './decide.js';

export async function runLoadbalance(group: PlanGroup, ctx: RunContext, runNode: RunNode, random: () => number = Math.random): Promise<Outcome> {
  const pool = group.children.filter((child) => child.weight > 0);
  while (pool.length > 0) {
    if (ctx.signal.aborted) return cancelled(ctx, group);
    const index = pickWeighted(pool, random);
    const result = await runNode(pool[index]!, ctx);
    if (result.kind !== 'skipped') return result;
    pool.splice(index, 1);
  }
  return skipped(group.path);
}

export function pickWeighted(pool: readonly PlanNode[], random: () => number = Math.random): number {
  const total = pool.reduce((sum, node) => sum + node.weight, 0);
  let roll = random() * total;
  for (let i = 0; i < pool.length; i++) {
    roll -= pool[i]!.weight;
    if (roll < 0) return i;
  }
  return pool.length - 1;
}
