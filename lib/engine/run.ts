/**
 * The engine's entry: walks a Plan for one request and yields one outcome plus a record of
 * every attempt. It knows nothing of Express: the router hands it a RunInput and writes what
 * comes back.
 */
import { createContext, type EngineDeps, type RunContext, type RunInput } from './context.js';
import type { AttemptRecord, Cancelled, Failure, Served } from './outcome.js';
import type { Plan } from './plan.js';
import { lastResort, runNode } from './strategies/index.js';

export interface RunResult {
  /** Served, failed, or cancelled (the client went away: nothing is to be sent). */
  readonly outcome: Served | Failure | Cancelled;
  /** Every attempt recorded so far; attempts still settling (see `settled`) are added when they do. */
  readonly attempts: readonly AttemptRecord[];
  /** Upstream attempts started, the ones still settling included (`x-portkey-attempts`). */
  readonly started: number;
  /** Resolves once every attempt has recorded itself (at once, unless hedge losers are settling): await it before building the trace. */
  readonly settled: Promise<void>;
}

const SETTLED: Promise<void> = Promise.resolve();

function result(ctx: RunContext, outcome: Served | Failure | Cancelled): RunResult {
  const settling = ctx.settling;
  return {
    outcome,
    attempts: ctx.attempts,
    started: ctx.budget.started,
    settled: settling.length === 0 ? SETTLED : Promise.all(settling).then(() => undefined),
  };
}

/** Walks the plan. Never rejects for an upstream's sake; a rejection is a bug (500). */
export async function runPlan(plan: Plan, input: RunInput, deps: EngineDeps): Promise<RunResult> {
  const ctx = createContext(plan, input, deps);
  let outcome = await runNode(plan.root, ctx);
  // A single target (the root itself) whose breaker is open is tried all the same.
  if (outcome.kind === 'skipped' && plan.root.kind === 'target') outcome = await lastResort(ctx, 0, outcome);
  if (input.signal.aborted) {
    // The client left: nothing is sent, and a stream committed meanwhile is closed upstream.
    if (outcome.kind === 'stream') outcome.stream.abort();
    outcome = { kind: 'cancelled', ok: false, reason: 'client_disconnected', path: outcome.path };
  }
  if (outcome.kind === 'skipped') {
    const nothing: Failure = {
      kind: 'failure',
      ok: false,
      status: 400,
      errorClass: 'bad_request',
      code: 'unsupported_endpoint',
      type: 'invalid_request_error',
      message: `No target in the config supports the ${input.endpoint} endpoint.`,
      provider: 'express-llm-fallback',
      path: plan.root.path,
    };
    return result(ctx, nothing);
  }
  return result(ctx, outcome);
}
