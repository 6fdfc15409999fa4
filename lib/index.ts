export { createFallbackRouter } from './router.js';
export type { RouterOptions, DefaultsOptions, ShouldFallback, LogsOptions, HooksOptions } from './options.js';
export type { LoggerLike, TelemetryOptions, MetricsOptions } from './observe/options.js';
export type {
  Config,
  ProviderTargetConfig,
  VirtualKeyTargetConfig,
  StrategyNodeConfig,
  LegacyNodeConfig,
  StrategyConfig,
  RetryConfig,
  CbConfig,
  StrategyMode,
  StreamMode,
  StreamRecovery,
  StatusCode,
  OpenAISettings,
  AzureOpenAISettings,
  AnthropicSettings,
  VertexSettings,
  VertexServiceAccount,
  BedrockSettings,
  AwsCredentials,
  BuiltinProviderSettings,
  SnakeToCamel,
  WithCamelKeys,
} from './config/types.js';
export type {
  ProviderOptions,
  ProvidersOptions,
  BuiltinProvidersOptions,
  BaseProviderOptions,
  OpenAIProviderOptions,
  AzureOpenAIProviderOptions,
  AnthropicProviderOptions,
  VertexProviderOptions,
  BedrockProviderOptions,
  OpenAICompatibleProviderOptions,
  VirtualKeyOptions,
} from './config/provider-options.js';
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
  StreamEvent,
  StreamDecoder,
  ReplyHeaders,
  StreamState,
  Usage,
  JsonObject,
} from './providers/types.js';
export { defineProviderAdapter, ERROR_CLASSES } from './providers/types.js';
export type { AttemptOutcome, AttemptContext, AttemptFailure, AttemptSuccess } from './engine/plan.js';
export type { AttemptRecord, Outcome, Success, StreamSuccess, Failure, Skipped, Cancelled, StreamHandle, StreamStep } from './engine/outcome.js';
export type { EngineEventMap, EngineEventName, RequestSummary } from './engine/events.js';
export { openaiAdapter } from './providers/openai.js';
export { azureOpenAIAdapter } from './providers/azure-openai.js';
export { anthropicAdapter } from './providers/anthropic/index.js';
export { googleAdapter } from './providers/google/index.js';
export { vertexAdapter, createVertexAdapter, type VertexAdapterOptions } from './providers/vertex/index.js';
export { bedrockAdapter } from './providers/bedrock/index.js';
export { cohereAdapter } from './providers/cohere/index.js';
export { mistralAdapter } from './providers/mistral.js';
export { openAICompatibleAdapter, type OpenAICompatibleSpec } from './providers/openai-compatible.js';
export {
  FallbackRouterError,
  ConfigError,
  RequestError,
  OptionsError,
  InvalidUpstreamResponse,
  UpstreamStreamError,
  UpstreamError,
  ERROR_CODES,
  type ErrorCode,
  type OpenAIErrorBody,
} from './errors.js';
export { breakerKey } from './engine/policies/breaker.js';
export { MemoryBreakerStore } from './stores/memory-breaker-store.js';
export type {
  BreakerStore,
  BreakerState,
  BreakerPolicy,
  BreakerConfig,
  BreakerSnapshot,
  Admission,
  AttemptResult,
} from './stores/breaker-store.js';
