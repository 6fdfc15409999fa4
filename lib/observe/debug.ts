/**
 * `debug` lines (DEBUG=express-llm-fallback:*) as a subscriber of the engine's events: never
 * keys, headers or bodies; every line about a request starts with its trace id in brackets
 * (`[<traceId>] ...`), here and in the `express-llm-fallback:router` lines of edge/handler.ts.
 * A breaker line names its key instead: a breaker belongs to no one request.
 */
import createDebug from 'debug';
import type { EngineEvents } from '../engine/events.js';

const engineDebug = createDebug('express-llm-fallback:engine');
const providerRoot = createDebug('express-llm-fallback:provider');
const providerDebugs = new Map<string, createDebug.Debugger>();

/** The `express-llm-fallback:provider:<name>` debugger, cached per provider name. */
function providerDebug(name: string): createDebug.Debugger {
  let d = providerDebugs.get(name);
  if (!d) {
    d = providerRoot.extend(name);
    providerDebugs.set(name, d);
  }
  return d;
}

/** Subscribes the debug lines, when any engine or provider namespace is enabled. */
export function attachDebug(events: EngineEvents): void {
  const providers = createDebug.enabled('express-llm-fallback:provider:x') || createDebug.enabled('express-llm-fallback:provider');
  if (providers) {
    events.on('attempt:start', (e) => {
      providerDebug(e.provider)('[%s] %s start retry=%d model=%s stream=%s timeout=%dms', e.traceId, e.path, e.retry, e.model ?? '-', e.stream, e.timeoutMs);
    });
    events.on('attempt:end', ({ traceId, record: r }) => {
      const d = providerDebug(r.provider);
      if (r.skipped !== undefined) d('[%s] %s skipped: %s', traceId, r.path, r.skipped);
      else d('[%s] %s retry=%d model=%s -> %d %s in %dms', traceId, r.path, r.retry, r.model ?? '-', r.status ?? 0, r.errorClass ?? 'ok', r.latencyMs);
    });
  }
  if (!engineDebug.enabled) return;
  events.on('request:start', (e) => engineDebug('[%s] %s request, config %s, stream=%s', e.traceId, e.endpoint, e.configId, e.stream));
  events.on('fallback', (e) => engineDebug('[%s] fallback from %s (%d %s) to %s', e.traceId, e.from, e.status, e.errorClass, e.to));
  events.on('hedge', (e) => engineDebug('[%s] hedge %s: %s (strategy %s)', e.traceId, e.phase, e.path, e.strategyPath));
  events.on('stream:commit', (e) => engineDebug('[%s] stream committed to %s after %dms', e.traceId, e.path, e.ttftMs));
  events.on('stream:end', (e) => engineDebug('[%s] stream from %s ended: %s', e.traceId, e.path, e.end));
  events.on('breaker:state', (e) => engineDebug('breaker %s: %s -> %s', e.key, e.from, e.to));
  events.on('request:end', (e) => engineDebug('[%s] request done: %d after %d attempt(s)', e.traceId, e.status, e.attempts.length));
}
