/**
 * The logs routes, mounted at `/logs` under the router's mount path, behind `options.auth`:
 *
 *   GET  /logs            traces, newest first; filters trace_id, config_id, status, provider,
 *                         limit (1..500, default 50), before (ISO time or epoch ms). At most
 *                         MAX_LOGS_RESPONSE_BYTES (5 MiB) of traces per answer: `has_more` says
 *                         whether more match, `next_before` is the `before` that gets them
 *   GET  /logs/:traceId   the newest trace with that id
 *   GET  /logs/ui         the logs page (one HTML document, inline script and style)
 *   POST /logs/ui         the same page, for the key form (`key=<gateway key>`, urlencoded)
 *
 * The page authenticates like any client (the `{prefix}api-key` header). A browser cannot set
 * that header on a navigation, so for `/logs/ui` only the key may also come from the `key`
 * query parameter or the key form; without it a browser gets the key form (401).
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { errorBody, toOpenAIError } from '../errors.js';
import { MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT } from './memory-store.js';
import { renderKeyForm, renderLogsPage } from './logs-page.js';
import type { Trace, TraceQuery, TraceStore } from './types.js';
import type { Logger } from '../observe/logger.js';

export interface LogsRouterOptions {
  readonly store: TraceStore;
  /** The router's auth middleware (options.auth). */
  readonly authenticate: RequestHandler;
  readonly headerPrefix: string;
  readonly logger: Pick<Logger, 'error'>;
  /** Longest wait for the store on a logs request, in ms. @default 10000 */
  readonly storeTimeoutMs?: number;
  /** Most bytes of traces in one GET /logs answer. @default MAX_LOGS_RESPONSE_BYTES (5 MiB) */
  readonly maxResponseBytes?: number;
}

/**
 * Most bytes of JSON in one GET /logs answer: 5 MiB. Traces that would pass it are left for the
 * next page (`has_more: true`, `next_before`); a page always holds at least one trace.
 */
export const MAX_LOGS_RESPONSE_BYTES = 5 * 1024 * 1024;

/** One page of GET /logs: the traces' JSON texts, and where the next page starts. */
export interface LogsPage {
  /** The JSON text of each trace of the page, newest first. */
  readonly parts: string[];
  /** Whether more traces match after this page. */
  readonly hasMore: boolean;
  /** The `before` (epoch ms) that gets the rest, with the same filters; present with `hasMore`. */
  readonly nextBefore?: number;
}

/** Epoch ms of a trace's start (NaN when unreadable). */
const startOf = (trace: Trace): number => Date.parse(trace.startedAt);

/** A GET /logs query that is not valid: 400. */
class QueryError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

const MAX_FILTER_LENGTH = 256;
/** res.locals entry holding the key the page was opened with (query or key form). */
const PAGE_KEY = 'expressLlmFallbackPageKey';

function sendJson(res: Response, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body));
}

