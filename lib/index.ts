export { createFallbackRouter } from './router.js';
export type { RouterOptions, ProviderOptions, VirtualKeyOptions, Config, DefaultsOptions, ShouldFallback } from './options.js';
export type {
  ProviderAdapter,
  Endpoint,
  ErrorClass,
  UnifiedRequest,
  UnifiedResponse,
  UnifiedChunk,
  ResolvedTarget,
  UpstreamRequest,
  ParseContext,
  ClassifiedError,
  SseEvent,
  StreamState,
  Usage,
  JsonObject,
} from './providers/types.js';
export { defineProviderAdapter, ERROR_CLASSES } from './providers/types.js';
export type { AttemptOutcome, AttemptContext, AttemptFailure, AttemptSuccess } from './engine/plan.js';
export type { AttemptRecord } from './engine/run.js';
export { openaiAdapter } from './providers/openai.js';
export { azureOpenAIAdapter } from './providers/azure-openai.js';
export { anthropicAdapter } from './providers/anthropic.js';
export { openAICompatibleAdapter, type OpenAICompatibleSpec } from './providers/openai-compatible.js';
export {
  FallbackRouterError,
  ConfigError,
  RequestError,
  OptionsError,
  InvalidUpstreamResponse,
  type OpenAIErrorBody,
} from './errors.js';
