/**
 * Bounded label values for the metrics: a client chooses model names, configs and breaker keys
 * freely, and every distinct label value is a time series a Prometheus server keeps. So:
 *
 * - `provider`: the canonical adapter name (bounded by the adapter registry), else `other`;
 * - `model`: a model listed in `options.metrics.modelLabels` (or any, with `'all'`), else
 *   `other` (`none` when the attempt named no model);
 * - `config_id`: a saved config id of `options.configs`, `default`, `invalid` (refused before
 *   any attempt), else where the request's own config came from: `header` or `inline`;
 * - the breaker gauge: one series per target, its key spelt out with the model bounded the same
 *   way; targets that come to the same labels share a series (the worst state of them), and at
 *   most {@link MAX_BREAKER_SERIES} targets are kept, the least recently changed forgotten first.
 */
import type { Settings } from '../options.js';
import { canonicalProvider } from '../providers/registry.js';
import type { BreakerLabels } from './metrics-defs.js';

/** Most breaker keys tracked (the breaker mirror keeps as many). */
export const MAX_BREAKER_SERIES = 10_000;
/** Most provider spellings remembered (targets are validated, so there are few). */
const MAX_PROVIDER_CACHE = 1000;

/** The label values of one router. */
export class LabelMaker {
  private readonly providers = new Map<string, string>();
  private readonly models: ReadonlySet<string> | 'all';

  constructor(private readonly settings: Pick<Settings, 'adapters' | 'configs' | 'observe'>) {
    this.models = settings.observe.metrics?.modelLabels ?? new Set();
  }

  /** The canonical adapter name of a provider, or `other` for a name no adapter has. */
  provider(name: string): string {
    let label = this.providers.get(name);
    if (label === undefined) {
      const canonical = canonicalProvider(name);
      label = this.settings.adapters.has(canonical) ? canonical : 'other';
      if (this.providers.size < MAX_PROVIDER_CACHE) this.providers.set(name, label);
    }
    return label;
  }

  /**
   * The model label of an attempt: the model it asked for when that is listed, else the one that
   * served when that is, else `other`; `none` when it named no model.
   */
  model(requested: string | undefined, served?: string): string {
    const asked = requested ?? served;
    if (asked === undefined) return 'none';
    if (this.models === 'all') return asked;
    if (this.models.has(asked)) return asked;
    return served !== undefined && this.models.has(served) ? served : 'other';
  }

  /**
   * The config label: a saved id as is; `default` and `invalid` as is; a config the request
   * brought itself by where it came (`header-*` sources: `header`; else `inline`).
   */
  config(configId: string, source?: string): string {
    if (this.settings.configs.has(configId) || configId === 'default' || configId === 'invalid') return configId;
    return source?.startsWith('header') ? 'header' : 'inline';
  }

  /** A breaker key (`provider|model|endpoint|account[|scope]`) as the gauge's labels. */
  breaker(key: string): BreakerLabels {
    const [provider = '', model = '-', endpoint = '', account = '', scope] = key.split('|');
    return {
      provider: this.provider(provider),
      model: model === '-' ? 'none' : this.model(model),
      endpoint,
      target: scope === undefined ? account : `${account}/${scope}`,
    };
  }
}

/**
 * Values made once per distinct key and reused while the key recurs (at most `max` keys; past
 * it the table starts again). The metrics intern their label objects so that each sink can cache
 * what it derives from one (its label values, its attributes) by identity.
 */
export class Interned<T> {
  private readonly table = new Map<string, T>();

  constructor(private readonly max = 1000) {}

  get(key: string, make: () => T): T {
    let value = this.table.get(key);
    if (value === undefined) {
      if (this.table.size >= this.max) this.table.clear();
      value = make();
      this.table.set(key, value);
    }
    return value;
  }
}

interface Series {
  readonly labels: BreakerLabels;
  /** State value per breaker key in this series. */
  readonly members: Map<string, number>;
}

/** A series to write: its labels and value, or undefined to remove it. */
export type BreakerWrite = readonly [BreakerLabels, number | undefined];

/**
 * The breaker gauge's series, by target: what each breaker key last reported, grouped by label
 * set (a series' value is the worst state of its keys), bounded to `max` keys.
 */
export class BreakerStates {
  /** Series id per breaker key, least recently changed first. */
  private readonly keys = new Map<string, string>();
  private readonly series = new Map<string, Series>();

  constructor(private readonly max = MAX_BREAKER_SERIES) {}

  /** Records a key's new state; returns the series writes it makes (evictions included). */
  set(key: string, labels: BreakerLabels, value: number): BreakerWrite[] {
    const id = `${labels.provider}|${labels.model}|${labels.endpoint}|${labels.target}`;
    this.keys.delete(key);
    this.keys.set(key, id);
    let s = this.series.get(id);
    if (s === undefined) {
      s = { labels, members: new Map() };
      this.series.set(id, s);
    }
    s.members.set(key, value);
    const writes: BreakerWrite[] = [[s.labels, worst(s)]];
    while (this.keys.size > this.max) {
      const [oldKey, oldId] = this.keys.entries().next().value as [string, string];
      this.keys.delete(oldKey);
      const old = this.series.get(oldId)!;
      old.members.delete(oldKey);
      if (old.members.size > 0) writes.push([old.labels, worst(old)]);
      else {
        this.series.delete(oldId);
        writes.push([old.labels, undefined]);
      }
    }
    return writes;
  }

  /** Every series with its value (an OpenTelemetry gauge's callback reads them). */
  rows(): Array<readonly [BreakerLabels, number]> {
    return [...this.series.values()].map((s) => [s.labels, worst(s)] as const);
  }
}

function worst(s: Series): number {
  let max = 0;
  for (const v of s.members.values()) if (v > max) max = v;
  return max;
}
