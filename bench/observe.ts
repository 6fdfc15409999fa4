/**
 * What observability costs (issue #14: within 10% at c=32): the router's throughput with
 * telemetry and metrics off against on, interleaved round by round in one run so that a busy
 * machine slows both alike.
 *
 *   npm run build && node --import tsx bench/observe.ts   (BENCH_ROUNDS, BENCH_REQUESTS, BENCH_CONCURRENCY,
 *                                              BENCH_PROFILE=<dir> for the routers' CPU profiles)
 *
 * BENCH_ON=metrics turns on only the metrics (Prometheus and OpenTelemetry, no spans), BENCH_ON=spans
 * only the spans; the default, all, both. BENCH_HOST=instrumented makes every host do what an HTTP
 * server instrumentation (@opentelemetry/instrumentation-http) does for every request: a SERVER
 * span, made active with `context.with` around the rest of the request (so the router's request
 * span is its child, and the context manager's async hooks are on in every process);
 * BENCH_HOST=hooks only turns those hooks on in every process from the start (one `context.with`,
 * as the SDK's exporters make at their first export); the default host has the SDK registered and
 * nothing else, so its hooks come on only in a process that exports something.
 *
 * The router processes are the same host: the OpenTelemetry SDK registered globally as a host
 * would (an AsyncLocalStorage context manager, a BasicTracerProvider with a BatchSpanProcessor, a
 * MeterProvider with a PeriodicExportingMetricReader every second, both exporting to a no-op
 * exporter) and a prom-client Registry scraped every second. What differs is the router:
 * - off: `telemetry: false`, no `metrics` (nothing subscribed, nothing loaded);
 * - on: the router's spans and metrics on, its Prometheus metrics in that Registry;
 * - floor (with BENCH_ON=all): the router as off, and the host itself making the calls to the SDK
 *   and prom-client that the router makes when on (floorTelemetry): what those libraries cost for
 *   this telemetry, with nothing of the router's own.
 *
 * Each router runs in a process of its own (this file with `--serve off|on|floor`), so that what
 * one costs (the OpenTelemetry context manager's async hooks included) is charged to it alone, not
 * to the load generator and the upstream, which share the parent process. All serve one chat target
 * on a fake OpenAI upstream on 127.0.0.1 (an answer with usage, so tokens and cost are counted).
 * Prints each round, the median of the rounds' ratios, and each router process's CPU time per
 * request (process.cpuUsage, V8's helper threads included) and its main thread's (Linux), which a
 * busy machine disturbs less than throughput; at saturation the main thread bounds throughput.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { context, SpanKind, trace } from '@opentelemetry/api';
import express from 'express';
import type { RouterOptions, createFallbackRouter as CreateFallbackRouter } from '../lib/index.js';
import { floorTelemetry, startOtelHost } from './otel-host.js';
import { agent, listen, median, run } from './load.js';
import { startUpstream } from './upstream.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const N = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ON = (process.env.BENCH_ON ?? 'all') as 'all' | 'metrics' | 'spans';
/** What the host does besides registering the SDK, as the header line says it. */
const HOSTS: Readonly<Record<string, string>> = {
  instrumented: ', hosts with an HTTP server span per request',
  hooks: ', hosts with the context manager hooks on from the start',
};
/** The router processes: telemetry off, on, and off with the host making the same library calls (the floor). */
type Which = 'off' | 'on' | 'floor';

/** A router in this process (the child's side): prints its URL, answers GET /cpu with its CPU time. */
async function serve(which: Which, upstreamURL: string): Promise<void> {
  // The host is the same in every process (the SDK registered as a host would): what differs is
  // only whether the router's telemetry and metrics are on, so the difference is their cost.
  // BENCH_HOST=hooks: the context manager's async hooks on from the start, and nothing else.
  const host = startOtelHost({ spans: ON !== 'metrics', metrics: ON !== 'spans', hooks: process.env.BENCH_HOST === 'hooks' });
  const { registry } = host;
  const base: RouterOptions = {
    providers: { openai: { apiKey: 'sk-bench', baseURL: upstreamURL } },
    pricing: { 'gpt-4o': { input: 2.5, output: 10 } },
    logger: { warn: () => undefined, error: console.error },
  };
  const options: RouterOptions =
    which !== 'on' ? { ...base, telemetry: false } : { ...base, telemetry: true, ...(ON !== 'spans' ? { metrics: { registry, modelLabels: ['gpt-4o'] } } : {}) };
  // The router as it ships (dist/, `npm run build` first), as bench/stack.ts measures it; BENCH_DIST names another build.
  const { createFallbackRouter } = (await import(process.env.BENCH_DIST ?? '../dist/index.js')) as { createFallbackRouter: typeof CreateFallbackRouter };
  const app = express();
  if (process.env.BENCH_HOST === 'instrumented') {
    const hostTracer = host.tracerProvider.getTracer('bench-host-http');
    // What an HTTP server instrumentation does per request, in every process alike.
    app.use((req, res, next) => {
      const span = hostTracer.startSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } });
      res.once('finish', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        span.end();
      });
      context.with(trace.setSpan(context.active(), span), next);
    });
  }
  if (which === 'floor') app.use(floorTelemetry(host.tracerProvider, host.meterProvider, registry));
  app.get('/cpu', (_req, res) => {
    const { user, system } = process.cpuUsage();
    res.json({ cpuMicros: user + system, mainMicros: mainThreadMicros() });
  });
  app.use('/v1', createFallbackRouter(options));
  const s = await listen(app as unknown as http.RequestListener);
  console.log(`URL ${s.url}`);
  process.on('SIGTERM', () => {
    void host.shutdown().finally(() => process.exit(0));
  });
}

