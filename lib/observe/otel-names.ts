/**
 * The names the OpenTelemetry spans use: the GenAI semantic conventions' attributes, operation
 * names and provider names (gen-ai-spans.md of open-telemetry/semantic-conventions-genai), and
 * ours under one namespace, `llm_fallback.*`. Kept apart so the README's list and the spans agree.
 */
import type { Endpoint } from '../providers/types.js';

/** The tracer's instrumentation scope name. */
export const TRACER_NAME = 'express-llm-fallback';

/** GenAI semantic convention attributes, events and the error attribute. */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  /** The opt-in event that carries the prompt and the completion. */
  detailsEvent: 'gen_ai.client.inference.operation.details',
  errorType: 'error.type',
} as const;

/** Our attributes and events (`llm_fallback.*`). */
export const OURS = {
  /** Attempt: the target's path in the config (`config.targets[1]`). */
  path: 'llm_fallback.target.path',
  /** Attempt: the provider as the config names it (`azure-openai`, a custom adapter's name). */
  provider: 'llm_fallback.target.provider',
  /** Attempt: 0 for the first try of a target, 1.. for its retries. */
  retry: 'llm_fallback.retry',
  /** Attempt: started beside another one still running (`hedge_after_ms`). */
  hedge: 'llm_fallback.hedge',
  /** Attempt: ms to the first content event of a stream. */
  ttft: 'llm_fallback.ttft_ms',
  /** Attempt: its cost by options.pricing; request: the sum over its attempts. */
  cost: 'llm_fallback.cost_usd',
  /** Request: some billed attempt had no price, so the cost is a lower bound. */
  unpriced: 'llm_fallback.cost_unpriced',
  /** Attempt and request: the status (upstream status, or 408 / 502 / 499 as the trace has it). */
  status: 'llm_fallback.status',
  /** Attempt: the provider's error code or ours (`request_timeout`, `rate_limit_exceeded`). */
  code: 'llm_fallback.error.code',
  /** Attempt or request abandoned: `client_disconnected` or `hedge_cancelled` (status UNSET). */
  cancelled: 'llm_fallback.cancelled',
  /** Request: the config id (a saved config's, or the hash of an inline one). */
  configId: 'llm_fallback.config_id',
  /** Request: the Portkey trace id (`x-portkey-trace-id`), the key of GET /logs/:traceId. */
  traceId: 'llm_fallback.trace_id',
  /** Request: attempts made, retries among them, fallbacks taken. */
  attempts: 'llm_fallback.attempts',
  retries: 'llm_fallback.retries',
  fallbacks: 'llm_fallback.fallbacks',
  /** Request: the paths of the targets skipped because their circuit breaker was open. */
  breakerSkipped: 'llm_fallback.breaker.skipped',
  /** Request: the path of the target that served. */
  servedBy: 'llm_fallback.served_by',
  /** Request: tokens over every attempt (the attempt spans hold gen_ai.usage.*). */
  inputTokens: 'llm_fallback.usage.input_tokens',
  outputTokens: 'llm_fallback.usage.output_tokens',
  /** Event on the request span: a fallback strategy moved on. */
  fallbackEvent: 'llm_fallback.fallback',
  fallbackFrom: 'llm_fallback.fallback.from',
  fallbackTo: 'llm_fallback.fallback.to',
  fallbackStrategy: 'llm_fallback.fallback.strategy_path',
  fallbackReason: 'llm_fallback.fallback.reason',
  /** Event on the request span: a target was not tried. */
  skippedEvent: 'llm_fallback.target_skipped',
  skipReason: 'llm_fallback.skip.reason',
} as const;

/** `gen_ai.operation.name` of each endpoint. */
export const OPERATION: Readonly<Record<Endpoint, string>> = { chat: 'chat', completion: 'text_completion', embedding: 'embeddings' };

/** Our provider names with a well-known `gen_ai.provider.name`; any other is used as it is. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: 'openai',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  google: 'gcp.gemini',
  'vertex-ai': 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  cohere: 'cohere',
  'mistral-ai': 'mistral_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  'x-ai': 'x_ai',
  'perplexity-ai': 'perplexity',
};

/** The `gen_ai.provider.name` of one of our providers. */
export function genAiProvider(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider;
}

/** `{operation} {model}`, the span name the conventions ask for (the operation alone without a model). */
export function spanName(operation: string, model: string | undefined): string {
  return model ? `${operation} ${model}` : operation;
}
