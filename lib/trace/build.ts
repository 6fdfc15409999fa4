/**
 * Builds a Trace from what the engine recorded for one request: which attempt served, each
 * attempt's usage and estimated cost, and the totals over all of them, failed ones included.
 */
import { randomUUID } from 'node:crypto';
import type { RequestSummary } from '../engine/events.js';
import type { AttemptRecord } from '../engine/outcome.js';
import { MAX_TRACE_ATTEMPTS, captureBody, capTrace, fitTrace, keptRows } from './bounds.js';
import { createPriceLookup, type Price, type PriceLookup } from './pricing.js';
import type { AttemptTrace, Trace, TraceUsage } from './types.js';

export { normalisePricing, type Pricing } from './pricing.js';

/** What the router knows of a finished request (the `request:end` event), and its trace id. */
export type TraceInput = RequestSummary & {
  readonly traceId: string;
  /** The request's own id (generated when absent). */
  readonly requestId?: string;
};

/** The attempt fields the engine may add beside an {@link AttemptRecord}. */
export type TraceAttemptInput = AttemptRecord & {
  readonly ttftMs?: number;
  readonly notes?: readonly string[];
  /**
   * The model the attempt asked for (after the target's override_params), when it differs from
   * `model` (the one that served, as the provider named it): priced when `model` has no price.
   */
  readonly requestedModel?: string;
};

/** Rounds away binary noise (1e-10 USD is far below any price). */
const roundUsd = (usd: number): number => Math.round(usd * 1e10) / 1e10;

/** A price lookup, or a table from {@link normalisePricing} (looked up the same way, without warnings). */
export type Prices = PriceLookup | ReadonlyMap<string, Price>;

const lookups = new WeakMap<ReadonlyMap<string, Price>, PriceLookup>();

/** The lookup for `prices`: itself, or one made once per table. */
function lookupOf(prices: Prices): PriceLookup {
  if (!(prices instanceof Map)) return prices as PriceLookup;
  const table = prices as ReadonlyMap<string, Price>;
  let lookup = lookups.get(table);
  if (!lookup) {
    lookup = createPriceLookup(table);
    lookups.set(table, lookup);
  }
  return lookup;
}

/** What an attempt cost: `costUsd`, or `unpriced` when it was billed but its cost is unknown. */
export interface AttemptPricing {
  readonly costUsd?: number;
  readonly unpriced?: true;
  /** Why it is unpriced, for the attempt's notes, when it is not a missing price. */
  readonly note?: string;
}

/**
 * Whether the provider produced tokens for the attempt (and so bills it): it answered, or its
 * stream sent content (`ttftMs`) before it broke or stalled.
 */
const billed = (rec: Pick<TraceAttemptInput, 'status' | 'errorClass' | 'ttftMs'>): boolean =>
  typeof rec.ttftMs === 'number' || (rec.errorClass === undefined && typeof rec.status === 'number' && rec.status >= 200 && rec.status < 300);

/**
 * The estimated cost of one attempt in USD:
 * - a skipped target: none (nothing was sent);
 * - reported usage of 0 tokens, or a failed attempt without usage that got no content (an
 *   error, a timeout, a cancelled hedge): `costUsd: 0`, the provider billed nothing;
 * - reported tokens and a price for the model that served (else the one asked for): `costUsd`;
 * - reported tokens and no price: `unpriced` (and `lookup.noteUnpriced`), never a false 0;
 * - an answer (or a stream that sent content, then broke) without any usage: `unpriced` too,
 *   with a note (its tokens are unknown).
 */
export function attemptPricing(
  rec: Pick<TraceAttemptInput, 'provider' | 'model' | 'requestedModel' | 'usage' | 'skipped' | 'status' | 'errorClass' | 'ttftMs'>,
  prices: Prices,
): AttemptPricing {
  if (rec.skipped !== undefined) return {};
  const usage = rec.usage;
  if (!usage) return billed(rec) ? { unpriced: true, note: 'the provider reported no usage: cost unknown' } : { costUsd: 0 };
  const promptTokens = num(usage.prompt_tokens);
  const completionTokens = num(usage.completion_tokens);
  if (promptTokens === 0 && completionTokens === 0) return { costUsd: 0 };
  const lookup = lookupOf(prices);
  const price = lookup.priceOf(rec.provider, rec.model, rec.requestedModel);
  if (!price) {
    lookup.noteUnpriced(rec.provider, rec.model, rec.requestedModel);
    return { unpriced: true };
  }
  return { costUsd: roundUsd((promptTokens * price.input) / 1e6 + (completionTokens * price.output) / 1e6) };
}

/**
 * Estimated cost of one attempt in USD ({@link attemptPricing}'s `costUsd`): undefined for a
 * skipped target and for an unpriced attempt (billed, cost unknown); 0 when the provider billed
 * nothing (it reported 0 tokens, or the attempt failed without usage or content).
 */
export function attemptCost(
  rec: Pick<TraceAttemptInput, 'provider' | 'model' | 'usage' | 'skipped'> & Partial<Pick<TraceAttemptInput, 'requestedModel' | 'status' | 'errorClass' | 'ttftMs'>>,
  prices: Prices,
): number | undefined {
  return attemptPricing(rec, prices).costUsd;
}

