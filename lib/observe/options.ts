/**
 * The observability options (issue #14): OpenTelemetry spans and metrics, Prometheus metrics, and
 * the logger. Their types, their joi schemas and how they are read into settings live here, so
 * that options.ts only names them.
 */
import Joi from 'joi';

/**
 * A logger: `console`, or a pino / winston / bunyan-style logger whose methods take an object of
 * fields (pino: `(fields, message)`; winston: `(message, fields)`: the router detects which).
 * `info` and `debug` are optional: without them those lines are not written.
 */
export interface LoggerLike {
  warn: (...args: unknown[]) => unknown;
  error: (...args: unknown[]) => unknown;
  info?: (...args: unknown[]) => unknown;
  debug?: (...args: unknown[]) => unknown;
}

/** OpenTelemetry spans and metrics through `@opentelemetry/api` (an optional peer dependency). */
export interface TelemetryOptions {
  /**
   * `true`: on; `false`: off (nothing is loaded); unset: on by itself once the host has registered
   * an OpenTelemetry tracer or meter provider, as instrumentations are. @default auto
   */
  enabled?: boolean;
  /** Prompts and completions as span events (they may hold personal data). @default false */
  captureBodies?: boolean;
}

/** Prometheus metrics through the host's `prom-client` (an optional peer dependency). */
export interface MetricsOptions {
  /**
   * The host's prom-client `Registry` the router's metrics are registered in (e.g.
   * `client.register`). @default none: a registry of the router's own when `route` is set
   */
  registry?: unknown;
  /** Serve `GET /metrics` (Prometheus text format, behind `auth`). @default false */
  route?: boolean;
  /** Prefix of every metric name. @default 'llm_fallback_' */
  prefix?: string;
  /**
   * Models that may appear as a `model` label (client-chosen names are unbounded); any other is
   * counted as `other`. `'all'` labels every model as it came. @default [] (every model is `other`)
   */
  modelLabels?: readonly string[] | 'all';
}

/** What the router keeps of the observability options. */
export interface ObserveSettings {
  readonly telemetry: { readonly enabled: boolean | 'auto'; readonly captureBodies: boolean };
  /** Absent when `options.metrics` is not set. */
  readonly metrics?: {
    readonly registry?: unknown;
    readonly route: boolean;
    readonly prefix: string;
    readonly modelLabels: ReadonlySet<string> | 'all';
  };
}

const fn = Joi.function();

/** The joi schemas of the three options (camelCase, as the host writes them). */
export const observeOptionSchemas = {
  logger: Joi.object({ warn: fn.required(), error: fn.required(), info: fn, debug: fn }).unknown(true),
  telemetry: Joi.alternatives(Joi.boolean(), Joi.object({ enabled: Joi.boolean(), captureBodies: Joi.boolean() })),
  metrics: Joi.object({
    registry: Joi.object({ registerMetric: fn.required(), metrics: fn.required() }).unknown(true),
    route: Joi.boolean(),
    prefix: Joi.string().pattern(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, { name: 'Prometheus metric name prefix' }),
    modelLabels: Joi.alternatives(Joi.string().valid('all'), Joi.array().items(Joi.string().min(1).max(256)).max(1000)),
  }),
};

/** Examples quoted in the error a broken option throws. */
export const OBSERVE_OPTION_EXAMPLES: Readonly<Record<string, string>> = {
  logger: 'logger: pino() (or console, or a winston logger)',
  telemetry: 'telemetry: false (or { captureBodies: true })',
  metrics: "metrics: { registry: client.register, route: true, modelLabels: ['gpt-4o'] }",
};

/** Reads the observability options (already checked by joi). */
export function parseObserveOptions(options: { telemetry?: boolean | TelemetryOptions; metrics?: MetricsOptions }): ObserveSettings {
  const t = options.telemetry;
  const telemetry = {
    enabled: typeof t === 'boolean' ? t : (t?.enabled ?? ('auto' as const)),
    captureBodies: typeof t === 'object' ? (t.captureBodies ?? false) : false,
  };
  const m = options.metrics;
  if (m === undefined) return { telemetry };
  return {
    telemetry,
    metrics: {
      ...(m.registry !== undefined ? { registry: m.registry } : {}),
      route: m.route ?? false,
      prefix: m.prefix ?? 'llm_fallback_',
      modelLabels: m.modelLabels === 'all' ? 'all' : new Set(m.modelLabels ?? []),
    },
  };
}
