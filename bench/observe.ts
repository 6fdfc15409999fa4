/**
 * What observability costs (issue #14: within 10% at c=32): the router's throughput with
 * telemetry and metrics off against on, interleaved round by round in one run so that a busy
 * machine slows both alike.
 *
 *   node --import tsx bench/observe.ts        (BENCH_ROUNDS, BENCH_REQUESTS, BENCH_CONCURRENCY)
 *
 * BENCH_ON=metrics turns on only the metrics (Prometheus and OpenTelemetry, no spans), BENCH_ON=spans
 * only the spans; the default, all, both.
 *
 * - off: `telemetry: false`, no `metrics` (nothing subscribed, nothing loaded);
 * - on: the OpenTelemetry SDK registered globally as a host would (an AsyncLocalStorage context
 *   manager, a BasicTracerProvider with a BatchSpanProcessor, a MeterProvider with a
 *   PeriodicExportingMetricReader every second, both exporting to a no-op exporter), the router's
 *   spans and metrics on, and Prometheus metrics in a prom-client Registry scraped every second.
 *
 * Both routers serve one chat target on a fake OpenAI upstream on 127.0.0.1 (an answer with
 * usage, so tokens and cost are counted). Prints each round and the median of the rounds' ratios.
 */
import http from 'node:http';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import client from 'prom-client';
import { createFallbackRouter, type RouterOptions } from '../lib/index.js';
import { agent, listen, run } from './load.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const N = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ON = (process.env.BENCH_ON ?? 'all') as 'all' | 'metrics' | 'spans';

const answer = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench upstream.' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 },
});

function upstream(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
}

/** Exporters that drop everything, as fast as an exporter can be: the cost measured is ours and the SDK's. */
const spanExporter: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
const metricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: 0 }),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

async function gateway(options: RouterOptions): Promise<{ url: string; server: http.Server }> {
  const app = express();
  app.use('/v1', createFallbackRouter({ logger: { warn: () => undefined, error: console.error }, ...options }));
  const s = await listen(app as unknown as http.RequestListener);
  return { url: `${s.url}/v1/chat/completions`, server: s.server };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const up = await listen(upstream);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  if (ON !== 'metrics') trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] });
  if (ON !== 'spans') metrics.setGlobalMeterProvider(meterProvider);
  const registry = new client.Registry();
  let scraped = 0;
  const scraper = setInterval(() => {
    void registry.metrics().then((text) => {
      scraped = text.length;
    });
  }, 1000);

  const base: RouterOptions = {
    providers: { openai: { apiKey: 'sk-bench', baseURL: up.url } },
    pricing: { 'gpt-4o': { input: 2.5, output: 10 } },
  };
  const off = await gateway({ ...base, telemetry: false });
  const on = await gateway({ ...base, telemetry: true, ...(ON !== 'spans' ? { metrics: { registry, modelLabels: ['gpt-4o'] } } : {}) });
  const headers = { 'x-portkey-provider': 'openai' };

  console.log(`observability overhead (on: ${ON}): ${ROUNDS} rounds of ${N} requests, ${CONCURRENCY} at a time (after 200 warm-up requests each), off and on interleaved\n`);
  console.log('round      off req/s      on req/s   on/off');
  const offRps: number[] = [];
  const onRps: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which goes first, so a trend over the run does not favour one.
    const order = round % 2 === 1 ? (['off', 'on'] as const) : (['on', 'off'] as const);
    const got: Record<string, number> = {};
    for (const which of order) got[which] = (await run(which, which === 'off' ? off.url : on.url, headers, N, CONCURRENCY)).rps;
    offRps.push(got.off!);
    onRps.push(got.on!);
    console.log(`${String(round).padStart(5)} ${got.off!.toFixed(0).padStart(13)} ${got.on!.toFixed(0).padStart(13)} ${(got.on! / got.off!).toFixed(3).padStart(8)}`);
  }
  // Each round's pair ran back to back under the same load: the median of the pairs' ratios is
  // steadier than the ratio of the medians on a shared machine.
  const ratio = median(onRps.map((on, i) => on / offRps[i]!));
  console.log(`\nmedian: off ${median(offRps).toFixed(0)} req/s, on ${median(onRps).toFixed(0)} req/s; median of the rounds' on/off = ${ratio.toFixed(3)} (target >= 0.9)`);
  console.log(`(the Prometheus text was ${scraped} bytes at the last scrape)`);

  clearInterval(scraper);
  agent.destroy();
  for (const s of [up.server, off.server, on.server]) {
    s.closeAllConnections();
    s.close();
  }
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
