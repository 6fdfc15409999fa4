/**
 * The Cohere adapter: OpenAI-format chat and embedding requests are translated to Cohere's v2
 * Chat (`POST /v2/chat`) and Embed (`POST /v2/embed`) APIs, and its replies, errors and stream
 * events are translated back.
 */
import { defineProviderAdapter, type ProviderAdapter } from '../types.js';
import { classifyCohereError } from './errors.js';
import { buildCohereRequest } from './request.js';
import { parseCohereResponse } from './response.js';
import { parseCohereStreamEvent } from './stream.js';

/** Adapter for Cohere's v2 Chat and Embed APIs. */
export const cohereAdapter: ProviderAdapter = defineProviderAdapter({
  name: 'cohere',
  endpoints: new Set(['chat', 'embedding'] as const),
  supportsPrefill: false,
  // Every stream ends with message-end, which carries the usage.
  streamUsage: 'always',
  // A v2 Chat reply is one message, whatever `n` asks for.
  maxChoices: 1,
  buildRequest: (req, target) => buildCohereRequest(req, target),
  parseResponse: parseCohereResponse,
  parseStreamEvent: parseCohereStreamEvent,
  classifyError: (status, body) => classifyCohereError(status, body),
});
