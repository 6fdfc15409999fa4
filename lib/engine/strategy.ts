/**
 * Strategies over child nodes: fallback (in order, optionally hedged), loadbalance (weighted
 * random) and single; and the last resort when every target's circuit breaker is open.
 */
import createDebug from 'debug';
import type { AttemptContext, AttemptFailure, PlanGroup, PlanNode } from './plan.js';
import { defaultShouldFallback } from './predicate.js';
import { ClientGoneError, runNode, runTarget, type NodeResult, type RunState } from './run.js';

const debug = createDebug('express-llm-fallback:engine');

/** How long a won race waits for its aborted losers to record themselves. */
const LOSER_SETTLE_MS = 50;

/** The abort reason given to a hedged attempt that lost the race. */
export class HedgeCancelled extends Error {
  override readonly name = 'HedgeCancelled';
}

/** Runs a strategy node. */
export async function runGroup(group: PlanGroup, state: RunState): Promise<NodeResult> {
  const openBefore = state.openSkipped.length;
  let result: NodeResult;
  if (group.mode === 'single') result = await runNode(group.children[0]!, state);
  else if (group.mode === 'loadbalance') result = await runLoadbalance(group, state);
  else if (group.hedgeAfterMs !== undefined) result = await runHedged(group, group.hedgeAfterMs, state);
  else result = await runFallback(group, state);
  if (result !== null || state.input.signal.aborted) return result;
  // Nothing was tried. If that is because breakers are open, try the least recently opened
  // target rather than failing without trying.
  const skipped = state.openSkipped.slice(openBefore);
  if (skipped.length === 0) return null;
  const oldest = skipped.reduce((a, b) => (b.openedAt < a.openedAt ? b : a));
  debug('every target of %s has an open breaker: trying %s', group.path, oldest.leaf.path);
  return runTarget(oldest.leaf, state, true);
}

async function runLoadbalance(group: PlanGroup, state: RunState): Promise<NodeResult> {
  const pool = group.children.filter((child) => child.weight > 0);
  while (pool.length > 0) {
    const index = pickWeighted(pool);
    const result = await runNode(pool[index]!, state);
    if (result !== null) return result;
    pool.splice(index, 1); // that child cannot serve now: pick among the others
  }
  return null;
}

async function runFallback(group: PlanGroup, state: RunState): Promise<NodeResult> {
  let first: AttemptFailure | undefined;
  let last: AttemptFailure | undefined;
  for (const [i, child] of group.children.entries()) {
    if (state.input.signal.aborted) break;
    const result = await runNode(child, state);
    if (result === null) continue;
    if (result.ok) return result;
    first ??= result;
    last = result;
    if (!shouldFailOver(result, group, state)) return result;
    announceFallback(result, group, group.children[i + 1], state);
  }
  if (last === undefined) return null;
  return state.deps.finalError === 'first' ? first! : last;
}

interface Branch {
  readonly index: number;
  readonly controller: AbortController;
  readonly settled: Promise<{ index: number; result?: NodeResult; error?: unknown }>;
}

/**
 * A fallback strategy with `hedge_after_ms`: when the running attempt has not answered within
 * the delay, the next target starts beside it. The first success wins and the others are
 * aborted at once; a failure before the delay fails over at once, as without hedging.
 */
