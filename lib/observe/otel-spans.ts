/**
 * The spans of traced requests: one span per request (INTERNAL, parent: the client's
 * `traceparent` or the active context) and one CLIENT span per attempt under it, from the
 * engine's events. An attempt that answered stays open until the request ends, so that the
 * finish reasons of what the client received can be set on it; it ends at its own recorded end.
 */
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { EngineEventMap } from '../engine/events.js';
import type { AttemptRecord } from '../engine/outcome.js';
import type { JsonObject } from '../providers/types.js';
import { attemptPricing, type Prices } from '../trace/build.js';
import { finishReasons, inputMessages, outputMessages, StreamSeen, type GenAiMessage } from './otel-messages.js';
import { GEN_AI, OPERATION, OURS, genAiProvider, spanName } from './otel-names.js';

/** The `@opentelemetry/api` module. */
export type OtelApi = typeof import('@opentelemetry/api');

/** Most requests followed at once; past it the oldest is ended as it stands (a leak guard). */
export const MAX_TRACKED_REQUESTS = 10_000;

interface AttemptSpan {
  readonly path: string;
  readonly retry: number;
  readonly span: Span;
  readonly startMs: number;
}

interface Tracked {
  readonly span: Span;
  /** The tracer the request span came from: its attempts' spans come from it too. */
  readonly tracer: Tracer;
  /** The context whose active span is the request span: the attempts' parent. */
  readonly ctx: Context;
  readonly operation: string;
  readonly model: string | undefined;
  readonly body: JsonObject | undefined;
  /**
   * Attempts in flight, in the order they started (a request has a few: a list is cheaper than a
   * map; the same path and retry may come twice, and the first to end is the first started).
   */
  readonly open: AttemptSpan[];
  /** Attempts that answered, waiting for the request's end. */
  readonly held: Array<{ readonly span: Span; readonly path: string; readonly endMs: number }>;
  fallbacks: number;
  /** The paths a breaker skipped (made at the first). */
  breakerSkipped: string[] | undefined;
  stream?: StreamSeen;
  ended: boolean;
}

const CANCELLED = new Set(['client_disconnected', 'hedge_cancelled']);

