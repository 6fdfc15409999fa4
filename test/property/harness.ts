/**
 * What the property tests share besides generators: listening apps (Express 5 and 4) around one
 * router configuration, requests sent exactly as generated, and waiting for a request's trace.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import type { RouterOptions, Trace } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp } from '../helpers/create-app.js';

/** One request as it goes on the wire. */
export interface WireRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Raw body text; none for GET. */
  readonly body?: string;
}

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly text: string;
  /** The body parsed as JSON, or undefined. */
  readonly json: unknown;
}

/** Two listening apps (Express 5 and 4) around one router configuration. */
export interface Harness {
  /** Base URL (`http://127.0.0.1:PORT`) per Express version: [express5, express4]. */
  readonly origins: readonly [string, string];
  /** Everything the router logged, both apps. */
  readonly logLines: string[];
  /** Sends a request to app 0 (Express 5) or 1 (Express 4). Rejects when no answer comes. */
  send(app: 0 | 1, req: WireRequest, timeoutMs?: number): Promise<Reply>;
  /** The trace the router records for `traceId`, as GET /v1/logs/:traceId returns it (text), or undefined. */
  traceText(app: 0 | 1, traceId: string, gatewayKey: string, waitMs?: number): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Starts both apps with `options` (a logger and an onTrace hook of the harness's own added). */
export async function startHarness(options: RouterOptions): Promise<Harness> {
  const logLines: string[] = [];
  const push = (...a: unknown[]): void => {
    logLines.push(a.map((x) => (x instanceof Error ? `${x.message}\n${x.stack ?? ''}` : typeof x === 'string' ? x : safeJson(x))).join(' '));
  };
  const seen = new Map<string, Array<() => void>>();
  const traced = new Set<string>();
  const onTrace = (trace: Trace): void => {
    traced.add(trace.traceId);
    for (const wake of seen.get(trace.traceId) ?? []) wake();
    seen.delete(trace.traceId);
  };
  const servers: http.Server[] = [];
  const origins: string[] = [];
  for (const version of EXPRESS_VERSIONS) {
    const app = createApp({ ...options, logger: { warn: push, error: push }, hooks: { ...options.hooks, onTrace } }, { express: version.express });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    origins.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  async function send(app: 0 | 1, req: WireRequest, timeoutMs = 8_000): Promise<Reply> {
    const agent = request(origins[app]!);
    const method = req.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete' | 'patch';
    let test = agent[method](req.path).timeout(timeoutMs).buffer(true).parse((res, done) => {
      // Keep the raw text whatever the content type (SSE, JSON, HTML).
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => done(null, text));
      res.on('error', (err) => done(err, text));
    });
    for (const [name, value] of Object.entries(req.headers)) test = test.set(name, value);
    if (req.body !== undefined && req.method !== 'GET') test = test.send(req.body);
    const res = await test.ok(() => true);
    const text = typeof res.body === 'string' ? res.body : '';
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers as Record<string, unknown>, text, json };
  }

  async function traceText(app: 0 | 1, traceId: string, gatewayKey: string, waitMs = 250): Promise<string | undefined> {
    if (!traced.has(traceId)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        const list = seen.get(traceId) ?? [];
        list.push(() => {
          clearTimeout(timer);
          resolve();
        });
        seen.set(traceId, list);
      });
    }
    if (!traced.has(traceId)) return undefined;
    // The store records just after onTrace: poll briefly.
    for (let i = 0; i < 20; i++) {
      const res = await send(app, { method: 'GET', path: `/v1/logs/${encodeURIComponent(traceId)}`, headers: { 'x-portkey-api-key': gatewayKey } });
      if (res.status === 200) return res.text;
      await new Promise((r) => setTimeout(r, 5));
    }
    return undefined;
  }

  return {
    origins: [origins[0]!, origins[1]!],
    logLines,
    send,
    traceText,
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Runs a property with {@link runSettings} and a fixed seed (each test its own, printed in its
 * name, so that two properties over one generator do not see the same inputs); fails with fast-check's report (the shrunk
 * counterexample and the error it raised), else notes in the test output how many runs were made
 * and whether the time limit cut them short.
 */
export async function checkProperty<T>(
  t: { diagnostic(message: string): void },
  property: fc.IAsyncProperty<T>,
  numRuns: number,
  timeLimitMs: number,
  seed: number,
): Promise<void> {
  const details = await fc.check(property, runSettings<T>(numRuns, timeLimitMs, seed));
  if (details.failed) throw new Error((await fc.asyncDefaultReportMessage(details)) ?? 'property failed');
  t.diagnostic(`${details.numRuns} of ${numRuns} runs${details.interrupted ? ', cut short by the time limit' : ''} (seed ${details.seed})`);
}

/**
 * fast-check's settings for every property: the fixed seed, a bounded count, and a time limit
 * (hit, the run stops where it is: a failure found so far is still reported, shrunk as far as
 * time allowed).
 */
export function runSettings<T>(numRuns: number, timeLimitMs: number, seed: number): fc.Parameters<T> {
  return { seed, numRuns, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false, includeErrorInReport: true };
}
