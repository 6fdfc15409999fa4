/**
 * What tells the OpenAI-format providers apart for the fake in openai.ts: their paths, auth,
 * documented error statuses, error bodies and rate-limit headers. Each entry follows its
 * provider's own documentation (OpenAI's error-codes and rate-limits guides, Azure OpenAI's REST
 * reference, quota and content-filter pages, Groq's OpenAI-compatibility and errors pages,
 * DeepSeek's error-codes and rate-limit pages, Together AI's error-codes page).
 */
import type { ErrorKind } from '../types.js';

export type OpenAIFlavour = 'openai' | 'azure-openai' | 'groq' | 'deepseek' | 'together-ai';

/** One OpenAI-format provider as the fake plays it. */
export interface Flavour {
  /** Path prefixes the API answers under; the first is the fake's `baseURL` path. */
  readonly bases: readonly string[];
  /** Azure's deployment paths, `api-version` and `api-key` header. */
  readonly azure: boolean;
  readonly embeddings: boolean;
  /** A `model` the body must name (Azure takes it from the deployment path). */
  readonly requireModel: boolean;
  /** Top-level fields outside OpenAI's documented list are refused (OpenAI and Azure do so). */
  readonly strictFields: boolean;
  /** Fields the provider documents as refused with a 400 (Groq). */
  readonly refusedFields: readonly string[];
  /** The status of a malformed body (DeepSeek: 422 for invalid parameters). */
  readonly validationStatus: number;
  /** What goes before a 200 JSON body (DeepSeek keeps connections alive with blank lines). */
  readonly jsonPrefix: string;
  readonly statuses: Readonly<Record<ErrorKind, number>>;
  /** Sent with a 429 (the provider's documented rate-limit headers). */
  readonly rateLimitHeaders: Readonly<Record<string, string>>;
  readonly missingKeyBody: unknown;
  notFoundBody(method: string, path: string): unknown;
  invalidBody(message: string, param: string | null, code: string | null): unknown;
  /** The provider's own body for a scripted error. */
  readonly errors: Readonly<Record<ErrorKind, (model: string) => unknown>>;
}

/** OpenAI's error object. */
function oai(message: string, type: string | null, param: string | null = null, code: string | null = null): { error: Record<string, unknown> } {
  return { error: { message, type, param, code } };
}

/** Azure's own error object (auth, deployments, throttling): `{error:{code, message}}`. */
function azure(code: string, message: string): { error: Record<string, unknown> } {
  return { error: { code, message } };
}

const STATUSES: Readonly<Record<ErrorKind, number>> = {
  invalid_request: 400,
  context_length: 400,
  unauthenticated: 401,
  permission: 403,
  not_found: 404,
  rate_limit: 429,
  server: 500,
  unavailable: 503,
  overloaded: 503,
};