async function runHedged(group: PlanGroup, delayMs: number, state: RunState): Promise<NodeResult> {
  const children = group.children;
  const inflight = new Map<number, Branch>();
  let next = 0;
  let first: AttemptFailure | undefined;
  let last: AttemptFailure | undefined;

  const start = (): void => {
    const index = next++;
    const controller = new AbortController();
    const signal = AbortSignal.any([state.input.signal, controller.signal]);
    const branchState: RunState = { ...state, input: { ...state.input, signal } };
    if (index > 0) debug('hedging %s: starting %s beside the running attempt', group.path, children[index]!.path);
    const settled = runNode(children[index]!, branchState).then(
      (result) => ({ index, result }),
      (error: unknown) => ({ index, error }),
    );
    inflight.set(index, { index, controller, settled });
  };
  const abortOthers = async (): Promise<void> => {
    const losers = [...inflight.values()];
    for (const branch of losers) {
      branch.controller.abort(new HedgeCancelled('another attempt answered first'));
      // A loser that still manages to commit a stream must not keep its upstream open.
      void branch.settled.then((s) => {
        if (s.result?.ok && s.result.stream) s.result.stream.abort();
      });
    }
    inflight.clear();
    // Aborted attempts settle at once; waiting for them (briefly) lets their cancelled attempt
    // records reach the trace, which is built as soon as the answer is out.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(losers.map((b) => b.settled)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, LOSER_SETTLE_MS);
      }),
    ]);
    clearTimeout(timer);
  };

  start();
  while (inflight.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    const hedgeDue =
      next < children.length
        ? new Promise<'hedge'>((resolve) => {
            timer = setTimeout(() => resolve('hedge'), delayMs);
          })
        : undefined;
    const settledOnes = [...inflight.values()].map((b) => b.settled);
    const winner = await Promise.race(hedgeDue ? [...settledOnes, hedgeDue] : settledOnes);
    if (timer) clearTimeout(timer);
    if (winner === 'hedge') {
      start();
      continue;
    }
    inflight.delete(winner.index);
    if (winner.error !== undefined) {
      if (state.input.signal.aborted || !(winner.error instanceof ClientGoneError)) {
        await abortOthers();
        throw winner.error;
      }
      continue; // a branch cancelled by us
    }
    const result = winner.result!;
    if (result === null) {
      if (inflight.size === 0 && next < children.length) start();
      continue;
    }
    if (result.ok) {
      await abortOthers();
      return result;
    }
    first ??= result;
    last = result;
    if (!shouldFailOver(result, group, state)) {
      await abortOthers();
      return result;
    }
    if (inflight.size === 0 && next < children.length) {
      announceFallback(result, group, children[next], state);
      start();
    }
  }
  if (last === undefined) return null;
  return state.deps.finalError === 'first' ? first! : last;
}

/** The built-in predicate, or options.shouldFallback. */
export function shouldFailOver(failure: AttemptFailure, group: PlanGroup, state: RunState): boolean {
  const custom = state.deps.shouldFallback;
  if (!custom) return defaultShouldFallback(failure, group.onStatusCodes, group.onErrors);
  const ctx: AttemptContext = {
    endpoint: state.input.endpoint,
    strategyPath: group.path,
    provider: failure.provider,
    targetPath: failure.path,
    attempt: state.attempts.filter((a) => a.skipped === undefined).length,
  };
  try {
    return custom(failure, ctx) === true;
  } catch (err) {
    state.deps.logger.error('express-llm-fallback: options.shouldFallback threw; not failing over:', err);
    return false;
  }
}

/** Debug output and the onFallback hook, when a strategy moves on from a failure. */
function announceFallback(result: AttemptFailure, group: PlanGroup, next: PlanNode | undefined, state: RunState): void {
  debug('fallback from %s (%d %s)', result.path, result.status, result.errorClass);
  if (!next || !state.deps.onFallback || state.input.signal.aborted) return;
  try {
    state.deps.onFallback({
      from: result.path,
      to: next.path,
      strategyPath: group.path,
      provider: result.provider,
      status: result.status,
      errorClass: result.errorClass,
      ...(result.code !== undefined ? { code: result.code } : {}),
    });
  } catch (err) {
    state.deps.logger.error('express-llm-fallback: onFallback hook threw:', err instanceof Error ? err.message : err);
  }
}

function pickWeighted(pool: readonly PlanNode[]): number {
  const total = pool.reduce((sum, node) => sum + node.weight, 0);
  let roll = Math.random() * total;
  for (let i = 0; i < pool.length; i++) {
    roll -= pool[i]!.weight;
    if (roll < 0) return i;
  }
  return pool.length - 1;
}
