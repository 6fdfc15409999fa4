/**
 * Type-level tests of `Config` and the provider options (run by test/unit/config-types.test.ts
 * with `tsc --noEmit`). Every `@ts-expect-error` line must be an error: an unused directive fails
 * the compilation, so the file compiles only while each typo or wrong type is refused. The text
 * after a directive is what the error must mention (checked by the same test with the directives
 * removed).
 *
 * Each refused case is one line and differs from a valid case above it by one key or value.
 */
import {
  createFallbackRouter,
  type Config,
  type OpenAIProviderOptions,
  type ProviderOptions,
  type RouterOptions,
  type VirtualKeyOptions,
} from '../../lib/index.js';

// --- valid: the current form, snake_case, camelCase and both in one config ---------------------

const currentSnake: Config = {
  strategy: {
    mode: 'fallback',
    on_status_codes: [429, 500, '5xx', '4XX'],
    on_errors: ['rate_limit', 'timeout'],
    cb_config: { failure_threshold: 3, minimum_requests: 5, window_ms: 60_000, cooldown_ms: 30_000 },
    hedge_after_ms: 2000,
  },
  retry: { attempts: 1, on_status_codes: [429], use_retry_after_header: true },
  request_timeout: 10_000,
  stream_idle_timeout: 5000,
  total_timeout: 30_000,
  stream_mode: 'buffered',
  stream_recovery: 'continue',
  override_params: { max_tokens: 100 },
  custom_host: 'http://10.0.0.5:8000/v1',
  forward_headers: ['x-request-id'],
  trace_context: true,
  weight: 1,
  targets: [
    {
      provider: 'openai',
      api_key: 'sk-1',
      override_params: { model: 'gpt-4o-mini' },
      retry: { attempts: 2 },
      weight: 2,
      supports_prefill: false,
      openai_organization: 'org',
      openai_project: 'proj',
      organization: 'org',
      project: 'proj',
    },
    { provider: 'azure-openai', api_key: 'k', resource_name: 'acme', deployment_id: 'gpt4o', api_version: '2024-10-21', azure_ad_token: 't' },
    { provider: 'anthropic', api_key: 'k', anthropic_version: '2023-06-01', anthropic_beta: ['a', 'b'] },
    { virtual_key: 'vk-anthropic', anthropic_beta: 'prompt-caching-2024-07-31' },
    { strategy: { mode: 'loadbalance' }, targets: [{ provider: 'groq', weight: 1 }, { provider: 'ollama', weight: 3 }] },
  ],
};

const currentCamel: Config = {
  strategy: {
    mode: 'fallback',
    onStatusCodes: [429, '5xx'],
    onErrors: ['server'],
    cbConfig: { failureThreshold: 3, minimumRequests: 5, windowMs: 60_000, cooldownMs: 30_000 },
    hedgeAfterMs: 2000,
  },
  retry: { attempts: 1, onStatusCodes: [429], useRetryAfterHeader: false },
  requestTimeout: 10_000,
  streamIdleTimeout: 5000,
  totalTimeout: 30_000,
  streamMode: 'passthrough',
  streamRecovery: 'none',
  overrideParams: { temperature: 0 },
  customHost: 'http://10.0.0.5:8000/v1',
  forwardHeaders: ['x-request-id'],
  traceContext: false,
  targets: [
    { provider: 'openai', apiKey: 'sk-1', supportsPrefill: true, openaiOrganization: 'org', openaiProject: 'proj' },
    { provider: 'azure-openai', resourceName: 'acme', deploymentId: 'gpt4o', apiVersion: '2024-10-21', azureAdToken: 't' },
    { provider: 'anthropic', apiKey: 'k', anthropicVersion: '2023-06-01', anthropicBeta: 'x' },
    { virtualKey: 'vk-openai', overrideParams: { model: 'gpt-4o' } },
  ],
};

const mixed: Config = {
  strategy: { mode: 'fallback', on_status_codes: [503], cbConfig: { failure_threshold: 2, cooldownMs: 1000 } },
  targets: [{ provider: 'openai', api_key: 'k', overrideParams: { model: 'gpt-4o' } }, { virtual_key: 'vk' }],
};

// --- valid: the legacy form ---------------------------------------------------------------------

const legacy: Config = {
  mode: 'fallback',
  retry: { attempts: 1 },
  options: [
    { provider: 'openai', api_key: 'sk-1', override_params: { model: 'gpt-4o' } },
    { mode: 'loadbalance', options: [{ virtual_key: 'vk-a', weight: 1 }, { virtualKey: 'vk-b', weight: 1 }] },
    { strategy: { mode: 'single' }, targets: [{ provider: 'anthropic', apiKey: 'k' }] },
  ],
};

const legacyCamel: Config = { mode: 'single', requestTimeout: 1000, options: [{ provider: 'openai', apiKey: 'k', streamMode: 'buffered' }] };

// --- valid: a single target, `as const`, readonly arrays, a client's header ---------------------

