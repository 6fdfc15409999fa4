/**
 * The Google Gemini API adapter (`google`, alias `gemini`): OpenAI-format chat and embedding
 * requests are translated to `generateContent` / `streamGenerateContent` and `embedContent` /
 * `batchEmbedContents`, and the replies, errors and stream events back. Vertex AI
 * (`../vertex/`) reuses the body, response, stream and error translations exported here.
 */
import { defineProviderAdapter, type ProviderAdapter } from '../types.js';
import { buildGoogleEmbedRequest, parseGoogleEmbedResponse } from './embed.js';
import { classifyGoogleError } from './errors.js';
import { buildGoogleChatRequest } from './request.js';
import { parseGeminiResponse } from './response.js';
import { parseGeminiStreamEvent } from './stream.js';

export { FOREIGN_THOUGHT_SIGNATURE, translateMessages, type ContentOptions } from './contents.js';
export { checkEncodingFormat, dimensionsOf, embeddingInput, embeddingList, vectorOf } from './embed.js';
export { classifyGoogleError, googleErrorClass } from './errors.js';
export { GOOGLE_DEFAULT_BASE_URL, chatMethod, modelName, modelSegment, translateGeminiBody } from './request.js';
export { parseGeminiResponse } from './response.js';
export { parseGeminiStreamEvent } from './stream.js';

/** Adapter for the Gemini API (chat and embeddings); the key goes in `x-goog-api-key`. */
export const googleAdapter: ProviderAdapter = defineProviderAdapter({
  name: 'google',
  endpoints: new Set(['chat', 'embedding'] as const),
  supportsPrefill: false,
  // Every stream event carries usageMetadata; the last one, with the finish, has the totals.
  streamUsage: 'always',
  buildRequest: (req, target) => (req.endpoint === 'embedding' ? buildGoogleEmbedRequest(req, target) : buildGoogleChatRequest(req, target)),
  parseResponse: (body, ctx) => (ctx.request.endpoint === 'embedding' ? parseGoogleEmbedResponse(body, ctx) : parseGeminiResponse(body, ctx, 'google')),
  parseStreamEvent: (event, state, ctx) => parseGeminiStreamEvent(event, state, ctx, 'google'),
  classifyError: (status, body) => classifyGoogleError('google', status, body),
});
