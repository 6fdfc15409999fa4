/**
 * The router's own share of what observability costs, apart from the libraries': three routers in
 * one process, loaded in turns in short batches, so that every change of the machine's load falls
 * on all three alike (bench/observe.ts, one process per router, measures throughput; on a busy
 * machine its rounds move by more than the router's share):
 * - off: `telemetry: false`, no `metrics`;
 * - floor: off, and the host making the same OpenTelemetry SDK and prom-client calls itself
 *   (bench/otel-host.ts): the libraries' cost;
 * - on: the router's spans and metrics on (its Prometheus metrics in the process's registry).
 * The host is bench/observe.ts's, with the context manager's hooks on from the start (they are
 * the process's, not one router's). Prints the process's CPU time per request of each (the load
 * generator and the upstream included: the same for all three) and the median over the batches
 * of floor − off (the libraries) and on − floor (the router's own work).
 *
 *   npm run build && node --import tsx bench/observe-share.ts   (BENCH_BATCHES, BENCH_REQUESTS per
 *                       batch, BENCH_CONCURRENCY; BENCH_DIST_BEFORE=<dist/index.js of another build>
 *                       adds a fourth router, "before": that build with its telemetry on)
 */
import express from 'express';
import type http from 'node:http';
import type { RouterOptions, createFallbackRouter as CreateFallbackRouter } from '../lib/index.js';
import { floorTelemetry, startOtelHost } from './otel-host.js';
import { agent, listen, median, run } from './load.js';
import { startUpstream } from './upstream.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 30);
const N = Number(process.env.BENCH_REQUESTS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

type Factory = typeof CreateFallbackRouter;
const load = async (path: string): Promise<Factory> => ((await import(path)) as { createFallbackRouter: Factory }).createFallbackRouter;

async function main(): Promise<void> {
  const host = startOtelHost({ hooks: true });
  const { tracerProvider, meterProvider, registry } = host;

  const up = await startUpstream();
  const current = await load(process.env.BENCH_DIST ?? '../dist/index.js');
  const before = process.env.BENCH_DIST_BEFORE;
  const kinds = ['off', 'floor', 'on', ...(before ? ['before'] : [])];
  const base: RouterOptions = {
    providers: { openai: { apiKey: 'sk-bench', baseURL: up.url } },
    pricing: { 'gpt-4o': { input: 2.5, output: 10 } },
    logger: { warn: () => undefined, error: console.error },
  };
  const on: RouterOptions = { ...base, telemetry: true, metrics: { registry, modelLabels: ['gpt-4o'] } };
  const headers = { 'x-portkey-provider': 'openai' };
  const urls: Record<string, string> = {};
  const servers: http.Server[] = [];
  for (const kind of kinds) {
    const app = express();
    if (kind === 'floor') app.use(floorTelemetry(tracerProvider, meterProvider, registry));
    const make = kind === 'before' ? await load(before!) : current;
    app.use('/v1', make(kind === 'on' || kind === 'before' ? on : { ...base, telemetry: false }));
    const s = await listen(app as unknown as http.RequestListener);
    servers.push(s.server);
    urls[kind] = `${s.url}/v1/chat/completions`;
  }
  console.log(`the router's share of observability: ${kinds.join(', ')} in one process, ${BATCHES} batches of ${N} requests each, ${CONCURRENCY} at a time (after 200 warm-up requests per batch), in turns\n`);
  const cpu: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let b = 0; b < BATCHES; b++) {
    // Rotate which goes first, so a trend over the run does not favour one.
    for (const kind of kinds.map((_, i) => kinds[(i + b) % kinds.length]!)) {
      const t0 = process.cpuUsage();
      await run(kind, urls[kind]!, headers, N, CONCURRENCY);
      const t = process.cpuUsage(t0);
      cpu[kind]!.push((t.user + t.system) / (N + 200));
    }
  }
  const delta = (a: string, b: string): number => median(cpu[a]!.map((x, i) => x - cpu[b]![i]!));
  for (const kind of kinds) console.log(`${kind.padEnd(7)} process CPU per request ${median(cpu[kind]!).toFixed(0)} µs`);
  console.log(`\nmedian over the batches: floor − off ${delta('floor', 'off').toFixed(1)} µs (the libraries), on − floor ${delta('on', 'floor').toFixed(1)} µs (the router's own)`);
  if (before) console.log(`before − floor ${delta('before', 'floor').toFixed(1)} µs, on − before ${delta('on', 'before').toFixed(1)} µs`);

  agent.destroy();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  up.server.closeAllConnections();
  up.server.close();
  await host.shutdown();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
