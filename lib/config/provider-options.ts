/**
 * The static types of `options.providers` and `options.virtualKeys`: a built-in provider's
 * entry takes exactly that provider's settings (camelCase, or snake_case as the router also
 * accepts), a custom adapter's name any setting (its adapter's joi `settings` checks them at
 * construction). The settings themselves are declared in types.ts, beside the config types.
 */
import {
  ANTHROPIC_SETTINGS_SHAPE,
  AZURE_OPENAI_SETTINGS_SHAPE,
  BEDROCK_SETTINGS_SHAPE,
  OPENAI_SETTINGS_SHAPE,
  VERTEX_SETTINGS_SHAPE,
  type AnthropicSettings,
  type AzureOpenAISettings,
  type BedrockSettings,
  type VertexSettings,
  type FieldKinds,
  type OpenAISettings,
  type WithCamelKeys,
} from './types.js';

/** What every `options.providers` entry and virtual key may set. */
export type BaseProviderOptions = {
  /** The provider API key sent upstream. Never logged or returned. */
  apiKey?: string;
  /** Replaces the provider's default API base, version path included (e.g. `http://127.0.0.1:8080/v1`). */
  baseURL?: string;
  /** Extra headers sent upstream with every request to this provider. */
  headers?: Record<string, string>;
};

/** `options.providers.openai`: `organization` / `openaiOrganization`, `project` / `openaiProject`. */
export type OpenAIProviderOptions = BaseProviderOptions & WithCamelKeys<OpenAISettings>;
/** `options.providers['azure-openai']`: `resourceName`, `deploymentId`, `apiVersion`, `azureAdToken`. */
export type AzureOpenAIProviderOptions = BaseProviderOptions & WithCamelKeys<AzureOpenAISettings>;
/** `options.providers.anthropic`: `anthropicVersion`, `anthropicBeta`. */
export type AnthropicProviderOptions = BaseProviderOptions & WithCamelKeys<AnthropicSettings>;
/** `options.providers['vertex-ai']`: `vertexProjectId`, `vertexRegion`, `vertexServiceAccountJson`, `getAccessToken`. */
export type VertexProviderOptions = BaseProviderOptions & WithCamelKeys<VertexSettings>;
/** `options.providers.bedrock`: `awsRegion`, `awsAccessKeyId`, `awsSecretAccessKey`, `awsSessionToken`, `getCredentials`. */
export type BedrockProviderOptions = BaseProviderOptions & WithCamelKeys<BedrockSettings>;
/** The other built-in providers (Gemini, Cohere, Groq, Mistral, Together, DeepSeek, ...) take no settings. */
export type OpenAICompatibleProviderOptions = BaseProviderOptions;

/**
 * The options of any provider, in particular one whose adapter the host registers
 * (`options.adapters`): any key but `apiKey`, `baseURL` and `headers` is one of the settings its
 * adapter declares (`ProviderAdapter.settings`), camelCase or snake_case, checked at construction
 * (an unknown one throws an OptionsError naming `options.providers.<name>.<key>`).
 */
export type ProviderOptions = BaseProviderOptions & { [setting: string]: unknown };

/**
 * The settings each built-in provider name (and alias) takes, snake_case: the source of
 * {@link BuiltinProvidersOptions}. The OpenAI-compatible ones (Groq, Mistral, ...) take none.
 */
export interface BuiltinSettingsByName {
  openai: OpenAISettings;
  'azure-openai': AzureOpenAISettings;
  azure_openai: AzureOpenAISettings;
  azureopenai: AzureOpenAISettings;
  azure: AzureOpenAISettings;
  anthropic: AnthropicSettings;
  google: {};
  gemini: {};
  'vertex-ai': VertexSettings;
  vertex: VertexSettings;
  vertex_ai: VertexSettings;
  vertexai: VertexSettings;
  bedrock: BedrockSettings;
  cohere: {};
  groq: {};
  'mistral-ai': {};
  mistral: {};
  mistral_ai: {};
  'together-ai': {};
  together: {};
  together_ai: {};
  deepseek: {};
  'fireworks-ai': {};
  fireworks: {};
  fireworks_ai: {};
  'x-ai': {};
  xai: {};
  x_ai: {};
  'perplexity-ai': {};
  perplexity: {};
  perplexity_ai: {};
  openrouter: {};
  ollama: {};
  'openai-compatible': {};
  openai_compatible: {};
}

