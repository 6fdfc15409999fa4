/**
 * Builds a Trace from what the engine recorded for one request: which attempt served, each
 * attempt's usage and estimated cost, and the totals over all of them, failed ones included.
 */
import { randomUUID } from 'node:crypto';
import type { RequestSummary } from '../engine/events.js';
import type { AttemptRecord } from '../engine/outcome.js';
import { canonicalProvider } from '../providers/registry.js';
import { MAX_TRACE_ATTEMPTS, captureBody, capTrace, fitTrace, keptRows } from './bounds.js';
import type { AttemptTrace, Trace, TraceUsage } from './types.js';

/** What the router knows of a finished request (the `request:end` event), and its trace id. */
export type TraceInput = RequestSummary & {
  readonly traceId: string;
  /** The request's own id (generated when absent). */
  readonly requestId?: string;
};

/** USD per million tokens, by `provider/model` or `model`. */
export type Pricing = Readonly<Record<string, { readonly input: number; readonly output: number }>>;

/** The attempt fields the engine may add for streams. */
type RecordWithStream = AttemptRecord & { readonly ttftMs?: number; readonly notes?: readonly string[] };

/** Rounds away binary noise (1e-10 USD is far below any price). */
const roundUsd = (usd: number): number => Math.round(usd * 1e10) / 1e10;

/** The pricing table with provider aliases (`azure_openai/...`) also under their canonical name. */
export function normalisePricing(pricing: Pricing): Map<string, { input: number; output: number }> {
  const out = new Map<string, { input: number; output: number }>(Object.entries(pricing));
  for (const [key, price] of Object.entries(pricing)) {
    const slash = key.indexOf('/');
    if (slash <= 0) continue;
    const canonical = `${canonicalProvider(key.slice(0, slash))}${key.slice(slash)}`;
    if (!out.has(canonical)) out.set(canonical, price);
  }
  return out;
}

/**
 * Estimated cost of one attempt in USD: undefined for a skipped target; 0 when the provider
 * reported no usage (it billed nothing); undefined when there is usage but no price for
 * `provider/model` or `model`.
 */
export function attemptCost(
  rec: Pick<AttemptRecord, 'provider' | 'model' | 'usage' | 'skipped'>,
  prices: ReadonlyMap<string, { input: number; output: number }>,
): number | undefined {
  if (rec.skipped !== undefined) return undefined;
  const usage = rec.usage;
  if (!usage || (usage.prompt_tokens === 0 && usage.completion_tokens === 0)) return 0;
  const price = (rec.model !== undefined ? prices.get(`${rec.provider}/${rec.model}`) ?? prices.get(rec.model) : undefined);
  if (!price) return undefined;
  return roundUsd((num(usage.prompt_tokens) * price.input) / 1e6 + (num(usage.completion_tokens) * price.output) / 1e6);
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
export function buildTrace(input: TraceInput, prices: ReadonlyMap<string, { input: number; output: number }>, now = Date.now()): Trace {
  const servedBy = input.outcome?.ok ? (input.servedBy ?? input.outcome) : undefined;
  const served = servedIndex(input.attempts, servedBy?.path);
  const totals = { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 0 };
  const n = input.attempts.length;
  const { head, tail } = keptRows(n, MAX_TRACE_ATTEMPTS);
  const attempts: AttemptTrace[] = [];
  input.attempts.forEach((raw, i) => {
    const rec = raw as RecordWithStream;
    const usage = toUsage(rec.usage);
    const costUsd = attemptCost(rec, prices);
    if (rec.skipped === undefined) totals.attempts += 1;
    if (usage) {
      totals.promptTokens += usage.promptTokens;
      totals.completionTokens += usage.completionTokens;
      totals.totalTokens += usage.totalTokens;
    }
    if (costUsd !== undefined) totals.costUsd += costUsd;
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
      ...(rec.notes && rec.notes.length > 0 ? { notes: [...rec.notes] } : {}),
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
