/**
 * The public router options, documented with their defaults, and their parsing into the private
 * Settings object the rest of the code reads. Broken options throw at construction.
 */
import { createLogger, type Logger } from './observe/logger.js';
import { parseObserveOptions, type LoggerLike, type MetricsOptions, type ObserveSettings, type TelemetryOptions } from './observe/options.js';
import type { Request, Response } from 'express';
import type { AttemptContext, AttemptOutcome } from './engine/plan.js';
import type { AttemptRecord } from './engine/outcome.js';
import type { EngineEventMap } from './engine/events.js';
import type { PricingFunction } from './trace/pricing.js';
import type { FallbackInfo, Trace, TraceStore } from './trace/types.js';
import { BREAKER_DEFAULTS, type BreakerConfig, type BreakerStore } from './stores/breaker-store.js';
import { MemoryBreakerStore } from './stores/memory-breaker-store.js';
import { OptionsError, type FallbackRouterError } from './errors.js';
import { OPTION_EXAMPLES, optionsSchema } from './options-schema.js';
import { parseHttpUrl } from './config/host.js';
import { validateConfig, type ConfigNode } from './config/normalise.js';
import { describeOptionDetail, redactOptionSecrets } from './config/option-messages.js';
import { keySegment, quoteIfId } from './config/quote.js';
import { NO_VALUE_MESSAGES } from './config/schema.js';
import { parseProviderOptions } from './config/settings.js';
import { canonicalProvider, builtinAdapters } from './providers/registry.js';
import type { ProviderAdapter } from './providers/types.js';
import type { Config } from './config/types.js';
import type { ProvidersOptions, VirtualKeyOptions } from './config/provider-options.js';

export type { Config } from './config/types.js';
export type {
  ProviderOptions,
  ProvidersOptions,
  VirtualKeyOptions,
  OpenAIProviderOptions,
  AzureOpenAIProviderOptions,
  AnthropicProviderOptions,
  OpenAICompatibleProviderOptions,
  BaseProviderOptions,
} from './config/provider-options.js';

/** Router-wide defaults, overridden by configs and request headers. */
export interface DefaultsOptions {
  /** Retries per target. @default { attempts: 0 } */
  retry?: { attempts?: number; onStatusCodes?: Array<number | string>; useRetryAfterHeader?: boolean };
  /** Per-attempt timeout in ms. @default 600000 (10 minutes, as OpenAI's SDK) */
  requestTimeout?: number;
  /** Longest silence between stream events, in ms. @default 60000 */
  streamIdleTimeout?: number;
  /** Deadline for a whole request, fallbacks included, in ms. @default none */
  totalTimeout?: number;
  /** @default 'passthrough' */
  streamMode?: 'passthrough' | 'buffered';
}

/** Returns true when a failed attempt should fail over to the next target. */
export type ShouldFallback = (outcome: AttemptOutcome, ctx: AttemptContext) => boolean;

