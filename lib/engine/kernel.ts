/**
 * The attempt kernel: one function makes one attempt, streaming or not. It checks the abort
 * signal before every await, builds the request through the adapter (sync or async), sends it,
 * and reads the reply (or, for a stream, reads up to the commit point), returning an Outcome.
 * Nothing is thrown for control flow: a timeout, a client that left and a lost hedge are
 * outcomes.
 */
import type { UpstreamRequest } from '../providers/types.js';
import { sendJson } from '../transport/http.js';
import { abandoned, endCancelled, endWithFailure, openAttempt, recordUsage, attemptRecord, withTraceContext, type Attempt } from './attempt.js';
import { cancelled, record, withForwardedHeaders, type AttemptCall, type RunContext } from './context.js';
import { failure, type Failure, type Outcome, type Success } from './outcome.js';
import { buildFailure, failureFromReply, notJsonFailure, parseFailure, timeoutFailure, transportFailure } from './reply.js';
import { streamAttempt, type StreamOptions } from './stream/open.js';

/** Makes one attempt of `call`. `stream` says what to do with a committed stream. */
export async function attempt(call: AttemptCall, ctx: RunContext, stream: StreamOptions): Promise<Outcome> {
  if (ctx.signal.aborted) return cancelled(ctx, call.leaf);
  if (ctx.budget.started >= ctx.deps.maxAttemptsPerRequest) return overBudget(call, ctx);
  ctx.budget.started += 1;
  const a = openAttempt(call, ctx);
  const upstream = await build(a);
  if (abandoned(a)) return endCancelled(a);
  // Aborted and not abandoned: the watchdog fired while an async build ran (undefined: it did not finish).
  if (upstream === undefined || a.controller.signal.aborted) return endWithFailure(a, timeoutFailure(call.leaf, call.timeoutMs));
  if ('kind' in upstream) return endWithFailure(a, upstream);
  a.upstreamHeaders = upstream.headers;
  const serialised = serialise(a, upstream);
  if ('kind' in serialised) return endWithFailure(a, serialised);
  const sent = withTraceContext(a, serialised);
  return ctx.input.stream ? streamAttempt(a, sent, stream) : jsonAttempt(a, sent);
}

/**
 * The request with its bytes, serialised here rather than in the transport, so a body that
 * cannot be serialised (nested past the engine's stack) is the request's fault, a 400, not an
 * unreachable upstream.
 */
function serialise(a: Attempt, upstream: UpstreamRequest): UpstreamRequest | Failure {
  if (upstream.rawBody !== undefined || upstream.method === 'GET') return upstream;
  try {
    return { ...upstream, rawBody: JSON.stringify(upstream.body) };
  } catch {
    const leaf = a.call.leaf;
    return failure('invalid_body', 'bad_request', 'the request body cannot be serialised for the upstream (nested too deeply?)', { provider: leaf.target.provider, path: leaf.path }, { local: true });
  }
}

/**
 * The request has made all the attempts it may (options.maxAttemptsPerRequest): nothing more is
 * sent. The first refusal is recorded, so the trace says the limit cut the request short.
 */
function overBudget(call: AttemptCall, ctx: RunContext): Outcome {
  if (!ctx.budget.cut) {
    ctx.budget.cut = true;
    record(ctx, { path: call.leaf.path, provider: call.leaf.target.provider, retry: call.retry, startedAt: Date.now(), latencyMs: 0, skipped: 'attempt_limit' });
  }
  return { kind: 'skipped', ok: false, path: call.leaf.path };
}

/**
 * The adapter's request, awaited only when the adapter is async, and never past the attempt's
 * abort (its timeout, the client leaving, a lost hedge): an adapter that ignores its signal, or
 * never settles, cannot hold the request.
 */
async function build(a: Attempt): Promise<UpstreamRequest | Failure | undefined> {
  const { leaf, adapter } = a.call;
  const signal = a.controller.signal;
  try {
    const built = adapter.buildRequest(a.request, withForwardedHeaders(leaf, a.ctx.input.headers), signal);
    if (typeof (built as Partial<Promise<unknown>>).then !== 'function') return built as UpstreamRequest;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([built, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
      (built as Promise<unknown>).catch(() => undefined); // a late rejection is nobody's concern
    }
  } catch (err) {
    return signal.aborted ? undefined : buildFailure(leaf, err, a.ctx);
  }
}

async function jsonAttempt(a: Attempt, upstream: UpstreamRequest): Promise<Outcome> {
  const { leaf, adapter } = a.call;
  const { deps } = a.ctx;
  let reply;
  try {
    reply = await sendJson(deps.client, upstream, { signal: a.controller.signal, budget: deps.budget });
  } catch (err) {
    if (abandoned(a)) return endCancelled(a);
    return endWithFailure(a, transportFailure(leaf, err, a.call.timeoutMs));
  }
  // The reply is here (and paid for): it is recorded as what it is, even if nobody waits now.
  a.release();
  let json: unknown;
  let parsed = false;
  try {
    json = JSON.parse(reply.text);
    parsed = true;
  } catch {
    json = undefined;
  } finally {
    reply.release?.();
  }
  if (reply.status < 200 || reply.status >= 300) return endWithFailure(a, failureFromReply(leaf, adapter, reply, parsed ? json : reply.text, a.credentials));
  if (!parsed) return endWithFailure(a, notJsonFailure(leaf, reply.status));
  let body;
  try {
    body = adapter.parseResponse(json, { request: a.request, target: leaf.target, status: reply.status });
  } catch (err) {
    return endWithFailure(a, parseFailure(leaf, err, a.ctx));
  }
  const model = typeof body.model === 'string' ? body.model : a.model;
  const success: Success = {
    kind: 'success',
    ok: true,
    status: 200,
    body,
    ...(body === json ? { text: reply.text } : {}),
    provider: leaf.target.provider,
    path: leaf.path,
    ...(model ? { model } : {}),
    retries: a.call.retry,
  };
  const usage = recordUsage(body.usage);
  record(a.ctx, attemptRecord(a, { ...(model ? { model } : {}), status: 200, ...(usage ? { usage } : {}) }));
  return success;
}
