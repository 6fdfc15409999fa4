/**
 * "lpjson", a made-up provider for the adapters v2 tests: signed requests (HMAC-SHA256 of the
 * exact body bytes in `x-signature`) and a length-prefixed binary stream (each frame a 4-byte
 * big-endian length, then that many bytes of UTF-8 JSON).
 *
 * Two halves: a fake upstream (node:http on 127.0.0.1, port 0) that checks signatures, records
 * every request and misbehaves on demand; and a custom adapter written only against the public
 * adapter interface, with an async buildRequest, a StreamDecoder and its own settings schema.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Joi from 'joi';
import { ConfigError, InvalidUpstreamResponse, type ProviderAdapter, type UnifiedChunk } from '../../lib/index.js';

/** The public adapter interface's own decoder and event types (not exported by name). */
export type StreamDecoder = Exclude<NonNullable<ProviderAdapter['streamDecoder']>, 'sse'>;
export type StreamEvent = Parameters<NonNullable<ProviderAdapter['parseStreamEvent']>>[0];

/** The secret the fake accepts. */
export const LP_SECRET = 'lp-shared-secret-0123456789';
/** The fake's stream content type. */
export const LP_CONTENT_TYPE = 'application/x-lp-json';
/** What the fake answers a non-streaming request with. */
export const LP_TEXT = 'Hello from lpjson';
/** What the fake streams by default: a multi-byte piece, and one frame over 127 bytes (a length byte >= 0x80). */
export const LP_PIECES: readonly string[] = ['Hel', 'lo', ', wörld ✓', ` ${'lorem ipsum dolor '.repeat(9).trim()}`];
/** Token counts the fake reports. */
export const LP_TOKENS = { in: 3, out: 5 } as const;

/** Hex HMAC-SHA256 of some bytes. */
export function lpSign(secret: string, bytes: string | Uint8Array): string {
  return createHmac('sha256', secret).update(bytes).digest('hex');
}

/** One length-prefixed frame. */
export function lpFrame(payload: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(payload), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(json.length, 0);
  return Buffer.concat([header, json]);
}

// ---------------------------------------------------------------------------------------------
// The fake upstream
// ---------------------------------------------------------------------------------------------

/** One request as the fake saw it. */
export interface LpReceived {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The exact body bytes. */
  readonly raw: Buffer;
  /** Parsed JSON body, or undefined. */
  readonly body: any;
  /** The `x-signature` header, if any. */
  readonly signature: string | undefined;
  /** True when the signature matched the raw bytes under {@link LP_SECRET}. */
  readonly signatureOk: boolean;
}

/**
 * How the stream is cut into TCP writes (with a few ms between writes):
 * - `frames`: one write per frame;
 * - `prefix`: each frame in four writes: 2 bytes of the length, its other 2, 3 payload bytes, the rest;
 * - `cycle`: all frames glued together, then cut every 1, 2, 5, 3, 7, 4, 11, 6 bytes (splits
 *   inside lengths, inside UTF-8 characters, and across frame boundaries).
 */
export type LpSplit = 'frames' | 'prefix' | 'cycle';

export type LpBehaviour =
  /** Answer per the request's `stream` flag (JSON, or the default stream). */
  | { kind: 'ok' }
  | {
      kind: 'stream';
      pieces?: readonly string[];
      split?: LpSplit;
      /** ms between writes. @default 3 */
      intervalMs?: number;
      /** After this many text frames, send 2 bytes of the next frame's length and destroy the socket. */
      cutAfter?: number;
    }
  /** Answer these bytes as they are (e.g. a 2xx whose content-type is not the decoder's). */
  | { kind: 'raw'; status: number; contentType: string; text: string };