/** Options of {@link createFallbackRouter}. Every option is optional. */
export interface RouterOptions {
  /**
   * Server-side credentials and settings per provider name: a built-in provider takes its own
   * settings (e.g. Azure `resourceName`, Anthropic `anthropicVersion`, OpenAI `organization`), a
   * custom adapter's name any setting its adapter declares. @default {}
   */
  providers?: ProvidersOptions;
  /** Virtual keys by id: `{ provider, apiKey, ...settings }`. @default {} */
  virtualKeys?: Record<string, VirtualKeyOptions>;
  /** Saved configs by id, usable as `x-portkey-config: <id>` or body `config: "<id>"`. @default {} */
  configs?: Record<string, Config>;
  /** The config used when a request names none. @default none (such a request is a 400) */
  defaultConfig?: Config;
  /** Adds or replaces provider adapters by name. @default {} */
  adapters?: Record<string, ProviderAdapter>;
  /** Replaces the built-in fallback predicate for the whole router. @default the predicate of SPEC §4 */
  shouldFallback?: ShouldFallback;
  /** Which failure the client gets when every target failed. @default 'last' */
  finalError?: 'last' | 'first';
  /** Router-wide defaults. */
  defaults?: DefaultsOptions;
  /** Largest accepted request body (bytes or a string like '10mb'). @default '10mb' */
  bodyLimit?: number | string;
  /** Prefix of every header the router reads and writes. @default 'x-portkey-' */
  headerPrefix?: string;
  /** Whether a request config may carry its own `api_key`. @default true */
  allowClientKeys?: boolean;
  /** Whether a request config may set any `custom_host`. @default false */
  allowCustomHost?: boolean;
  /** Origins a request's `custom_host` may point at, e.g. `http://10.0.0.5:8000`. @default [] */
  customHostAllowlist?: string[];
  /** Client authentication: accepted `x-portkey-api-key` values, or a function. @default none */
  auth?: { apiKeys: string[] } | ((req: Request) => boolean | Promise<boolean>);
  /** Longest Retry-After wait honoured, in ms. @default 60000 */
  maxRetryAfterMs?: number;
  /**
   * Upstream attempts one request may cause, retries, fallbacks and hedges together; past it the
   * request ends with what it has (the trace says the limit cut it short). @default 10
   */
  maxAttemptsPerRequest?: number;
  /**
   * Bytes of upstream replies held in memory across all requests in flight (non-streamed replies
   * and buffered streams); a request that would pass it gets a 503 `overloaded`. @default 268435456 (256 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Where the router's log lines go: `console`, or a pino / winston-style logger (`info`, `warn`,
   * `error`, optionally `debug`, taking an object of fields). Every line carries the trace id and
   * config id where it has them. @default console
   */
  logger?: LoggerLike;
  /**
   * OpenTelemetry GenAI spans and metrics (`@opentelemetry/api`, an optional peer): on by itself
   * when the host registered a tracer or meter provider; `false` turns it off. @default auto
   */
  telemetry?: boolean | TelemetryOptions;
  /**
   * Prometheus metrics through the host's `prom-client` Registry (an optional peer), and `GET
   * /metrics` when `route` is set. @default none
   */
  metrics?: MetricsOptions;
  /**
   * Customises error answers: called with the error (a `FallbackRouterError`: its `status`, `code`,
   * `type`, `param`; an `UpstreamError` when every target failed, with `provider`) instead of the
   * default OpenAI-format body. Answer synchronously on `res`; if it throws or leaves `res`
   * unanswered, the default answer goes out. An unexpected error reaches it as a 500
   * `internal_error` whose `cause` is the original, and is logged with its stack either way.
   * @default none (OpenAI-format error bodies)
   */
  onError?: (err: FallbackRouterError, req: Request, res: Response) => void;
  /** Traces and the logs routes. @default { enabled: true, captureBodies: false, maxTraces: 1000 } */
  logs?: LogsOptions;
  /**
   * Prices for the traces' cost estimates, in USD per million tokens: a table by `provider/model`
   * (e.g. `openai/gpt-4o`) or `model` (e.g. `gpt-4o`), or a function `(provider, model) => ({
   * input, output }) | undefined`.
   *
   * A table key prices the model of that name and its dated snapshots and variants: `gpt-4o`
   * prices `gpt-4o-2024-08-06` (a prefix ends at `-`, `:`, `@` or `.`, so `gpt-4` never prices
   * `gpt-4o`); the longest key wins, so list a variant priced differently beside its family
   * (`gpt-4o-mini` beside `gpt-4o`); at the same length `provider/model` wins over `model`.
   * Provider aliases (`azure_openai/...`) and case do not matter. A model named with a provider
   * prefix (`openai/gpt-4o` from OpenRouter, `models/gemini-1.5-pro`, Bedrock's
   * `us.anthropic.claude-...`) is tried without it when nothing matches it as is. The model that
   * served is looked up first, then the model that was asked for. A function is called with the
   * canonical provider name and the model as the provider named it (then without its prefixes,
   * then the one asked for); its answer is cached per provider and model.
   *
   * An attempt that was billed but has no price is `unpriced` in its trace (no `costUsd`, never a
   * false 0), counted in `totals.unpricedAttempts`, and its provider/model is named once through
   * `logger.warn` (at most 100 models per router). There is no warning without this option (or
   * with an empty table): not pricing at all is a choice. @default {} (no prices; no warnings)
   */
  pricing?: Record<string, { input: number; output: number }> | PricingFunction;
  /**
   * A circuit breaker per target (provider + model + endpoint), for every strategy; a strategy's
   * `cb_config` sets one for its own targets. Fields left out take the defaults
   * `{ failureThreshold: 5, minimumRequests: 5, windowMs: 60000, cooldownMs: 30000 }`.
   * @default false (no breaker unless a strategy sets cb_config)
   */
  circuitBreaker?:
    | false
    | { failureThreshold?: number; minimumRequests?: number; windowMs?: number; cooldownMs?: number };
  /** Lifecycle hooks; a hook that throws or rejects is logged and ignored. @default {} */
  hooks?: HooksOptions;
  /**
   * Where traces go (`record`, `get`, `list`; sync or async). A store that throws, rejects or is
   * slow never fails or delays a response. @default a MemoryTraceStore of `logs.maxTraces`
   * traces (none when `logs.enabled` is false: traces then only reach `hooks.onTrace`)
   */
  traceStore?: TraceStore;
  /**
   * Circuit breaker state storage: atomic `acquire` and `record` (sync or async), optional
   * `snapshot` and `close`, to share breakers between instances. The router keeps a local mirror,
   * so a healthy target's request never waits on the store. @default a MemoryBreakerStore
   */
  breakerStore?: BreakerStore;
}

