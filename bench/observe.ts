/**
 * What observability costs (issue #14: within 10% at c=32): the router's throughput with
 * telemetry and metrics off against on, interleaved round by round in one run so that a busy
 * machine slows both alike.
 *
 *   npm run build && node --import tsx bench/observe.ts   (BENCH_ROUNDS, BENCH_REQUESTS, BENCH_CONCURRENCY,
 *                                              BENCH_PROFILE=<dir> for the routers' CPU profiles)
 *
 * BENCH_ON=metrics turns on only the metrics (Prometheus and OpenTelemetry, no spans), BENCH_ON=spans
 * only the spans; the default, all, both. BENCH_HOST=instrumented makes both hosts do what an HTTP
 * server instrumentation (@opentelemetry/instrumentation-http) does for every request: a SERVER
 * span, made active with `context.with` around the rest of the request (so the router's request
 * span is its child, and the context manager's async hooks are on in both processes); the default
 * host has the SDK registered and nothing else.
 *
 * Both router processes are the same host: the OpenTelemetry SDK registered globally as a host
 * would (an AsyncLocalStorage context manager, a BasicTracerProvider with a BatchSpanProcessor, a
 * MeterProvider with a PeriodicExportingMetricReader every second, both exporting to a no-op
 * exporter) and a prom-client Registry scraped every second. What differs is the router:
 * - off: `telemetry: false`, no `metrics` (nothing subscribed, nothing loaded);
 * - on: the router's spans and metrics on, its Prometheus metrics in that Registry.
 *
 * Each router runs in a process of its own (this file with `--serve off|on`), so that what one
 * costs (the OpenTelemetry context manager's async hooks included) is charged to it alone, not to
 * the load generator and the upstream, which share the parent process. Both serve one chat target
 * on a fake OpenAI upstream on 127.0.0.1 (an answer with usage, so tokens and cost are counted).
 * Prints each round, the median of the rounds' ratios, and each router process's CPU time per
 * request (process.cpuUsage), which a busy machine disturbs less than throughput.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { context, metrics, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import client from 'prom-client';
import type { RouterOptions, createFallbackRouter as CreateFallbackRouter } from '../lib/index.js';
import { agent, listen, run } from './load.js';
import { startUpstream } from './upstream.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const N = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ON = (process.env.BENCH_ON ?? 'all') as 'all' | 'metrics' | 'spans';

/** Exporters that drop everything, as fast as an exporter can be: the cost measured is ours and the SDK's. */
const spanExporter: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
const metricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: 0 }),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** A router in this process (the child's side): prints its URL, answers GET /cpu with its CPU time. */
async function serve(which: 'off' | 'on', upstreamURL: string): Promise<void> {
  let providers: { shutdown(): Promise<void> }[] = [];
  let registry: client.Registry | undefined;
  let hostTracer: ReturnType<BasicTracerProvider['getTracer']> | undefined;
  // The host is the same in both processes (the SDK registered as a host would): what differs is
  // only whether the router's telemetry and metrics are on, so the difference is their cost.
  {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] });
    if (ON !== 'metrics') trace.setGlobalTracerProvider(tracerProvider);
    const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] });
    if (ON !== 'spans') metrics.setGlobalMeterProvider(meterProvider);
    providers = [tracerProvider, meterProvider];
    hostTracer = tracerProvider.getTracer('bench-host-http');
    registry = new client.Registry();
    const scrape = registry;
    setInterval(() => void scrape.metrics(), 1000).unref();
  }
  const base: RouterOptions = {
    providers: { openai: { apiKey: 'sk-bench', baseURL: upstreamURL } },
    pricing: { 'gpt-4o': { input: 2.5, output: 10 } },
    logger: { warn: () => undefined, error: console.error },
  };
  const options: RouterOptions =
    which === 'off' ? { ...base, telemetry: false } : { ...base, telemetry: true, ...(ON !== 'spans' && registry ? { metrics: { registry, modelLabels: ['gpt-4o'] } } : {}) };
  // The router as it ships (dist/, `npm run build` first), as bench/stack.ts measures it; BENCH_DIST names another build.
  const { createFallbackRouter } = (await import(process.env.BENCH_DIST ?? '../dist/index.js')) as { createFallbackRouter: typeof CreateFallbackRouter };
  const app = express();
  if (process.env.BENCH_HOST === 'instrumented') {
    // What an HTTP server instrumentation does per request, in both processes alike.
    app.use((req, res, next) => {
      const span = hostTracer!.startSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } });
      res.once('finish', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        span.end();
      });
      context.with(trace.setSpan(context.active(), span), next);
    });
  }
  app.get('/cpu', (_req, res) => {
    const { user, system } = process.cpuUsage();
    res.json({ cpuMicros: user + system });
  });
  app.use('/v1', createFallbackRouter(options));
  const s = await listen(app as unknown as http.RequestListener);
  console.log(`URL ${s.url}`);
  process.on('SIGTERM', () => {
    void Promise.all(providers.map((p) => p.shutdown())).finally(() => process.exit(0));
  });
}

