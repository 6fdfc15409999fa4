/** GET /health: liveness plus each known target's circuit breaker (SPEC §2), behind auth. */
import type { RequestHandler, Router } from 'express';
import { errorBody } from '../errors.js';
import type { BreakerSnapshot } from '../stores/breaker-store.js';
import { BREAKER_DEFAULTS } from '../stores/breaker-store.js';
import type { CircuitBreakers } from '../engine/policies/breaker.js';
import type { Settings } from '../options.js';
import { sendError, sendJson } from './respond.js';

/** One row of GET /health: a breaker key spelt out. */
function healthRow({ key, state }: BreakerSnapshot): Record<string, unknown> {
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
  };
}

/** Mounts GET /health (and answers 405 to any other method on it). */
export function mountHealth(router: Router, authenticate: RequestHandler, breakers: CircuitBreakers, settings: Settings): void {
  router.get('/health', authenticate, (_req, res) => {
    breakers
      .snapshot()
      .then((rows) => sendJson(res, 200, { status: 'ok', circuit_breaker: { router_wide: settings.circuitBreaker ?? false }, targets: rows.map(healthRow) }))
      .catch((err: unknown) => sendError(res, err, settings.logger));
  });
  router.all('/health', (req, res) => {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, errorBody(`${req.method} is not allowed on ${req.baseUrl}/health; use GET.`, 'invalid_request_error', 'method_not_allowed'));
  });
}
