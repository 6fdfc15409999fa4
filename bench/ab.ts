/**
 * Two servers of bench/servers.mjs against each other, interleaved round by round at 32
 * connections: each round's throughput and CPU µs per request, and the median of the rounds'
 * B/A ratios. For weighing one change (a build of before against one of after) on a busy machine.
 *
 *   npm run build && node --import tsx bench/ab.ts <A> <B> [header JSON]
 *
 * A and B are kinds (`ceiling`, `router`, ...), a router kind optionally with another build:
 * `router@/tmp/before/dist/index.js`. BENCH_ROUNDS (default 6), BENCH_REQUESTS (per round,
 * default 3000), BENCH_CONCURRENCY (default 32), BENCH_STREAM=1 for streamed requests.
 */
import { startChild, type Child } from './host.js';
import { median, run, streamBody } from './load.js';
import { startUpstream } from './upstream.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const N = Number(process.env.BENCH_REQUESTS ?? 3000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** BENCH_STREAM=1: streamed requests (read to their end) instead of JSON ones. */
const PAYLOAD = process.env.BENCH_STREAM === '1' ? streamBody : undefined;

async function start(spec: string, upstream: string): Promise<Child> {
  const [kind, dist] = spec.split('@') as [string, string | undefined];
  return startChild([kind, upstream, process.env.BENCH_ROUTER_OPTIONS ?? '{}'], kind, dist ? { ...process.env, BENCH_DIST: dist } : process.env);
}

async function main(): Promise<void> {
  const [a, b, headerJson = '{"x-portkey-provider":"openai"}'] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: bench/ab.ts <A> <B> [header JSON]');
  const headers = JSON.parse(headerJson) as Record<string, string>;
  const up = await startUpstream();
  const servers = [await start(a, up.url), await start(b, up.url)] as const;
  const rps: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  try {
    for (const s of servers) await run('warm-up', `${s.url}/v1/chat/completions`, headers, 1000, C, PAYLOAD);
    console.log(`A = ${a}, B = ${b}: ${ROUNDS} rounds of ${N} requests at c=${C}\n`);
    console.log('round   A req/s   B req/s   B/A    A µs/req  B µs/req   B/A');
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const s = servers[i]!;
        const before = (await s.stats()).cpuMicros;
        // run() warms up with 200 sequential requests first; the CPU window covers them too.
        rps[i as 0 | 1].push((await run('', `${s.url}/v1/chat/completions`, headers, N, C, PAYLOAD)).rps);
        cpu[i as 0 | 1].push(((await s.stats()).cpuMicros - before) / (N + 200));
      }
      const r = (xs: number[][]): string => (xs[1]!.at(-1)! / xs[0]!.at(-1)!).toFixed(3);
      console.log(`${String(round + 1).padStart(5)} ${rps[0].at(-1)!.toFixed(0).padStart(9)} ${rps[1].at(-1)!.toFixed(0).padStart(9)} ${r(rps).padStart(6)} ${cpu[0].at(-1)!.toFixed(0).padStart(10)} ${cpu[1].at(-1)!.toFixed(0).padStart(9)} ${r(cpu).padStart(6)}`);
    }
    const ratio = (xs: number[][]): number => median(xs[1]!.map((v, i) => v / xs[0]![i]!));
    console.log(`\nmedian: A ${median(rps[0]).toFixed(0)} req/s ${median(cpu[0]).toFixed(0)} µs/req; B ${median(rps[1]).toFixed(0)} req/s ${median(cpu[1]).toFixed(0)} µs/req`);
    console.log(`B/A: throughput ${ratio(rps).toFixed(3)}, CPU per request ${ratio(cpu).toFixed(3)} (medians of the rounds' ratios)`);
  } finally {
    for (const s of servers) await s.stop();
    up.server.close();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