/** Starts a router process; resolves with its base URL. */
function startRouter(which: 'off' | 'on', upstreamURL: string): Promise<{ url: string; child: ChildProcess }> {
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

/** The router process's CPU time so far, in µs. */
async function cpuOf(url: string): Promise<number> {
  const res = await fetch(`${url}/cpu`);
  return ((await res.json()) as { cpuMicros: number }).cpuMicros;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const up = await startUpstream();
  const routers = { off: await startRouter('off', up.url), on: await startRouter('on', up.url) };
  const headers = { 'x-portkey-provider': 'openai' };

  console.log(`observability overhead (on: ${ON}${process.env.BENCH_HOST === 'instrumented' ? ', hosts with an HTTP server span per request' : ''}): ${ROUNDS} rounds of ${N} requests, ${CONCURRENCY} at a time (after 200 warm-up requests each), off and on interleaved, each router in its own process\n`);
  console.log('round      off req/s      on req/s   on/off   off CPU µs/req   on CPU µs/req');
  const offRps: number[] = [];
  const onRps: number[] = [];
  const cpu = { off: [] as number[], on: [] as number[] };
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which goes first, so a trend over the run does not favour one.
    const order = round % 2 === 1 ? (['off', 'on'] as const) : (['on', 'off'] as const);
    const got: Record<string, number> = {};
    for (const which of order) {
      const url = routers[which].url;
      const before = await cpuOf(url);
      got[which] = (await run(which, `${url}/v1/chat/completions`, headers, N, CONCURRENCY)).rps;
      cpu[which].push((await cpuOf(url)) - before);
    }
    offRps.push(got.off!);
    onRps.push(got.on!);
    // The warm-up requests count in the CPU time too.
    const perReq = (which: 'off' | 'on'): number => cpu[which].at(-1)! / (N + 200);
    console.log(
      `${String(round).padStart(5)} ${got.off!.toFixed(0).padStart(13)} ${got.on!.toFixed(0).padStart(13)} ${(got.on! / got.off!).toFixed(3).padStart(8)} ${perReq('off').toFixed(0).padStart(16)} ${perReq('on').toFixed(0).padStart(15)}`,
    );
  }
  // Each round's pair ran back to back under the same load: the median of the pairs' ratios is
  // steadier than the ratio of the medians on a shared machine.
  const ratio = median(onRps.map((on, i) => on / offRps[i]!));
  const cpuOff = median(cpu.off) / (N + 200);
  const cpuOn = median(cpu.on) / (N + 200);
  console.log(`\nmedian: off ${median(offRps).toFixed(0)} req/s, on ${median(onRps).toFixed(0)} req/s; median of the rounds' on/off = ${ratio.toFixed(3)} (target >= 0.9)`);
  console.log(`router CPU per request: off ${cpuOff.toFixed(0)} µs, on ${cpuOn.toFixed(0)} µs (on/off ${(cpuOn / cpuOff).toFixed(3)})`);

  agent.destroy();
  up.server.closeAllConnections();
  up.server.close();
  for (const r of Object.values(routers)) r.child.kill('SIGTERM');
  process.exit(0);
}

const serving = process.argv.indexOf('--serve');
(serving >= 0 ? serve(process.argv[serving + 1] as 'off' | 'on', process.argv[serving + 2]!) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
