/**
 * The joi schema of the router options, and an example of each for the errors that broken
 * options throw (express-rate-limit's habit: name the option, what was expected, an example).
 */
import Joi from 'joi';
import { OBSERVE_OPTION_EXAMPLES, observeOptionSchemas } from './observe/options.js';

const headerSafeString = Joi.string().pattern(/^[^\r\n\0]*$/, { name: 'no CR, LF or NUL' });
const httpUrl = Joi.string().uri({ scheme: ['http', 'https'] });
const providerOptionsSchema = Joi.object({
  apiKey: headerSafeString.min(1),
  baseURL: httpUrl,
  headers: Joi.object().pattern(Joi.string(), headerSafeString),
}).unknown(true);
const fn = Joi.function();
const millis = Joi.number().integer().min(1).max(3_600_000);

/** The joi schema of RouterOptions (camelCase, as the host writes them). */
export const optionsSchema = Joi.object({
  providers: Joi.object().pattern(Joi.string(), providerOptionsSchema),
  virtualKeys: Joi.object().pattern(
    Joi.string(),
    providerOptionsSchema.keys({ provider: Joi.string().required() }),
  ),
  configs: Joi.object().pattern(Joi.string(), Joi.object()),
  defaultConfig: Joi.object(),
  adapters: Joi.object().pattern(
    Joi.string(),
    Joi.object({
      buildRequest: fn.required(),
      parseResponse: fn.required(),
      classifyError: fn.required(),
      endpoints: Joi.object().instance(Set).required(),
      settings: Joi.object().schema('object'),
    }).unknown(true),
  ),
  shouldFallback: fn,
  finalError: Joi.string().valid('last', 'first'),
  defaults: Joi.object({
    retry: Joi.object({
      attempts: Joi.number().integer().min(0).max(5),
      onStatusCodes: Joi.array().items(Joi.alternatives(Joi.number().integer().min(100).max(599), Joi.string().pattern(/^[1-5]xx$/))),
      useRetryAfterHeader: Joi.boolean(),
    }),
    requestTimeout: millis,
    streamIdleTimeout: millis,
    totalTimeout: millis,
    streamMode: Joi.string().valid('passthrough', 'buffered'),
  }),
  bodyLimit: Joi.alternatives(Joi.number().integer().min(1), Joi.string().pattern(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i)),
  headerPrefix: Joi.string().pattern(/^[a-z0-9-]+-$/, { name: 'lower-case header prefix ending in "-"' }),
  allowClientKeys: Joi.boolean(),
  allowCustomHost: Joi.boolean(),
  customHostAllowlist: Joi.array().items(httpUrl),
  auth: Joi.alternatives(fn, Joi.object({ apiKeys: Joi.array().items(Joi.string().min(1)).min(1).required() })),
  maxRetryAfterMs: Joi.number().integer().min(0).max(3_600_000),
  maxAttemptsPerRequest: Joi.number().integer().min(1).max(100),
  onError: fn,
  maxBufferedBytes: Joi.number().integer().min(1024),
  ...observeOptionSchemas,
  logs: Joi.object({ enabled: Joi.boolean(), captureBodies: Joi.boolean(), maxTraces: Joi.number().integer().min(1), maxBytes: Joi.number().integer().min(1024) }),
  // A table of USD per million tokens, or a function (provider, model) => price | undefined.
  pricing: Joi.alternatives().conditional(Joi.function(), {
    then: fn,
    otherwise: Joi.object()
      .pattern(
        Joi.string().min(1),
        Joi.object({ input: Joi.number().min(0).required(), output: Joi.number().min(0).required() }).messages({
          'object.base': '{{#label}} must be an object with input and output (USD per million tokens)',
        }),
      )
      .messages({ 'object.base': '{{#label}} must be a table of prices or a function (provider, model) => price' }),
  }),
  circuitBreaker: Joi.alternatives(
    Joi.boolean().valid(false),
    Joi.object({
      failureThreshold: Joi.number().integer().min(1),
      minimumRequests: Joi.number().integer().min(1),
      windowMs: Joi.number().integer().min(1),
      cooldownMs: Joi.number().integer().min(1),
    }),
  ),
  hooks: Joi.object({ onAttempt: fn, onFallback: fn, onTrace: fn, onBreakerStateChange: fn }),
  traceStore: Joi.object({ record: fn.required(), get: fn.required(), list: fn.required() }).unknown(true),
  breakerStore: Joi.object({ acquire: fn.required(), record: fn.required(), get: fn, snapshot: fn, close: fn }).unknown(true),
});

/** An example of each option, quoted in the error that a broken one throws. */
export const OPTION_EXAMPLES: Readonly<Record<string, string>> = {
  providers: "providers: { openai: { apiKey: process.env.OPENAI_API_KEY } }",
  virtualKeys: "virtualKeys: { 'openai-vk': { provider: 'openai', apiKey: '...' } }",
  configs: "configs: { 'pc-main': { strategy: { mode: 'fallback' }, targets: [...] } }",
  defaults: 'defaults: { requestTimeout: 30000, retry: { attempts: 2 } }',
  auth: "auth: { apiKeys: ['my-gateway-key'] }",
  finalError: "finalError: 'first'",
  headerPrefix: "headerPrefix: 'x-gw-'",
  bodyLimit: "bodyLimit: '10mb'",
  logs: 'logs: { enabled: true, captureBodies: false, maxTraces: 1000, maxBytes: 50 * 1024 * 1024 }',
  maxAttemptsPerRequest: 'maxAttemptsPerRequest: 10',
  maxBufferedBytes: 'maxBufferedBytes: 256 * 1024 * 1024',
  pricing: "pricing: { 'openai/gpt-4o': { input: 2.5, output: 10 } } (or a function (provider, model) => ({ input, output }) | undefined)",
  hooks: 'hooks: { onAttempt: (record) => {}, onFallback: (info) => {}, onTrace: (trace) => {}, onBreakerStateChange: (change) => {} }',
  breakerStore: 'breakerStore: new MemoryBreakerStore() (a store with acquire(key, policy, now) and record(key, policy, result, now))',
  traceStore: 'traceStore: { record(trace) {}, get(traceId) {}, list(query) { return []; } }',
  ...OBSERVE_OPTION_EXAMPLES,
};