function sendText(res: Response, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** One query parameter (snake_case name, or its camelCase alias) as a trimmed string, or undefined. */
function param(query: Record<string, unknown>, name: string, alias?: string): string | undefined {
  const given = query[name] !== undefined ? name : alias !== undefined && query[alias] !== undefined ? alias : undefined;
  if (given === undefined) return undefined;
  const value = query[given];
  if (typeof value !== 'string') throw new QueryError(`${name} must be given once, as a plain value`, name);
  const text = value.trim();
  if (text === '') return undefined;
  if (text.length > MAX_FILTER_LENGTH) throw new QueryError(`${name} must be at most ${MAX_FILTER_LENGTH} characters`, name);
  return text;
}

/** Parses and checks the GET /logs query. Throws QueryError. */
export function parseLogsQuery(query: Record<string, unknown>): TraceQuery & { limit: number } {
  const out: TraceQuery & { limit: number } = { limit: DEFAULT_LIST_LIMIT };
  const traceId = param(query, 'trace_id', 'traceId');
  if (traceId !== undefined) out.traceId = traceId;
  const configId = param(query, 'config_id', 'configId');
  if (configId !== undefined) out.configId = configId;
  const provider = param(query, 'provider');
  if (provider !== undefined) out.provider = provider;
  const status = param(query, 'status');
  if (status !== undefined) {
    const n = Number(status);
    if (!/^\d{3}$/.test(status) || n < 100 || n > 599) throw new QueryError('status must be an HTTP status from 100 to 599, e.g. status=503', 'status');
    out.status = n;
  }
  const limit = param(query, 'limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!/^\d{1,4}$/.test(limit) || n < 1 || n > MAX_LIST_LIMIT) {
      throw new QueryError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`, 'limit');
    }
    out.limit = n;
  }
  const before = param(query, 'before');
  if (before !== undefined) {
    const ms = /^\d{1,15}$/.test(before) ? Number(before) : /^\d{4}-\d{2}-\d{2}/.test(before) ? Date.parse(before) : Number.NaN;
    if (!Number.isFinite(ms)) {
      throw new QueryError('before must be an ISO time (e.g. 2024-05-01T12:00:00Z) or epoch milliseconds', 'before');
    }
    out.before = ms;
  }
  return out;
}

function isTrace(value: unknown): value is Trace {
  return typeof value === 'object' && value !== null && typeof (value as Trace).traceId === 'string';
}

/**
 * Cuts a page from `rows` (the store's answer, newest first, possibly with rows past the page):
 * at most `limit` traces and `maxBytes` of JSON (at least one trace), and `next`, the first row
 * left out (undefined when every row fit: the caller may have to ask whether more exist). A page
 * ends between two milliseconds when it can, so that `before=nextBefore` (strictly before) gets
 * every trace it left out; only a page whose traces all started in the same millisecond as the
 * next one ends inside it (the rest of that millisecond is then skipped).
 */
export function cutLogsPage(rows: readonly Trace[], limit: number, maxBytes: number): { page: LogsPage; items: Trace[]; next?: Trace } {
  const parts: string[] = [];
  const items: Trace[] = [];
  // The envelope: {"object":"list","data":[...],"has_more":false,"next_before":...}
  let bytes = 80;
  for (const trace of rows) {
    if (items.length >= limit) break;
    const text = JSON.stringify(trace);
    const size = Buffer.byteLength(text) + 1;
    if (items.length > 0 && bytes + size > maxBytes) break;
    parts.push(text);
    items.push(trace);
    bytes += size;
  }
  const next = rows[items.length];
  if (next === undefined) return { page: { parts, hasMore: false }, items };
  return { page: endBetweenMilliseconds(parts, items, next), items, next };
}

/** A page with a known next trace: drops its last traces that share the next one's millisecond, when others remain. */
function endBetweenMilliseconds(parts: string[], items: Trace[], next: Trace): LogsPage {
  const nextMs = startOf(next);
  let keep = items.length;
  while (keep > 0 && startOf(items[keep - 1]!) === nextMs) keep -= 1;
  if (keep === 0) keep = items.length;
  parts.length = keep;
  items.length = keep;
  const lastMs = startOf(items[keep - 1]!);
  return { parts, hasMore: true, ...(Number.isFinite(lastMs) ? { nextBefore: lastMs } : {}) };
}

function listText(page: LogsPage): string {
  const more = page.hasMore && page.nextBefore !== undefined ? `,"next_before":${page.nextBefore}` : '';
  return `{"object":"list","data":[${page.parts.join(',')}],"has_more":${page.hasMore}${more}}`;
}

export function createLogsRouter(options: LogsRouterOptions): Router {
  const { store, authenticate, headerPrefix, logger } = options;
  const storeTimeoutMs = options.storeTimeoutMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? MAX_LOGS_RESPONSE_BYTES;
  const keyHeader = `${headerPrefix}api-key`;
  const router = express.Router();
  const formParser = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });

  /** Calls the store, bounded in time; failures become a 503 for the logs client only. */
  async function ask<T>(what: string, call: () => T | Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${storeTimeoutMs} ms`)), storeTimeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([Promise.resolve().then(call), timeout]);
    } catch (err) {
      logger.error(`express-llm-fallback: traceStore.${what} failed`, { err });
      throw Object.assign(new Error('store failed'), { storeFailed: true });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * After a full page with nothing known past it: the first trace after the page, from the
   * traces that started no later than its last one (those of that millisecond already in the page
   * are passed over by request id).
   */
  async function probeMore(query: TraceQuery & { limit: number }, items: Trace[], page: LogsPage): Promise<LogsPage> {
    const lastMs = startOf(items[items.length - 1]!);
    if (!Number.isFinite(lastMs)) return page;
    const seen = new Set(items.filter((t) => startOf(t) === lastMs).map((t) => t.requestId));
    const more = await ask('list', () => store.list({ ...query, before: lastMs + 1, limit: Math.min(seen.size + 1, MAX_LIST_LIMIT) }));
    const next = (Array.isArray(more) ? more.filter(isTrace) : []).find((t) => !(startOf(t) === lastMs && seen.has(t.requestId)) && !(startOf(t) > lastMs));
    return next === undefined ? page : endBetweenMilliseconds([...page.parts], [...items], next);
  }

  const storeFailed = (res: Response): void =>
    sendJson(res, 503, errorBody('The trace store did not answer.', 'server_error', 'trace_store_unavailable'));

  /** The page's key: checked as the header would be, and handed to the page's script. */
  const usePageKey = (req: Request, res: Response, key: string): void => {
    req.headers[keyHeader] = key;
    res.locals[PAGE_KEY] = key;
  };

  // The page only: the key may come from `?key=` or the key form, since a browser navigation
  // cannot carry the header. Every other logs route takes the header alone.
  const keyForPage: RequestHandler = (req, res, next) => {
    if (req.path !== '/ui' || headerOf(req, keyHeader) !== undefined) {
      next();
      return;
    }
    const fromQuery = (): void => {
      const key = (req.query as Record<string, unknown>).key;
      if (typeof key === 'string' && key !== '') usePageKey(req, res, key);
      next();
    };
    if (req.method !== 'POST') {
      fromQuery();
      return;
    }
    formParser(req, res, (err?: unknown) => {
      if (err) {
        next(err);
        return;
      }
      const key = (req.body as Record<string, unknown> | undefined)?.key;
      if (typeof key === 'string' && key !== '') usePageKey(req, res, key);
      next();
    });
  };

  router.use(keyForPage, authenticate);

  router.get('/', (req, res, next) => {
    let query: TraceQuery & { limit: number };
    try {
      query = parseLogsQuery(req.query as Record<string, unknown>);
    } catch (err) {
      if (err instanceof QueryError) {
        sendJson(res, 400, errorBody(err.message, 'invalid_request_error', 'invalid_query', err.param));
        return;
      }
      next(err);
      return;
    }
    // .catch after .then: a row that cannot be serialised (a BigInt, a cycle) must not become an
    // unhandled rejection that ends the host process.
    // One row more than the page, to know whether there are more (a store may clamp the limit).
    const asked = Math.min(query.limit + 1, MAX_LIST_LIMIT);
    ask('list', () => store.list({ ...query, limit: asked }))
      .then(async (traces) => {
        const rows = Array.isArray(traces) ? traces.filter(isTrace) : [];
        const cut = cutLogsPage(rows, query.limit, maxResponseBytes);
        let page = cut.page;
        if (cut.next === undefined && cut.items.length > 0 && rows.length >= query.limit) {
          // A full page and no row past it: ask whether anything older matches.
          page = await probeMore(query, cut.items, page);
        }
        sendText(res, 200, listText(page));
      })
      .catch(() => storeFailed(res));
  });

  const page: RequestHandler = (_req, res) => {
    const key: unknown = res.locals[PAGE_KEY];
    sendPage(res, 200, (nonce) => renderLogsPage({ nonce, headerPrefix, ...(typeof key === 'string' ? { key } : {}) }));
  };
  router.get('/ui', page);
  router.post('/ui', page);

  router.get('/:traceId', (req, res) => {
    const traceId = String(req.params.traceId ?? '');
    ask('get', () => store.get(traceId))
      .then((trace) => {
        if (!isTrace(trace)) {
          const shown = traceId.length > 128 ? `${traceId.slice(0, 128)}…` : traceId;
          sendJson(res, 404, errorBody(`No trace with id "${shown}".`, 'invalid_request_error', 'trace_not_found', 'traceId'));
          return;
        }
        sendJson(res, 200, trace);
      })
      .catch(() => storeFailed(res));
  });

  const notAllowed = (allow: string): RequestHandler => (req, res) => {
    res.setHeader('allow', allow);
    sendJson(res, 405, errorBody(`${req.method} is not allowed on ${req.baseUrl}${req.path}; use ${allow.split(',')[0]}.`, 'invalid_request_error', 'method_not_allowed'));
  };
  router.all('/', notAllowed('GET'));
  router.all('/ui', notAllowed('GET, POST'));
  router.all('/:traceId', notAllowed('GET'));

  // A browser opening the page without a (valid) key gets the key form rather than JSON.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const { status } = toOpenAIError(err);
    if (status === 401 && req.path === '/ui' && !res.headersSent && /\btext\/html\b/.test(headerOf(req, 'accept') ?? '')) {
      const tried = headerOf(req, keyHeader) !== undefined;
      sendPage(res, 401, (nonce) => renderKeyForm({ nonce, headerPrefix, rejected: tried }));
      return;
    }
    next(err);
  });
  return router;
}

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Sends one of the HTML documents with a strict CSP: its own inline script and style only. */
function sendPage(res: Response, status: number, render: (nonce: string) => string): void {
  const nonce = randomBytes(16).toString('base64');
  const html = render(nonce);
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader(
    'content-security-policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  );
  res.setHeader('content-length', Buffer.byteLength(html));
  res.end(html);
}