const num = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);

function toUsage(usage: AttemptRecord['usage']): TraceUsage | undefined {
  if (!usage) return undefined;
  const promptTokens = num(usage.prompt_tokens);
  const completionTokens = num(usage.completion_tokens);
  return { promptTokens, completionTokens, totalTokens: num(usage.total_tokens) || promptTokens + completionTokens };
}

/** Index of the attempt that served: the last one made on the serving target's path. */
function servedIndex(attempts: readonly AttemptRecord[], path: string | undefined): number {
  if (path === undefined) return -1;
  for (let i = attempts.length - 1; i >= 0; i--) {
    const a = attempts[i]!;
    if (a.path === path && a.skipped === undefined) return i;
  }
  return -1;
}

/** The request params without a `config` field (configs may hold keys: never stored). */
function withoutConfig(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('config' in body)) return body;
  const { config: _config, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * Builds the Trace of a finished request, within the limits of `bounds.ts`: totals over every
 * attempt, rows for the first and last {@link MAX_TRACE_ATTEMPTS}, bodies cut to their limit.
 */
export function buildTrace(input: TraceInput, prices: Prices, now = Date.now()): Trace {
  const servedBy = input.outcome?.ok ? (input.servedBy ?? input.outcome) : undefined;
  const served = servedIndex(input.attempts, servedBy?.path);
  const totals = { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 0, unpricedAttempts: 0 };
  const n = input.attempts.length;
  const { head, tail } = keptRows(n, MAX_TRACE_ATTEMPTS);
  const attempts: AttemptTrace[] = [];
  input.attempts.forEach((raw, i) => {
    const rec = raw as TraceAttemptInput;
    const usage = toUsage(rec.usage);
    const { costUsd, unpriced, note } = attemptPricing(rec, prices);
    if (rec.skipped === undefined) totals.attempts += 1;
    if (usage) {
      totals.promptTokens += usage.promptTokens;
      totals.completionTokens += usage.completionTokens;
      totals.totalTokens += usage.totalTokens;
    }
    if (costUsd !== undefined) totals.costUsd += costUsd;
    if (unpriced) totals.unpricedAttempts += 1;
    // Totals count every attempt; only the first `head` and the last `tail` rows are kept.
    if (i >= head && i < n - tail) return;
    const out: AttemptTrace = {
      path: rec.path,
      provider: rec.provider,
      ...(rec.model !== undefined ? { model: rec.model } : {}),
      ...(rec.status !== undefined ? { status: rec.status } : {}),
      ...(rec.errorClass !== undefined ? { errorClass: rec.errorClass } : {}),
      ...(rec.code !== undefined ? { code: rec.code } : {}),
      retry: rec.retry,
      startedAt: new Date(rec.startedAt).toISOString(),
      latencyMs: rec.latencyMs,
      ...(typeof rec.ttftMs === 'number' ? { ttftMs: rec.ttftMs } : {}),
      ...(rec.skipped !== undefined ? { skipped: rec.skipped } : {}),
      served: i === served,
      ...(usage ? { usage } : {}),
      ...(costUsd !== undefined ? { costUsd } : {}),
      ...(unpriced ? { unpriced: true } : {}),
      ...(rec.notes?.length || note ? { notes: [...(rec.notes ?? []), ...(note ? [note] : [])] } : {}),
    };
    attempts.push(out);
  });
  totals.costUsd = roundUsd(totals.costUsd);

  const outcome = input.outcome;
  const servedModel = servedBy ? servedBy.model ?? (served >= 0 ? input.attempts[served]!.model : undefined) : undefined;
  let error: Trace['error'];
  if (outcome && !outcome.ok) {
    error = { message: outcome.message, ...(outcome.type !== undefined ? { type: outcome.type } : {}), code: outcome.code ?? null, errorClass: outcome.errorClass };
  }
  // The router's own account wins: a request rejected before any attempt, or a committed
  // stream that broke or lost its client after its (successful) commit.
  if (input.error) {
    error = {
      message: input.error.message,
      ...(input.error.type !== undefined ? { type: input.error.type } : {}),
      code: input.error.code,
      ...(error?.errorClass !== undefined ? { errorClass: error.errorClass } : {}),
    };
  }
  const trace: Trace = {
    traceId: input.traceId,
    requestId: input.requestId ?? randomUUID(),
    configId: input.configId,
    endpoint: input.endpoint,
    stream: input.stream,
    startedAt: new Date(input.startedAt).toISOString(),
    status: input.status,
    ...(servedBy ? { servedPath: servedBy.path, provider: servedBy.provider } : {}),
    ...(servedModel !== undefined ? { model: servedModel } : {}),
    latencyMs: Math.max(0, now - input.startedAt),
    attempts,
    ...(attempts.length < n ? { attemptsOmitted: n - attempts.length, attemptsOmittedAt: head } : {}),
    totals,
    ...(error ? { error } : {}),
  };
  if (input.requestBody !== undefined) trace.request = captureBody(withoutConfig(input.requestBody));
  if (input.responseBody !== undefined) trace.response = captureBody(input.responseBody);
  // Text fields clipped and what was cut said in notes; a trace still too large is cut harder.
  return fitTrace(capTrace(trace)).trace;
}
