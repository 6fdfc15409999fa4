/**
 * The Anthropic adapter: OpenAI-format chat requests are translated to Anthropic's Messages API
 * (`POST /v1/messages`), and its replies, errors and stream events are translated back.
 */
import Joi from 'joi';
import { settingString } from '../settings.js';
import { defineProviderAdapter, type ProviderAdapter } from '../types.js';
import { classifyAnthropicError } from './errors.js';
import { buildAnthropicRequest } from './request.js';
import { parseAnthropicResponse } from './response.js';
import { parseAnthropicStreamEvent } from './stream.js';

/**
 * Anthropic's target settings: `anthropic_version` (the `anthropic-version` header, default
 * `2023-06-01`) and `anthropic_beta` (the `anthropic-beta` header: one string, or an array of
 * strings joined by commas).
 */
export const anthropicSettings = Joi.object({
  anthropic_version: settingString,
  anthropic_beta: Joi.alternatives().try(settingString, Joi.array().items(settingString).max(64)),
});

/** Adapter for Anthropic's Messages API (chat only). */
export const anthropicAdapter: ProviderAdapter = defineProviderAdapter({
  name: 'anthropic',
  endpoints: new Set(['chat'] as const),
  supportsPrefill: true,
  // message_start and message_delta always carry usage; the stream ends with message_stop.
  streamUsage: 'always',
  // The Messages API answers one choice, whatever `n` asks for.
  maxChoices: 1,
  settings: anthropicSettings,
  buildRequest: (req, target) => buildAnthropicRequest(req, target),
  parseResponse: parseAnthropicResponse,
  parseStreamEvent: parseAnthropicStreamEvent,
  classifyError: (status, body) => classifyAnthropicError(status, body),
});