const single: Config = { provider: 'openai', api_key: 'sk-1' };
const frozen = { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'anthropic' }] } as const;
const frozenIsConfig: Config = frozen;
const header: string = JSON.stringify({ provider: 'anthropic', apiKey: 'k' } satisfies Config);

// --- valid: a custom adapter's settings, declared through Extra ---------------------------------

interface AcmeSettings {
  acme_region: string;
  acme_secret_key?: string;
}
const custom: Config<AcmeSettings> = {
  strategy: { mode: 'fallback' },
  targets: [{ provider: 'acme', acme_region: 'eu-west-1' }, { provider: 'acme', acmeRegion: 'us-east-1', acmeSecretKey: 's' }, { provider: 'openai' }],
};
const open: Config<Record<string, unknown>> = { provider: 'mine', anything: 1, goes: ['x'] };

// --- valid: router options ------------------------------------------------------------------------

const options: RouterOptions = {
  providers: {
    openai: { apiKey: 'k', baseURL: 'http://127.0.0.1:8080/v1', headers: { 'x-a': 'b' }, organization: 'org', project: 'p' },
    azure_openai: { apiKey: 'k', resourceName: 'acme', deploymentId: 'd', apiVersion: '2024-10-21', azureAdToken: 't' },
    'azure-openai': { resource_name: 'acme', deployment_id: 'd' },
    anthropic: { apiKey: 'k', anthropicVersion: '2023-06-01', anthropicBeta: ['a'] },
    groq: { apiKey: 'k' },
    'openai-compatible': { baseURL: 'http://127.0.0.1:8000/v1' },
    acme: { acmeRegion: 'eu-west-1', acme_secret_key: 's', anything: { nested: true } },
    bedrock: { awsRegion: 'eu-west-1', awsAccessKeyId: 'AKIA', aws_secret_access_key: 's', getCredentials: async () => ({ accessKeyId: 'a', secretAccessKey: 's' }) },
    'vertex-ai': { vertexProjectId: 'p', vertexRegion: 'us-central1', getAccessToken: async () => 'token', vertexServiceAccountJson: { client_email: 'e' } },
    gemini: { apiKey: 'k' },
    cohere: { apiKey: 'k' },
  },
  virtualKeys: {
    'vk-openai': { provider: 'openai', apiKey: 'k', organization: 'org' },
    'vk-azure': { provider: 'azure', apiKey: 'k', resourceName: 'acme' },
    'vk-custom': { provider: 'acme', acmeRegion: 'eu-west-1' },
    'vk-bedrock': { provider: 'bedrock', awsRegion: 'eu-west-1', awsAccessKeyId: 'AKIA', awsSecretAccessKey: 's' },
  },
  configs: { current: currentSnake, camel: currentCamel, mixed, legacy, legacyCamel, single, frozen, custom, open },
  defaultConfig: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'vk-openai' }, { provider: 'anthropic' }] },
};
createFallbackRouter(options);
createFallbackRouter({ defaultConfig: { mode: 'fallback', options: [{ provider: 'openai' }] } });
// A config with a custom adapter's settings is declared as a Config<Extra> (inline, where the
// option's type is Config, those settings would be unknown keys).
const acmeConfig: Config<AcmeSettings> = { provider: 'acme', acmeRegion: 'eu-west-1' };
createFallbackRouter({ configs: { acme: acmeConfig }, defaultConfig: acmeConfig });
// Built-in providers' settings need no Extra.
createFallbackRouter({ defaultConfig: { provider: 'bedrock', awsRegion: 'eu-west-1', awsAccessKeyId: 'AKIA', aws_secret_access_key: 's' } });
const vk: VirtualKeyOptions = { provider: 'anthropic', anthropicVersion: '2023-06-01' };
// Options typed loosely (ProviderOptions, a Record) still fit, under any name.
const loose: ProviderOptions = { apiKey: 'k' };
const typed: OpenAIProviderOptions = { apiKey: 'k', organization: 'org' };
const record: Record<string, ProviderOptions> = { openai: loose };
createFallbackRouter({ providers: { openai: loose, anthropic: loose, groq: loose, mine: typed } });
createFallbackRouter({ providers: record, virtualKeys: { a: { provider: 'openai', ...typed }, b: { provider: 'mine', ...loose } } });

// --- refused: configs -----------------------------------------------------------------------------

