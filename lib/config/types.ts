/**
 * The static types of request configs: what `options.configs` and `options.defaultConfig`
 * accept, and what a client may send as `x-portkey-config` or body `config` (checked again at
 * run time by joi, schema.ts, and the adapters' `settings`). The provider options built on the
 * settings declared here are in provider-options.ts.
 *
 * Each config type is written once over its snake_case keys and opened to the camelCase
 * spelling of every key by {@link WithCamelKeys}, so that both `on_status_codes` and
 * `onStatusCodes` type-check while `stratgy` or `onStatusCode` do not.
 *
 * The `*_SHAPE` constants list, for each snake_case field type, every key with the kind of its
 * value (the list of values for an enum). They are checked against the types here (`satisfies
 * FieldKinds<...>`: a key missing from or extra to a shape, or a kind that differs, is a compile
 * error) and against the joi schemas by test/unit/config-types.test.ts, so the types and the
 * schemas cannot drift apart.
 */
import type { ErrorClass } from '../providers/types.js';
import type { FieldKinds } from './field-kinds.js';
import type { BuiltinProviderSettings } from './provider-settings.js';

export type { FieldKind, FieldKinds } from './field-kinds.js';
export type {
  OpenAISettings,
  AzureOpenAISettings,
  AnthropicSettings,
  VertexSettings,
  VertexServiceAccount,
  BedrockSettings,
  AwsCredentials,
  BuiltinProviderSettings,
} from './provider-settings.js';
export {
  OPENAI_SETTINGS_SHAPE,
  AZURE_OPENAI_SETTINGS_SHAPE,
  ANTHROPIC_SETTINGS_SHAPE,
  VERTEX_SETTINGS_SHAPE,
  BEDROCK_SETTINGS_SHAPE,
  TARGET_SETTINGS_SHAPE,
} from './provider-settings.js';

// ---------------------------------------------------------------------------------------------
// Key spelling helpers
// ---------------------------------------------------------------------------------------------

