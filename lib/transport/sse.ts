/**
 * Streaming upstream requests: opens a streamed response through the shared axios instance, and
 * the default stream decoder, server-sent events parsed by eventsource-parser.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { AxiosInstance } from 'axios';
import { createParser } from 'eventsource-parser';
import type { StreamDecoder, StreamEvent, UpstreamRequest } from '../providers/types.js';
import { lowerHeaders, requestBytes, toTransportError, type UpstreamReply } from './http.js';

/** Largest error body read from a failed streaming request. */
const MAX_ERROR_BODY = 1024 * 1024;
/** Largest single event accepted; a larger one is a malformed stream. */
const MAX_EVENT_SIZE = 8 * 1024 * 1024;

/** An opened stream: a 2xx reply whose body is still flowing, or a failed reply read whole. */
export type OpenedStream =
  | { readonly ok: true; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: Readable }
  | { readonly ok: false; readonly reply: UpstreamReply };

async function readText(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > limit) {
      body.destroy();
      break;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Sends a streaming request. Resolves once the status and headers arrived; a non-2xx reply is
 * read whole so it can be classified. Throws TransportError when no reply came.
 */
export async function openStream(client: AxiosInstance, req: UpstreamRequest, signal: AbortSignal, accept = 'text/event-stream'): Promise<OpenedStream> {
  let res;
  try {
    res = await client.request<Readable>({
      url: req.url,
      method: req.method ?? 'POST',
      headers: { 'content-type': 'application/json', accept, ...req.headers },
      data: requestBytes(req),
      signal,
      responseType: 'stream',
    });
  } catch (err) {
    throw toTransportError(err, signal);
  }
  const headers = lowerHeaders(res.headers);
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, headers, body: res.data };
  let text: string;
  try {
    text = await readText(res.data, MAX_ERROR_BODY);
  } catch (err) {
    throw toTransportError(err, signal);
  }
  return { ok: false, reply: { status: res.status, headers, text } };
}

/** Events held before a Readable body is paused (the reader is slower than the upstream). */
const HIGH_WATER_EVENTS = 64;

/**
 * Yields the events of an SSE body as they arrive. Ends when the body ends; throws what the
 * body throws (a destroyed socket, an abort). Lines that are not SSE are ignored, as the SSE
 * standard says; an event over 8 MiB ends the stream with an error. The body is read through its
 * 'data' events, one promise per event waited for (any async iterable that is not a Readable is
 * read through `Readable.from`).
 */
export function sseEvents(body: AsyncIterable<unknown>): AsyncIterable<StreamEvent> {
  const readable = body instanceof Readable ? body : Readable.from(body);
  return { [Symbol.asyncIterator]: () => new ReadableEvents(readable) };
}

/** An SSE parser that queues the events it finds; `failure` is set when an event is too large. */
function eventParser(queue: StreamEvent[]): { feed(text: string): void; end(): void; failure(): Error | undefined } {
  let failure: Error | undefined;
  const parser = createParser({
    onEvent: (event) => {
      queue.push(event.event !== undefined ? { event: event.event, data: event.data } : { data: event.data });
    },
    onError: (err) => {
      if (err.type === 'max-buffer-size-exceeded') failure = err;
    },
    maxBufferSize: MAX_EVENT_SIZE,
  });
  return {
    feed: (text) => parser.feed(text),
    // The last line is read even without its line break; an event without its closing blank
    // line is still not dispatched, as the SSE standard says (it may be cut short).
    end: () => parser.reset({ consume: true }),
    failure: () => failure,
  };
}

/** The events of a Readable body, parsed as its 'data' arrives; paused while many are unread. */
class ReadableEvents implements AsyncIterator<StreamEvent> {
  private readonly queue: StreamEvent[] = [];
  private readonly parser = eventParser(this.queue);
  private readonly decoder = new StringDecoder('utf8');
  private ended = false;
  private failure: unknown;
  private waiter: { resolve(r: IteratorResult<StreamEvent>): void; reject(err: unknown): void } | undefined;

  constructor(private readonly body: Readable) {
    body.on('data', this.onData);
    body.once('end', this.onEnd);
    body.once('error', this.onError);
    body.once('close', this.onClose);
  }

  private readonly onData = (chunk: unknown): void => {
    this.parser.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk as Buffer));
    const failure = this.parser.failure();
    if (failure) {
      this.fail(failure);
      this.body.destroy();
      return;
    }
    if (this.queue.length >= HIGH_WATER_EVENTS) this.body.pause();
    this.wake();
  };

  private readonly onEnd = (): void => {
    this.parser.feed(this.decoder.end());
    this.parser.end();
    this.ended = true;
    this.detach();
    this.wake();
  };

  private readonly onError = (err: unknown): void => this.fail(err);

  /** Destroyed before its end without an error (an abort): a premature close. */
  private readonly onClose = (): void => {
    if (!this.ended) this.fail(this.body.errored ?? Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };

  private fail(err: unknown): void {
    if (this.failure !== undefined || this.ended) return;
    this.failure = err;
    this.detach();
    this.wake();
  }

  private detach(): void {
    this.body.off('data', this.onData);
    this.body.off('end', this.onEnd);
    this.body.off('error', this.onError);
    this.body.off('close', this.onClose);
    // Errors after the end (a socket reset while draining) are nobody's concern now.
    this.body.on('error', () => undefined);
  }

  /** Settles a waiting next() with what there is now. */
  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    const step = this.step();
    if (step === undefined) return;
    this.waiter = undefined;
    if (step === null) waiter.reject(this.failure);
    else waiter.resolve(step);
  }

  /** The next result if there is one now; null for the failure; undefined to wait. */
  private step(): IteratorResult<StreamEvent> | null | undefined {
    const event = this.queue.shift();
    if (event !== undefined) {
      if (this.queue.length === 0 && this.body.isPaused() && !this.ended) this.body.resume();
      return { value: event, done: false };
    }
    if (this.failure !== undefined) return null;
    if (this.ended) return { value: undefined, done: true };
    return undefined;
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    const step = this.step();
    if (step === null) return Promise.reject(this.failure);
    if (step !== undefined) return Promise.resolve(step);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<StreamEvent>> {
    if (!this.ended && this.failure === undefined) {
      this.detach();
      this.body.destroy();
    }
    this.ended = true;
    this.queue.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }
}

/** The default stream decoder: server-sent events. */
export const sseDecoder: StreamDecoder = { contentType: /event-stream/i, decode: sseEvents };
