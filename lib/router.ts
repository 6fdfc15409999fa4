/**
 * createFallbackRouter: the Express edge. It parses the options once, builds the engine, and
 * mounts the endpoint table, /health and /logs; everything else lives beside it in edge/ and
 * below it in engine/.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ConfigSelector } from './config/source.js';
import { attachStore, createEngine } from './engine/create.js';
import { RequestError } from './errors.js';
import { completionHandler, type Route } from './edge/handler.js';
import { mountHealth } from './edge/health.js';
import { afterBody, authenticator, bodyParser, mapParserError, noteRefusal } from './edge/request.js';
import { answerError } from './edge/respond.js';
import { parseOptions, type RouterOptions } from './options.js';
import { MemoryTraceStore } from './trace/memory-store.js';
import { createLogsRouter } from './trace/logs-routes.js';
import { mountMetrics } from './observe/metrics-route.js';
import { createTraceRecorder } from './trace/recorder.js';

/** The endpoint table, relative to the mount path. */
const ROUTES: Readonly<Record<string, Route>> = {
  '/chat/completions': { endpoint: 'chat', legacy: false },
  '/completions': { endpoint: 'completion', legacy: false },
  '/embeddings': { endpoint: 'embedding', legacy: false },
  '/chatComplete': { endpoint: 'chat', legacy: true },
  '/complete': { endpoint: 'completion', legacy: true },
  '/embed': { endpoint: 'embedding', legacy: true },
};

/** One warning at start-up when, without options.auth, anyone can spend the keys or read the traces. */
function warnIfOpen(settings: ReturnType<typeof parseOptions>): void {
  if (settings.auth) return;
  const open: string[] = [];
  if ([...settings.providers.values(), ...settings.virtualKeys.values()].some((p) => p.apiKey)) {
    open.push('it holds server-side provider keys: anyone who can reach it can spend them');
  }
  if (settings.logs.enabled) {
    open.push('GET /logs, /logs/:traceId and /logs/ui answer anyone with every trace (and /health with breaker state)');
  }
  if (open.length === 0) return;
  settings.logger.warn(
    `express-llm-fallback: the router has no auth option, and ${open.join('; and ')}. Set options.auth (or logs: { enabled: false } to remove the logs routes).`,
  );
}

/**
 * Creates the router. Mount it anywhere: `app.use('/v1', createFallbackRouter(options))`.
 * Throws OptionsError at once when an option (or a saved config) is invalid.
 */
export function createFallbackRouter(options: RouterOptions = {}): Router {
  const settings = parseOptions(options);
  const selector = new ConfigSelector(settings);
  const engine = createEngine(settings);
  const recorder = createTraceRecorder({
    ...(settings.traceStore || settings.logs.enabled
      ? { store: settings.traceStore ?? new MemoryTraceStore({ maxTraces: settings.logs.maxTraces, maxBytes: settings.logs.maxBytes }) }
      : {}),
    pricing: settings.pricing,
    ...(settings.hooks.onTrace ? { onTrace: settings.hooks.onTrace } : {}),
    logger: settings.logger,
  });
  recorder.attach(engine.events);
  attachStore(settings.traceStore, settings.logger);
  warnIfOpen(settings);

  const router = express.Router();
  const authenticate = authenticator(settings);
  const parseBody = bodyParser(settings);
  for (const [path, route] of Object.entries(ROUTES)) {
    // Without options.auth the authenticator only calls next(): the route does without it.
    const handlers = settings.auth ? [authenticate, parseBody] : [parseBody];
    router.post(path, ...handlers, completionHandler(route, settings, selector, engine));
    router.all(path, (req, res) => {
      res.setHeader('allow', 'POST');
      answerError(req, res, new RequestError(`${req.method} is not allowed on ${req.baseUrl}${path}; use POST.`, 405, 'method_not_allowed'), settings);
    });
  }
  mountHealth(router, authenticate, engine.breakers, settings, recorder.store);
  // GET /metrics (Prometheus), behind the same auth, when options.metrics.route is set
  mountMetrics(router, authenticate, engine.events, settings);
  // GET /logs, /logs/ui, /logs/:traceId, behind the same auth (SPEC §10)
  if (settings.logs.enabled && recorder.store) {
    router.use('/logs', createLogsRouter({ store: recorder.store, authenticate, headerPrefix: settings.headerPrefix, logger: settings.logger }));
  }
  // Unknown paths under the mount path are ours to answer; at the root, the host's other
  // routes must keep working, so pass them on.
  router.use((req, res, next) => {
    if (req.baseUrl === '') {
      next();
      return;
    }
    answerError(req, res, new RequestError(`Unknown path ${req.method} ${req.baseUrl}${req.path}.`, 404, 'not_found'), settings);
  });
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    afterBody(req, () => answerError(req, res, noteRefusal(req, mapParserError(err), settings), settings));
  });
  return router;
}
