/**
 * The Prometheus sink: the metrics as prom-client Counters, Histograms and a Gauge, registered in
 * `options.metrics.registry` (the host's Registry), else in a Registry of the router's own when
 * `route` is set (GET /metrics serves it), else in prom-client's global `register`.
 *
 * prom-client is an optional peer dependency, loaded with a dynamic import when the router is
 * built with `options.metrics`; until it is loaded (a few ms), observations wait in a bounded
 * queue. A metric of the same name already in the registry (a second router on the same registry,
 * a hot reload) is reused when it is of the same type and labels, so building a router twice
 * never throws "already registered" and both count into the same series; a metric of that name
 * that is something else is left alone and ours is not recorded (one warning).
 *
 * Counters are added up here and handed to prom-client when the registry is read (the metric's
 * `collect`, which every read goes through): an add is a map update, where prom-client hashes and
 * validates the labels on every `inc`. Histograms are observed as they come.
 */
import type { Logger } from './logger.js';
import { loadOptional } from './optional.js';
import { BREAKER_STATE, METRICS, type BreakerLabels, type Labels, type MetricId, type MetricsSink } from './metrics-defs.js';

/** What the router uses of a prom-client Registry. */
export interface PromRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
  getSingleMetric(name: string): unknown;
  registerMetric(metric: unknown): void;
}

type LabelValues = Record<string, string>;
interface PromConfig {
  name: string;
  help: string;
  labelNames: string[];
  registers: PromRegistry[];
  buckets?: number[];
  collect?: (this: unknown) => void;
}
export interface PromCounter {
  inc(labels: LabelValues, value: number): void;
}
interface PromHistogram {
  observe(labels: LabelValues, value: number): void;
}
interface PromGauge {
  set(labels: LabelValues, value: number): void;
  remove(labels: LabelValues): void;
}
/** What the router uses of the prom-client module. */
interface PromClient {
  Registry: new () => PromRegistry;
  register: PromRegistry;
  Counter: new (config: PromConfig) => PromCounter;
  Histogram: new (config: PromConfig) => PromHistogram;
  Gauge: new (config: PromConfig) => PromGauge;
}

/** Most observations held while prom-client loads; past it they are dropped. */
const MAX_QUEUED = 10_000;
/** Most label sets a counter adds up between two reads; past it the totals are handed over at once. */
export const MAX_PENDING = 1000;
/**
 * Where a counter made by a router keeps the flushers of every router that counts into it (a
 * second router on the same registry reuses the metric): its `collect` runs them all.
 */
const FLUSHERS = Symbol.for('express-llm-fallback.prom.flushers');
type Flushable = { [FLUSHERS]?: Set<() => void> };

type Recorder = (labels: Labels, value: number) => void;
type Queued = readonly [MetricId, number, Labels] | readonly [BreakerLabels, number | undefined];

/** The Prometheus sink of one router. */
export class PromSink implements MetricsSink {
  /** The registry, once prom-client is loaded; undefined when it is not installed. */
  readonly registry: Promise<PromRegistry | undefined>;
  private recorders?: Partial<Record<MetricId, Recorder>>;
  private gauge?: PromGauge | undefined;
  private queue: Queued[] | undefined = [];

  constructor(
    private readonly options: { readonly registry?: unknown; readonly route: boolean; readonly prefix: string },
    private readonly logger: Pick<Logger, 'warn'>,
  ) {
    this.registry = loadOptional<PromClient>('prom-client')
      .then((client) => this.start(client))
      .catch((err: unknown) => {
        this.logger.warn('express-llm-fallback: the Prometheus metrics could not be created', { err });
        return undefined;
      });
  }

  record(id: MetricId, value: number, labels: Labels): void {
    if (this.recorders) this.recorders[id]?.(labels, value);
    else if (this.queue && this.queue.length < MAX_QUEUED) this.queue.push([id, value, labels]);
  }

  breaker(labels: BreakerLabels, value: number | undefined): void {
    if (this.recorders) this.writeBreaker(labels, value);
    else if (this.queue && this.queue.length < MAX_QUEUED) this.queue.push([labels, value]);
  }

  private writeBreaker(labels: BreakerLabels, value: number | undefined): void {
    if (value === undefined) this.gauge?.remove(labels);
    else this.gauge?.set(labels, value);
  }

