/**
 * Writes a committed stream to the client as OpenAI-format server-sent events, with
 * backpressure. Knows node's ServerResponse only, not Express.
 */
import type { ServerResponse } from 'node:http';
import type { StreamHandle, StreamStep } from '../engine/plan.js';
import type { JsonObject } from '../providers/types.js';
import { errorBody } from '../errors.js';

/** Resolves when the response can take more data, or the client went away. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** How a pumped stream ended: whole, with an in-band error, or with the client gone. */
export type StreamEnd = { kind: 'done' } | { kind: 'error'; message: string } | { kind: 'gone' };

/**
 * Writes a committed stream as OpenAI-format SSE, with backpressure. A stream that breaks ends
 * with an in-band error event and no `[DONE]`, so no client mistakes it for a whole answer.
 * `onError` is told of a stream handle that threw (a bug, not an upstream's failure), so that the
 * caller logs it with its stack and the request's trace id.
 *
 * `sendAtOnce` names the chunk (the first it is true for) after which what the response holds is
 * sent without waiting for the rest of its upstream read: the first content. Node corks a
 * response's socket until the next tick, and every chunk of one upstream read is written in one
 * pass, so an upstream that sends many chunks at once would otherwise have its first token leave
 * only with the last of them. The chunks after it are joined as before.
 */
export async function pumpStream(
  res: ServerResponse,
  handle: StreamHandle,
  signal: AbortSignal,
  provider: string,
  onError?: (err: unknown) => void,
  sendAtOnce?: (chunk: JsonObject) => boolean,
): Promise<StreamEnd> {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('x-accel-buffering', 'no');
  // No flushHeaders(): a committed stream's first chunks are at hand, and the headers go out with
  // them. Chunks written in one pass of the microtask queue (those of one upstream read) leave in
  // one write, as Node's response corks its socket until the next tick (but see `sendAtOnce`).
  const onAbort = (): void => handle.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) return { kind: 'gone' };
      let step: StreamStep;
      try {
        step = await handle.next();
      } catch (err) {
        onError?.(err);
        step = { kind: 'error', message: 'The stream failed inside the router.', code: 'stream_interrupted' };
      }
      if (signal.aborted) return { kind: 'gone' };
      if (step.kind === 'chunk') {
        const more = res.write(`data: ${step.text ?? JSON.stringify(step.chunk)}\n\n`);
        if (sendAtOnce?.(step.chunk)) {
          sendAtOnce = undefined;
          try {
            res.socket?.uncork();
          } catch {
            // A socket that will not be uncorked (a proxy of one) sends it at the next tick, as before.
          }
        }
        if (!more) await drained(res, signal);
        continue;
      }
      if (step.kind === 'done') {
        res.end('data: [DONE]\n\n');
        return { kind: 'done' };
      }
      handle.abort();
      const error = { ...errorBody(step.message, 'server_error', step.code, null, provider) };
      res.end(`data: ${JSON.stringify(error)}\n\n`);
      return { kind: 'error', message: step.message };
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