/** Traces and the `/logs` routes. */
export interface LogsOptions {
  /** Serve GET `/logs`, `/logs/:traceId` and `/logs/ui` (behind `auth`). @default true */
  enabled?: boolean;
  /** Store the request params (without `config`) and the response body in each trace. @default false */
  captureBodies?: boolean;
  /** How many traces the default in-memory store keeps (the oldest are dropped). @default 1000 */
  maxTraces?: number;
  /** How many bytes (as JSON) of traces the default in-memory store keeps. @default 52428800 (50 MiB) */
  maxBytes?: number;
}

/** Lifecycle hooks. Each may return a promise; a throw or rejection is logged and ignored. */
export interface HooksOptions {
  /** After every attempt (and every skipped target), in order. */
  onAttempt?: (record: AttemptRecord) => unknown;
  /** When a fallback strategy moves on from a failed target to the next one. */
  onFallback?: (info: FallbackInfo) => unknown;
  /** Once per request, with its finished trace (after the response was sent). */
  onTrace?: (trace: Trace) => unknown;
  /** When a target's circuit breaker changes state (closed, open, half_open), as this instance learns it. */
  onBreakerStateChange?: (change: EngineEventMap['breaker:state']) => unknown;
}

/** Resolved provider settings (from options.providers or a virtual key). */
export interface ProviderSettings {
  provider: string;
  apiKey?: string;
  baseURL?: string;
  headers: Record<string, string>;
  settings: Record<string, unknown>;
}