/** The camelCase spelling of a snake_case key: `on_status_codes` -> `onStatusCodes`. */
export type SnakeToCamel<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<SnakeToCamel<Tail>>}`
  : S;

/**
 * `T` with every key also accepted in its camelCase spelling (same value type, same
 * optionality). Both spellings may appear in one config; setting both spellings of one key is
 * refused at run time ("sets both ... use one of them").
 */
export type WithCamelKeys<T> = { [K in keyof T as K | SnakeToCamel<K & string>]: T[K] };

/** Keys (and their camelCase spellings) that may not appear: `{ key?: never }`. */
export type Forbid<K extends string> = { [P in K | SnakeToCamel<K>]?: never };

// ---------------------------------------------------------------------------------------------
// Enumerations (the value lists are the source of the types)
// ---------------------------------------------------------------------------------------------

/** How a strategy picks among its targets. */
export const STRATEGY_MODES = ['fallback', 'loadbalance', 'single'] as const;
export type StrategyMode = (typeof STRATEGY_MODES)[number];

/** `stream_mode`: pass stream events through as they arrive, or buffer the whole stream first. */
export const STREAM_MODES = ['passthrough', 'buffered'] as const;
export type StreamMode = (typeof STREAM_MODES)[number];

/** `stream_recovery`: what happens when a stream breaks after it started. */
export const STREAM_RECOVERIES = ['none', 'continue'] as const;
export type StreamRecovery = (typeof STREAM_RECOVERIES)[number];

/** An HTTP status code (100-599), or a class of them such as `"5xx"` (any case). */
export type StatusCode = number | `${1 | 2 | 3 | 4 | 5}${'x' | 'X'}${'x' | 'X'}`;

// ---------------------------------------------------------------------------------------------
// Field types, snake_case (what joi validates after normalisation)
// ---------------------------------------------------------------------------------------------

/** `retry`: retries of one target before the strategy moves on. */
export interface RetryFields {
  /** Retries after the first attempt (0-5). @default 0 */
  attempts?: number;
  /** Statuses worth a retry. @default [429, 500, 502, 503, 504] */
  on_status_codes?: readonly StatusCode[];
  /** Wait for the upstream's `Retry-After` (up to `maxRetryAfterMs`). @default true */
  use_retry_after_header?: boolean;
}

/** `strategy.cb_config`: a circuit breaker per target of this strategy. */
export interface CbConfigFields {
  /** Failures in the window that open the breaker. @default 5 */
  failure_threshold?: number;
  /** Requests in the window before the breaker may open. @default 5 */
  minimum_requests?: number;
  /** The counting window, in ms. @default 60000 */
  window_ms?: number;
  /** How long an open breaker stays open, in ms. @default 30000 */
  cooldown_ms?: number;
}

/** `strategy`: how a node's `targets` are used. */
export interface StrategyFields {
  /** `fallback` (in order), `loadbalance` (by weight) or `single` (the first). */
  mode: StrategyMode;
  /**
   * Statuses that fail over to the next target (with `on_errors`: either list matching).
   * @default any failure fails over when neither list is set
   */
  on_status_codes?: readonly StatusCode[];
  /** Error classes that fail over to the next target (with `on_status_codes`: either list matching). */
  on_errors?: readonly ErrorClass[];
  /** A circuit breaker for each of this strategy's targets. */
  cb_config?: CbConfig;
  /** Start the next target too when the current one has not answered within this many ms. */
  hedge_after_ms?: number;
}

/**
 * Every key a config node may hold besides provider settings, as joi's target schema knows
 * them (schema.ts `nodeKeys`). {@link Config} splits them between targets and strategy nodes.
 */
export interface ConfigNodeFields<Extra extends object = {}> {
  /** The provider (`openai`, `azure-openai`, `anthropic`, a custom adapter's name, ...). */
  provider?: string;
  /** This target's own API key (refused when `allowClientKeys` is false). */
  api_key?: string;
  /** The id of a virtual key of `options.virtualKeys` (it names the provider). */
  virtual_key?: string;
  /** Request parameters merged over the client's (`model`, `max_tokens`, ...). */
  override_params?: Record<string, unknown>;
  /** Share of a `loadbalance` strategy. @default 1 */
  weight?: number;
  /** Retries per target. */
  retry?: RetryConfig;
  /** Per-attempt timeout in ms. */
  request_timeout?: number;
  /** Longest silence between stream events, in ms. */
  stream_idle_timeout?: number;
  /** Deadline of the whole request, fallbacks included, in ms (root of the config only). */
  total_timeout?: number;
  /** @default the router's `defaults.streamMode` */
  stream_mode?: StreamMode;
  /** @default 'none' */
  stream_recovery?: StreamRecovery;
  /** Whether the target can continue an assistant message. @default the adapter's */
  supports_prefill?: boolean;
  /** An http(s) base URL that replaces the provider's (subject to `allowCustomHost`). */
  custom_host?: string;
  /** Client request headers forwarded upstream (names). */
  forward_headers?: readonly string[];
  /**
   * Send the attempt's W3C trace context (`traceparent`, `tracestate`) upstream, when the router
   * traces the request with OpenTelemetry (`options.telemetry`). @default false
   */
  trace_context?: boolean;
  /** The current form: a strategy over `targets`. */
  strategy?: StrategyConfig;
  /** The legacy form: the strategy mode over `options`. */
  mode?: StrategyMode;
  /** The current form's targets (each a config node). */
  targets?: readonly Config<Extra>[];
  /** The legacy form's targets (each a config node). */
  options?: readonly Config<Extra>[];
}

// ---------------------------------------------------------------------------------------------
// Public config types (snake_case and camelCase keys)
// ---------------------------------------------------------------------------------------------

/** `retry` in either spelling. */
export type RetryConfig = WithCamelKeys<RetryFields>;
/** `strategy.cb_config` in either spelling. */
export type CbConfig = WithCamelKeys<CbConfigFields>;
/** `strategy` in either spelling. */
export type StrategyConfig = WithCamelKeys<StrategyFields>;

type RefKey = 'provider' | 'api_key' | 'virtual_key';
type GroupKey = 'strategy' | 'targets' | 'mode' | 'options';
/** The keys a strategy node shares with targets, inherited by its targets. */
type InheritedFields = Omit<ConfigNodeFields, RefKey | GroupKey>;
type SettingKey = keyof BuiltinProviderSettings & string;
/** Custom settings may not appear on strategy nodes either (unless `Extra` is open-ended). */
type ForbidExtra<Extra extends object> = string extends keyof Extra ? unknown : Forbid<keyof Extra & string>;

declare const misplaced: unique symbol;
/** A value no config can hold: its key is misplaced, and `Message` (shown by the compiler) says why. */
interface Misplaced<Message extends string> {
  readonly [misplaced]: Message;
}
/**
 * The strategy keys, refused on a target. Typed as what they hold on a strategy node (made
 * impossible) rather than `never`: a `never` would take the contextual type away from the
 * value, whose literals (`mode: 'fallback'`) would widen, and the compiler would then blame
 * the mode instead of the misplaced key.
 */
type GroupKeysOnTarget<Extra extends object> = WithCamelKeys<{
  strategy?: StrategyConfig & Misplaced<'a strategy belongs on a node with targets, not on a target (provider or virtual_key)'>;
  mode?: StrategyMode & Misplaced<'a mode belongs on a node with options, not on a target (provider or virtual_key)'>;
  targets?: readonly Config<Extra>[] & Misplaced<'targets belong on a node with a strategy, not on a target (provider or virtual_key)'>;
  options?: readonly Config<Extra>[] & Misplaced<'options belong on a node with a mode, not on a target (provider or virtual_key)'>;
}>;

/**
 * A target named by its provider: `{ provider, api_key?, ...settings }`. `Extra` holds a custom
 * adapter's own settings (snake_case names; the camelCase spellings follow), all optional here:
 * one may come from `options.providers` instead, and the adapter's schema says at run time
 * which are required.
 */
export type ProviderTargetConfig<Extra extends object = {}> = WithCamelKeys<
  InheritedFields & Required<Pick<ConfigNodeFields, 'provider'>> & Pick<ConfigNodeFields, 'api_key'> & BuiltinProviderSettings & Partial<Extra>
> &
  Forbid<'virtual_key'> & GroupKeysOnTarget<Extra>;

/** A target named by a virtual key: `{ virtual_key, ...settings }` (the key brings provider and credential). */
export type VirtualKeyTargetConfig<Extra extends object = {}> = WithCamelKeys<InheritedFields & BuiltinProviderSettings & Partial<Extra>> &
  Forbid<'provider' | 'api_key'> & GroupKeysOnTarget<Extra> &
  ({ virtual_key: string; virtualKey?: never } | { virtualKey: string; virtual_key?: never });

/** The current form of a strategy node: `{ strategy: { mode, ... }, targets: [...] }`. */
export type StrategyNodeConfig<Extra extends object = {}> = WithCamelKeys<
  InheritedFields & { strategy: StrategyConfig; targets: readonly Config<Extra>[] }
> &
  Forbid<RefKey | SettingKey | 'mode' | 'options'> &
  ForbidExtra<Extra>;

/** The legacy (Portkey v1) form of a strategy node: `{ mode, options: [...] }`. */
export type LegacyNodeConfig<Extra extends object = {}> = WithCamelKeys<
  InheritedFields & { mode: StrategyMode; options: readonly Config<Extra>[] }
> &
  Forbid<RefKey | SettingKey | 'strategy' | 'targets'> &
  ForbidExtra<Extra>;

/**
 * A request config: a target, a strategy over `targets`, or the legacy `mode` over `options`,
 * nested to any depth, with snake_case or camelCase keys. Used by `options.configs` and
 * `options.defaultConfig`; a client sends the same JSON as `x-portkey-config` or body `config`
 * (e.g. `JSON.stringify(config satisfies Config)`).
 *
 * A misspelt key, a value of the wrong type, a strategy without targets, a provider on a
 * strategy node or an `api_key` beside a `virtual_key` is a compile error. What the type does
 * not check is checked at run time (value ranges, `total_timeout` only at the root, which
 * provider takes which setting, ...).
 *
 * A custom adapter's own settings are declared through `Extra` (snake_case names; both
 * spellings are then accepted): `const config: Config<{ region: string }> = { provider:
 * 'bedrock', region: 'eu-west-1' }`, then `configs: { main: config }` (a config declared so is a
 * `Config`; written inline under `configs`, its settings would be unknown keys).
 * `Config<Record<string, unknown>>` lets any setting through.
 */
export type Config<Extra extends object = {}> =
  | ProviderTargetConfig<Extra>
  | VirtualKeyTargetConfig<Extra>
  | StrategyNodeConfig<Extra>
  | LegacyNodeConfig<Extra>;

// ---------------------------------------------------------------------------------------------
// Shapes: every key of each field type and the kind of its value, for the drift test
// ---------------------------------------------------------------------------------------------

export const RETRY_SHAPE = {
  attempts: 'number',
  on_status_codes: 'array',
  use_retry_after_header: 'boolean',
} as const satisfies FieldKinds<RetryFields>;

export const CB_CONFIG_SHAPE = {
  failure_threshold: 'number',
  minimum_requests: 'number',
  window_ms: 'number',
  cooldown_ms: 'number',
} as const satisfies FieldKinds<CbConfigFields>;

export const STRATEGY_SHAPE = {
  mode: STRATEGY_MODES,
  on_status_codes: 'array',
  on_errors: 'array',
  cb_config: 'object',
  hedge_after_ms: 'number',
} as const satisfies FieldKinds<StrategyFields>;

export const CONFIG_NODE_SHAPE = {
  provider: 'string',
  api_key: 'string',
  virtual_key: 'string',
  override_params: 'object',
  weight: 'number',
  retry: 'object',
  request_timeout: 'number',
  stream_idle_timeout: 'number',
  total_timeout: 'number',
  stream_mode: STREAM_MODES,
  stream_recovery: STREAM_RECOVERIES,
  supports_prefill: 'boolean',
  custom_host: 'string',
  forward_headers: 'array',
  trace_context: 'boolean',
  strategy: 'object',
  mode: STRATEGY_MODES,
  targets: 'array',
  options: 'array',
} as const satisfies FieldKinds<ConfigNodeFields>;

