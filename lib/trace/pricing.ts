/**
 * Prices for the trace's cost estimates: `options.pricing` as a table or a function, looked up
 * with the model that served (dated snapshots and variants matched to their base model, provider
 * prefixes stripped), then the model asked for; each (provider, model) looked up once. A billed
 * attempt with no price is reported once per model through `logger.warn`.
 */
import { canonicalProvider } from '../providers/registry.js';

/** USD per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
}

/**
 * Prices by `provider/model` (`openai/gpt-4o`) or `model` (`gpt-4o`). A key prices the model of
 * that name and its dated snapshots and variants (`gpt-4o` prices `gpt-4o-2024-08-06`); see
 * {@link createPriceLookup}.
 */
export type PricingTable = Readonly<Record<string, Price>>;

/**
 * Returns the price of `model` served by `provider` (its canonical name: `azure-openai`, not
 * `azure_openai`), or undefined when it has none. Called at most once per provider and model
 * while the router lives (the answer is cached), with the model as the provider named it, then,
 * when that has no price, with its provider prefixes stripped, then with the model asked for.
 */
export type PricingFunction = (provider: string, model: string) => Price | undefined;

/** `options.pricing`: a table, or a function. */
export type Pricing = PricingTable | PricingFunction;

/** What {@link createPriceLookup} accepts: the option, or a table already normalised. */
export type PriceSource = Pricing | ReadonlyMap<string, Price>;

/** (provider, model) pairs whose lookup is remembered; past it the oldest is forgotten. */
export const MAX_CACHED_PRICES = 1000;
/** Distinct unpriced models warned about per router; past it one line says no more are. */
export const MAX_UNPRICED_WARNINGS = 100;
/** A model name longer than this has no price (it is no real model name). */
const MAX_MODEL_CHARS = 256;
/** Provider prefixes stripped from one model name at most. */
const MAX_STRIPS = 8;

export interface PriceLookup {
  /**
   * True when the host gave prices (a function, or a table with at least one entry): only then
   * are unpriced models warned about.
   */
  readonly configured: boolean;
  /**
   * The price of the model that served, else of the model asked for (`requestedModel`), else
   * undefined.
   */
  priceOf(provider: string, model: string | undefined, requestedModel?: string): Price | undefined;
  /** Says (once per provider and model, bounded) that a billed attempt had no price. */
  noteUnpriced(provider: string, model: string | undefined, requestedModel?: string): void;
}

export interface PriceLookupOptions {
  /** Where the unpriced warnings go; none: no warnings. */
  readonly logger?: { readonly warn?: (message: string) => unknown };
  /** @default {@link MAX_UNPRICED_WARNINGS} */
  readonly maxWarnings?: number;
  /** @default {@link MAX_CACHED_PRICES} */
  readonly maxCached?: number;
}

/** The normal form of a table key: lower case, and a provider alias under its canonical name. */
function normaliseKey(key: string): string {
  const lower = key.trim().toLowerCase();
  const slash = lower.indexOf('/');
  if (slash <= 0) return lower;
  return `${canonicalProvider(lower.slice(0, slash))}${lower.slice(slash)}`;
}

/**
 * The pricing table with lower-case keys and provider aliases (`azure_openai/...`) under their
 * canonical name. When two keys come to the same normal form, the one already written in it wins.
 */
export function normalisePricing(pricing: PricingTable | ReadonlyMap<string, Price>): Map<string, Price> {
  const entries: Array<[string, Price]> = pricing instanceof Map ? [...(pricing as ReadonlyMap<string, Price>)] : Object.entries(pricing);
  const out = new Map<string, Price>();
  for (const pass of [true, false]) {
    for (const [key, price] of entries) {
      const normal = normaliseKey(key);
      if ((normal === key) === pass && !out.has(normal)) out.set(normal, { input: price.input, output: price.output });
    }
  }
  return out;
}

/** A boundary a prefix key may end at: `-`, `:`, `@`, or a `.` that does not split a version number. */
function isBoundary(name: string, i: number): boolean {
  const c = name[i];
  if (c === '-' || c === ':' || c === '@') return true;
  // `gpt-4` must not price `gpt-4.1`, nor `gemini-1` price `gemini-1.5-pro`.
  return c === '.' && !(isDigit(name[i - 1]) && isDigit(name[i + 1]));
}
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * The table's price for `name` as is: the longest key that is the name or a prefix of it ending
 * at a boundary; at the same length a `provider/` key before a bare one.
 */