/** The private, parsed form of RouterOptions. */
export interface Settings {
  providers: Map<string, ProviderSettings>;
  virtualKeys: Map<string, ProviderSettings>;
  configs: Map<string, ConfigNode>;
  defaultConfig?: ConfigNode;
  adapters: Map<string, ProviderAdapter>;
  shouldFallback?: ShouldFallback;
  finalError: 'last' | 'first';
  defaults: {
    retry: { attempts: number; on_status_codes?: Array<number | string>; use_retry_after_header: boolean };
    requestTimeout: number;
    streamIdleTimeout: number;
    totalTimeout?: number;
    streamMode: 'passthrough' | 'buffered';
  };
  bodyLimit: number | string;
  headerPrefix: string;
  allowClientKeys: boolean;
  allowCustomHost: boolean;
  customHostAllowlist: Set<string>;
  auth?: RouterOptions['auth'];
  onError?: RouterOptions['onError'];
  maxRetryAfterMs: number;
  maxAttemptsPerRequest: number;
  maxBufferedBytes: number;
  /** options.logger behind the router's one log interface (observe/logger.ts). */
  logger: Logger;
  /** The observability options, read. */
  observe: ObserveSettings;
  logs: { enabled: boolean; captureBodies: boolean; maxTraces: number; maxBytes: number };
  pricing: Record<string, { input: number; output: number }> | PricingFunction;
  hooks: HooksOptions;
  traceStore?: TraceStore;
  /** The router-wide breaker, when options.circuitBreaker sets one. */
  circuitBreaker?: BreakerConfig;
  breakerStore: BreakerStore;
}

/**
 * Validates the options and derives Settings. Throws OptionsError naming the option, what was
 * expected and an example; never quoting the value of a secret-bearing option (apiKey, headers,
 * auth.apiKeys, a setting named like a key, token, secret or password), nor a key that is no
 * identifier (a key the host put where a provider name goes is named by its length).
 */
export function parseOptions(options: RouterOptions = {}): Settings {
  try {
    return parseOptionsUnredacted(options);
  } catch (err) {
    if (err instanceof OptionsError) {
      err.message = redactOptionSecrets(err.message, options);
      if (err.stack !== undefined) err.stack = redactOptionSecrets(err.stack, options);
    }
    throw err;
  }
}

