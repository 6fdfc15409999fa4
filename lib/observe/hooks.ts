/**
 * The public hooks (options.hooks) as subscribers of the engine's events. A hook that throws or
 * rejects is logged as `hooks.<name> failed` and ignored; its return value is never awaited.
 */
import type { EngineEvents } from '../engine/events.js';
import type { HooksOptions } from '../options.js';
import { callHook } from '../trace/recorder.js';
import type { Logger } from './logger.js';

/**
 * Subscribes the hooks the host set. `onBreakerStateChange` gets `{ key, from, to, at }`, `at`
 * being the epoch ms this instance saw the change (GET /health's `last_transition_at`).
 */
export function attachHooks(events: EngineEvents, hooks: HooksOptions, logger: Logger): void {
  const { onAttempt, onFallback, onBreakerStateChange } = hooks;
  if (onAttempt) events.on('attempt:end', (e) => callHook(onAttempt, 'onAttempt', e.record, logger, { traceId: e.traceId, requestId: e.requestId }));
  if (onFallback) {
    events.on('fallback', ({ requestId, traceId, ...info }) => callHook(onFallback, 'onFallback', info, logger, { traceId, requestId }));
  }
  if (onBreakerStateChange) events.on('breaker:state', (e) => callHook(onBreakerStateChange, 'onBreakerStateChange', e, logger, { breaker: e.key }));
}
