/**
 * The Vertex AI adapter (`vertex-ai`): Gemini models on Google Cloud. The content format is the
 * Gemini API's (the google adapter's translations are reused); what differs is the URL (a
 * project, a region and the `google` publisher), the credential (an OAuth access token, see
 * token.ts) and embeddings (`:predict`, see embed.ts).
 */
import Joi from 'joi';
import { ConfigError } from '../../errors.js';
import { withOwnHeaders } from '../chat-input.js';
import {
  chatMethod,
  classifyGoogleError,
  modelSegment,
  parseGeminiResponse,
  parseGeminiStreamEvent,
  translateGeminiBody,
} from '../google/index.js';
import { trimTrailingSlashes } from '../openai-compatible.js';
import { settingString } from '../settings.js';
import type { ProviderAdapter, ResolvedTarget, UnifiedRequest, UpstreamRequest } from '../types.js';
import { parseVertexEmbedResponse, vertexEmbedBody } from './embed.js';
import { TokenSource, type TokenSourceOptions } from './token.js';

/**
 * Vertex AI's target settings: `vertex_project_id` and `vertex_region` (both needed; the region
 * names the host, so only letters, digits and hyphens), `vertex_service_account_json` (a service
 * account key: its JSON text, or the object with `client_email`, `private_key` and `token_uri`),
 * and `get_access_token` (a function returning an access token, or a promise of one: server
 * options only, `getAccessToken`).
 */
export const vertexSettings = Joi.object({
  vertex_project_id: settingString.max(128).pattern(/^[A-Za-z0-9][A-Za-z0-9.:_-]*$/, { name: 'Google Cloud project id' }),
  vertex_region: settingString.max(64).pattern(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, { name: 'Google Cloud region' }),
  vertex_service_account_json: Joi.alternatives().try(
    Joi.string().min(1).max(65_536),
    Joi.object({
      client_email: Joi.string().max(1024),
      private_key: Joi.string().max(16_384),
      token_uri: Joi.string().max(2048),
    }).unknown(true),
  ),
  get_access_token: Joi.function(),
});

/** Options of {@link createVertexAdapter}. */
export type VertexAdapterOptions = TokenSourceOptions;

/** A Vertex AI adapter: its requests are built asynchronously (an access token may be fetched first). */
export interface VertexAdapter extends ProviderAdapter {
  buildRequest(req: UnifiedRequest, target: ResolvedTarget, signal: AbortSignal): Promise<UpstreamRequest>;
}

function setting(target: ResolvedTarget, key: string): string {
  const value = target.settings[key];
  if (typeof value === 'string' && value !== '') return value;
  throw new ConfigError(`vertex-ai target needs ${key}`, key, 'missing_provider_setting');
}

/** The API base for a region (the target's baseURL replaces it). */
function vertexBase(target: ResolvedTarget, region: string): string {
  if (target.baseURL) return trimTrailingSlashes(target.baseURL);
  return region === 'global' ? 'https://aiplatform.googleapis.com/v1' : `https://${region}-aiplatform.googleapis.com/v1`;
}

/**
 * Builds a Vertex AI adapter with its own token cache. `tokenHosts` lists `host:port` values a
 * service account's `token_uri` may name besides `*.googleapis.com` (a local token endpoint).
 */
export function createVertexAdapter(options: VertexAdapterOptions = {}): VertexAdapter {
  const tokens = new TokenSource(options);
  return {
    name: 'vertex-ai',
    endpoints: new Set(['chat', 'embedding'] as const),
    supportsPrefill: false,
    // Every stream event carries usageMetadata; the last one, with the finish, has the totals.
    streamUsage: 'always',
    credentialSettings: ['vertex_service_account_json', 'get_access_token'],
    settings: vertexSettings,
    async buildRequest(req: UnifiedRequest, target: ResolvedTarget, signal: AbortSignal): Promise<UpstreamRequest> {
      const project = setting(target, 'vertex_project_id');
      const region = setting(target, 'vertex_region');
      // The body first: a request Gemini cannot take never costs a token fetch.
      const embedding = req.endpoint === 'embedding';
      const model = modelSegment(req.body);
      const body = embedding ? vertexEmbedBody(req.body) : translateGeminiBody(req.body, { provider: 'vertex-ai', callIds: false });
      const path = `/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(region)}/publishers/google/models/${model}`;
      const token = await tokens.accessToken(target, signal);
      return {
        url: `${vertexBase(target, region)}${path}${embedding ? ':predict' : chatMethod(req)}`,
        method: 'POST',
        headers: withOwnHeaders(target, { authorization: `Bearer ${token}` }),
        body,
      };
    },
    parseResponse: (body, ctx) =>
      ctx.request.endpoint === 'embedding' ? parseVertexEmbedResponse(body, ctx) : parseGeminiResponse(body, ctx, 'vertex-ai'),
    parseStreamEvent: (event, state, ctx) => parseGeminiStreamEvent(event, state, ctx, 'vertex-ai'),
    classifyError: (status, body) => classifyGoogleError('vertex-ai', status, body),
  };
}

/** The built-in Vertex AI adapter (token endpoints on `*.googleapis.com` only). */
export const vertexAdapter: VertexAdapter = createVertexAdapter();