/** The parent of a request span: the client's W3C `traceparent`, unless the active span already descends from it. */
export function parentContext(api: OtelApi, traceparent: string | undefined, tracestate: string | undefined): Context {
  const active = api.context.active();
  const m = traceparent === undefined ? null : /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(traceparent.trim());
  if (m === null || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return active;
  const [, , traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (!api.isValidTraceId(traceId) || !api.isValidSpanId(spanId)) return active;
  // A host's HTTP instrumentation made its server span a child of the same traceparent: keep it.
  if (api.trace.getSpanContext(active)?.traceId === traceId) return active;
  const traceState = tracestate !== undefined && tracestate.trim() !== '' ? api.createTraceState(tracestate) : undefined;
  return api.trace.setSpanContext(active, { traceId, spanId, traceFlags: parseInt(flags, 16) & 0xff, isRemote: true, ...(traceState ? { traceState } : {}) });
}

/** Follows the traced requests of one router. */
export class RequestSpans {
  private readonly requests = new Map<string, Tracked>();

  constructor(
    private readonly api: OtelApi,
    private readonly prices: Prices,
    private readonly captureBodies: boolean,
  ) {}

  /** Starts the request span (the tracer is the one to use now). */
  start(tracer: Tracer, e: EngineEventMap['request:start']): void {
    if (this.requests.size >= MAX_TRACKED_REQUESTS) this.evictOldest();
    const operation = OPERATION[e.endpoint];
    const parent = parentContext(this.api, e.traceparent, e.tracestate);
    const attributes: Attributes = { [GEN_AI.operation]: operation, [OURS.configId]: e.configId, [OURS.traceId]: e.traceId };
    if (e.model !== undefined) attributes[GEN_AI.requestModel] = e.model;
    if (e.stream) attributes[GEN_AI.requestStream] = true;
    const span = tracer.startSpan(spanName(operation, e.model), { kind: this.api.SpanKind.INTERNAL, startTime: e.startedAt, attributes }, parent);
    this.requests.set(e.requestId, {
      span,
      tracer,
      ctx: this.api.trace.setSpan(parent, span),
      operation,
      model: e.model,
      body: this.captureBodies ? e.body : undefined,
      open: [],
      held: [],
      fallbacks: 0,
      breakerSkipped: undefined,
      ended: false,
    });
  }

  /** Starts an attempt's span under its request's (from the request's tracer). */
  attemptStart(e: EngineEventMap['attempt:start']): void {
    const t = this.requests.get(e.requestId);
    if (t === undefined) return;
    const model = e.model ?? t.model;
    const attributes: Attributes = {
      [GEN_AI.operation]: t.operation,
      [GEN_AI.provider]: genAiProvider(e.provider),
      [OURS.provider]: e.provider,
      [OURS.path]: e.path,
      [OURS.retry]: e.retry,
    };
    if (model !== undefined) attributes[GEN_AI.requestModel] = model;
    if (e.stream) attributes[GEN_AI.requestStream] = true;
    if (t.open.length > 0) attributes[OURS.hedge] = true;
    const startMs = Date.now();
    const span = t.tracer.startSpan(spanName(t.operation, model), { kind: this.api.SpanKind.CLIENT, startTime: startMs, attributes }, t.ctx);
    t.open.push({ path: e.path, retry: e.retry, span, startMs });
  }

  /** Ends an attempt's span (an answer's waits for the request's end); a skipped target is an event. */
  attemptEnd(e: EngineEventMap['attempt:end']): void {
    const t = this.requests.get(e.requestId);
    if (t === undefined) return;
    const rec = e.record;
    if (rec.skipped !== undefined) {
      if (rec.skipped === 'circuit_open') (t.breakerSkipped ??= []).push(rec.path);
      t.span.addEvent(OURS.skippedEvent, { [OURS.path]: rec.path, [OURS.provider]: rec.provider, [GEN_AI.provider]: genAiProvider(rec.provider), [OURS.skipReason]: rec.skipped });
      return;
    }
    const i = t.open.findIndex((a) => a.path === rec.path && a.retry === rec.retry);
    if (i < 0) return;
    const a = t.open[i]!;
    t.open.splice(i, 1);
    // A span the host's sampler dropped records nothing: its attributes are not worked out.
    if (a.span.isRecording()) this.describeAttempt(a.span, rec);
    const endMs = Math.max(a.startMs, rec.startedAt + rec.latencyMs);
    if (rec.errorClass === undefined && rec.status !== undefined && rec.status < 300 && !t.ended) t.held.push({ span: a.span, path: rec.path, endMs });
    else a.span.end(endMs);
    if (t.ended && t.open.length === 0) this.requests.delete(e.requestId);
  }

  /** Adds a fallback as an event of the request span. */
  fallback(e: EngineEventMap['fallback']): void {
    const t = this.requests.get(e.requestId);
    if (t === undefined) return;
    t.fallbacks += 1;
    const attributes: Attributes = {
      [OURS.fallbackFrom]: e.from,
      [OURS.fallbackTo]: e.to,
      [OURS.fallbackStrategy]: e.strategyPath,
      [OURS.fallbackReason]: e.errorClass,
      [OURS.status]: e.status,
      [OURS.provider]: e.provider,
    };
    if (e.code !== undefined) attributes[OURS.code] = e.code;
    t.span.addEvent(OURS.fallbackEvent, attributes);
  }

  /** The chunk sink of a traced request's stream, or undefined. */
  streamTap(requestId: string): ((chunk: JsonObject) => void) | undefined {
    const t = this.requests.get(requestId);
    if (t === undefined || t.ended) return undefined;
    const seen = (t.stream = new StreamSeen(t.body !== undefined));
    return (chunk) => seen.add(chunk);
  }

  /** The `traceparent` (and `tracestate`) of an attempt in flight. */
  traceHeaders(requestId: string, path: string, retry: number): Record<string, string> | undefined {
    const sc = this.requests.get(requestId)?.open.findLast((a) => a.path === path && a.retry === retry)?.span.spanContext();
    if (sc === undefined || !this.api.trace.isSpanContextValid(sc)) return undefined;
    const headers: Record<string, string> = { traceparent: `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}` };
    const state = sc.traceState?.serialize();
    if (state) headers.tracestate = state;
    return headers;
  }

  /** Ends the request span (one is made, from the tracer `tracerNow` gives, for a request refused before it started). */
  end(tracerNow: () => Tracer | undefined, e: EngineEventMap['request:end']): void {
    let t = this.requests.get(e.requestId);
    if (t === undefined) {
      if (e.attempts.length > 0) return;
      const tracer = tracerNow();
      if (tracer === undefined) return;
      this.start(tracer, { requestId: e.requestId, traceId: e.traceId, configId: e.configId, endpoint: e.endpoint, stream: e.stream, startedAt: e.startedAt });
      t = this.requests.get(e.requestId)!;
    }
    t.ended = true;
    const span = t.span;
    // A request the host's sampler dropped all through has nothing to describe: its spans only end.
    if (span.isRecording() || t.held.some((h) => h.span.isRecording())) this.describeEnd(span, t, e);
    for (const h of t.held) h.span.end(h.endMs);
    t.held.length = 0;
    span.end();
    if (t.open.length === 0) this.requests.delete(e.requestId);
  }

  /** The attributes and status of an ending request's span, and of the attempt spans held for it. */
  private describeEnd(span: Span, t: Tracked, e: EngineEventMap['request:end']): void {
    const answered = e.outcome?.ok === true ? e.outcome : undefined;
    const reasons = answered?.kind === 'success' ? finishReasons(answered.body) : (t.stream?.finishReasons() ?? []);
    const served = e.servedBy ?? (answered ? { path: answered.path, provider: answered.provider, ...(answered.model ? { model: answered.model } : {}) } : undefined);
    for (const h of t.held) {
      if (h.path !== served?.path) continue;
      if (reasons.length > 0) h.span.setAttribute(GEN_AI.finishReasons, reasons);
      if (answered?.kind === 'success' && typeof answered.body.id === 'string') h.span.setAttribute(GEN_AI.responseId, answered.body.id);
    }
    span.setAttributes(this.totals(e.attempts));
    span.setAttribute(OURS.status, e.status);
    span.setAttribute(OURS.fallbacks, t.fallbacks);
    if (t.breakerSkipped !== undefined) span.setAttribute(OURS.breakerSkipped, t.breakerSkipped);
    if (served) {
      span.setAttribute(GEN_AI.provider, genAiProvider(served.provider));
      span.setAttribute(OURS.servedBy, served.path);
      if (served.model !== undefined) span.setAttribute(GEN_AI.responseModel, served.model);
    }
    if (reasons.length > 0) span.setAttribute(GEN_AI.finishReasons, reasons);
    const errorType = this.requestStatus(span, e);
    if (t.body !== undefined) this.details(span, t, e, served, errorType);
  }

  /** The attributes and status of an attempt from its record. */
  private describeAttempt(span: Span, rec: AttemptRecord): void {
    if (rec.status !== undefined) span.setAttribute(OURS.status, rec.status);
    if (rec.usage) {
      span.setAttribute(GEN_AI.inputTokens, rec.usage.prompt_tokens);
      span.setAttribute(GEN_AI.outputTokens, rec.usage.completion_tokens);
    }
    if (rec.ttftMs !== undefined) {
      span.setAttribute(OURS.ttft, rec.ttftMs);
      span.setAttribute(GEN_AI.timeToFirstChunk, rec.ttftMs / 1000);
    }
    const cost = attemptPricing(rec, this.prices).costUsd;
    if (cost !== undefined) span.setAttribute(OURS.cost, cost);
    if (rec.errorClass === undefined) {
      if (rec.model !== undefined) span.setAttribute(GEN_AI.responseModel, rec.model);
      return;
    }
    if (rec.code !== undefined) span.setAttribute(OURS.code, rec.code);
    if (rec.code !== undefined && CANCELLED.has(rec.code)) {
      span.setAttribute(OURS.cancelled, rec.code);
      return;
    }
    span.setAttribute(GEN_AI.errorType, rec.errorClass);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: `${rec.status ?? ''} ${rec.errorClass}${rec.code ? ` (${rec.code})` : ''}`.trim() });
  }

  /** Attempts, retries, tokens and cost over a request's attempts. */
  private totals(attempts: readonly AttemptRecord[]): Attributes {
    let made = 0;
    let retries = 0;
    let input = 0;
    let output = 0;
    let cost = 0;
    let unpriced = false;
    for (const rec of attempts) {
      if (rec.skipped !== undefined) continue;
      made += 1;
      if (rec.retry > 0) retries += 1;
      input += rec.usage?.prompt_tokens ?? 0;
      output += rec.usage?.completion_tokens ?? 0;
      const priced = attemptPricing(rec, this.prices);
      cost += priced.costUsd ?? 0;
      if (priced.unpriced) unpriced = true;
    }
    const totals: Attributes = { [OURS.attempts]: made, [OURS.retries]: retries, [OURS.inputTokens]: input, [OURS.outputTokens]: output, [OURS.cost]: Math.round(cost * 1e10) / 1e10 };
    if (unpriced) totals[OURS.unpriced] = true;
    return totals;
  }

  /** The request span's status: UNSET when served or abandoned, ERROR (with error.type) when it failed. */
  private requestStatus(span: Span, e: EngineEventMap['request:end']): string | undefined {
    if (e.status === 499 || e.error?.code === 'client_disconnected') {
      span.setAttribute(OURS.cancelled, 'client_disconnected');
      return undefined;
    }
    if (e.status < 400) return undefined;
    const failed = e.outcome !== undefined && !e.outcome.ok ? e.outcome : undefined;
    const errorType = e.error?.code ?? failed?.errorClass ?? String(e.status);
    span.setAttribute(GEN_AI.errorType, errorType);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: e.error?.message ?? failed?.message ?? `HTTP ${e.status}` });
    return errorType;
  }

  /** The opt-in event with the prompt and the completion (captureBodies). */
  private details(span: Span, t: Tracked, e: EngineEventMap['request:end'], served: { provider: string; model?: string } | undefined, errorType: string | undefined): void {
    const attributes: Attributes = { [GEN_AI.operation]: t.operation };
    if (served) attributes[GEN_AI.provider] = genAiProvider(served.provider);
    if (t.model !== undefined) attributes[GEN_AI.requestModel] = t.model;
    if (served?.model !== undefined) attributes[GEN_AI.responseModel] = served.model;
    if (errorType !== undefined) attributes[GEN_AI.errorType] = errorType;
    const input = inputMessages(e.endpoint, t.body!);
    if (input) attributes[GEN_AI.inputMessages] = JSON.stringify(input);
    let output: GenAiMessage[] | undefined;
    if (e.outcome?.kind === 'success') output = outputMessages(e.outcome.body);
    else if (e.outcome?.kind === 'stream') output = t.stream?.messages();
    if (output) attributes[GEN_AI.outputMessages] = JSON.stringify(output);
    span.addEvent(GEN_AI.detailsEvent, attributes);
  }

  /** Ends the oldest request as it stands, to make room. */
  private evictOldest(): void {
    const [id, t] = this.requests.entries().next().value as [string, Tracked];
    this.requests.delete(id);
    for (const a of t.open) a.span.end();
    for (const h of t.held) h.span.end(h.endMs);
    if (!t.ended) t.span.end();
  }
}
