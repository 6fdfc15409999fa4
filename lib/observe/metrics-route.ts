/**
 * GET /metrics: the router's Prometheus metrics in the text exposition format (the registry's
 * `contentType`), behind the router's `auth` like /health and /logs. Mounted only when
 * `options.metrics.route` is true; it serves the whole registry the metrics are in (the host's,
 * when it gave one: its own metrics too). 503 `metrics_unavailable` when prom-client is not
 * installed.
 */
import type { RequestHandler, Router } from 'express';
import type { EngineEvents } from '../engine/events.js';
import { sendError, sendJson } from '../edge/respond.js';
import { errorBody } from '../errors.js';
import type { Settings } from '../options.js';
import { metricsRegistry } from './metrics.js';

/** Mounts GET /metrics (and 405 for other methods) when `options.metrics.route` is set. */
export function mountMetrics(router: Router, authenticate: RequestHandler, events: EngineEvents, settings: Settings): void {
  if (settings.observe.metrics?.route !== true) return;
  router.get('/metrics', authenticate, (_req, res) => {
    metricsRegistry(events)
      .then(async (registry) => {
        if (registry === undefined) {
          sendJson(res, 503, errorBody('Metrics are unavailable: prom-client is not installed.', 'server_error', 'metrics_unavailable'));
          return;
        }
        const text = await registry.metrics();
        res.statusCode = 200;
        res.setHeader('content-type', registry.contentType);
        res.setHeader('cache-control', 'no-store');
        res.end(text);
      })
      .catch((err: unknown) => sendError(res, err, settings.logger));
  });
  router.all('/metrics', (req, res) => {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, errorBody(`${req.method} is not allowed on ${req.baseUrl}/metrics; use GET.`, 'invalid_request_error', 'method_not_allowed'));
  });
}