// @ts-expect-error stratgy
const e1: Config = { stratgy: { mode: 'fallback' }, targets: [{ provider: 'openai' }] };
// @ts-expect-error 'string' is not assignable
const e2: Config = { strategy: { mode: 'fallback' }, targets: 'nope' };
// @ts-expect-error 'string' is not assignable to type 'number'
const e3: Config = { provider: 'openai', retry: { attempts: 'x' } };
// @ts-expect-error 'true' is not assignable to type 'StatusCode'
const e4: Config = { provider: 'openai', retry: { on_status_codes: [true] } };
// @ts-expect-error 'true' is not assignable to type 'StatusCode'
const e5: Config = { strategy: { mode: 'fallback', on_status_codes: [true] }, targets: [{ provider: 'openai' }] };
// @ts-expect-error "fallbak"
const e6: Config = { mode: 'fallbak', options: [{ provider: 'openai' }] };
// @ts-expect-error "fallbak"
const e7: Config = { strategy: { mode: 'fallbak' }, targets: [{ provider: 'openai' }] };
// @ts-expect-error onStatusCode
const e8: Config = { strategy: { mode: 'fallback', onStatusCode: [429] }, targets: [{ provider: 'openai' }] };
// @ts-expect-error requestTimeOut
const e9: Config = { provider: 'openai', requestTimeOut: 1000 };
// @ts-expect-error 'string' is not assignable to type 'number'
const e10: Config = { provider: 'openai', request_timeout: '5s' };
// @ts-expect-error "buffer"
const e11: Config = { provider: 'openai', streamMode: 'buffer' };
// @ts-expect-error "oops"
const e12: Config = { strategy: { mode: 'fallback', on_errors: ['oops'] }, targets: [{ provider: 'openai' }] };
// @ts-expect-error failureThreshhold
const e13: Config = { strategy: { mode: 'fallback', cbConfig: { failureThreshhold: 1 } }, targets: [{ provider: 'openai' }] };
// @ts-expect-error "server"
const e14: Config = { provider: 'openai', retry: { onStatusCodes: ['server'] } };
// @ts-expect-error provder
const e15: Config = { strategy: { mode: 'fallback' }, targets: [{ provder: 'openai' }] };
// @ts-expect-error 'resource_name' are incompatible
const e16: Config = { strategy: { mode: 'fallback' }, resource_name: 'acme', targets: [{ provider: 'azure-openai' }] };
// @ts-expect-error a strategy belongs on a node with targets, not on a target
const e17: Config = { provider: 'openai', strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }] };
// @ts-expect-error 'api_key' are incompatible
const e18: Config = { virtual_key: 'vk', api_key: 'sk-1' };
// @ts-expect-error region
const e19: Config = { provider: 'acme', region: 'eu-west-1' };
// @ts-expect-error acmeRegoin
const e20: Config<AcmeSettings> = { provider: 'acme', acmeRegoin: 'eu-west-1' };
// @ts-expect-error 'acme_region' are incompatible
const e21: Config<AcmeSettings> = { strategy: { mode: 'fallback' }, acme_region: 'x', targets: [{ provider: 'acme', acme_region: 'x' }] };
// @ts-expect-error 'targets' is missing
const e22: Config = { strategy: { mode: 'fallback' } };
// @ts-expect-error 'virtual_key' are incompatible
const e25: Config = { provider: 'openai', virtual_key: 'vk' };
// @ts-expect-error a mode belongs on a node with options, not on a target
const e26: Config = { virtualKey: 'vk', mode: 'fallback' };
// @ts-expect-error 'number' is not assignable to type 'string'
const e23: Config = { provider: 'anthropic', anthropic_beta: [1] };
// @ts-expect-error 'string' is not assignable
const e24: Config = { mode: 'fallback', options: [{ provider: 'openai', weight: '1' }] };
// @ts-expect-error 'string' is not assignable to type 'boolean | undefined'
const e27: Config = { provider: 'openai', traceContext: 'yes' };

// --- refused: router options ------------------------------------------------------------------------

// @ts-expect-error apiKye
createFallbackRouter({ providers: { openai: { apiKye: 'x' } } });
// @ts-expect-error providerz
createFallbackRouter({ providerz: { openai: { apiKey: 'x' } } });
// @ts-expect-error organization
createFallbackRouter({ providers: { azure_openai: { apiKey: 'k', organization: 'org' } } });
// @ts-expect-error resourceNmae
createFallbackRouter({ providers: { 'azure-openai': { apiKey: 'k', resourceNmae: 'acme' } } });
// @ts-expect-error 'number' is not assignable
createFallbackRouter({ providers: { anthropic: { anthropicBeta: 1 } } });
// @ts-expect-error organization
createFallbackRouter({ providers: { groq: { apiKey: 'k', organization: 'org' } } });
// @ts-expect-error 'number' is not assignable
createFallbackRouter({ providers: { bedrock: { apiKey: 1 } } });
// @ts-expect-error 'number' is not assignable to type 'string'
createFallbackRouter({ virtualKeys: { vk: { provider: 'openai', apiKey: 1 } } });
// @ts-expect-error stratgy
createFallbackRouter({ defaultConfig: { stratgy: { mode: 'fallback' }, targets: [{ provider: 'openai' }] } });
// @ts-expect-error 'string' is not assignable
createFallbackRouter({ configs: { main: { strategy: { mode: 'fallback' }, targets: 'nope' } } });
// @ts-expect-error "fallbak"
createFallbackRouter({ configs: { main: { mode: 'fallbak', options: [{ provider: 'openai' }] } } });

export { currentSnake, currentCamel, mixed, legacy, legacyCamel, single, frozenIsConfig, header, custom, open, vk };
export { e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24, e25, e26, e27 };