const OPENAI_ERRORS: Readonly<Record<ErrorKind, (model: string) => unknown>> = {
  invalid_request: () => oai("Invalid type for 'temperature': expected a decimal, but got a string instead.", 'invalid_request_error', 'temperature', 'invalid_type'),
  context_length: () =>
    oai("This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.", 'invalid_request_error', 'messages', 'context_length_exceeded'),
  unauthenticated: () => oai('Incorrect API key provided: sk-conf***. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', null, 'invalid_api_key'),
  permission: () => oai('Country, region, or territory not supported', 'request_forbidden', null, 'unsupported_country_region_territory'),
  not_found: (model) => oai(`The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', null, 'model_not_found'),
  rate_limit: (model) =>
    oai(`Rate limit reached for ${model} in organization org-conformance on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.`, 'requests', null, 'rate_limit_exceeded'),
  server: () => oai('The server had an error while processing your request. Sorry about that!', 'server_error'),
  unavailable: () => oai('Slow Down: please reduce your request rate.', 'service_unavailable_error', null, 'slow_down'),
  overloaded: () => oai('The engine is currently overloaded, please try again later.', 'service_unavailable_error', null, 'server_is_overloaded'),
};

const OPENAI_RATE_HEADERS = {
  'x-ratelimit-limit-requests': '500',
  'x-ratelimit-remaining-requests': '0',
  'x-ratelimit-reset-requests': '120ms',
  'x-ratelimit-limit-tokens': '30000',
  'x-ratelimit-remaining-tokens': '29000',
  'x-ratelimit-reset-tokens': '2s',
};

const base = {
  azure: false,
  embeddings: true,
  requireModel: true,
  strictFields: false,
  refusedFields: [] as readonly string[],
  validationStatus: 400,
  jsonPrefix: '',
  statuses: STATUSES,
  errors: OPENAI_ERRORS,
  rateLimitHeaders: OPENAI_RATE_HEADERS,
  missingKeyBody: oai("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'invalid_request_error'),
  notFoundBody: (method: string, path: string) => oai(`Invalid URL (${method} ${path})`, 'invalid_request_error'),
  invalidBody: (message: string, param: string | null, code: string | null) => oai(message, 'invalid_request_error', param, code),
};

const AZURE_THROTTLED = (version: string): string =>
  `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${version} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.`;

/** The five flavours. */
export const OPENAI_FAMILY: Readonly<Record<OpenAIFlavour, Flavour>> = {
  openai: { ...base, bases: ['/v1'], strictFields: true },
  'azure-openai': {
    ...base,
    bases: [''],
    azure: true,
    requireModel: false,
    strictFields: true,
    rateLimitHeaders: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '0', 'retry-after': '1', 'retry-after-ms': '1000' },
    missingKeyBody: azure('401', 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.'),
    notFoundBody: () => azure('404', 'Resource not found'),
    errors: {
      ...OPENAI_ERRORS,
      unauthenticated: () => azure('401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'),
      permission: () => azure('PermissionDenied', 'Principal does not have access to API/Operation.'),
      not_found: () => azure('DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.'),
      rate_limit: () => azure('429', AZURE_THROTTLED('2024-10-21')),
      unavailable: () => azure('ServiceUnavailable', 'The service is temporarily unable to process your request. Please try again later.'),
      overloaded: () => azure('ServiceUnavailable', 'The service is temporarily unable to process your request. Please try again later.'),
    },
  },
  groq: {
    ...base,
    bases: ['/openai/v1'],
    embeddings: false,
    refusedFields: ['logprobs', 'logit_bias', 'top_logprobs'],
    rateLimitHeaders: {
      'x-ratelimit-limit-requests': '14400',
      'x-ratelimit-limit-tokens': '6000',
      'x-ratelimit-remaining-requests': '14370',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-requests': '2m59.56s',
      'x-ratelimit-reset-tokens': '2s',
      'retry-after': '2',
    },
    missingKeyBody: oai('Invalid API Key', 'invalid_request_error', null, 'invalid_api_key'),
    notFoundBody: (method, path) => oai(`Unknown request URL: ${method} ${path}. Please check the URL for typos, or see the docs at https://console.groq.com/docs/`, 'invalid_request_error', null, 'unknown_url'),
    errors: {
      ...OPENAI_ERRORS,
      context_length: () => oai('Please reduce the length of the messages or completion.', 'invalid_request_error', 'messages', 'context_length_exceeded'),
      unauthenticated: () => oai('Invalid API Key', 'invalid_request_error', null, 'invalid_api_key'),
      permission: () => oai('Forbidden', 'permissions_error', null, 'forbidden'),
      rate_limit: (model) =>
        oai(`Rate limit reached for model \`${model}\` in organization \`org_conformance\` service tier \`on_demand\` on tokens per minute (TPM): Limit 6000, Used 5800, Requested 400. Please try again in 2s.`, 'tokens', null, 'rate_limit_exceeded'),
      unavailable: () => oai('Service Unavailable', 'internal_server_error', null, 'service_unavailable'),
      overloaded: () => oai('The server is currently overloaded, please try again later.', 'internal_server_error', null, 'service_unavailable'),
    },
  },
  deepseek: {
    ...base,
    bases: ['', '/v1'],
    embeddings: false,
    validationStatus: 422,
    jsonPrefix: '\n\n',
    // DeepSeek documents no 403 (permission is its 401) and answers an unknown model with 400.
    statuses: { ...STATUSES, permission: 401, not_found: 400 },
    rateLimitHeaders: {},
    missingKeyBody: oai('Authentication Fails, Your api key is invalid', 'authentication_error', null, 'invalid_request_error'),
    invalidBody: (message) => oai(`Failed to deserialize the JSON body into the target type: ${message}`, 'invalid_request_error', null, 'invalid_request_error'),
    errors: {
      invalid_request: () => oai('Invalid Format: the request body is not valid.', 'invalid_request_error', null, 'invalid_request_error'),
      context_length: () =>
        oai("This model's maximum context length is 131072 tokens. However, you requested 140000 tokens (139000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.", 'invalid_request_error', null, 'invalid_request_error'),
      unauthenticated: () => oai('Authentication Fails, Your api key: ****conf is invalid', 'authentication_error', null, 'invalid_request_error'),
      permission: () => oai('Authentication Fails, Your api key: ****conf is invalid', 'authentication_error', null, 'invalid_request_error'),
      not_found: () => oai('Model Not Exist', 'invalid_request_error', null, 'invalid_request_error'),
      rate_limit: () => oai('Rate Limit Reached', 'rate_limit_error', null, 'rate_limit_reached'),
      server: () => oai('Server Error', 'server_error', null, 'server_error'),
      unavailable: () => oai('Server Overloaded', 'server_error', null, 'server_overloaded'),
      overloaded: () => oai('Server Overloaded', 'server_error', null, 'server_overloaded'),
    },
  },
  'together-ai': {
    ...base,
    bases: ['/v1'],
    // Together documents its 403 for a prompt plus max_tokens over the context length, and no
    // permission error of its own (an invalid key is its 401).
    statuses: { ...STATUSES, context_length: 403, permission: 401 },
    rateLimitHeaders: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1', 'x-tokenlimit-limit': '200000', 'x-tokenlimit-remaining': '0' },
    errors: {
      ...OPENAI_ERRORS,
      context_length: () =>
        oai('Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8193. Given: 8000 `inputs` tokens and 512 `max_new_tokens`', 'invalid_request_error', null, null),
      unauthenticated: () => oai('Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.', 'invalid_request_error', null, 'invalid_api_key'),
      permission: () => oai('Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.', 'invalid_request_error', null, 'invalid_api_key'),
      not_found: (model) => oai(`Unable to access model ${model}. Please visit https://api.together.ai/models to view the list of supported models.`, 'invalid_request_error', 'model', 'model_not_available'),
      unavailable: () => oai('The server is overloaded or not ready yet.', 'server_error', null, null),
      overloaded: () => oai('The server is overloaded or not ready yet.', 'server_error', null, null),
    },
  },
};

/** The provider's body for an error kind. */
export function errorBodyOf(flavour: Flavour, kind: ErrorKind, model: string): unknown {
  return flavour.errors[kind](model);
}
