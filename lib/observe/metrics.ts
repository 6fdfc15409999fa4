/**
 * The metrics a dashboard needs, as one subscriber of the engine's events: requests, attempts,
 * fallbacks, retries, breaker states and transitions, hedges, latencies, time to first token,
 * tokens and cost (see metrics-defs.ts for every name). Each observation goes to the sinks that
 * are on: Prometheus (`options.metrics`, through prom-client) and OpenTelemetry (the global
 * MeterProvider, unless `telemetry: false`).
 *
 * Free when off: without `options.metrics` and with `telemetry: false` nothing is subscribed or
 * loaded. With telemetry on (`true` or the default, auto) and no `options.metrics`, the
 * OpenTelemetry API is loaded once if installed; then one `request:start` listener reads the
 * global MeterProvider, and the other listeners are attached only while a real provider is
 * registered (and detached when it is gone), so a router whose host never registers one pays
 * one function call per request.
 */
import type { EngineEventMap, EngineEvents } from '../engine/events.js';
import type { Settings } from '../options.js';
import { attemptPricing } from '../trace/build.js';
import { createPriceLookup, type PriceLookup } from '../trace/pricing.js';
import { BREAKER_VALUE, type Labels, type MetricId, type MetricsSink } from './metrics-defs.js';
import { BreakerStates, Interned, LabelMaker } from './metrics-labels.js';
import { OtelSink, type OtelMetricsApi } from './metrics-otel.js';
import { PromSink, type PromRegistry } from './metrics-prom.js';
import { loadOptional } from './optional.js';

/** Most requests in flight whose endpoint and config label are remembered until their end. */
const MAX_IN_FLIGHT = 100_000;

interface InFlight {
  readonly endpoint: string;
  readonly config: string;
}

type Events = EngineEventMap;

/** The labels of one kind of attempt, for each metric it feeds. */
interface AttemptLabels {
  readonly base: Labels;
  readonly outcome: Labels;
  readonly input: Labels;
  readonly output: Labels;
  readonly provider: Labels;
}

/** The metrics subscriber of one router (one engine event stream). */
class MetricsSubscriber {
  readonly prom?: PromSink;
  private otel?: OtelSink;
  private readonly sinks: MetricsSink[] = [];
  private readonly labels: LabelMaker;
  private readonly breakers = new BreakerStates();
  private readonly prices: PriceLookup;
  private readonly inFlight = new Map<string, InFlight>();
  /** The label objects of each kind of request and attempt, made once (the sinks cache by them). */
  private readonly requestLabels = new Interned<{ readonly count: Labels; readonly duration: Labels }>();
  private readonly attemptLabels = new Interned<AttemptLabels>();
  private readonly otherLabels = new Interned<Labels>();
  /** Unsubscribers of the per-request listeners, while they are attached. */
  private attached: Array<() => void> | undefined;

  constructor(
    private readonly events: EngineEvents,
    settings: Settings,
  ) {
    this.labels = new LabelMaker(settings);
    // No logger: the trace recorder already warns about unpriced models.
    this.prices = createPriceLookup(settings.pricing);
    const { metrics, telemetry } = settings.observe;
    if (metrics !== undefined) {
      this.prom = new PromSink(metrics, settings.logger);
      this.sinks.push(this.prom);
      this.listen();
      this.gate(true);
    }
    if (telemetry.enabled === false) return;
    void loadOptional<OtelMetricsApi>('@opentelemetry/api').then((api) => {
      if (typeof api?.metrics?.getMeterProvider !== 'function') return;
      this.otel = new OtelSink(api, this.breakers, settings.logger);
      this.sinks.push(this.otel);
      if (this.prom === undefined) this.listen();
    });
  }

  /** Subscribes to the events that are not per request, and to request:start. */
  private listen(): void {
    this.events.on('breaker:state', (e) => this.onBreaker(e));
    this.events.on('request:start', (e) => this.onRequestStart(e));
  }

  /** Attaches (or, for OpenTelemetry alone without a provider, detaches) the per-request listeners. */
  private gate(on: boolean): void {
    if (on && this.attached === undefined) {
      this.attached = [
        this.events.on('attempt:end', (e) => this.onAttempt(e)),
        this.events.on('fallback', (e) => this.onFallback(e)),
        this.events.on('hedge', (e) => this.onHedge(e)),
        this.events.on('request:end', (e) => this.onRequestEnd(e)),
      ];
    } else if (!on && this.attached !== undefined) {
      for (const off of this.attached) off();
      this.attached = undefined;
      this.inFlight.clear();
    }
  }

  private record(id: MetricId, value: number, labels: Labels): void {
    for (const sink of this.sinks) sink.record(id, value, labels);
  }

  private onRequestStart(e: Events['request:start']): void {
    const otelOn = this.otel?.refresh() ?? false;
    this.gate(this.prom !== undefined || otelOn);
    if (this.attached === undefined) return;
    if (this.inFlight.size >= MAX_IN_FLIGHT) this.inFlight.delete(this.inFlight.keys().next().value!);
    this.inFlight.set(e.requestId, { endpoint: e.endpoint, config: this.labels.config(e.configId, e.configSource) });
  }