function matchTable(table: ReadonlyMap<string, Price>, provider: string, name: string): Price | undefined {
  for (let end = name.length; end > 0; end--) {
    if (end < name.length && !isBoundary(name, end)) continue;
    const prefix = end === name.length ? name : name.slice(0, end);
    const hit = table.get(`${provider}/${prefix}`) ?? table.get(prefix);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * The model name without its provider prefixes, one at a time: `openai/gpt-4o` -> `gpt-4o`;
 * `models/gemini-1.5-pro` -> `gemini-1.5-pro`; `us.anthropic.claude-3-5-sonnet-20240620-v1:0`
 * -> `anthropic.claude-...` -> `claude-3-5-sonnet-20240620-v1:0` (Bedrock region and vendor).
 */
export function strippedNames(name: string): string[] {
  const out: string[] = [];
  let current = name;
  for (let i = 0; i < MAX_STRIPS; i++) {
    let next: string | undefined;
    const slash = current.indexOf('/');
    if (slash >= 0) next = current.slice(slash + 1);
    else {
      const dotted = /^[A-Za-z][A-Za-z0-9-]*\.(?=[A-Za-z])/.exec(current);
      if (dotted) next = current.slice(dotted[0].length);
    }
    if (!next) break;
    out.push(next);
    current = next;
  }
  return out;
}

/** A price as the host gave it, checked: finite, non-negative numbers. */
function checkedPrice(value: unknown): Price | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { input, output } = value as Record<string, unknown>;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  return ok(input) && ok(output) ? { input, output } : undefined;
}

/** Text safe for one log line: no control characters, at most `max` characters. */
function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * A price lookup over `options.pricing`, for one router:
 *
 * - a table key matches the model exactly, or as a prefix ending at a `-`, `:`, `@` or `.`
 *   boundary (a dated snapshot or variant: `gpt-4o` prices `gpt-4o-2024-08-06`, never `gpt-4o`
 *   `gpt-4` nor `gpt-4.1` `gpt-4`); the longest match wins (`gpt-4o-mini` over `gpt-4o` for
 *   `gpt-4o-mini-2024-07-18`), and at the same length `provider/model` before `model`. Keys and
 *   names are compared without case;
 * - when nothing matches the name as is, its provider prefixes are stripped (`openai/gpt-4o`
 *   from openrouter, `models/gemini-1.5-pro`, `us.anthropic.claude-...`) and it is tried again;
 * - a function is asked with the name as is, then with each stripped name; a function that
 *   throws or returns anything but `{ input, output }` (finite, >= 0) gives no price;
 * - when the served model has no price, the model asked for is looked up the same way.
 *
 * Each (provider, model) is looked up once: the answer is cached (at most {@link MAX_CACHED_PRICES}).
 */
export function createPriceLookup(source: PriceSource | undefined, options: PriceLookupOptions = {}): PriceLookup {
  const fn = typeof source === 'function' ? source : undefined;
  const table = fn || source === undefined ? new Map<string, Price>() : normalisePricing(source as PricingTable | ReadonlyMap<string, Price>);
  const configured = fn !== undefined || table.size > 0;
  const maxCached = Math.max(1, options.maxCached ?? MAX_CACHED_PRICES);
  const maxWarnings = Math.max(0, options.maxWarnings ?? MAX_UNPRICED_WARNINGS);
  const cache = new Map<string, Price | null>();
  /** Why the function gave no price, per cache key (it threw, or returned something else). */
  const problems = new Map<string, string>();
  const warned = new Set<string>();
  let warnedAll = false;

  const fromFunction = (provider: string, model: string, key: string): Price | undefined => {
    for (const name of [model, ...strippedNames(model)]) {
      let value: unknown;
      try {
        value = fn!(provider, name);
      } catch (err) {
        problems.set(key, `options.pricing threw: ${errorText(err)}`);
        return undefined;
      }
      if (value === undefined || value === null) continue;
      const price = checkedPrice(value);
      if (price) return price;
      problems.set(key, 'options.pricing returned no { input, output } of finite, non-negative USD per million tokens');
      return undefined;
    }
    return undefined;
  };

  const fromTable = (provider: string, model: string): Price | undefined => {
    const name = model.toLowerCase();
    for (const candidate of [name, ...strippedNames(name)]) {
      const hit = matchTable(table, provider, candidate);
      if (hit) return hit;
    }
    return undefined;
  };

  const lookup = (provider: string, model: string): Price | undefined => {
    if (!configured || model.length === 0 || model.length > MAX_MODEL_CHARS) return undefined;
    const key = `${provider}\n${fn ? model : model.toLowerCase()}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const price = fn ? fromFunction(provider, model, key) : fromTable(provider, model);
    if (cache.size >= maxCached) {
      const oldest = cache.keys().next().value as string;
      cache.delete(oldest);
      problems.delete(oldest);
    }
    cache.set(key, price ?? null);
    return price;
  };

  const warn = (text: string): void => {
    try {
      options.logger?.warn?.(text);
    } catch {
      // a logger that throws is ignored
    }
  };

  return {
    configured,
    priceOf(provider, model, requestedModel) {
      const p = canonicalProvider(provider);
      const served = model !== undefined ? lookup(p, model) : undefined;
      if (served || requestedModel === undefined || requestedModel === model) return served;
      return lookup(p, requestedModel);
    },
    noteUnpriced(provider, model, requestedModel) {
      if (!configured || !options.logger?.warn || warnedAll) return;
      const p = canonicalProvider(provider);
      const name = model ?? requestedModel ?? '(no model)';
      const id = `${p}\n${name}`;
      if (warned.has(id)) return;
      if (warned.size >= maxWarnings) {
        warnedAll = true;
        warn(`express-llm-fallback: ${maxWarnings} models have no price in options.pricing; further ones are not reported (their cost is unknown in traces too)`);
        return;
      }
      warned.add(id);
      const asked = requestedModel !== undefined && requestedModel !== model ? ` (requested as ${printable(requestedModel)})` : '';
      const problem = problems.get(`${p}\n${fn ? name : name.toLowerCase()}`);
      warn(
        `express-llm-fallback: no price for ${printable(p)}/${printable(name)}${asked} in options.pricing${problem ? ` (${printable(problem)})` : ''}; its cost is unknown in traces`,
      );
    },
  };
}