function parseOptionsUnredacted(options: RouterOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new OptionsError('createFallbackRouter(options): options must be an object, e.g. createFallbackRouter({ providers: {...} })');
  }
  const store = options.breakerStore as unknown as Record<string, unknown> | undefined;
  if (store && typeof store === 'object' && typeof store.acquire !== 'function' && typeof store.get === 'function' && typeof store.set === 'function') {
    throw new OptionsError(
      'createFallbackRouter: options.breakerStore has the 0.1 shape (get/set/keys), whose read-modify-write loses updates under load. ' +
        'A BreakerStore now has atomic acquire(key, policy, now) and record(key, policy, result, now); see MemoryBreakerStore.',
    );
  }
  const { error } = optionsSchema.validate(options, {
    abortEarly: true,
    errors: { wrap: { label: false } },
    // An array item that is undefined is, in practice, an unset environment variable.
    messages: { ...NO_VALUE_MESSAGES, 'array.sparse': '{{#label}} is missing (undefined; an unset environment variable?)' },
  });
  if (error) {
    const detail = error.details[0];
    const top = String(detail?.path[0] ?? '');
    const example = Object.hasOwn(OPTION_EXAMPLES, top) ? OPTION_EXAMPLES[top] : undefined;
    throw new OptionsError(
      `createFallbackRouter: ${describeOptionDetail(detail, error.message)}${example ? `. Example: ${example}` : ''}`,
    );
  }

  const adapters = builtinAdapters();
  for (const [name, adapter] of Object.entries(options.adapters ?? {})) {
    adapters.set(canonicalProvider(name), adapter);
  }
  const knownProvider = (name: string, where: string): string => {
    const canonical = canonicalProvider(name);
    if (!adapters.has(canonical)) {
      throw new OptionsError(
        `createFallbackRouter: ${where} names provider ${quoteIfId(name)}, which has no adapter. Known: ${[...adapters.keys()].join(', ')}`,
      );
    }
    return canonical;
  };

  const providers = new Map<string, ProviderSettings>();
  for (const [name, raw] of Object.entries(options.providers ?? {})) {
    const where = `options.providers.${keySegment(name)}`;
    const canonical = knownProvider(name, where);
    providers.set(canonical, parseProviderOptions(canonical, adapters.get(canonical)!, raw, where));
  }
  const virtualKeys = new Map<string, ProviderSettings>();
  for (const [id, raw] of Object.entries(options.virtualKeys ?? {})) {
    const where = `options.virtualKeys.${keySegment(id)}`;
    const canonical = knownProvider(raw.provider, `${where}.provider`);
    virtualKeys.set(id, parseProviderOptions(canonical, adapters.get(canonical)!, raw, where));
  }
  const configs = new Map<string, ConfigNode>();
  for (const [id, raw] of Object.entries(options.configs ?? {})) {
    configs.set(id, validateOptionConfig(raw, `options.configs.${keySegment(id)}`));
  }
  const customHostAllowlist = new Set<string>();
  (options.customHostAllowlist ?? []).forEach((url, i) => {
    // joi's uri() passes text such as `http://127.0.0.1%3A8080` that the URL parser rejects.
    const origin = parseHttpUrl(url)?.origin;
    if (origin === undefined) {
      throw new OptionsError(
        `createFallbackRouter: options.customHostAllowlist[${i}] must be a valid http or https URL. Example: customHostAllowlist: ['http://10.0.0.5:8000']`,
      );
    }
    customHostAllowlist.add(origin);
  });
  const defaults = options.defaults ?? {};
  const retry = defaults.retry ?? {};
  const settings: Settings = {
    providers,
    virtualKeys,
    configs,
    adapters,
    finalError: options.finalError ?? 'last',
    defaults: {
      retry: {
        attempts: retry.attempts ?? 0,
        use_retry_after_header: retry.useRetryAfterHeader ?? true,
        ...(retry.onStatusCodes ? { on_status_codes: retry.onStatusCodes } : {}),
      },
      requestTimeout: defaults.requestTimeout ?? 600_000,
      streamIdleTimeout: defaults.streamIdleTimeout ?? 60_000,
      streamMode: defaults.streamMode ?? 'passthrough',
      ...(defaults.totalTimeout !== undefined ? { totalTimeout: defaults.totalTimeout } : {}),
    },
    bodyLimit: options.bodyLimit ?? '10mb',
    headerPrefix: options.headerPrefix ?? 'x-portkey-',
    allowClientKeys: options.allowClientKeys ?? true,
    allowCustomHost: options.allowCustomHost ?? false,
    customHostAllowlist,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    maxAttemptsPerRequest: options.maxAttemptsPerRequest ?? 10,
    maxBufferedBytes: options.maxBufferedBytes ?? 256 * 1024 * 1024,
    logger: createLogger(options.logger),
    observe: parseObserveOptions(options),
    logs: {
      enabled: options.logs?.enabled ?? true,
      captureBodies: options.logs?.captureBodies ?? false,
      maxTraces: options.logs?.maxTraces ?? 1000,
      maxBytes: options.logs?.maxBytes ?? 50 * 1024 * 1024,
    },
    pricing: typeof options.pricing === 'function' ? options.pricing : { ...(options.pricing ?? {}) },
    hooks: { ...(options.hooks ?? {}) },
    breakerStore: options.breakerStore ?? new MemoryBreakerStore(),
  };
  if (options.traceStore) settings.traceStore = options.traceStore;
  if (options.circuitBreaker) settings.circuitBreaker = { ...BREAKER_DEFAULTS, ...options.circuitBreaker };
  if (options.defaultConfig) settings.defaultConfig = validateOptionConfig(options.defaultConfig, 'options.defaultConfig');
  if (options.shouldFallback) settings.shouldFallback = options.shouldFallback;
  if (options.auth) settings.auth = options.auth;
  if (options.onError) settings.onError = options.onError;
  return settings;
}

function validateOptionConfig(raw: unknown, label: string): ConfigNode {
  try {
    return validateConfig(raw, label);
  } catch (err) {
    throw new OptionsError(`createFallbackRouter: ${(err as Error).message}`);
  }
}
