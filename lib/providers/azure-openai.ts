/**
 * Azure OpenAI: OpenAI's wire format behind a per-resource host, a deployment path, an
 * `api-version` query parameter and an `api-key` header.
 */
import Joi from 'joi';
import { ConfigError } from '../errors.js';
import { OPENAI_PATHS, joinUrl, openAICompatibleAdapter } from './openai-compatible.js';
import { settingString } from './settings.js';
import type { ProviderAdapter } from './types.js';

/** The GA api-version used when a target names none. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/**
 * Azure OpenAI's target settings: `resource_name` (the `{resource_name}.openai.azure.com` host:
 * letters, digits and hyphens, at most 128), `deployment_id`, `api_version` and `azure_ad_token`
 * (sent as `Authorization: Bearer` instead of `api-key`).
 */
export const azureOpenAISettings = Joi.object({
  resource_name: Joi.string().max(128).pattern(/^[A-Za-z0-9][A-Za-z0-9-]*$/, { name: 'Azure resource name' }),
  deployment_id: settingString,
  api_version: settingString,
  azure_ad_token: settingString,
});

const base = openAICompatibleAdapter({
  name: 'azure-openai',
  streamUsage: 'on_request',
  defaultBaseURL: '',
  settings: azureOpenAISettings,
  credentialSettings: ['azure_ad_token'],
  authHeaders: (key) => ({ 'api-key': key }),
  settingHeaders: (settings): Record<string, string> =>
    typeof settings.azure_ad_token === 'string'
      ? { authorization: `Bearer ${settings.azure_ad_token.replace(/^Bearer\s+/i, '')}` }
      : {},
});

function setting(settings: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = settings[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The `azure-openai` adapter (also spelt `azure_openai`). Settings: `resource_name` (or a
 * `baseURL`), `deployment_id` (defaults to the request's `model`), `api_version`.
 */
export const azureOpenAIAdapter: ProviderAdapter = {
  ...base,
  buildRequest(req, target) {
    const resource = setting(target.settings, 'resource_name');
    const root = target.baseURL ?? (resource ? `https://${resource}.openai.azure.com` : undefined);
    if (root === undefined) {
      throw new ConfigError(
        'azure-openai target needs resource_name (or a baseURL in options.providers)',
        'resource_name',
        'missing_provider_setting',
      );
    }
    const deployment =
      setting(target.settings, 'deployment_id') ?? (typeof req.body.model === 'string' ? req.body.model : undefined);
    if (deployment === undefined) {
      throw new ConfigError(
        'azure-openai target needs deployment_id (or a model in the request)',
        'deployment_id',
        'missing_provider_setting',
      );
    }
    const version = setting(target.settings, 'api_version') ?? AZURE_DEFAULT_API_VERSION;
    const upstream = base.buildRequest(req, { ...target, baseURL: root });
    const path = `/openai/deployments/${encodeURIComponent(deployment)}${OPENAI_PATHS[req.endpoint]}`;
    return {
      ...upstream,
      url: `${joinUrl(root, path)}?api-version=${encodeURIComponent(version)}`,
    };
  },
};
