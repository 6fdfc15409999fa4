/**
 * The public hooks (options.hooks) as subscribers of the engine's events. A hook that throws or
 * rejects is logged as `hooks.<name> failed` and ignored; its return value is never awaited.
 */
import type { EngineEvents } from '../engine/events.js';
import type { HooksOptions } from '../options.js';
import { callHook } from '../trace/recorder.js';

export function attachHooks(events: EngineEvents, hooks: HooksOptions, logger: { error: (...args: unknown[]) => void }): void {
  const { onAttempt, onFallback, onBreakerStateChange } = hooks;
  if (onAttempt) events.on('attempt:end', (e) => callHook(onAttempt, 'onAttempt', e.record, logger));
  if (onFallback) {
    events.on('fallback', ({ requestId: _r, traceId: _t, ...info }) => callHook(onFallback, 'onFallback', info, logger));
  }
  if (onBreakerStateChange) events.on('breaker:state', (e) => callHook(onBreakerStateChange, 'onBreakerStateChange', e, logger));
}
