/**
 * The OpenTelemetry sink: the metrics as instruments of a meter of the global MeterProvider
 * (`@opentelemetry/api`, an optional peer dependency, loaded by the caller). The API has no proxy
 * meter provider, so a meter taken before the host registers its provider would stay a no-op:
 * `refresh()` reads the global provider again (once per request) and makes the instruments on the
 * first real one it sees, so a provider registered after the router was built is picked up, and
 * none is made while there is none (the API's own no-op meter tells).
 *
 * Names and attributes follow the GenAI metrics conventions where they have one
 * (`gen_ai.operation.name`, `gen_ai.provider.name` with its well-known values (otel-names.ts, as
 * the spans have them), `gen_ai.request.model` (bounded like the Prometheus `model` label),
 * `gen_ai.token.type`, `error.type`); ours are under `llm_fallback.*`. Histograms are recorded as
 * they come; counters are observable (totals kept here, read at each collection), which spares the
 * SDK's attribute hashing on every add.
 */
import { BREAKER_STATE, METRICS, type BreakerLabels, type LabelName, type Labels, type MetricId, type MetricsSink } from './metrics-defs.js';
import type { BreakerStates } from './metrics-labels.js';
import type { Logger } from './logger.js';
import { genAiProvider, OPERATION } from './otel-names.js';

type Attributes = Record<string, string | number>;
interface InstrumentOptions {
  description: string;
  unit: string;
  advice?: { explicitBucketBoundaries: number[] };
}
interface ObservableResult {
  observe(value: number, attributes?: Attributes): void;
}
interface Observable {
  addCallback(callback: (result: ObservableResult) => void): void;
}
/** What the router uses of an OpenTelemetry Meter. */
interface Meter {
  createCounter(name: string, options: InstrumentOptions): { add(value: number, attributes?: Attributes): void };
  createHistogram(name: string, options: InstrumentOptions): { record(value: number, attributes?: Attributes): void };
  createObservableGauge(name: string, options: InstrumentOptions): Observable;
  createObservableCounter(name: string, options: InstrumentOptions): Observable;
}
interface MeterProvider {
  getMeter(name: string): Meter;
}
/** What the router uses of `@opentelemetry/api`. */
export interface OtelMetricsApi {
  readonly metrics: { getMeterProvider(): MeterProvider };
  createNoopMeter(): Meter;
}

/** The meter's name (the instrumentation scope). */
export const METER_NAME = 'express-llm-fallback';

/** The attribute of each label; endpoint, provider and status are translated. */
const ATTRIBUTE: Readonly<Record<LabelName, string>> = {
  endpoint: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  model: 'gen_ai.request.model',
  type: 'gen_ai.token.type',
  status: 'http.response.status_code',
  config_id: 'llm_fallback.config_id',
  outcome: 'llm_fallback.outcome',
  reason: 'llm_fallback.reason',
  to: 'llm_fallback.breaker.state',
  target: 'llm_fallback.breaker.target',
};

/** An observation's labels as OpenTelemetry attributes; a failure's reason is its `error.type` too. */
export function otelAttributes(labels: Labels): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(labels) as Array<[LabelName, string | undefined]>) {
    if (value === undefined || value === '') continue;
    if (name === 'endpoint') out[ATTRIBUTE.endpoint] = OPERATION[value as keyof typeof OPERATION] ?? value;
    else if (name === 'provider') out[ATTRIBUTE.provider] = genAiProvider(value);
    else if (name === 'status') out[ATTRIBUTE.status] = Number(value);
    else out[ATTRIBUTE[name]] = value;
  }
  if (labels.reason && labels.outcome !== 'skipped') out['error.type'] = labels.reason;
  return out;
}

/** A labels object's attributes, and a stable key of them (the counters' totals are kept by it). */
interface Attributed {
  readonly key: string;
  readonly attributes: Attributes;
}
type Instrument = (value: number, at: Attributed) => void;
type Instruments = Readonly<Partial<Record<MetricId, Instrument>>>;

/** The OpenTelemetry sink of one router. */
export class OtelSink implements MetricsSink {
  private provider: MeterProvider | undefined;
  private instruments: Instruments | undefined;
  /** The instruments made per provider (null: its meter is the no-op one). */
  private readonly made = new WeakMap<MeterProvider, Instruments | null>();
  /** The attributes of each labels object (the subscriber interns them). */
  private readonly attributes = new WeakMap<Labels, Attributed>();

  constructor(
    private readonly api: OtelMetricsApi,
    private readonly breakers: BreakerStates,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** Reads the global MeterProvider again; true when a real one is registered. Cheap when unchanged. */
  refresh(): boolean {
    const provider = this.api.metrics.getMeterProvider();
    if (provider !== this.provider) {
      this.provider = provider;
      let made = this.made.get(provider);
      if (made === undefined) {
        made = this.create(provider);
        this.made.set(provider, made);
      }
      this.instruments = made ?? undefined;
    }
    return this.instruments !== undefined;
  }

  record(id: MetricId, value: number, labels: Labels): void {
    const instrument = this.instruments?.[id];
    if (instrument === undefined) return;
    let at = this.attributes.get(labels);
    if (at === undefined) {
      const attributes = otelAttributes(labels);
      at = { key: JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1))), attributes };
      this.attributes.set(labels, at);
    }
    instrument(value, at);
  }

  /** The breaker gauge is observable: it reads the states when the host's reader collects. */
  breaker(_labels: BreakerLabels, _value: number | undefined): void {}

  private create(provider: MeterProvider): Instruments | null {
    try {
      const meter = provider.getMeter(METER_NAME);
      if (meter === this.api.createNoopMeter()) return null;
      const out: Partial<Record<MetricId, Instrument>> = {};
      for (const id of Object.keys(METRICS) as MetricId[]) {
        const def = METRICS[id].otel;
        const options: InstrumentOptions = { description: def.description, unit: def.unit };
        if (def.type === 'counter') out[id] = observableCounter(meter, def.name, options);
        else {
          const h = meter.createHistogram(def.name, { ...options, advice: { explicitBucketBoundaries: [...def.buckets!] } });
          out[id] = (value, at) => h.record(value, at.attributes);
        }
      }
      const g = BREAKER_STATE.otel;
      meter.createObservableGauge(g.name, { description: g.description, unit: g.unit }).addCallback((result) => {
        for (const [labels, value] of this.breakers.rows()) result.observe(value, otelAttributes(labels));
      });
      return out;
    } catch (err) {
      this.logger.warn('express-llm-fallback: the OpenTelemetry metrics could not be created', { err });
      return null;
    }
  }
}

/**
 * A counter kept here and observed when the host's reader collects: adding to a total is a map
 * update, where the SDK's synchronous counter hashes the attributes on every add. The totals are
 * per attribute set, so they are as bounded as the labels.
 */
function observableCounter(meter: Meter, name: string, options: InstrumentOptions): Instrument {
  const totals = new Map<string, { readonly attributes: Attributes; value: number }>();
  meter.createObservableCounter(name, options).addCallback((result) => {
    for (const t of totals.values()) result.observe(t.value, t.attributes);
  });
  return (value, at) => {
    const t = totals.get(at.key);
    if (t !== undefined) t.value += value;
    else totals.set(at.key, { attributes: at.attributes, value });
  };
}
