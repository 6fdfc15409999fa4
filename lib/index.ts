export { createFallbackRouter } from './router.js';
export type { RouterOptions, ProviderOptions, VirtualKeyOptions, Config, DefaultsOptions, ShouldFallback, LogsOptions, HooksOptions } from './options.js';
export type { Trace, AttemptTrace, TraceUsage, TraceQuery, TraceStore, FallbackInfo } from './trace/types.js';
export { MemoryTraceStore, traceMatches, type MemoryTraceStoreOptions } from './trace/memory-store.js';
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
export { MemoryBreakerStore, breakerKey, type BreakerStore, type BreakerState, type BreakerConfig } from './engine/breaker.js';
export type { StreamHandle, StreamStep } from './engine/plan.js';
