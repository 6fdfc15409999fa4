/**
 * `npm run bench` (bench/redis.ts on its own), several instances: the router with the Redis stores of
 * `express-llm-fallback/redis` (breaker on, every trace recorded) against the same router with
 * the in-memory stores, on a redis-server of its own (skipped when none is installed):
 *
 *   1. added latency at concurrency 1 and throughput at concurrency 32 (target: within 5%);
 *      each round runs the two back to back, and the median of the rounds' ratios is shown
 *      (pairs are less noisy than separate medians on a shared machine);
 *   2. the trace listing among 100,000 traces: `list` of the newest 100, by config id, by a
 *      combination of filters, and `get` of one trace id.
 */
import express from 'express';
import { Redis } from 'ioredis';
import { createFallbackRouter, type RouterOptions } from '../lib/index.js';
import { createRedisStores } from '../lib/redis.js';
import type { Trace } from '../lib/trace/types.js';
import { redisServerInstalled, startRedisServer } from '../test/helpers/redis-server.js';
import { listen, run, type Result } from './load.js';

const ROUNDS = Number(process.env.BENCH_REDIS_ROUNDS ?? 5);
const N_SERIAL = Number(process.env.BENCH_REDIS_SERIAL ?? 1000);
const N_PARALLEL = Number(process.env.BENCH_REDIS_PARALLEL ?? 4000);
const TRACES = Number(process.env.BENCH_TRACES ?? 100_000);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A trace of the size a one-attempt request has (~0.8 KB of JSON). */
function sampleTrace(i: number, at: number): Trace {
  const provider = ['openai', 'anthropic', 'azure-openai'][i % 3]!;
  return {
    traceId: `bench-${i}`,
    requestId: `req-${i}-${at}`,
    configId: `cfg-${i % 10}`,
    endpoint: 'chat',
    stream: false,
    startedAt: new Date(at).toISOString(),
    status: i % 20 === 0 ? 503 : 200,
    servedPath: 'config.targets[0]',
    provider,
    model: 'gpt-4o',
    latencyMs: 420,
    attempts: [
      { path: 'config.targets[0]', provider, model: 'gpt-4o', status: 200, retry: 0, startedAt: new Date(at).toISOString(), latencyMs: 418, served: true, usage: { promptTokens: 120, completionTokens: 80, totalTokens: 200 }, costUsd: 0.0011 },
    ],
    totals: { promptTokens: 120, completionTokens: 80, totalTokens: 200, costUsd: 0.0011, attempts: 1, unpricedAttempts: 0 },
  };
}

async function timeIt(times: number, call: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await call();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(ms.length / 2)]!, p99: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]! };
}

