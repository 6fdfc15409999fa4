/** Requests the engine-v2 end-to-end tests share: traces by id, and clients that hang up. */
import http from 'node:http';
import request from 'supertest';

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
