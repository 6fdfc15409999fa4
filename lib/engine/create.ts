/**
 * Builds the engine of one router from its settings: the HTTP client, the event stream with its
 * subscribers (debug lines, hooks), and the circuit breakers over the breaker store.
 */
import { attachDebug } from '../observe/debug.js';
import { attachHooks } from '../observe/hooks.js';
import type { Settings } from '../options.js';
import { ByteBudget } from '../transport/budget.js';
import { createHttpClient } from '../transport/http.js';
import type { EngineDeps } from './context.js';
import { EngineEvents } from './events.js';
import { CircuitBreakers } from './policies/breaker.js';

export function createEngine(settings: Settings): EngineDeps {
  const events = new EngineEvents(settings.logger);
  attachDebug(events);
  attachHooks(events, settings.hooks, settings.logger);
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
  };
}
