/**
 * Reading the incoming request at the Express edge: its JSON body (whether or not the host
 * already parsed it), its headers, and the client's credentials (options.auth).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler } from 'express';
import { FallbackRouterError, RequestError } from '../errors.js';
import type { JsonObject } from '../providers/types.js';
import type { Settings } from '../options.js';
import { logRefused } from '../observe/log-lines.js';

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

export function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a positive integer of milliseconds from a header; a bad value is a 400. */
export function millisHeader(req: Request, name: string): number | undefined {
  const value = headerValue(req, name);
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\s*\d{1,7}\s*$/.test(value) || Number(value) < 1 || Number(value) > 3_600_000) {
    throw new RequestError(`${name} must be a whole number of milliseconds from 1 to 3600000`, 400, 'invalid_header', 'invalid_request_error', name);
  }
  return Number(value);
}

/** Reads `passthrough` or `buffered` from a header; anything else is a 400. */
export function streamModeHeader(req: Request, name: string): 'passthrough' | 'buffered' | undefined {
  const value = headerValue(req, name)?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (value === 'passthrough' || value === 'buffered') return value;
  throw new RequestError(`${name} must be "passthrough" or "buffered"`, 400, 'invalid_header', 'invalid_request_error', name);
}

/** The JSON body parser: uses what a host parser already read, else parses it (bounded). */
export function bodyParser(settings: Settings): RequestHandler {
  const jsonParser = express.json({ limit: settings.bodyLimit, strict: false, type: () => true });
  return (req, res, next) => {
    // The host already parsed the body (express.json() or another parser): use what it has.
    const preParsed = (req as { _body?: boolean })._body === true || (req.body !== undefined && req.readableEnded);
    if (preParsed) {
      if (Buffer.isBuffer(req.body) || typeof req.body === 'string') {
        try {
          req.body = JSON.parse(req.body.toString());
        } catch {
          next(new RequestError('Request body is not valid JSON.', 400, 'invalid_json'));
          return;
        }
      }
      next();
      return;
    }
    const type = headerValue(req, 'content-type');
    if (type !== undefined && !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
      next(new RequestError(`Content-Type must be application/json (got "${type.slice(0, 100)}").`, 415, 'unsupported_media_type'));
      return;
    }
    jsonParser(req, res, next);
  };
}

/** The client's trace id header (`{prefix}trace-id`), when it is one the router keeps (printable, 128 characters at most). */
export function clientTraceId(req: Request, prefix: string): string | undefined {
  const given = (headerValue(req, `${prefix}trace-id`) ?? '').trim().slice(0, 128);
  return given !== '' && /^[\x21-\x7e]+$/.test(given) ? given : undefined;
}

/**
 * Logs a request refused before its handler ran (auth, an unreadable body) at info, with the
 * client's trace id when it sent one; returns the error to answer with.
 */
export function noteRefusal(req: Request, err: unknown, settings: Settings): unknown {
  if (err instanceof FallbackRouterError) {
    const traceId = clientTraceId(req, settings.headerPrefix);
    logRefused(settings.logger, err, { ...(traceId !== undefined ? { traceId } : {}), method: req.method, url: `${req.baseUrl}${req.path}` });
  }
  return err;
}

/** Compares two secrets in constant time (over their digests, so lengths do not leak). */
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** options.auth as a middleware: a key from `{prefix}api-key`, or the host's function. */
export function authenticator(settings: Settings): RequestHandler {
  const prefix = settings.headerPrefix;
  return (req, _res, next) => {
    const auth = settings.auth;
    if (!auth) {
      next();
      return;
    }
    const deny = (): void => next(new RequestError(`Missing or invalid ${prefix}api-key.`, 401, 'invalid_api_key', 'authentication_error'));
    if (typeof auth === 'function') {
      Promise.resolve()
        .then(() => auth(req))
        .then((ok) => (ok === true ? next() : deny()))
        .catch((err: unknown) => {
          settings.logger.error('express-llm-fallback: options.auth threw; request denied', { err, method: req.method, url: `${req.baseUrl}${req.path}` });
          deny();
        });
      return;
    }
    const given = headerValue(req, `${prefix}api-key`);
    if (given !== undefined && auth.apiKeys.some((key) => safeEqual(given, key))) next();
    else deny();
  };
}

/** Longest a refused request's unread body is drained before the answer goes out anyway. */
const DRAIN_MS = 2_000;

/**
 * Calls `answer` once the request's body is read: an answer sent while a client is still
 * uploading (a 401 or 415 before the body) would reset its connection, and the client would see
 * a broken socket instead of the error. The unread body is discarded, for at most DRAIN_MS.
 */
export function afterBody(req: Request, answer: () => void): void {
  if (req.complete || req.readableEnded || req.destroyed) {
    answer();
    return;
  }
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.off('end', finish);
    req.off('error', finish);
    answer();
  };
  const timer = setTimeout(finish, DRAIN_MS);
  req.on('end', finish);
  req.on('error', finish);
  req.resume();
}

/** Maps body-parser's errors (status + type) to our error classes. */
export function mapParserError(err: unknown): unknown {
  if (err instanceof FallbackRouterError) return err;
  const e = err as { type?: string; status?: number; limit?: number };
  switch (e.type) {
    case 'entity.parse.failed':
      return new RequestError('Request body is not valid JSON.', 400, 'invalid_json');
    case 'entity.too.large':
      return new RequestError(`Request body is larger than the limit of ${e.limit ?? '?'} bytes.`, 413, 'payload_too_large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new RequestError('Unsupported request body encoding or charset.', 415, 'unsupported_media_type');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new RequestError('Request body could not be read.', 400, 'invalid_body');
    default:
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
        return new RequestError('Request body could not be read.', e.status, 'invalid_body');
      }
      return err;
  }
}