  private onRequestEnd(e: Events['request:end']): void {
    const known = this.inFlight.get(e.requestId);
    if (known !== undefined) this.inFlight.delete(e.requestId);
    const config = known?.config ?? this.labels.config(e.configId);
    const l = this.requestLabels.get(`${e.endpoint}\n${e.status}\n${config}`, () => ({
      count: { endpoint: e.endpoint, status: String(e.status), config_id: config },
      duration: { endpoint: e.endpoint, config_id: config },
    }));
    this.record('requests', 1, l.count);
    this.record('requestDuration', Math.max(0, Date.now() - e.startedAt) / 1000, l.duration);
  }

  private onAttempt({ requestId, record: r }: Events['attempt:end']): void {
    const endpoint = this.inFlight.get(requestId)?.endpoint;
    const [outcome, reason] = outcomeOf(r);
    const l = this.attemptLabels.get(`${r.provider}\n${r.requestedModel ?? ''}\n${r.model ?? ''}\n${endpoint ?? ''}\n${outcome}\n${reason}`, () => {
      const provider = this.labels.provider(r.provider);
      const model = this.labels.model(r.requestedModel ?? r.model, r.model);
      const base: Labels = endpoint === undefined ? { provider, model } : { provider, model, endpoint };
      return { base, outcome: { ...base, outcome, reason }, input: { ...base, type: 'input' }, output: { ...base, type: 'output' }, provider: { provider } };
    });
    this.record('attempts', 1, l.outcome);
    if (r.skipped !== undefined) return;
    this.record('attemptDuration', Math.max(0, r.latencyMs) / 1000, l.outcome);
    if (r.retry > 0) this.record('retries', 1, l.provider);
    if (r.ttftMs !== undefined) this.record('ttft', r.ttftMs / 1000, l.base);
    if (r.usage !== undefined) {
      if (r.usage.prompt_tokens > 0) this.record('tokens', r.usage.prompt_tokens, l.input);
      if (r.usage.completion_tokens > 0) this.record('tokens', r.usage.completion_tokens, l.output);
    }
    const pricing = attemptPricing(r, this.prices);
    if (pricing.unpriced) this.record('unpriced', 1, l.base);
    else if (pricing.costUsd !== undefined && pricing.costUsd > 0) this.record('cost', pricing.costUsd, l.base);
  }

  private onFallback(e: Events['fallback']): void {
    const endpoint = this.inFlight.get(e.requestId)?.endpoint;
    const labels = this.otherLabels.get(`fallback\n${e.provider}\n${e.errorClass}\n${endpoint ?? ''}`, () => {
      const provider = this.labels.provider(e.provider);
      return endpoint === undefined ? { provider, reason: e.errorClass } : { provider, reason: e.errorClass, endpoint };
    });
    this.record('fallbacks', 1, labels);
  }

  private onHedge(e: Events['hedge']): void {
    const config = this.inFlight.get(e.requestId)?.config ?? 'inline';
    this.record(e.phase === 'won' ? 'hedgesWon' : 'hedgesStarted', 1, this.otherLabels.get(`hedge\n${config}`, () => ({ config_id: config })));
  }

  private onBreaker(e: Events['breaker:state']): void {
    this.otel?.refresh();
    const labels = this.labels.breaker(e.key);
    this.record('breakerTransitions', 1, this.otherLabels.get(`breaker\n${labels.provider}\n${e.to}`, () => ({ provider: labels.provider, to: e.to })));
    for (const [series, value] of this.breakers.set(e.key, labels, BREAKER_VALUE[e.to])) {
      for (const sink of this.sinks) sink.breaker(series, value);
    }
  }
}

/** An attempt's outcome label and its reason (error class, skip or cancel reason; '' for a success). */
function outcomeOf(r: Events['attempt:end']['record']): readonly [string, string] {
  if (r.skipped !== undefined) return ['skipped', r.skipped];
  if (r.code === 'hedge_cancelled' || r.code === 'client_disconnected') return ['cancelled', r.code];
  if (r.errorClass !== undefined) return ['failure', r.errorClass];
  return ['success', ''];
}

const subscribers = new WeakMap<EngineEvents, MetricsSubscriber>();

/**
 * Subscribes the metrics to a router's events, when `options.metrics` is set or telemetry is
 * not off (see the file's comment for what that costs).
 */
export function attachMetrics(events: EngineEvents, settings: Settings): void {
  const { metrics, telemetry } = settings.observe;
  if (metrics === undefined && telemetry.enabled === false) return;
  subscribers.set(events, new MetricsSubscriber(events, settings));
}

/**
 * The prom-client Registry a router's metrics are in (GET /metrics serves it), once prom-client is
 * loaded; undefined without `options.metrics` or when prom-client is not installed.
 */
export function metricsRegistry(events: EngineEvents): Promise<PromRegistry | undefined> {
  return subscribers.get(events)?.prom?.registry ?? Promise.resolve(undefined);
}