/** Prints both sections; `upstream` is the bench's OpenAI-like upstream (its /ok path answers). */
export async function benchRedis(upstream: string): Promise<void> {
  console.log('\nseveral instances: the router with Redis stores against the in-memory stores (breaker on, traces recorded)\n');
  if (!redisServerInstalled()) {
    console.log('skipped: redis-server is not installed (apt-get install redis-server)');
    return;
  }
  const server = await startRedisServer();
  const redis = new Redis(server.port, '127.0.0.1');
  const sendCommand = (command: string, ...args: string[]): Promise<unknown> => redis.call(command, ...args);
  const stores = createRedisStores({ sendCommand, prefix: 'bench:' });
  const base: RouterOptions = {
    providers: { openai: { apiKey: 'sk-bench', baseURL: `${upstream}/ok` } },
    circuitBreaker: {},
    logger: { warn: () => undefined, error: console.error },
  };
  const app = (options: RouterOptions): express.Express => express().use('/v1', createFallbackRouter(options));
  const memory = await listen(app(base) as unknown as Parameters<typeof listen>[0]);
  const shared = await listen(app({ ...base, breakerStore: stores.breaker, traceStore: stores.traces }) as unknown as Parameters<typeof listen>[0]);
  const headers = { 'x-portkey-provider': 'openai' };
  const rows: Record<string, Result[]> = { 'memory c1': [], 'redis c1': [], 'memory c32': [], 'redis c32': [] };
  const cpuRows: Record<string, Array<{ node: number; redis: number }>> = { 'memory c1': [], 'redis c1': [], 'memory c32': [], 'redis c32': [] };
  const redisCpuSeconds = async (): Promise<number> => {
    const info = String(await sendCommand('INFO', 'cpu'));
    return ['used_cpu_sys', 'used_cpu_user'].reduce((sum, name) => sum + Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0), 0);
  };
  try {
    const urls = { memory: `${memory.url}/v1/chat/completions`, redis: `${shared.url}/v1/chat/completions` };
    for (let round = 0; round < ROUNDS; round++) {
      // Each round runs both back to back, the first of them alternating, so drift cancels out.
      const order = round % 2 === 0 ? (['memory', 'redis'] as const) : (['redis', 'memory'] as const);
      for (const [c, n] of [[1, N_SERIAL], [32, N_PARALLEL]] as const) {
        for (const store of order) {
          const [cpu, redisCpu] = [process.cpuUsage(), await redisCpuSeconds()];
          rows[`${store} c${c}`]!.push(await run(store, urls[store], headers, n, c));
          const used = process.cpuUsage(cpu);
          // CPU per request (the 200 warm-up requests included): this process (client, router
          // and upstream together), and redis-server.
          cpuRows[`${store} c${c}`]!.push({ node: (used.user + used.system) / (n + 200), redis: ((await redisCpuSeconds()) - redisCpu) * 1e6 / (n + 200) });
        }
      }
    }
    const col = (name: string, by: (r: Result) => number): number => median(rows[name]!.map(by));
    const ratio = (a: string, b: string, by: (r: Result) => number): number => median(rows[a]!.map((r, i) => by(r) / by(rows[b]![i]!)));
    console.log(`${N_SERIAL} requests at c=1 and ${N_PARALLEL} at c=32 per round, ${ROUNDS} rounds (both in each, in turns), medians\n`);
    const cpu = (name: string, of: 'node' | 'redis'): string => median(cpuRows[name]!.map((r) => r[of])).toFixed(0);
    console.log('stores        c=1 p50 ms  c=1 p99 ms   c=32 req/s  c=32 p99 ms   CPU us/req at c=32: this process, redis-server');
    for (const [name, store] of [['in-memory', 'memory'], ['Redis', 'redis']] as const) {
      console.log(
        `${name.padEnd(12)} ${col(`${store} c1`, (r) => r.p50).toFixed(3).padStart(11)} ${col(`${store} c1`, (r) => r.p99).toFixed(3).padStart(11)} ` +
          `${col(`${store} c32`, (r) => r.rps).toFixed(0).padStart(12)} ${col(`${store} c32`, (r) => r.p99).toFixed(2).padStart(12)}   ` +
          `${cpu(`${store} c32`, 'node').padStart(18)} ${cpu(`${store} c32`, 'redis').padStart(13)}`,
      );
    }
    const added = median(rows['redis c1']!.map((r, i) => r.p50 - rows['memory c1']![i]!.p50));
    console.log(
      `Redis against in-memory, median of the rounds: ${added >= 0 ? '+' : ''}${added.toFixed(3)} ms p50 at c=1 (${((ratio('redis c1', 'memory c1', (r) => r.p50) - 1) * 100).toFixed(1)}%); ` +
        `${ratio('redis c32', 'memory c32', (r) => r.rps).toFixed(3)}x req/s at c=32 (target: within 5%)`,
    );
    const perRound = (name: string, show: (r: Result, m: Result) => string): string => rows[`redis ${name}`]!.map((r, i) => show(r, rows[`memory ${name}`]![i]!)).join(', ');
    console.log(`per round, Redis - in-memory p50 ms at c=1: ${perRound('c1', (r, m) => (r.p50 - m.p50).toFixed(3))}`);
    console.log(`per round, Redis / in-memory req/s at c=32: ${perRound('c32', (r, m) => (r.rps / m.rps).toFixed(3))}; stores: ${JSON.stringify(await stores.status())}`);

    // The listing among TRACES traces, recorded through the store (batched), 1000 at a time.
    const list = createRedisStores({ sendCommand, prefix: 'bench-list:', maxTraces: TRACES });
    const filled = performance.now();
    const start = Date.now() - TRACES * 10;
    for (let i = 0; i < TRACES; i += 1000) {
      for (let k = i; k < Math.min(TRACES, i + 1000); k++) list.traces.record(sampleTrace(k, start + k * 10));
      await list.traces.drain();
    }
    const fillSeconds = (performance.now() - filled) / 1000;
    const memoryInfo = String(await sendCommand('INFO', 'memory'));
    const used = /used_memory_human:(\S+)/.exec(memoryInfo)?.[1] ?? '?';
    console.log(`\ntrace listing among ${TRACES} traces (recorded in ${fillSeconds.toFixed(1)} s, ${(TRACES / fillSeconds).toFixed(0)} traces/s; Redis uses ${used}), 50 calls each\n`);
    console.log('call                                                   p50 ms   p99 ms  traces');
    const cases: Array<[string, () => Promise<Trace[] | Trace | undefined>]> = [
      ['list({ limit: 100 }): the newest 100', () => list.traces.list({ limit: 100 })],
      ['list({ configId, limit: 100 })', () => list.traces.list({ configId: 'cfg-3', limit: 100 })],
      ['list({ provider, status: 503, limit: 100 })', () => list.traces.list({ provider: 'anthropic', status: 503, limit: 100 })],
      ['list({ before: the middle, limit: 100 })', () => list.traces.list({ before: start + (TRACES / 2) * 10, limit: 100 })],
      ['get(traceId)', () => list.traces.get(`bench-${Math.floor(TRACES / 3)}`)],
    ];
    for (const [name, call] of cases) {
      const answer = await call();
      const t = await timeIt(50, call);
      const count = Array.isArray(answer) ? answer.length : answer ? 1 : 0;
      console.log(`${name.padEnd(52)} ${t.p50.toFixed(2).padStart(8)} ${t.p99.toFixed(2).padStart(8)} ${String(count).padStart(7)}`);
    }
    await list.close();
  } finally {
    for (const s of [memory.server, shared.server]) {
      s.closeAllConnections();
      s.close();
    }
    await stores.close();
    redis.disconnect();
    await server.stop();
  }
}

// `node --import tsx bench/redis.ts` (npm run bench): against the fake upstream of bench/upstream.ts.
if (process.argv[1]?.endsWith('redis.ts')) {
  const { startUpstream } = await import('./upstream.js');
  const up = await startUpstream();
  benchRedis(up.url).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
