/**
 * Where a server's CPU goes: starts one server of bench/servers.mjs with `--cpu-prof`, loads it at
 * 32 connections, stops it and sums the profile's self time by where the code lives (the router,
 * express and its dependencies, axios, joi, node's own JavaScript, the garbage collector, ...),
 * then lists the heaviest functions.
 *
 *   npm run build && node --import tsx bench/profile.ts [kind] [requests] [header JSON]
 *
 * kind is a bench/servers.mjs kind (default `router`); the header JSON is sent with every request
 * (default `{"x-portkey-provider":"openai"}`); BENCH_STREAM=1 sends streamed requests; BENCH_ROUTER_OPTIONS adds router options (JSON). The profile is left in bench/out/profiles.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startChild } from './host.js';
import { run, streamBody } from './load.js';
import { startUpstream } from './upstream.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the stack a function belongs to, from its script's URL. */
export function bucketOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(idle)' || name === '(program)' || name === '(root)') return name.slice(1, -1);
  if (url === '') return 'native';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) {
    const name = pkg[1]!;
    if (name === 'axios' || name === 'follow-redirects' || name === 'form-data' || name === 'proxy-from-env') return 'axios';
    if (name === 'joi' || name.startsWith('@hapi/') || name.startsWith('@sideway/')) return 'joi';
    if (name === 'debug' || name === 'ms') return 'debug';
    return `express (${name})`;
  }
  if (url.includes('/dist/')) return 'router (ours)';
  if (url.startsWith('node:')) return 'node (js)';
  return 'other';
}

/** Self time by bucket and by function, in ms, and the total. */
export function split(profile: Profile): { total: number; buckets: Map<string, number>; functions: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of self) {
    const n = byId.get(id)!;
    const bucket = bucketOf(n.callFrame.url, n.callFrame.functionName);
    if (bucket === 'idle') continue;
    total += micros;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + micros);
    const where = n.callFrame.url.replace(/^.*\/(node_modules\/|dist\/)/, '$1');
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
  }
  return { total, buckets, functions };
}

async function main(): Promise<void> {
  const [kind = 'router', requests = '20000', headerJson = '{"x-portkey-provider":"openai"}'] = process.argv.slice(2);
  const dir = join(process.cwd(), 'bench/out/profiles');
  mkdirSync(dir, { recursive: true });
  process.env.BENCH_PROFILE = dir;
  const up = await startUpstream();
  const child = await startChild([kind, up.url, process.env.BENCH_ROUTER_OPTIONS ?? '{}'], `${kind}`);
  const n = Number(requests);
  const before = await child.stats();
  const result = await run(kind, `${child.url}/v1/chat/completions`, JSON.parse(headerJson) as Record<string, string>, n, 32, process.env.BENCH_STREAM === '1' ? streamBody : undefined);
  const after = await child.stats();
  await child.stop();
  up.server.close();
  const newest = readdirSync(dir)
    .filter((f) => f.startsWith(`${kind}.`) && f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
  const { total, buckets, functions } = split(JSON.parse(readFileSync(newest, 'utf8')) as Profile);
  const perReq = (micros: number): string => (micros / (n + 200)).toFixed(1);
  console.log(`${kind}: ${n} requests at c=32, ${result.rps.toFixed(0)} req/s, CPU ${((after.cpuMicros - before.cpuMicros) / (n + 200)).toFixed(0)} µs/req (process), profile ${newest}\n`);
  console.log('self time by part (µs per request, share of the non-idle profile):');
  for (const [b, micros] of [...buckets].sort((x, y) => y[1] - x[1])) console.log(`  ${b.padEnd(34)} ${perReq(micros).padStart(7)}  ${((micros / total) * 100).toFixed(1).padStart(5)}%`);
  console.log('\nheaviest functions (self µs per request):');
  for (const [fn, micros] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.BENCH_TOP ?? 40))) console.log(`  ${perReq(micros).padStart(6)}  ${fn}`);
  process.exit(0);
}

if (process.argv[1]?.endsWith('profile.ts')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