/** The built-in providers' options by every name (and alias) `options.providers` accepts. */
export type BuiltinProvidersOptions = {
  [N in keyof BuiltinSettingsByName]?: BaseProviderOptions & WithCamelKeys<BuiltinSettingsByName[N]>;
};

/**
 * `options.providers`: a built-in provider's name takes exactly its options (a misspelt key is
 * a compile error); any other name, a custom adapter's, takes {@link ProviderOptions}.
 *
 * The index signature (custom names) admits the built-ins' option types as well as the loose
 * {@link ProviderOptions}, so that the named entries fit it while keeping their own exact types:
 * an object literal under `openai` is checked against `OpenAIProviderOptions` alone, and `apiKye`
 * is refused. Making the built-ins' types fit a loose index signature by giving them one (e.g.
 * `OpenAIProviderOptions extends ProviderOptions`) would let `apiKye` through.
 */
export type ProvidersOptions = BuiltinProvidersOptions & {
  [name: string]: ProviderOptions | NonNullable<BuiltinProvidersOptions[keyof BuiltinProvidersOptions]>;
};

/** The names of a built-in provider with settings, by provider. */
type AzureName = 'azure-openai' | 'azure_openai' | 'azureopenai' | 'azure';

/**
 * A virtual key: `{ provider, apiKey?, baseURL?, headers?, ...settings }`. With a built-in
 * provider named literally, its settings are suggested; since any string may name a custom
 * adapter, an unknown setting is caught at construction (naming `options.virtualKeys.<id>.<key>`)
 * rather than at compile time.
 */
export type VirtualKeyOptions =
  | ({ provider: 'openai' } & OpenAIProviderOptions)
  | ({ provider: AzureName } & AzureOpenAIProviderOptions)
  | ({ provider: 'anthropic' } & AnthropicProviderOptions)
  | ({ provider: 'vertex-ai' | 'vertex' | 'vertex_ai' | 'vertexai' } & VertexProviderOptions)
  | ({ provider: 'bedrock' } & BedrockProviderOptions)
  | ({ provider: string } & ProviderOptions);

/** Every built-in provider name and alias, with the settings shape it takes. */
export const BUILTIN_PROVIDER_NAMES = {
  openai: OPENAI_SETTINGS_SHAPE,
  'azure-openai': AZURE_OPENAI_SETTINGS_SHAPE,
  azure_openai: AZURE_OPENAI_SETTINGS_SHAPE,
  azureopenai: AZURE_OPENAI_SETTINGS_SHAPE,
  azure: AZURE_OPENAI_SETTINGS_SHAPE,
  anthropic: ANTHROPIC_SETTINGS_SHAPE,
  google: {},
  gemini: {},
  'vertex-ai': VERTEX_SETTINGS_SHAPE,
  vertex: VERTEX_SETTINGS_SHAPE,
  vertex_ai: VERTEX_SETTINGS_SHAPE,
  vertexai: VERTEX_SETTINGS_SHAPE,
  bedrock: BEDROCK_SETTINGS_SHAPE,
  cohere: {},
  groq: {},
  'mistral-ai': {},
  mistral: {},
  mistral_ai: {},
  'together-ai': {},
  together: {},
  together_ai: {},
  deepseek: {},
  'fireworks-ai': {},
  fireworks: {},
  fireworks_ai: {},
  'x-ai': {},
  xai: {},
  x_ai: {},
  'perplexity-ai': {},
  perplexity: {},
  perplexity_ai: {},
  openrouter: {},
  ollama: {},
  'openai-compatible': {},
  openai_compatible: {},
} as const satisfies { readonly [N in keyof BuiltinSettingsByName]: FieldKinds<BuiltinSettingsByName[N]> };