export interface LpFake {
  readonly origin: string;
  /** `origin + '/v1'`, for options.providers.lpjson.baseURL. */
  readonly baseURL: string;
  readonly received: LpReceived[];
  /** Behaviours for the next accepted (correctly signed) requests, in order; then `ok`. */
  script(...behaviours: LpBehaviour[]): void;
  /** Forgets received requests and the script; replies are numbered from 1 again (`x-lp-request-id: lp-req-N`). */
  reset(): void;
  close(): Promise<void>;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The byte segments of a stream, cut per the split mode. */
function segmentsOf(frames: Buffer[], split: LpSplit): Buffer[] {
  if (split === 'frames') return frames;
  if (split === 'prefix') {
    const out: Buffer[] = [];
    for (const f of frames) out.push(f.subarray(0, 2), f.subarray(2, 4), f.subarray(4, 7), f.subarray(7));
    return out.filter((b) => b.length > 0);
  }
  const all = Buffer.concat(frames);
  const sizes = [1, 2, 5, 3, 7, 4, 11, 6];
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < all.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(all.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Starts the fake lpjson upstream. It accepts POST /v1/generate signed with {@link LP_SECRET}. */
export async function startLpFake(): Promise<LpFake> {
  const received: LpReceived[] = [];
  let queue: LpBehaviour[] = [];
  let requests = 0;
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: any;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      const header = req.headers['x-signature'];
      const signature = typeof header === 'string' ? header : undefined;
      const signatureOk = signature !== undefined && signature === lpSign(LP_SECRET, raw);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body, signature, signatureOk });
      requests += 1;
      const json = (status: number, payload: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-lp-request-id': `lp-req-${requests}` });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST' || req.url !== '/v1/generate') {
        json(404, { error: { type: 'not_found', message: `no route ${req.method} ${req.url}` } });
        return;
      }
      if (!signatureOk) {
        json(401, {
          error: {
            type: 'authentication_error',
            code: 'invalid_signature',
            message: signature === undefined ? 'x-signature header is missing' : 'x-signature does not match the request body',
          },
        });
        return;
      }
      const behaviour = queue.shift() ?? { kind: 'ok' };
      if (behaviour.kind === 'raw') {
        res.writeHead(behaviour.status, { 'content-type': behaviour.contentType });
        res.end(behaviour.text);
        return;
      }
      if (behaviour.kind === 'stream' || body?.stream === true) {
        void stream(behaviour.kind === 'stream' ? behaviour : { kind: 'stream' }, body, req, res);
        return;
      }
      json(200, {
        id: 'lp-1',
        model: typeof body?.model === 'string' ? body.model : 'lp-default',
        output: LP_TEXT,
        stop: true,
        tokens: { ...LP_TOKENS },
      });
    });
  });

  async function stream(
    b: Extract<LpBehaviour, { kind: 'stream' }>,
    body: any,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    const pieces = b.pieces ?? LP_PIECES;
    const frames = [
      lpFrame({ type: 'start', model: typeof body?.model === 'string' ? body.model : 'lp-default' }),
      ...pieces.map((text) => lpFrame({ type: 'text', text })),
      lpFrame({ type: 'stop', reason: 'stop', tokens: { ...LP_TOKENS } }),
    ];
    const cut = b.cutAfter !== undefined;
    // A cut sends the start frame and `cutAfter` text frames, then half of the next length.
    const sent = cut ? [...frames.slice(0, 1 + b.cutAfter!), frames[1 + b.cutAfter!]!.subarray(0, 2)] : frames;
    res.writeHead(200, { 'content-type': LP_CONTENT_TYPE, 'cache-control': 'no-cache' });
    res.flushHeaders();
    for (const segment of segmentsOf(sent, b.split ?? 'frames')) {
      await wait(b.intervalMs ?? 3);
      if (closed) return;
      res.write(segment);
    }
    if (cut) {
      // Destroy the socket only once what was written has left.
      res.write('', () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.end();
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    baseURL: `${origin}/v1`,
    received,
    script: (...behaviours) => {
      queue = [...behaviours];
    },
    reset: () => {
      received.length = 0;
      queue = [];
      requests = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The adapter
// ---------------------------------------------------------------------------------------------

/** One buildRequest call, as the adapter saw it. */
export interface LpBuild {
  /** The signal handed to buildRequest (undefined from an engine that passes none). */
  readonly signal: AbortSignal | undefined;
  readonly settings: Readonly<Record<string, unknown>>;
  /** True when `signal` fired while buildRequest was still waiting. */
  abortedDuringBuild: boolean;
  /** The exact bytes the adapter signed and asked to be sent (once built). */
  rawBody?: Buffer;
}

/** Knobs and observations of one adapter instance. */
export interface LpControl {
  /** When set, buildRequest takes this long (abortable through its signal) instead of 20 ms. */
  slowMs: number | undefined;
  /** Hand rawBody over as a string or as a Uint8Array. */
  rawAs: 'string' | 'bytes';
  readonly builds: LpBuild[];
  /** Per decode() call: how many body chunks reached the decoder. */
  readonly decodeChunks: number[];
  /** What classifyError received. */
  readonly classified: Array<{ status: number; body: unknown; headers: unknown }>;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function abortableDelay(ms: number, signal: AbortSignal | undefined, onAbort: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      onAbort();
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const aborted = (): void => {
      clearTimeout(timer);
      onAbort();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

/**
 * The bytes as a Uint8Array that is a window (at a non-zero offset) into a larger ArrayBuffer:
 * a transport that sends `view.buffer` instead of the view sends the wrong bytes.
 */
function viewInLargerBuffer(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.byteLength + 32).fill(0x20);
  backing.set(bytes, 16);
  return backing.subarray(16, 16 + bytes.byteLength);
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8'); // wrong for binary data: a transport must not decode
  throw new TypeError(`lpjson decoder got a ${typeof chunk} chunk`);
}

function parsePayload(data: string): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    throw new InvalidUpstreamResponse('lpjson frame is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidUpstreamResponse('lpjson frame is not a JSON object');
  }
  return payload as Record<string, unknown>;
}

/** A fresh lpjson adapter and its control object. */
export function createLpAdapter(): { adapter: ProviderAdapter; control: LpControl } {
  const control: LpControl = { slowMs: undefined, rawAs: 'string', builds: [], decodeChunks: [], classified: [] };

  const streamDecoder: StreamDecoder = {
    contentType: /^application\/x-lp-json\b/i,
    async *decode(body: AsyncIterable<unknown>): AsyncIterable<StreamEvent> {
      const call = control.decodeChunks.push(0) - 1;
      let buf: Buffer = Buffer.alloc(0);
      for await (const chunk of body) {
        control.decodeChunks[call]! += 1;
        buf = buf.length === 0 ? toBuffer(chunk) : Buffer.concat([buf, toBuffer(chunk)]);
        while (buf.length >= 4) {
          const length = buf.readUInt32BE(0);
          if (buf.length < 4 + length) break;
          const data = buf.subarray(4, 4 + length).toString('utf8');
          buf = buf.subarray(4 + length);
          let type: string | undefined;
          try {
            const parsed: unknown = JSON.parse(data);
            if (parsed && typeof parsed === 'object' && typeof (parsed as { type?: unknown }).type === 'string') type = (parsed as { type: string }).type;
          } catch {
            type = undefined; // parseStreamEvent reports it
          }
          yield type === undefined ? { data } : { event: type, data };
        }
      }
      if (buf.length > 0) throw new Error(`lpjson stream ended inside a frame (${buf.length} bytes left over)`);
    },
  };

  const adapter: ProviderAdapter = {
    name: 'lpjson',
    endpoints: new Set(['chat'] as const),
    requiresApiKey: false,
    settings: Joi.object({ signing_secret: Joi.string().required() }),
    async buildRequest(req, target, signal) {
      const build: LpBuild = { signal, settings: target.settings, abortedDuringBuild: false };
      control.builds.push(build);
      await abortableDelay(control.slowMs ?? 20, signal, () => {
        build.abortedDuringBuild = true;
      });
      const secret = target.settings.signing_secret;
      if (typeof secret !== 'string' || secret === '') {
        throw new ConfigError('lpjson target needs signing_secret', 'signing_secret', 'missing_provider_setting');
      }
      if (!target.baseURL) throw new ConfigError('lpjson target needs a baseURL', 'baseURL', 'missing_provider_setting');
      const body = { model: req.body.model, prompt: req.body.messages, stream: req.stream };
      // Not what JSON.stringify(body) gives: a transport that re-serialises `body` breaks the signature.
      const json = `${JSON.stringify(body, null, 2)}\n`;
      const bytes = Buffer.from(json, 'utf8');
      build.rawBody = bytes;
      return {
        url: `${target.baseURL.replace(/\/+$/, '')}/generate`,
        headers: { 'x-signature': lpSign(secret, bytes) },
        body,
        rawBody: control.rawAs === 'bytes' ? viewInLargerBuffer(bytes) : json,
      };
    },
    parseResponse(body) {
      const b = body as { id?: unknown; model?: unknown; output?: unknown; stop?: unknown; tokens?: { in?: unknown; out?: unknown } };
      if (typeof b !== 'object' || b === null || typeof b.output !== 'string' || typeof b.tokens?.in !== 'number' || typeof b.tokens.out !== 'number') {
        throw new InvalidUpstreamResponse('lpjson answer lacks output or tokens');
      }
      return {
        id: typeof b.id === 'string' ? b.id : 'lp',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: typeof b.model === 'string' ? b.model : 'lp',
        choices: [{ index: 0, message: { role: 'assistant', content: b.output }, logprobs: null, finish_reason: b.stop === true ? 'stop' : 'length' }],
        usage: { prompt_tokens: b.tokens.in, completion_tokens: b.tokens.out, total_tokens: b.tokens.in + b.tokens.out },
      };
    },
    streamDecoder,
    parseStreamEvent(event, state) {
      const payload = parsePayload(event.data);
      const chunk = (delta: Record<string, unknown>, finish: string | null): UnifiedChunk => ({
        id: 'lpcmpl-stream',
        object: 'chat.completion.chunk',
        created: 1_700_000_000,
        model: typeof state.model === 'string' ? state.model : 'lp',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      });
      switch (payload.type) {
        case 'start':
          state.model = payload.model;
          return [chunk({ role: 'assistant', content: '' }, null)];
        case 'text':
          if (typeof payload.text !== 'string') throw new InvalidUpstreamResponse('lpjson text frame without text');
          return [chunk({ content: payload.text }, null)];
        case 'stop':
          return [chunk({}, payload.reason === 'length' ? 'length' : 'stop')];
        default:
          return [];
      }
    },
    classifyError(status, body, headers) {
      control.classified.push({ status, body, headers });
      const error = (body as { error?: { message?: unknown; code?: unknown; type?: unknown } } | null)?.error;
      const message = typeof error?.message === 'string' ? error.message : `lpjson answered ${status}`;
      const extra = {
        ...(typeof error?.code === 'string' ? { code: error.code } : {}),
        ...(typeof error?.type === 'string' ? { type: error.type } : {}),
      };
      if (status === 401 || status === 403) return { errorClass: 'auth', message, ...extra };
      if (status === 404) return { errorClass: 'not_found', message, ...extra };
      if (status === 429) return { errorClass: 'rate_limit', message, ...extra };
      if (status >= 500) return { errorClass: 'server', message, ...extra };
      return { errorClass: 'bad_request', message, ...extra };
    },
  };
  return { adapter, control };
}
