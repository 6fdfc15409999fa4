/**
 * Streaming upstream requests: opens a streamed response through the shared axios instance, and
 * the default stream decoder, server-sent events parsed by eventsource-parser.
 */
import type { Readable } from 'node:stream';
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

/**
 * Yields the events of an SSE body as they arrive. Ends when the body ends; throws what the
 * body throws (a destroyed socket, an abort). Lines that are not SSE are ignored, as the SSE
 * standard says; an event over 8 MiB ends the stream with an error.
 */
export async function* sseEvents(body: AsyncIterable<unknown>): AsyncGenerator<StreamEvent, void, undefined> {
  const queue: StreamEvent[] = [];
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
  const decoder = new StringDecoder('utf8');
  for await (const chunk of body) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    if (failure) throw failure;
    while (queue.length > 0) yield queue.shift()!;
  }
  parser.feed(decoder.end());
  // A last event without its closing blank line still counts.
  parser.reset({ consume: true });
  while (queue.length > 0) yield queue.shift()!;
}

/** The default stream decoder: server-sent events. */
export const sseDecoder: StreamDecoder = { contentType: /event-stream/i, decode: sseEvents };
