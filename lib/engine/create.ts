/**
 * Builds the engine of one router from its settings: the HTTP client, the event stream with its
 * subscribers (debug lines, hooks), and the circuit breakers over the breaker store.
 */
import { attachDebug } from '../observe/debug.js';
import { attachHooks } from '../observe/hooks.js';
import { attachLogLines } from '../observe/log-lines.js';
import { attachMetrics } from '../observe/metrics.js';
import { attachTelemetry } from '../observe/otel.js';
import type { Settings } from '../options.js';
import type { StoreContext } from '../stores/breaker-store.js';
import { ByteBudget } from '../transport/budget.js';
import { createHttpClient } from '../transport/http.js';
import type { EngineDeps } from './context.js';
import { EngineEvents } from './events.js';
import { CircuitBreakers } from './policies/breaker.js';

/**
 * Hands a store the router's logger (its optional `attach`), so that a shared store reports its
 * outages where the host reads the router's warnings. A store that throws here is logged, not fatal.
 */
export function attachStore(store: { attach?(context: StoreContext): void } | undefined, logger: Settings['logger']): void {
  try {
    store?.attach?.({ logger });
  } catch (err) {
    logger.error('express-llm-fallback: a store failed to attach', { err });
  }
}

export function createEngine(settings: Settings): EngineDeps {
  const events = new EngineEvents(settings.logger);
  attachDebug(events);
  attachHooks(events, settings.hooks, settings.logger);
  attachLogLines(events, settings.logger); // breaker transitions, giving up, refused requests (observe/log-lines.ts)
  attachMetrics(events, settings);
  attachStore(settings.breakerStore, settings.logger);
  return {
    client: createHttpClient(),
    adapters: settings.adapters,
    ...(settings.shouldFallback ? { shouldFallback: settings.shouldFallback } : {}),
    finalError: settings.finalError,
    maxRetryAfterMs: settings.maxRetryAfterMs,
    maxAttemptsPerRequest: settings.maxAttemptsPerRequest,
    hostRequestTimeout: settings.defaults.requestTimeout,
    logger: settings.logger,
    events,
    breakers: new CircuitBreakers(settings.breakerStore, events, settings.logger),
    budget: new ByteBudget(settings.maxBufferedBytes),
    tracing: attachTelemetry(events, settings), // OpenTelemetry spans (observe/otel.ts); undefined when off
  };
}
