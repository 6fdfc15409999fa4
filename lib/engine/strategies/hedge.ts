/**
 * A fallback strategy with `hedge_after_ms` (SPEC §5): when the running attempt has not
 * answered within the delay, the next child starts beside it. The first success wins and the
 * others are aborted at once; a failure before the delay fails over at once, as without hedging.
 * A failure that must not fail over starts nothing new, but does not abort a branch still
 * running either: that branch may yet succeed.
 */
import { Cancellation, cancelled, skipped, type RunContext } from '../context.js';
import type { Failure, Outcome } from '../outcome.js';
import type { PlanGroup } from '../plan.js';
import { announceFallback, finalFailure, shouldFailOver, type RunNode } from './decide.js';

/** How long a request's end (its trace) waits for the aborted losers of a won race to record themselves. */
const LOSER_SETTLE_MS = 50;
/** Most branches one hedged strategy runs at once, however small hedge_after_ms is. */
export const MAX_HEDGES_IN_FLIGHT = 3;

type Settled = { readonly index: number; readonly outcome?: Outcome; readonly error?: unknown };

interface Branch {
  readonly controller: AbortController;
  readonly settled: Promise<Settled>;
}

export async function runHedged(group: PlanGroup, delayMs: number, ctx: RunContext, runNode: RunNode): Promise<Outcome> {
  const children = group.children;
  const inflight = new Map<number, Branch>();
  let next = 0;
  let first: Failure | undefined;
  let last: Failure | undefined;
  /** A failure that must not fail over: returned unless a running branch succeeds. */
  let decisive: Failure | undefined;

  /** Children started as hedges (beside a slow one), not as fallbacks. */
  const hedges = new Set<number>();
  const start = (hedge = false): void => {
    const index = next++;
    if (hedge) {
      hedges.add(index);
      announceHedge(ctx, group, index, 'started');
    }
    const controller = new AbortController();
    const branch: RunContext = { ...ctx, signal: AbortSignal.any([ctx.signal, controller.signal]) };
    const settled = runNode(children[index]!, branch).then(
      (outcome): Settled => ({ index, outcome }),
      (error: unknown): Settled => ({ index, error }),
    );
    inflight.set(index, { controller, settled });
  };
  const abortOthers = (): void => {
    const losers = [...inflight.values()];
    inflight.clear();
    for (const branch of losers) {
      branch.controller.abort(new Cancellation('hedge_cancelled'));
      // A loser that still manages to commit a stream must not keep its upstream open.
      void branch.settled.then((s) => {
        if (s.outcome?.kind === 'stream') s.outcome.stream.abort();
      });
    }
    if (losers.length === 0) return;
    // Aborted attempts settle at once, but not before the answer has to go: the answer goes now,
    // and the request's end (from which the trace is built) waits for them, briefly, so that
    // their cancelled records are in it.
    ctx.settling.push(
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, LOSER_SETTLE_MS);
        void Promise.allSettled(losers.map((b) => b.settled)).then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
    );
  };
  const canStart = (): boolean =>
    next < children.length && decisive === undefined && !ctx.signal.aborted && inflight.size < MAX_HEDGES_IN_FLIGHT && !ctx.budget.cut;

  start();
  while (inflight.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    const racers: Array<Promise<Settled | 'hedge'>> = [...inflight.values()].map((b) => b.settled);
    if (canStart()) racers.push(new Promise<'hedge'>((resolve) => (timer = setTimeout(() => resolve('hedge'), delayMs))));
    const won = await Promise.race(racers);
    if (timer) clearTimeout(timer);
    if (won === 'hedge') {
      start(true);
      continue;
    }
    inflight.delete(won.index);
    if (won.error !== undefined) {
      abortOthers();
      throw won.error; // a bug, not an outcome: the router answers 500
    }
    const outcome = won.outcome!;
    if (outcome.ok) {
      if (hedges.has(won.index)) announceHedge(ctx, group, won.index, 'won');
      abortOthers();
      return outcome;
    }
    if (outcome.kind === 'cancelled') {
      if (ctx.signal.aborted) {
        abortOthers();
        return cancelled(ctx, group);
      }
      continue;
    }
    if (outcome.kind === 'failure') {
      first ??= outcome;
      last = outcome;
      if (!shouldFailOver(outcome, group, ctx)) decisive ??= outcome;
      else if (inflight.size === 0 && canStart()) announceFallback(outcome, group, children[next], ctx);
    }
    if (inflight.size === 0 && canStart()) start();
  }
  if (decisive !== undefined) return decisive;
  return last === undefined ? skipped(group.path) : finalFailure(first!, last, ctx);
}

/** Announces a hedge started beside a slow child, or a hedge that gave the answer (the metrics count both). */
function announceHedge(ctx: RunContext, group: PlanGroup, index: number, phase: 'started' | 'won'): void {
  const events = ctx.deps.events;
  if (!events.has('hedge')) return;
  events.emit('hedge', { requestId: ctx.input.requestId, traceId: ctx.input.traceId, strategyPath: group.path, path: group.children[index]!.path, phase });
}
