/**
 * All upstream HTTP goes through one axios instance with keep-alive agents. This module knows
 * nothing of providers: it sends a request description and reports what came back, or why
 * nothing did.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import type { ByteBudget } from './budget.js';
import type { UpstreamRequest } from '../providers/types.js';

/** Largest upstream body accepted for a non-streaming reply. */
export const MAX_UPSTREAM_BODY = 64 * 1024 * 1024;

/** A reply that arrived (any status). */
export interface UpstreamReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text. */
  readonly text: string;
  /** Gives the reply's bytes back to the buffer budget (call once it is parsed). */
  readonly release?: () => void;
}

/** Why no reply arrived. */
export type TransportFailureKind = 'timeout' | 'network' | 'aborted' | 'too_large' | 'overloaded';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly kind: TransportFailureKind,
    /** The system error code when there is one (ECONNREFUSED, ECONNRESET, ENOTFOUND, ...). */
    readonly syscode?: string,
  ) {
    super(message);
  }
}

/**
 * TCP keep-alive probes start after this long idle. axios sets 60 s on every socket it is given;
 * an agent that sets another value each time it takes a socket back makes two system calls per
 * request (Node skips the call only when the value is unchanged).
 */
export const TCP_KEEPALIVE_MS = 60_000;

/** The shared client. Keep-alive agents reuse upstream connections across requests. */
export function createHttpClient(): AxiosInstance {
  const client = axios.create({
    httpAgent: new http.Agent({ keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, maxSockets: 256 }),
    httpsAgent: new https.Agent({ keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, maxSockets: 256 }),
    // Never route through an environment proxy: upstream traffic goes where the target says.
    proxy: false,
    maxRedirects: 0,
    validateStatus: () => true,
    // Every reply is read as a stream (sendJson bounds it by MAX_UPSTREAM_BODY and the budget).
    responseType: 'stream',
    // Bodies are sent as serialised (axios would parse and trim a JSON string again).
    transformRequest: [(data: unknown) => data],
    maxBodyLength: MAX_UPSTREAM_BODY,
    decompress: true,
  });
  // Every request names its own content-type and accept, and every reply is read as a stream:
  // without axios's per-method default headers and reply transforms, each request merges and
  // runs less (about 15 µs less per request, measured in bench/README.md).
  client.defaults.headers = { common: {} } as unknown as typeof client.defaults.headers;
  client.defaults.transformResponse = [];
  return client;
}

/** Options of one send. */
export interface SendOptions {
  /** Aborts the request; its reason says why (see {@link timeoutReason}). */
  readonly signal: AbortSignal;
  /** Where the reply's bytes are counted while it is held. */
  readonly budget?: ByteBudget;
}

/** The abort reason used for a per-attempt or total timeout. */
export const timeoutReason = (): Error => Object.assign(new Error('upstream timeout'), { name: 'TimeoutError' });

/** True for the abort reason of a timeout (see {@link timeoutReason}). */
export function isTimeoutReason(reason: unknown): boolean {
  return (reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}

/** Response headers with lower-case names and string values. */
export function lowerHeaders(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw && typeof raw === 'object') {
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  return out;
}

/**
 * Sends a JSON request and reads the whole reply as text, counting its bytes against the
 * budget as they arrive. Throws TransportError when no whole reply came (or it would pass the
 * per-reply limit or the budget).
 */
export async function sendJson(
  client: AxiosInstance,
  req: UpstreamRequest,
  options: SendOptions,
): Promise<UpstreamReply> {
  const { signal, budget } = options;
  let res;
  try {
    res = await client.request<Readable>({
      url: req.url,
      method: req.method ?? 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...req.headers },
      data: req.method === 'GET' ? undefined : requestBytes(req),
      signal,
      responseType: 'stream',
    });
  } catch (err) {
    throw toTransportError(err, signal);
  }
  let text: string;
  let taken = 0;
  try {
    ({ text, taken } = await readWhole(res.data, budget));
  } catch (err) {
    res.data.destroy();
    throw err instanceof TransportError ? err : toTransportError(err, signal);
  }
  let released = false;
  return {
    status: res.status,
    headers: lowerHeaders(res.headers),
    text,
    release: () => {
      if (released) return;
      released = true;
      budget?.give(taken);
    },
  };
}

/**
 * Reads a reply's body to its end, bounded by MAX_UPSTREAM_BODY and the budget (its bytes are
 * taken from the budget as they arrive, and given back if it fails). Plain listeners rather than
 * an async iterator: one promise per reply, not one per chunk.
 */
function readWhole(body: Readable, budget: ByteBudget | undefined): Promise<{ text: string; taken: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let taken = 0;
    const fail = (err: unknown): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', fail);
      budget?.give(taken);
      taken = 0;
      reject(err);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (taken + buf.length > MAX_UPSTREAM_BODY) return fail(new TransportError('upstream reply is larger than the router accepts', 'too_large'));
      if (budget && !budget.take(buf.length)) {
        return fail(new TransportError('the router holds as many upstream bytes as it may (maxBufferedBytes); try again shortly', 'overloaded'));
      }
      taken += buf.length;
      chunks.push(buf);
    };
    const onEnd = (): void => {
      body.off('error', fail);
      resolve({ text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'), taken });
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', fail);
    // A stream destroyed before its end (an abort) emits 'close' without 'end' or 'error'.
    body.once('close', () => {
      if (!body.readableEnded) fail(body.errored ?? new Error('upstream reply ended early'));
    });
  });
}

/**
 * The bytes to send: the adapter's own (a signed request: exactly those bytes, so a view into a
 * larger buffer sends only its own), or the body as JSON.
 */
export function requestBytes(req: UpstreamRequest): string | Buffer {
  const raw = req.rawBody;
  if (raw === undefined) return JSON.stringify(req.body);
  return typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Maps an axios / system error to a TransportError. */
export function toTransportError(err: unknown, signal: AbortSignal): TransportError {
  if (signal.aborted) {
    return isTimeoutReason(signal.reason)
      ? new TransportError('upstream did not answer in time', 'timeout')
      : new TransportError('request aborted', 'aborted');
  }
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e.code === 'ERR_BAD_RESPONSE' || e.code === 'ERR_BAD_REQUEST' ? e.cause?.code : e.code;
  return new TransportError(describe(code), 'network', code);
}

function describe(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused by upstream';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset by upstream';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'upstream host not found';
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return 'connection to upstream timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'upstream host unreachable';
    default:
      return `upstream unreachable${code ? ` (${code})` : ''}`;
  }
}
