/**
 * The AWS Bedrock adapter: OpenAI-format chat requests go to the Bedrock Runtime Converse API
 * (`POST /model/{modelId}/converse`, or `/converse-stream` for a stream, answered with the binary
 * `application/vnd.amazon.eventstream`), embeddings to InvokeModel (`/model/{modelId}/invoke`)
 * with a Titan or Cohere body. Requests are signed with SigV4, or carry a Bedrock API key.
 */
import Joi from 'joi';
import { ConfigError } from '../../errors.js';
import { invalid } from '../chat-input.js';
import { trimTrailingSlashes } from '../openai-compatible.js';
import { settingString } from '../settings.js';
import { defineProviderAdapter, type JsonObject, type ProviderAdapter, type ResolvedTarget, type UnifiedRequest, type UpstreamRequest } from '../types.js';
import { translateEmbeddingBody, parseEmbeddingResponse } from './embed.js';
import { classifyBedrockError } from './errors.js';
import { bedrockStreamDecoder } from './eventstream.js';
import { translateConverseBody } from './request.js';
import { parseConverseResponse } from './response.js';
import { authHeaders } from './sign.js';
import { parseBedrockStreamEvent } from './stream.js';

/** An AWS region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`, ... */
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** The longest model id or ARN the Bedrock Runtime API takes. */
const MAX_MODEL_ID = 2048;
const EVENT_STREAM = 'application/vnd.amazon.eventstream';

/**
 * Bedrock's target settings: `aws_region` (required: the default host and the signature's
 * scope), the key pair `aws_access_key_id` / `aws_secret_access_key` with an optional
 * `aws_session_token`, or `get_credentials`, a function of the host's (server options only:
 * `getCredentials`) returning `{accessKeyId, secretAccessKey, sessionToken?}` or a promise of it.
 * A target's `api_key` is a Bedrock API key, sent as a bearer token instead of a signature.
 */
export const bedrockSettings = Joi.object({
  aws_region: Joi.string().max(32).pattern(AWS_REGION, { name: 'AWS region (e.g. us-east-1)' }).required(),
  aws_access_key_id: settingString,
  aws_secret_access_key: settingString,
  aws_session_token: settingString,
  get_credentials: Joi.function(),
});

/** The request's model id, checked: Converse and InvokeModel take it in the path. */
function modelIdOf(body: JsonObject): string {
  const model = body.model;
  if (typeof model !== 'string' || model.trim() === '') throw invalid('model is required: the Bedrock model id, inference profile or ARN', 'model');
  if (model.length > MAX_MODEL_ID) throw invalid(`model is longer than ${MAX_MODEL_ID} characters`, 'model');
  if (model === '.' || model === '..') throw invalid('model is not a Bedrock model id', 'model');
  return model;
}

/** A path segment, every reserved character percent-encoded (`:` and `/` of an ARN included). */
function pathSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function regionOf(target: ResolvedTarget): string {
  const region = target.settings.aws_region;
  if (typeof region !== 'string' || region === '') throw new ConfigError('bedrock target needs aws_region', 'aws_region', 'missing_provider_setting');
  return region;
}

/** The Bedrock Runtime request for one OpenAI-format chat or embedding request. */
async function buildBedrockRequest(req: UnifiedRequest, target: ResolvedTarget): Promise<UpstreamRequest> {
  const region = regionOf(target);
  const model = modelIdOf(req.body);
  const embedding = req.endpoint === 'embedding';
  const body = embedding ? translateEmbeddingBody(req.body, model) : translateConverseBody(req.body, model);
  const action = embedding ? 'invoke' : req.stream ? 'converse-stream' : 'converse';
  const base = trimTrailingSlashes(target.baseURL || `https://bedrock-runtime.${region}.amazonaws.com`);
  const url = `${base}/model/${pathSegment(model)}/${action}`;
  const rawBody = JSON.stringify(body);
  const headers = await authHeaders(target, url, rawBody, region, !embedding && req.stream ? EVENT_STREAM : 'application/json');
  return { url, method: 'POST', headers, body, rawBody };
}

/** Adapter for AWS Bedrock (Converse for chat, InvokeModel for Titan and Cohere embeddings). */
export const bedrockAdapter: ProviderAdapter = defineProviderAdapter({
  name: 'bedrock',
  endpoints: new Set(['chat', 'embedding'] as const),
  // Converse has no assistant prefill and answers one choice, whatever `n` asks for.
  supportsPrefill: false,
  maxChoices: 1,
  // ConverseStream always ends with a metadata event that carries the usage.
  streamUsage: 'always',
  credentialSettings: ['aws_access_key_id', 'get_credentials'],
  settings: bedrockSettings,
  buildRequest: (req, target) => buildBedrockRequest(req, target),
  parseResponse: (body, ctx) => (ctx.request.endpoint === 'embedding' ? parseEmbeddingResponse(body, ctx) : parseConverseResponse(body, ctx)),
  streamDecoder: bedrockStreamDecoder,
  parseStreamEvent: parseBedrockStreamEvent,
  classifyError: classifyBedrockError,
});
