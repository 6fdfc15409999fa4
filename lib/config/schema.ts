/**
 * The joi schema of a request config, applied after keys were normalised to snake_case (see
 * normalise.ts). Both forms are described by one recursive target schema: the current
 * `strategy` + `targets` and the legacy `mode` + `options`.
 */
import Joi from 'joi';
import { headerSafe } from '../providers/settings.js';
import { ERROR_CLASSES } from '../providers/types.js';
import { MAX_HOST_URL_LENGTH, parseHttpUrl } from './host.js';

/**
 * joi's pattern messages quote the offending value; a value may be a secret, so ours never do.
 * Pass these to every validate() call whose input may hold keys.
 */
export const NO_VALUE_MESSAGES = {
  'string.pattern.name': '{{#label}} must match the {{#name}} pattern',
  'string.pattern.base': '{{#label}} does not have the expected format',
  'string.pattern.invert.name': '{{#label}} must not match the {{#name}} pattern',
  'string.pattern.invert.base': '{{#label}} does not have the expected format',
} as const;

/** A string that may end up in an upstream header: no control character but tab (header injection). */
export { headerSafe };

/**
 * An absolute http(s) URL that the transport can parse (WHATWG `URL`): joi's `uri()` alone
 * accepts text such as `http://127.0.0.1%3A8080` that `new URL()` then throws on.
 */
export const httpUrl = Joi.string()
  .max(MAX_HOST_URL_LENGTH)
  .custom((value: string, helpers) => (parseHttpUrl(value) ? value : helpers.error('string.uri')), 'http(s) URL');

/** A status code, or a class of them written `"5xx"`. */
const statusCode = Joi.alternatives().try(
  Joi.number().integer().min(100).max(599),
  Joi.string().pattern(/^[1-5]xx$/i, { name: 'status class like "5xx"' }),
);

const millis = Joi.number().integer().min(1).max(3_600_000);

export const retrySchema = Joi.object({
  attempts: Joi.number().integer().min(0).max(5),
  on_status_codes: Joi.array().items(statusCode).max(50),
  use_retry_after_header: Joi.boolean(),
});

export const breakerSchema = Joi.object({
  failure_threshold: Joi.number().integer().min(1).max(1000),
  minimum_requests: Joi.number().integer().min(1).max(10_000),
  window_ms: millis,
  cooldown_ms: millis,
});

const modeSchema = Joi.string().valid('fallback', 'loadbalance', 'single');

const strategySchema = Joi.object({
  mode: modeSchema.required(),
  on_status_codes: Joi.array().items(statusCode).max(50),
  on_errors: Joi.array().items(Joi.string().valid(...ERROR_CLASSES)).max(ERROR_CLASSES.length),
  cb_config: breakerSchema,
  hedge_after_ms: millis,
});

/** An HTTP header name (RFC 9110 token). */
const headerName = Joi.string().max(256).pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { name: 'header name' });

/**
 * The keys a config node may hold besides provider settings. Any other snake_case key is a
 * setting of the target's provider, checked against its adapter's `settings` once the provider
 * is known (resolve.ts).
 */
const nodeKeys = {
  provider: Joi.string().max(64).pattern(/^[A-Za-z0-9_.-]+$/, { name: 'provider name' }),
  api_key: headerSafe.min(1),
  virtual_key: Joi.string().max(256).min(1),
  override_params: Joi.object().unknown(true),
  weight: Joi.number().min(0).max(1_000_000),
  retry: retrySchema,
  request_timeout: millis,
  stream_idle_timeout: millis,
  total_timeout: millis,
  stream_mode: Joi.string().valid('passthrough', 'buffered'),
  stream_recovery: Joi.string().valid('none', 'continue'),
  supports_prefill: Joi.boolean(),
  custom_host: httpUrl,
  forward_headers: Joi.array().items(headerName).max(50),
  trace_context: Joi.boolean(),
  strategy: strategySchema,
  mode: modeSchema,
  targets: Joi.array().items(Joi.link('#target')).min(1).max(50),
  options: Joi.array().items(Joi.link('#target')).min(1).max(50),
};

/** The names of the config's own node keys (targets and strategies), as opposed to provider settings. */
export const NODE_KEYS: ReadonlySet<string> = new Set(Object.keys(nodeKeys));

/** A provider setting's name, after camelCase keys were renamed to snake_case. */
export const SETTING_KEY = /^[a-z][a-z0-9_]*$/;

/** One target; recursive through `targets` / `options`. */
export const targetSchema = Joi.object(nodeKeys)
  .pattern(SETTING_KEY, Joi.any())
  .id('target')
  .oxor('targets', 'options')
  .oxor('strategy', 'mode')
  .oxor('provider', 'virtual_key')
  .oxor('api_key', 'virtual_key')
  .oxor('provider', 'targets')
  .oxor('provider', 'options')
  .oxor('virtual_key', 'targets')
  .oxor('virtual_key', 'options');
