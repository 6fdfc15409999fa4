/**
 * The host of the observability benches (bench/observe.ts, bench/observe-share.ts): the
 * OpenTelemetry SDK registered as a service would register it, a prom-client registry scraped every
 * second, and the floor: what the SDK and prom-client cost for the router's telemetry without the
 * router.
 */
import { context, metrics, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type express from 'express';
import client from 'prom-client';

/** Exporters that drop everything, as fast as an exporter can be: the cost measured is ours and the SDK's. */
const spanExporter: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
const metricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: 0 }),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

export interface OtelHost {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  /** Scraped every second, as a Prometheus server would. */
  readonly registry: client.Registry;
  shutdown(): Promise<void>;
}

/**
 * Registers the SDK globally, as a host would: an AsyncLocalStorage context manager, a
 * BasicTracerProvider with a BatchSpanProcessor (unless `spans` is false), a MeterProvider with a
 * PeriodicExportingMetricReader every second (unless `metrics` is false), both exporting to
 * no-op exporters. `hooks`: the context manager's async hooks on from the start (one
 * `context.with`, as the SDK's exporters make at their first export).
 */
export function startOtelHost(options: { readonly spans?: boolean; readonly metrics?: boolean; readonly hooks?: boolean } = {}): OtelHost {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (options.hooks) context.with(context.active().setValue(Symbol('bench'), true), () => undefined);
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  if (options.spans !== false) trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] });
  if (options.metrics !== false) metrics.setGlobalMeterProvider(meterProvider);
  const registry = new client.Registry();
  setInterval(() => void registry.metrics(), 1000).unref();
  return {
    tracerProvider,
    meterProvider,
    registry,
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/**
 * The floor of the observability benches: beside a router with its telemetry off, a host middleware that makes,
 * per request, the same calls to the OpenTelemetry SDK and prom-client that the router makes for
 * a chat request served by its first target (two spans with the router's attributes, the four
 * GenAI and request histogram points, the two Prometheus histograms; the counters are totals
 * kept in maps and are left out). What it costs is what those libraries cost for this telemetry
 * with nothing of the router's own: the floor under the "on" figure.
 */
export function floorTelemetry(tp: BasicTracerProvider, mp: MeterProvider, registry: client.Registry): express.RequestHandler {
  const tracer = tp.getTracer('express-llm-fallback');
  const meter = mp.getMeter('express-llm-fallback');
  const requestDuration = meter.createHistogram('llm_fallback.request.duration', { unit: 's' });
  const operationDuration = meter.createHistogram('gen_ai.client.operation.duration', { unit: 's' });
  const tokenUsage = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  const promRequest = new client.Histogram({ name: 'floor_request_duration_seconds', help: 'floor', labelNames: ['endpoint', 'config_id'], registers: [registry] });
  const promAttempt = new client.Histogram({ name: 'floor_attempt_duration_seconds', help: 'floor', labelNames: ['provider', 'model', 'outcome'], registers: [registry] });
  return (_req, res, next) => {
    const startedAt = Date.now();
    const span = tracer.startSpan('chat gpt-4o', {
      kind: SpanKind.INTERNAL,
      startTime: startedAt,
      attributes: { 'gen_ai.operation.name': 'chat', 'llm_fallback.config_id': 'x', 'llm_fallback.trace_id': 'a-trace-id', 'gen_ai.request.model': 'gpt-4o' },
    });
    const ctx = trace.setSpan(context.active(), span);
    const attempt = tracer.startSpan(
      'chat gpt-4o',
      {
        kind: SpanKind.CLIENT,
        startTime: Date.now(),
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'llm_fallback.target.provider': 'openai', 'llm_fallback.target.path': '0', 'llm_fallback.retry': 0, 'gen_ai.request.model': 'gpt-4o' },
      },
      ctx,
    );
    res.once('finish', () => {
      attempt.setAttribute('llm_fallback.status', 200);
      attempt.setAttribute('gen_ai.usage.input_tokens', 12);
      attempt.setAttribute('gen_ai.usage.output_tokens', 9);
      attempt.setAttribute('llm_fallback.cost_usd', 0.00012);
      attempt.setAttribute('gen_ai.response.model', 'gpt-4o');
      attempt.setAttribute('gen_ai.response.finish_reasons', ['stop']);
      attempt.setAttribute('gen_ai.response.id', 'chatcmpl-1');
      span.setAttributes({ 'llm_fallback.attempts': 1, 'llm_fallback.retries': 0, 'llm_fallback.usage.input_tokens': 12, 'llm_fallback.usage.output_tokens': 9, 'llm_fallback.cost_usd': 0.00012 });
      span.setAttribute('llm_fallback.status', 200);
      span.setAttribute('llm_fallback.fallbacks', 0);
      span.setAttribute('gen_ai.provider.name', 'openai');
      span.setAttribute('llm_fallback.served_by', '0');
      span.setAttribute('gen_ai.response.model', 'gpt-4o');
      span.setAttribute('gen_ai.response.finish_reasons', ['stop']);
      attempt.end();
      span.end();
      const seconds = (Date.now() - startedAt) / 1000;
      requestDuration.record(seconds, { 'gen_ai.operation.name': 'chat', 'llm_fallback.config_id': 'header' });
      operationDuration.record(seconds, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'llm_fallback.outcome': 'success' });
      tokenUsage.record(12, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.token.type': 'input' });
      tokenUsage.record(9, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.token.type': 'output' });
      promRequest.observe({ endpoint: 'chat', config_id: 'header' }, seconds);
      promAttempt.observe({ provider: 'openai', model: 'gpt-4o', outcome: 'success' }, seconds);
    });
    next();
  };
}
