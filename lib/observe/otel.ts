/**
 * OpenTelemetry GenAI spans (issue #14) as a subscriber of the engine's events. `@opentelemetry/api`
 * is an optional peer: loaded once with a dynamic import, never with `telemetry: false`. In the
 * default mode (`'auto'`) a request is traced only when the host has registered a tracer provider
 * by the time it starts, checked per request without creating a span (a provider registered after
 * the router was built is picked up); `true` traces whenever the API is installed. Without the API
 * the subscriber removes itself, and the engine builds no payload for it.
 *
 * Nothing here is awaited on the response path; a tracer that throws is reported once and costs
 * only the spans.
 */
import type { Tracer } from '@opentelemetry/api';
import type { TracingHooks } from '../engine/context.js';
import type { EngineEventMap, EngineEvents } from '../engine/events.js';
import type { Settings } from '../options.js';
import { createPriceLookup } from '../trace/pricing.js';
import { loadOptional } from './optional.js';
import { TRACER_NAME } from './otel-names.js';
import { RequestSpans, type OtelApi } from './otel-spans.js';

/** The tracer to use, looked up per request: none until the API is loaded (and, in auto mode, a provider registered). */
class TracerSource {
  private api: OtelApi | undefined;
  /** The API's no-op provider, which a registered one replaces. */
  private noop: unknown;
  private delegate: unknown;
  private tracer: Tracer | undefined;

  constructor(private readonly always: boolean) {}

  /** Takes the loaded API. */
  use(api: OtelApi): void {
    this.api = api;
    this.noop = new api.ProxyTracerProvider().getDelegate();
  }

  /** The tracer now, or undefined: no API, or (auto) no tracer provider registered. */
  current(): Tracer | undefined {
    const api = this.api;
    if (api === undefined) return undefined;
    const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown };
    const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
    if (!this.always && (delegate === this.noop || (delegate as object | undefined)?.constructor?.name === 'NoopTracerProvider')) return undefined;
    if (delegate !== this.delegate || this.tracer === undefined) {
      this.delegate = delegate;
      this.tracer = api.trace.getTracer(TRACER_NAME);
    }
    return this.tracer;
  }
}

/**
 * Subscribes the spans to the router's events. Returns the hooks the engine and the edge call
 * (upstream `traceparent`, the stream tap), or undefined when telemetry is off.
 */
export function attachTelemetry(events: EngineEvents, settings: Pick<Settings, 'observe' | 'pricing' | 'logger'>): TracingHooks | undefined {
  const { enabled, captureBodies } = settings.observe.telemetry;
  if (enabled === false) return undefined;
  const source = new TracerSource(enabled === true);
  const prices = createPriceLookup(settings.pricing); // no logger: the trace recorder warns about unpriced models
  let spans: RequestSpans | undefined;
  let reported = false;
  /** Reports the first failure (a broken tracer must not flood the logs). */
  const report = (err: unknown): undefined => {
    if (!reported) {
      reported = true;
      settings.logger.error('express-llm-fallback: OpenTelemetry tracing failed (reported once; requests are served all the same)', { err });
    }
    return undefined;
  };
  /** Runs `fn(arg)`, reporting a throw (no closure per call: these run on every request). */
  const guard = <A, T>(fn: (arg: A) => T, arg: A): T | undefined => {
    try {
      return fn(arg);
    } catch (err) {
      return report(err);
    }
  };
  const tracerNow = (): Tracer | undefined => source.current();
  const onStart = (e: EngineEventMap['request:start']): void => {
    const tracer = spans && tracerNow();
    if (tracer === undefined) return;
    followAttempts();
    spans!.start(tracer, e);
  };
  const onAttemptStart = (e: EngineEventMap['attempt:start']): void => spans?.attemptStart(e);
  const onAttemptEnd = (e: EngineEventMap['attempt:end']): void => spans?.attemptEnd(e);
  const onFallback = (e: EngineEventMap['fallback']): void => spans?.fallback(e);
  const onEnd = (e: EngineEventMap['request:end']): void => spans?.end(tracerNow, e);

  const off: Array<() => void> = [];
  let following = false;
  /** The attempt events, subscribed once a request is first traced: until then the engine builds no payload for them. */
  const followAttempts = (): void => {
    if (following) return;
    following = true;
    off.push(
      events.on('attempt:start', (e) => void guard(onAttemptStart, e)),
      events.on('attempt:end', (e) => void guard(onAttemptEnd, e)),
      events.on('fallback', (e) => void guard(onFallback, e)),
    );
  };
  off.push(
    events.on('request:start', (e) => void guard(onStart, e)),
    events.on('request:end', (e) => void guard(onEnd, e)),
  );
  void loadOptional<OtelApi>('@opentelemetry/api').then((api) => {
    if (api === undefined || typeof api.trace?.getTracerProvider !== 'function') {
      for (const unsubscribe of off) unsubscribe(); // not installed: nothing more to pay
      if (enabled === true) settings.logger.warn('express-llm-fallback: options.telemetry is on, but @opentelemetry/api is not installed: no spans (npm install @opentelemetry/api)');
      return;
    }
    source.use(api);
    spans = new RequestSpans(api, prices, captureBodies);
  });

  return {
    traceHeaders: (requestId, attempt) => (spans ? guard((a) => spans!.traceHeaders(requestId, a.path, a.retry), attempt) : undefined),
    streamTap: (requestId) => (spans ? guard((id) => spans!.streamTap(id), requestId) : undefined),
  };
}