/**
 * The CPU time of this process's main thread alone, in µs (Linux: /proc/self/task/<pid>/stat, in
 * clock ticks of 10 ms), or NaN elsewhere. The whole process's time counts V8's helper threads
 * (garbage collection) too; at saturation the main thread is what bounds the throughput.
 */
function mainThreadMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}


/** Starts a router process; resolves with its base URL. */
function startRouter(which: Which, upstreamURL: string): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_PROFILE=<dir>: each router process writes a CPU profile there (node --cpu-prof).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', which, upstreamURL], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /URL (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`the ${which} router exited with ${code}`)));
  });
}

/** The router process's CPU time so far, and its main thread's, in µs. */
async function cpuOf(url: string): Promise<{ cpuMicros: number; mainMicros: number }> {
  const res = await fetch(`${url}/cpu`);
  return (await res.json()) as { cpuMicros: number; mainMicros: number };
}

async function main(): Promise<void> {
  const up = await startUpstream();
  // The floor process (the host making the SDK and prom-client calls itself) runs beside the
  // other two when all the telemetry is on, so that its figures come from the same rounds.
  const kinds: Which[] = ON === 'all' ? ['off', 'on', 'floor'] : ['off', 'on'];
  const routers = {} as Record<Which, { url: string; child: ChildProcess }>;
  for (const which of kinds) routers[which] = await startRouter(which, up.url);
  const headers = { 'x-portkey-provider': 'openai' };

  console.log(
    `observability overhead (on: ${ON}${HOSTS[process.env.BENCH_HOST ?? ''] ?? ''}): ${ROUNDS} rounds of ${N} requests, ${CONCURRENCY} at a time (after 200 warm-up requests each), ${kinds.join(', ')} interleaved, each router in its own process\n`,
  );
  const col = (text: string, width: number): string => text.padStart(width);
  console.log(['round', ...kinds.map((k) => col(`${k} req/s`, 11)), col('on/off', 8), ...(kinds.includes('floor') ? [col('floor/off', 9)] : []), ...kinds.map((k) => col(`${k} main µs`, 12))].join(' '));
  const rps = { off: [] as number[], on: [] as number[], floor: [] as number[] };
  const cpu = { off: [] as number[], on: [] as number[], floor: [] as number[] };
  const main = { off: [] as number[], on: [] as number[], floor: [] as number[] };
  const perReq = (xs: number[]): number => median(xs) / (N + 200); // the warm-up requests count in the CPU time too
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotate which goes first, so a trend over the run does not favour one.
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]!);
    for (const which of order) {
      const url = routers[which].url;
      const before = await cpuOf(url);
      rps[which].push((await run(which, `${url}/v1/chat/completions`, headers, N, CONCURRENCY)).rps);
      const after = await cpuOf(url);
      cpu[which].push(after.cpuMicros - before.cpuMicros);
      main[which].push(after.mainMicros - before.mainMicros);
    }
    const last = (xs: number[]): number => xs.at(-1)!;
    console.log(
      [
        col(String(round), 5),
        ...kinds.map((k) => col(last(rps[k]).toFixed(0), 11)),
        col((last(rps.on) / last(rps.off)).toFixed(3), 8),
        ...(kinds.includes('floor') ? [col((last(rps.floor) / last(rps.off)).toFixed(3), 9)] : []),
        ...kinds.map((k) => col((last(main[k]) / (N + 200)).toFixed(0), 12)),
      ].join(' '),
    );
  }
  // Each round's runs went back to back under the same load: the median of the rounds' ratios is
  // steadier than the ratio of the medians on a shared machine.
  const ratioOf = (a: number[], b: number[]): number => median(a.map((x, i) => x / b[i]!));
  console.log(`\nmedian: ${kinds.map((k) => `${k} ${median(rps[k]).toFixed(0)} req/s`).join(', ')}; median of the rounds' on/off = ${ratioOf(rps.on, rps.off).toFixed(3)} (target >= 0.9)`);
  if (kinds.includes('floor')) {
    console.log(`the libraries alone (floor: the host makes the same SDK and prom-client calls, the router's telemetry off): median of the rounds' floor/off = ${ratioOf(rps.floor, rps.off).toFixed(3)}, on/floor = ${ratioOf(rps.on, rps.floor).toFixed(3)}`);
  }
  const figures = (of: Record<Which, number[]>): string => {
    const parts = kinds.map((k) => `${k} ${perReq(of[k]).toFixed(0)} µs`);
    return `${parts.join(', ')} (on/off ${(perReq(of.on) / perReq(of.off)).toFixed(3)}${kinds.includes('floor') ? `, floor/off ${(perReq(of.floor) / perReq(of.off)).toFixed(3)}` : ''})`;
  };
  console.log(`router CPU per request: ${figures(cpu)}`);
  console.log(`router main thread CPU per request: ${figures(main)}`);

  agent.destroy();
  up.server.closeAllConnections();
  up.server.close();
  for (const r of Object.values(routers)) r.child.kill('SIGTERM');
  process.exit(0);
}

const serving = process.argv.indexOf('--serve');
(serving >= 0 ? serve(process.argv[serving + 1] as Which, process.argv[serving + 2]!) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
