/**
 * The router's metrics, defined once for both sinks: each metric's Prometheus name, type, help
 * and labels, and its OpenTelemetry name (the GenAI metrics conventions' where one exists:
 * `gen_ai.client.operation.duration`, `gen_ai.client.operation.time_to_first_chunk`,
 * `gen_ai.client.token.usage`; ours under `llm_fallback.*` otherwise), instrument and unit.
 * Every label value is bounded: see the label helpers in `metrics-labels.ts`.
 */

/** The labels an observation may carry (Prometheus label names; the OpenTelemetry sink maps them). */
export type LabelName = 'endpoint' | 'status' | 'config_id' | 'provider' | 'model' | 'outcome' | 'reason' | 'type' | 'to' | 'target';

/** An observation's labels; a label a metric does not list is ignored by that metric. */
export type Labels = Readonly<Partial<Record<LabelName, string>>>;

/** The metrics that are counted or observed (the breaker state gauge is apart: {@link BREAKER_STATE}). */
export type MetricId =
  | 'requests'
  | 'attempts'
  | 'fallbacks'
  | 'retries'
  | 'breakerTransitions'
  | 'hedgesStarted'
  | 'hedgesWon'
  | 'requestDuration'
  | 'attemptDuration'
  | 'ttft'
  | 'tokens'
  | 'cost'
  | 'unpriced';

/** One metric as each sink names it. */
export interface MetricDef {
  readonly prom: {
    /** Without the prefix (`options.metrics.prefix`). */
    readonly name: string;
    readonly type: 'counter' | 'histogram';
    readonly help: string;
    readonly labels: readonly LabelName[];
    readonly buckets?: readonly number[];
  };
  readonly otel: {
    readonly name: string;
    readonly type: 'counter' | 'histogram';
    readonly unit: string;
    readonly description: string;
    readonly buckets?: readonly number[];
  };
}

/** Seconds, for a whole request or one attempt: an LLM answer takes from tens of ms to minutes. */
export const LATENCY_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300];
/** Seconds to a stream's first content: sub-second to tens of seconds (a reasoning model thinks first). */
export const TTFT_BUCKETS: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60];
/** The GenAI conventions' advice for `gen_ai.client.operation.duration`. */
const GENAI_DURATION_BUCKETS: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** The GenAI conventions' advice for `gen_ai.client.token.usage`. */
const GENAI_TOKEN_BUCKETS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

const counter = (name: string, help: string, labels: readonly LabelName[], otel: string, unit: string): MetricDef => ({
  prom: { name, type: 'counter', help, labels },
  otel: { name: otel, type: 'counter', unit, description: help },
});

/** Every counted or observed metric. */
export const METRICS: Readonly<Record<MetricId, MetricDef>> = {
  requests: counter('requests_total', 'Requests answered, by endpoint, HTTP status and config.', ['endpoint', 'status', 'config_id'], 'llm_fallback.requests', '{request}'),
  attempts: counter(
    'attempts_total',
    'Upstream attempts and skipped targets, by provider, model and outcome (success, failure, cancelled, skipped) with its reason.',
    ['provider', 'model', 'outcome', 'reason'],
    'llm_fallback.attempts',
    '{attempt}',
  ),
  fallbacks: counter('fallbacks_total', 'Fallbacks from a failed target to the next, by the failed provider and error class.', ['provider', 'reason'], 'llm_fallback.fallbacks', '{fallback}'),
  retries: counter('retries_total', 'Retries made on the same target, by provider.', ['provider'], 'llm_fallback.retries', '{retry}'),
  breakerTransitions: counter('breaker_transitions_total', 'Circuit breaker state changes, by provider and new state.', ['provider', 'to'], 'llm_fallback.breaker.transitions', '{transition}'),
  hedgesStarted: counter('hedges_started_total', 'Hedged attempts started beside a slow one, by config.', ['config_id'], 'llm_fallback.hedges.started', '{hedge}'),
  hedgesWon: counter('hedges_won_total', 'Requests a hedged attempt answered, by config.', ['config_id'], 'llm_fallback.hedges.won', '{hedge}'),
  requestDuration: {
    prom: { name: 'request_duration_seconds', type: 'histogram', help: 'Time from a request to the end of its answer, by endpoint and config.', labels: ['endpoint', 'config_id'], buckets: LATENCY_BUCKETS },
    otel: { name: 'llm_fallback.request.duration', type: 'histogram', unit: 's', description: 'Time from a request to the end of its answer.', buckets: LATENCY_BUCKETS },
  },
  attemptDuration: {
    prom: { name: 'attempt_duration_seconds', type: 'histogram', help: 'Duration of one upstream attempt (a stream: to its end), by provider, model and outcome.', labels: ['provider', 'model', 'outcome'], buckets: LATENCY_BUCKETS },
    otel: { name: 'gen_ai.client.operation.duration', type: 'histogram', unit: 's', description: 'GenAI operation duration.', buckets: GENAI_DURATION_BUCKETS },
  },
  ttft: {
    prom: { name: 'time_to_first_token_seconds', type: 'histogram', help: 'Time from the start of a streamed attempt to its first content, by provider and model.', labels: ['provider', 'model'], buckets: TTFT_BUCKETS },
    otel: { name: 'gen_ai.client.operation.time_to_first_chunk', type: 'histogram', unit: 's', description: 'Time to receive the first chunk of a streamed response.', buckets: TTFT_BUCKETS },
  },
  tokens: {
    prom: { name: 'tokens_total', type: 'counter', help: 'Tokens the providers reported, by provider, model and type (input, output).', labels: ['provider', 'model', 'type'] },
    otel: { name: 'gen_ai.client.token.usage', type: 'histogram', unit: '{token}', description: 'Number of input and output tokens used.', buckets: GENAI_TOKEN_BUCKETS },
  },
  cost: counter('cost_usd_total', 'Estimated cost in USD (options.pricing), by provider and model.', ['provider', 'model'], 'llm_fallback.cost', '{USD}'),
  unpriced: counter('unpriced_attempts_total', 'Billed attempts with no price (their cost is not in cost_usd_total), by provider and model.', ['provider', 'model'], 'llm_fallback.unpriced_attempts', '{attempt}'),
};

/** The breaker state gauge: one series per target (0 closed, 1 half-open, 2 open). */
export const BREAKER_STATE = {
  prom: { name: 'breaker_state', help: 'Circuit breaker state per target: 0 closed, 1 half-open, 2 open.', labels: ['provider', 'model', 'endpoint', 'target'] as const },
  otel: { name: 'llm_fallback.breaker.state', unit: '{state}', description: 'Circuit breaker state per target: 0 closed, 1 half-open, 2 open.' },
} as const;

/** The gauge's labels. */
export type BreakerLabels = Readonly<Record<(typeof BREAKER_STATE.prom.labels)[number], string>>;

/** A breaker state as the gauge's value. */
export const BREAKER_VALUE: Readonly<Record<'closed' | 'half_open' | 'open', number>> = { closed: 0, half_open: 1, open: 2 };

/** Where observations go: Prometheus (prom-client) or OpenTelemetry. */
export interface MetricsSink {
  record(id: MetricId, value: number, labels: Labels): void;
  /** A breaker series' new value, or its removal (undefined) once the target is forgotten. */
  breaker(labels: BreakerLabels, value: number | undefined): void;
}
