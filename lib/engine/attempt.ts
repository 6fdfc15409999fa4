/**
 * The state of one attempt in flight, shared by the kernel's JSON and stream paths: its abort
 * controller (tied to the request's signal and to its watchdog), and how it ends as a record in
 * the trace and an Outcome.
 */
import type { UnifiedRequest, UpstreamRequest, Usage } from '../providers/types.js';
import { timeoutReason } from '../transport/http.js';
import { cancelReasonOf, modelOf, record, type AttemptCall, type RunContext } from './context.js';
import type { AttemptRecord, Cancelled, Failure, MutableRecord } from './outcome.js';
import { Watchdog } from './policies/timeout.js';
import { errorInfo } from '../errors.js';
import { credentialsOf } from './reply.js';

export interface Attempt {
  readonly call: AttemptCall;
  readonly ctx: RunContext;
  readonly request: UnifiedRequest;
  /** Aborted by the request's signal (client gone, hedge lost) or by the watchdog (timeout). */
  readonly controller: AbortController;
  readonly watchdog: Watchdog;
  readonly startedAt: number;
  readonly model?: string;
  /** Notes for the trace (malformed stream events skipped, ...). */
  readonly notes: string[];
  /** The upstream request's headers, once it is built. */
  upstreamHeaders?: Readonly<Record<string, string>>;
  /**
   * The credentials the request carries (the target's, and those in its headers once built),
   * masked in any upstream message kept. Worked out when first read: only a failure needs them.
   */
  readonly credentials: readonly string[];
  /** Detaches from the request's signal and stops the watchdog; idempotent. */
  release(): void;
}

/** Opens an attempt: announces it and arms its watchdog at `call.firstContentBy`. */
export function openAttempt(call: AttemptCall, ctx: RunContext): Attempt {
  const { input, deps } = ctx;
  const model = modelOf(call.body);
  const startedAt = Date.now();
  if (deps.events.has('attempt:start')) {
    deps.events.emit('attempt:start', {
      requestId: input.requestId,
      traceId: input.traceId,
      path: call.leaf.path,
      provider: call.leaf.target.provider,
      ...(model ? { model } : {}),
      retry: call.retry,
      stream: input.stream,
      timeoutMs: call.timeoutMs,
    });
  }
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const watchdog = new Watchdog((expiry) => controller.abort(Object.assign(timeoutReason(), { expiry })));
  watchdog.until(call.firstContentBy);
  let released = false;
  let credentials: readonly string[] | undefined;
  return {
    call,
    ctx,
    request: { endpoint: input.endpoint, body: input.stream ? streamBody(call) : call.body, stream: input.stream },
    controller,
    watchdog,
    startedAt,
    ...(model ? { model } : {}),
    notes: [],
    get credentials(): readonly string[] {
      if (this.upstreamHeaders === undefined) return credentialsOf(call.leaf, {});
      return (credentials ??= credentialsOf(call.leaf, this.upstreamHeaders));
    },
    release(): void {
      if (released) return;
      released = true;
      watchdog.stop();
      ctx.signal.removeEventListener('abort', onAbort);
    },
  };
}

/** True when the client asked for a usage chunk at the end of its stream. */
export function clientWantsUsage(body: Readonly<Record<string, unknown>>): boolean {
  const options = body.stream_options;
  return typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true;
}

/**
 * A stream's upstream body: `stream: true`, and, for an upstream that reports usage only when
 * asked, `stream_options.include_usage` (the reader removes it from the client's stream again).
 */
function streamBody(call: AttemptCall): Record<string, unknown> {
  const body = call.body;
  if (call.adapter.streamUsage !== 'on_request' || clientWantsUsage(body)) return { ...body, stream: true };
  const options = typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
  return { ...body, stream: true, stream_options: { ...options, include_usage: true } };
}

/** The record of an attempt, as far as it went. */
export function attemptRecord(a: Attempt, fields: Partial<MutableRecord> = {}): MutableRecord {
  const rec: MutableRecord = {
    path: a.call.leaf.path,
    provider: a.call.leaf.target.provider,
    ...(a.model ? { model: a.model } : {}),
    retry: a.call.retry,
    startedAt: a.startedAt,
    latencyMs: Date.now() - a.startedAt,
    ...fields,
  };
  if (a.notes.length > 0) rec.notes = [...a.notes];
  if (a.model !== undefined && rec.model !== a.model) rec.requestedModel = a.model;
  return rec;
}

/** Ends an attempt with a failure: records it, returns it. */
export function endWithFailure(a: Attempt, f: Failure, extra: Partial<MutableRecord> = {}): Failure {
  a.release();
  record(a.ctx, attemptRecord(a, { status: f.status, errorClass: f.errorClass, ...(f.code ? { code: f.code } : {}), ...extra }));
  return f;
}

/** Ends an attempt nobody waits for any more: recorded (it may have cost something), cancelled. */
export function endCancelled(a: Attempt, extra: Partial<MutableRecord> = {}): Cancelled {
  a.release();
  const reason = cancelReasonOf(a.ctx.signal) ?? 'client_disconnected';
  record(a.ctx, attemptRecord(a, { status: errorInfo(reason).status, errorClass: 'network', code: reason, ...extra }));
  return { kind: 'cancelled', ok: false, reason, path: a.call.leaf.path };
}

/** The headers of the W3C trace context, which only `withTraceContext` may set upstream. */
const TRACE_HEADERS: ReadonlySet<string> = new Set(['traceparent', 'tracestate']);

/**
 * The upstream request with the attempt's trace context (`traceparent`, `tracestate`) when its
 * target opted in (`trace_context`) and the request is traced: they replace any header of the same
 * name (a client header named in `forward_headers` cannot override them). Unchanged otherwise; a
 * hook that throws only costs the headers.
 */
export function withTraceContext(a: Attempt, upstream: UpstreamRequest): UpstreamRequest {
  const hooks = a.ctx.deps.tracing;
  if (!a.call.leaf.traceContext || hooks === undefined) return upstream;
  let trace: Readonly<Record<string, string>> | undefined;
  try {
    trace = hooks.traceHeaders(a.ctx.input.requestId, { path: a.call.leaf.path, retry: a.call.retry });
  } catch {
    trace = undefined;
  }
  if (trace === undefined) return upstream;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream.headers)) if (!TRACE_HEADERS.has(name.toLowerCase())) headers[name] = value;
  for (const [name, value] of Object.entries(trace)) if (TRACE_HEADERS.has(name)) headers[name] = value;
  return { ...upstream, headers };
}

/** True when the request's signal (not the watchdog) stopped the attempt. */
export function abandoned(a: Attempt): boolean {
  return a.ctx.signal.aborted;
}

/** Usage as a trace records it. */
export function recordUsage(usage: Partial<Usage> | undefined): AttemptRecord['usage'] | undefined {
  if (!usage) return undefined;
  return { prompt_tokens: usage.prompt_tokens ?? 0, completion_tokens: usage.completion_tokens ?? 0, total_tokens: usage.total_tokens ?? 0 };
}

