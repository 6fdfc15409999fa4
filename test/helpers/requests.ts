/** Requests the engine-v2 end-to-end tests share: traces by id, and clients that hang up. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import request from 'supertest';
import { rawText } from './sse.js';

export const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GET /v1/logs/:traceId, polled briefly (traces are stored just after the response, and for a
 * departed client once the router has noticed). Returns the last response seen.
 */
export async function traceOf(app: Parameters<typeof request>[0], traceId: string, mount = '/v1', withinMs = 2000): Promise<request.Response> {
  const deadline = performance.now() + withinMs;
  let res = await request(app).get(`${mount}/logs/${encodeURIComponent(traceId)}`);
  while (res.status !== 200 && performance.now() < deadline) {
    await wait(20);
    res = await request(app).get(`${mount}/logs/${encodeURIComponent(traceId)}`);
  }
  return res;
}

/**
 * POSTs JSON to a listening app with a raw http.request and destroys the request (the client
 * hangs up) after `abortAfterMs`. Resolves once it has hung up; says what it saw before that.
 */
export function postThenHangUp(
  origin: string,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  abortAfterMs: number,
): Promise<{ status?: number; received: string }> {
  return new Promise((resolve) => {
    let status: number | undefined;
    let received = '';
    const req = http.request(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (d: string) => (received += d));
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify(body));
    setTimeout(() => {
      req.destroy();
      resolve({ status, received });
    }, abortAfterMs);
  });
}

type App = Parameters<typeof request>[0];

/** POST /v1/chat/completions with a config header and a trace id (a fresh one unless given). */
export function sendChat(app: App, config: unknown, body: Record<string, unknown> = {}, traceId: string = randomUUID()): request.Test {
  return request(app)
    .post('/v1/chat/completions')
    .set('x-portkey-config', JSON.stringify(config))
    .set('x-portkey-trace-id', traceId)
    .send({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body });
}

/** The same, streamed, with the raw SSE text as the body. */
export function sendChatStream(app: App, config: unknown, traceId: string = randomUUID()): request.Test {
  return sendChat(app, config, { stream: true }, traceId).buffer(true).parse(rawText);
}
