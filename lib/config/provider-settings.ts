/**
 * The settings of the built-in providers that take any, snake_case (the camelCase spellings are
 * derived where they are used), and their shapes for the drift test: each interface is checked
 * against its adapter's joi `settings` schema by test/unit/config-types.test.ts.
 */
import type { FieldKinds } from './field-kinds.js';

/** OpenAI's settings (openai.ts `openaiSettings`); the `openai_` spelling wins over the short one. */
export interface OpenAISettings {
  /** The `OpenAI-Organization` header. */
  openai_organization?: string;
  /** The `OpenAI-Project` header. */
  openai_project?: string;
  /** The `OpenAI-Organization` header. */
  organization?: string;
  /** The `OpenAI-Project` header. */
  project?: string;
}

/** Azure OpenAI's settings (azure-openai.ts `azureOpenAISettings`). */
export interface AzureOpenAISettings {
  /** The resource: `https://{resource_name}.openai.azure.com`. */
  resource_name?: string;
  /** The deployment. @default the request's `model` */
  deployment_id?: string;
  /** The `api-version`. @default '2024-10-21' */
  api_version?: string;
  /** An Entra ID token, sent as `Authorization: Bearer` instead of `api-key`. */
  azure_ad_token?: string;
}

/** Anthropic's settings (anthropic/index.ts `anthropicSettings`). */
export interface AnthropicSettings {
  /** The `anthropic-version` header. @default '2023-06-01' */
  anthropic_version?: string;
  /** The `anthropic-beta` header: one value, or several joined by commas. */
  anthropic_beta?: string | readonly string[];
}

/** A Vertex AI service account key: its JSON text, or the parsed object. */
export type VertexServiceAccount = string | { client_email?: string; private_key?: string; token_uri?: string; [field: string]: unknown };

/** Vertex AI's settings (vertex/index.ts `vertexSettings`). */
export interface VertexSettings {
  /** The Google Cloud project (required, here or in `options.providers['vertex-ai']`). */
  vertex_project_id?: string;
  /** The region (required): `us-central1`, `europe-west4`, `global`, ... */
  vertex_region?: string;
  /** A service account key (JSON text or object): an OAuth token is fetched with it and cached. */
  vertex_service_account_json?: VertexServiceAccount;
  /** The host's own token source (server options only: `getAccessToken`). */
  get_access_token?: () => string | Promise<string>;
}

/** AWS credentials, as a `get_credentials` function returns them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** AWS Bedrock's settings (bedrock/index.ts `bedrockSettings`). */
export interface BedrockSettings {
  /** The region (required): the default host and the signature's scope. */
  aws_region?: string;
  /** The access key id; requests are signed with SigV4. */
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  /** The session token of temporary credentials. */
  aws_session_token?: string;
  /** The host's own credentials source (server options only: `getCredentials`), e.g. an IAM role. */
  get_credentials?: () => AwsCredentials | Promise<AwsCredentials>;
}

/** The settings of every built-in adapter that takes any (a target may carry any of them). */
export type BuiltinProviderSettings = OpenAISettings & AzureOpenAISettings & AnthropicSettings & VertexSettings & BedrockSettings;

// Shapes: every key of each settings type and the kind of its value, for the drift test.

export const OPENAI_SETTINGS_SHAPE = {
  openai_organization: 'string',
  openai_project: 'string',
  organization: 'string',
  project: 'string',
} as const satisfies FieldKinds<OpenAISettings>;

export const AZURE_OPENAI_SETTINGS_SHAPE = {
  resource_name: 'string',
  deployment_id: 'string',
  api_version: 'string',
  azure_ad_token: 'string',
} as const satisfies FieldKinds<AzureOpenAISettings>;

export const ANTHROPIC_SETTINGS_SHAPE = {
  anthropic_version: 'string',
  anthropic_beta: 'alternatives',
} as const satisfies FieldKinds<AnthropicSettings>;

export const VERTEX_SETTINGS_SHAPE = {
  vertex_project_id: 'string',
  vertex_region: 'string',
  vertex_service_account_json: 'alternatives',
  get_access_token: 'function',
} as const satisfies FieldKinds<VertexSettings>;

export const BEDROCK_SETTINGS_SHAPE = {
  aws_region: 'string',
  aws_access_key_id: 'string',
  aws_secret_access_key: 'string',
  aws_session_token: 'string',
  get_credentials: 'function',
} as const satisfies FieldKinds<BedrockSettings>;

/** The settings any target may carry: those of every built-in adapter. */
export const TARGET_SETTINGS_SHAPE = {
  ...OPENAI_SETTINGS_SHAPE,
  ...AZURE_OPENAI_SETTINGS_SHAPE,
  ...ANTHROPIC_SETTINGS_SHAPE,
  ...VERTEX_SETTINGS_SHAPE,
  ...BEDROCK_SETTINGS_SHAPE,
} as const satisfies FieldKinds<BuiltinProviderSettings>;