  /** Creates (or finds) the metrics, then replays what was observed meanwhile. */
  private start(client: PromClient | undefined): PromRegistry | undefined {
    const queued = this.queue ?? [];
    this.queue = undefined;
    if (client === undefined) {
      this.logger.warn('express-llm-fallback: options.metrics is set, but prom-client is not installed (npm install prom-client): no Prometheus metrics.');
      return undefined;
    }
    const registry = (this.options.registry as PromRegistry | undefined) ?? (this.options.route ? new client.Registry() : client.register);
    const recorders: Partial<Record<MetricId, Recorder>> = {};
    for (const id of Object.keys(METRICS) as MetricId[]) {
      const def = METRICS[id].prom;
      const config: PromConfig = { name: this.options.prefix + def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
      const values = labelValues(config.labelNames);
      if (def.type === 'counter') {
        const flushers = new Set<() => void>();
        const counterConfig: PromConfig = {
          ...config,
          collect(this: unknown) {
            for (const flush of (this as Flushable)[FLUSHERS] ?? []) flush();
          },
        };
        const c = this.make(registry, counterConfig, 'Counter', () => Object.assign(new client.Counter(counterConfig), { [FLUSHERS]: flushers }));
        if (c) recorders[id] = addingUp(c, values);
      } else {
        const histogram = { ...config, buckets: [...def.buckets!] };
        const h = this.make(registry, histogram, 'Histogram', () => new client.Histogram(histogram));
        if (h) recorders[id] = (labels, value) => h.observe(values(labels), value);
      }
    }
    const g = BREAKER_STATE.prom;
    const gaugeConfig: PromConfig = { name: this.options.prefix + g.name, help: g.help, labelNames: [...g.labels], registers: [registry] };
    this.gauge = this.make(registry, gaugeConfig, 'Gauge', () => new client.Gauge(gaugeConfig));
    this.recorders = recorders;
    for (const q of queued) {
      if (typeof q[0] === 'string') this.record(q[0], q[1], q[2] as Labels);
      else this.writeBreaker(q[0], q[1]);
    }
    return registry;
  }

  /** The metric: made and registered, or the registry's own of that name when it is the same. */
  private make<T>(registry: PromRegistry, config: PromConfig, kind: string, create: () => T): T | undefined {
    return registry.getSingleMetric(config.name) === undefined ? create() : this.reuse<T>(registry, config, kind);
  }

  /**
   * The metric of that name already in the registry, when it is a `kind` with the same labels;
   * undefined when there is none, or (with a warning) when it is something else.
   */
  private reuse<T>(registry: PromRegistry, config: PromConfig, kind: string): T | undefined {
    const existing = registry.getSingleMetric(config.name) as { constructor?: { name?: string }; labelNames?: unknown } | undefined;
    if (existing === undefined) return undefined;
    const labels = Array.isArray(existing.labelNames) ? [...(existing.labelNames as string[])].sort().join(',') : '';
    if (existing.constructor?.name === kind && labels === [...config.labelNames].sort().join(',')) return existing as T;
    this.logger.warn(`express-llm-fallback: the metrics registry already has a ${config.name} that is not the router's ${kind} (labels ${config.labelNames.join(', ')}); it is not recorded.`);
    return undefined;
  }
}

/**
 * A counter's recorder: adds up per label set, and hands the totals to prom-client when the
 * registry reads the counter (or when too many label sets wait). A counter this package did not
 * make (no flushers: someone else's of the same name, type and labels) is incremented at once.
 */
export function addingUp(counter: PromCounter & Flushable, values: (labels: Labels) => LabelValues): Recorder {
  const flushers = counter[FLUSHERS];
  if (flushers === undefined) return (labels, value) => counter.inc(values(labels), value);
  const pending = new Map<LabelValues, number>();
  const flush = (): void => {
    for (const [labelValues, value] of pending) counter.inc(labelValues, value);
    pending.clear();
  };
  flushers.add(flush);
  return (labels, value) => {
    const at = values(labels);
    const sum = pending.get(at);
    if (sum !== undefined) pending.set(at, sum + value);
    else {
      if (pending.size >= MAX_PENDING) flush();
      pending.set(at, value);
    }
  };
}

/**
 * The label values a metric takes from an observation's labels (a missing one is empty), cached
 * by the labels object (the subscriber interns them).
 */
function labelValues(names: readonly string[]): (labels: Labels) => LabelValues {
  const cache = new WeakMap<Labels, LabelValues>();
  return (labels) => {
    let out = cache.get(labels);
    if (out === undefined) {
      out = {};
      for (const name of names) out[name] = (labels as Record<string, string | undefined>)[name] ?? '';
      cache.set(labels, out);
    }
    return out;
  };
}
