/**
 * What the benches share: a keep-alive HTTP client that posts one chat request and times it, a
 * closed-loop load run (N requests, C at a time, after a warm-up) and a listener on 127.0.0.1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] });
/** The same request, streamed. */
export const streamBody = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }], stream: true });

export async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Posts the chat request; resolves with its latency in ms (rejects on a status other than 200). */
export function post(url: string, headers: Record<string, string>, payload = body): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} from ${url}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The median (the mean of the middle two of an even count). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface Result {
  name: string;
  p50: number;
  p99: number;
  rps: number;
}

/** `n` requests, `concurrency` at a time, after 200 warm-up requests (JIT, sockets). */
export async function run(name: string, url: string, headers: Record<string, string>, n: number, concurrency: number, payload = body): Promise<Result> {
  for (let i = 0; i < 200; i++) await post(url, headers, payload);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next += 1;
        latencies.push(await post(url, headers, payload));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { name, p50: at(0.5), p99: at(0.99), rps: latencies.length / seconds };
}
