/**
 * GET /health: liveness, where breaker state and traces are kept (and whether a shared store is
 * reachable now), and each known target's circuit breaker (SPEC §2) with the time of its last
 * transition (`last_transition_at`: when this instance saw it change; null when it never did), behind auth.
 */
import type { RequestHandler, Router } from 'express';
import { errorBody } from '../errors.js';
import type { StoreStatus } from '../stores/breaker-store.js';
import { BREAKER_DEFAULTS } from '../stores/breaker-store.js';
import type { BreakerRow, CircuitBreakers } from '../engine/policies/breaker.js';
import type { Settings } from '../options.js';
import { MemoryTraceStore } from '../trace/memory-store.js';
import type { TraceStore } from '../trace/types.js';
import { sendError, sendJson } from './respond.js';

/** Longest wait for a store's status; past it the store is reported unreachable. */
const STATUS_TIMEOUT_MS = 1000;

/** One row of GET /health: a breaker key spelt out, with when it last changed state. */
function healthRow({ key, state, lastTransitionAt }: BreakerRow): Record<string, unknown> {
  const [provider, model, endpoint, account, scope] = key.split('|');
  const open = state.state !== 'closed' && state.openedAt !== undefined;
  return {
    target: key,
    provider,
    model: model === '-' ? null : model,
    endpoint,
    account: account ?? null,
    scope: scope ?? null,
    state: state.state,
    recent_requests: state.requests,
    recent_failures: state.failures,
    opened_at: open ? new Date(state.openedAt!).toISOString() : null,
    next_probe_at: state.state === 'open' && state.openedAt !== undefined ? new Date(state.openedAt + (state.cooldownMs ?? BREAKER_DEFAULTS.cooldownMs)).toISOString() : null,
    last_transition_at: lastTransitionAt !== undefined ? new Date(lastTransitionAt).toISOString() : null,
  };
}

/** A store's status, bounded in time; a status that fails or is late says unreachable. */
async function statusOf(read: () => StoreStatus | Promise<StoreStatus>): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no status within ${STATUS_TIMEOUT_MS} ms`)), STATUS_TIMEOUT_MS);
  });
  try {
    const s = await Promise.race([Promise.resolve().then(read), late]);
    return { kind: s.kind, shared: s.shared, reachable: s.reachable, ...(s.detail !== undefined ? { detail: s.detail } : {}), ...(s.dropped !== undefined ? { dropped: s.dropped } : {}) };
  } catch (err) {
    return { kind: 'unknown', shared: true, reachable: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Where traces are kept: the store's own status, `memory` for the built-in one, null without a store. */
function traceStatus(store: TraceStore | undefined): Promise<Record<string, unknown>> | null {
  if (!store) return null;
  if (store.status) return statusOf(() => store.status!());
  return statusOf(() => ({ kind: store instanceof MemoryTraceStore ? 'memory' : 'custom', shared: false, reachable: true }));
}

/** Mounts GET /health (and answers 405 to any other method on it). */
export function mountHealth(router: Router, authenticate: RequestHandler, breakers: CircuitBreakers, settings: Settings, traceStore?: TraceStore): void {
  router.get('/health', authenticate, (_req, res) => {
    Promise.all([breakers.snapshot(), statusOf(() => breakers.storeStatus()), traceStatus(traceStore)])
      .then(([rows, breakerStore, traces]) =>
        sendJson(res, 200, {
          status: 'ok',
          circuit_breaker: { router_wide: settings.circuitBreaker ?? false },
          stores: { breaker: breakerStore, traces },
          targets: rows.map(healthRow),
        }),
      )
      .catch((err: unknown) => sendError(res, err, settings.logger));
  });
  router.all('/health', (req, res) => {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, errorBody(`${req.method} is not allowed on ${req.baseUrl}/health; use GET.`, 'invalid_request_error', 'method_not_allowed'));
  });
}
