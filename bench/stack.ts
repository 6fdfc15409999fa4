/**
 * The router against its own stack (issue #15, item 1): one run, interleaved round by round, of
 *
 * - `floor`: a bare node:http keep-alive proxy (the physical floor);
 * - `ceiling`: a hand-written Express 5 + axios forwarding route (the ceiling of our stack);
 * - `router`: the router with one target (`x-portkey-provider: openai`);
 * - `router-fallback`: the router with a failing first target (an `x-portkey-config` fallback whose
 *   first target, the virtual key `down`, answers 503, then openai answers 200);
 * - `node-json`, `node-axios`, `express-node` (JSON only): the ceiling's parts apart, so that what
 *   Express, axios and JSON parse+stringify each cost per request is a difference of two;
 *
 *   node --import tsx bench/stack.ts     (`npm run build` first: the servers run dist/)
 *
 * each at 1 and 32 connections (JSON), and floor, ceiling and router streaming (time to the first
 * byte of the body, to the first content token, to the last byte) at 1 and 32 connections; the CPU
 * µs per request of each server process; its peak RSS under the c=32 loads and its settled RSS after
 * the run. Prints the tables, the ratios to the floor and to the ceiling, the per-request cost of
 * each layer of the stack and the issue's targets (PASS/MISS), and writes the same numbers, every
 * round's raw numbers included, as JSON. Exits 0 whatever the numbers: it is a measurement.
 *
 * Settings (environment):
 *   BENCH_ROUNDS    rounds (default 5); each round runs every case once, the order rotated by one
 *                   case per round so that no case always goes first
 *   BENCH_REQUESTS  JSON requests per case per round at c=32 (default 2000); c=1 runs a fifth
 *   BENCH_STREAMS   streams per case per round at c=1 (default 300); c=32 runs four times as many
 *   BENCH_CASES     a comma list of cases to run (default all; ratios need floor and ceiling)
 *   BENCH_JSON      where to write the JSON (default bench/out/stack.json)
 *   BENCH_SETTLE_S  seconds of idle after the load before the settled RSS is read (default 60)
 *   BENCH_PROFILE   <dir>: each server process writes its CPU profile there (bench/host.ts)
 *
 * How it measures:
 * - One child process per server kind (bench/host.ts, bench/servers.mjs on the built package);
 *   `router` and `router-fallback` share the one router process (the router's default options: no
 *   breaker, no retries, so every fallback request is really one 503 then one 200). Sharing keeps
 *   the memory figures those of one process serving both kinds of traffic, as a deployment would;
 *   their CPU and peak-RSS windows are separate, since the cases run one after the other.
 * - The fake upstream (bench/upstream.ts) and the load generator share this process. The load is
 *   closed-loop (N requests, C at a time) over the keep-alive agent of bench/load.ts, JSON
 *   requests with its `post()`. It does not use `run()` of bench/load.ts, whose 200 warm-up
 *   requests per call would sit inside the CPU window (and cost 14,000 requests of run time):
 *   instead each server is warmed up once before round 1 (300 JSON requests, and 100 streams where
 *   it streams), and each load starts with a few unmeasured requests at its concurrency (so its
 *   sockets are open) before the window opens.
 * - CPU: `/__bench/stats` cpuMicros read right before and right after the measured requests,
 *   divided by their number. Peak RSS: `/__bench/reset` right before each c=32 load, `peakRss`
 *   after it (sampled every 10 ms by the child), the maximum over the rounds. Idle RSS: after
 *   `/__bench/gc`, once before the warm-up (cold) and once after it, before round 1 (idle, the
 *   baseline); after the load: `/__bench/gc` 1 s after the last round (1 s after), then RSS every
 *   5 s for BENCH_SETTLE_S seconds (default 60) of idleness, then `/__bench/gc` again (settled).
 *   The wait is V8's: a full collection right after a load leaves the young generation and the
 *   old space at their grown sizes, and only V8's memory reducer, after some 20 to 45 s of low
 *   allocation, gives those pages back (in both the ceiling and the router alike).
 * - Streams: the time from sending the request to the first byte of the response body, to the
 *   first SSE `data:` event whose JSON has a non-empty `choices[0].delta.content` (parsed as the
 *   bytes arrive, across chunk boundaries; parsing stops there to keep the client cheap), and to
 *   the last byte.
 * - Every figure in the tables is the median over the rounds of that round's figure; every ratio
 *   or difference is the median over the rounds of that round's ratio or difference (the pair ran
 *   in the same round, under the same load on the machine), not a ratio of medians.
 */
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { startChild, type Child, type ChildStats } from './host.js';
import { agent, post } from './load.js';
import { startUpstream, STREAM_CHUNKS } from './upstream.js';

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const N32 = Math.max(1, Number(process.env.BENCH_REQUESTS ?? 2000));
const N1 = Math.max(1, Math.round(N32 / 5));
const S1 = Math.max(1, Number(process.env.BENCH_STREAMS ?? 300));
const S32 = S1 * 4;
const WARMUP = 300;
const WARMUP_STREAMS = 100;
const JSON_PATH = process.env.BENCH_JSON ?? path.join('bench', 'out', 'stack.json');

type Kind = 'floor' | 'ceiling' | 'router' | 'node-json' | 'node-axios' | 'express-node';
interface Case {
  name: string;
  kind: Kind;
  headers: Record<string, string>;
  stream: boolean;
}

const FALLBACK = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'down' }, { provider: 'openai' }] });
const ALL_CASES: Case[] = [
  { name: 'floor', kind: 'floor', headers: {}, stream: true },
  { name: 'ceiling', kind: 'ceiling', headers: {}, stream: true },
  { name: 'router', kind: 'router', headers: { 'x-portkey-provider': 'openai' }, stream: true },
  { name: 'router-fallback', kind: 'router', headers: { 'x-portkey-config': FALLBACK }, stream: false },
  { name: 'node-json', kind: 'node-json', headers: {}, stream: false },
  { name: 'node-axios', kind: 'node-axios', headers: {}, stream: false },
  { name: 'express-node', kind: 'express-node', headers: {}, stream: false },
];

// ---------------------------------------------------------------------------------------------
// Load

interface Loop<T> {
  samples: T[];
  errors: number;
  firstError?: string;
  seconds: number;
  /** CPU time this process (load generator and upstream) spent during the loop, µs. */
  parentCpuMicros: number;
}

/** `n` calls of `one`, `concurrency` at a time; failures are counted, not thrown. */
async function closedLoop<T>(n: number, concurrency: number, one: () => Promise<T>): Promise<Loop<T>> {
  const samples: T[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        next += 1;
        try {
          samples.push(await one());
        } catch (err) {
          errors += 1;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  const { user, system } = process.cpuUsage(cpu);
  return { samples, errors, ...(firstError ? { firstError } : {}), seconds: (performance.now() - started) / 1000, parentCpuMicros: user + system };
}

const streamBody = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }], stream: true });

interface StreamTimes {
  firstByte: number;
  firstToken: number;
  lastByte: number;
}

/** Whether one SSE event (its lines, without the blank line that ends it) carries a content token. */
function hasContent(event: string): boolean {
  let data = '';
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data ? `${data}\n${value}` : value;
  }
  if (!data || data === '[DONE]') return false;
  try {
    const content = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown } }> }).choices?.[0]?.delta?.content;
    return typeof content === 'string' && content.length > 0;
  } catch {
    return false;
  }
}

const EVENT_END = /\r?\n\r?\n/;

/** Posts a streamed chat request; resolves with the times (ms from sending) to the first byte, first content token and last byte. */
function postStream(url: string, headers: Record<string, string>): Promise<StreamTimes> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let firstByte = -1;
      let firstToken = -1;
      let pending = '';
      const decoder = new StringDecoder('utf8');
      res.on('data', (chunk: Buffer) => {
        if (firstByte < 0) firstByte = since();
        if (firstToken >= 0 || res.statusCode !== 200) return;
        pending += decoder.write(chunk);
        for (;;) {
          const m = EVENT_END.exec(pending);
          if (!m) break;
          const event = pending.slice(0, m.index);
          pending = pending.slice(m.index + m[0].length);
          if (hasContent(event)) {
            firstToken = since();
            pending = '';
            break;
          }
        }
      });
      res.on('end', () => {
        const lastByte = since();
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} from ${url}`));
        else if (firstToken < 0) reject(new Error(`no content token in the stream from ${url}`));
        else resolve({ firstByte, firstToken, lastByte });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(streamBody);
  });
}

// ---------------------------------------------------------------------------------------------
// Measurements

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
/** The same quantile as bench/load.ts `run()`. */
const quantile = (s: number[], q: number): number => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN);
const median = (xs: number[]): number => {
  const s = sorted(xs.filter((x) => Number.isFinite(x)));
  if (!s.length) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface JsonLoad {
  n: number;
  concurrency: number;
  errors: number;
  firstError?: string;
  p50: number;
  p99: number;
  rps: number;
  cpuPerReq: number;
  /** This process's (load generator and upstream) CPU time during the load over its wall time: 1 = one core busy. */
  parentBusy: number;
  /** Only under c=32: the child's peak RSS during the load, bytes. */
  peakRss?: number;
}

interface StreamLoad {
  n: number;
  concurrency: number;
  errors: number;
  firstError?: string;
  firstByteP50: number;
  firstTokenP50: number;
  lastByteP50: number;
  lastByteP99: number;
  streamsPerSec: number;
  cpuPerStream: number;
  parentBusy: number;
  peakRss?: number;
}

/** Unmeasured requests at the load's concurrency, so that its sockets are open when the window opens. */
const primeCount = (concurrency: number): number => (concurrency === 1 ? 10 : 2 * concurrency);

async function jsonLoad(child: Child, url: string, c: Case, n: number, concurrency: number): Promise<JsonLoad> {
  await closedLoop(primeCount(concurrency), concurrency, () => post(url, c.headers));
  const peak = concurrency > 1;
  const before = peak ? await child.reset() : await child.stats();
  const loop = await closedLoop(n, concurrency, () => post(url, c.headers));
  const after = await child.stats();
  const s = sorted(loop.samples);
  return {
    n,
    concurrency,
    errors: loop.errors,
    ...(loop.firstError ? { firstError: loop.firstError } : {}),
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    rps: loop.samples.length / loop.seconds,
    cpuPerReq: (after.cpuMicros - before.cpuMicros) / n,
    parentBusy: loop.parentCpuMicros / 1e6 / loop.seconds,
    ...(peak ? { peakRss: after.peakRss } : {}),
  };
}

async function streamLoad(child: Child, url: string, c: Case, n: number, concurrency: number): Promise<StreamLoad> {
  await closedLoop(primeCount(concurrency), concurrency, () => postStream(url, c.headers));
  const peak = concurrency > 1;
  const before = peak ? await child.reset() : await child.stats();
  const loop = await closedLoop(n, concurrency, () => postStream(url, c.headers));
  const after = await child.stats();
  const at = (key: keyof StreamTimes, q: number): number => quantile(sorted(loop.samples.map((t) => t[key])), q);
  return {
    n,
    concurrency,
    errors: loop.errors,
    ...(loop.firstError ? { firstError: loop.firstError } : {}),
    firstByteP50: at('firstByte', 0.5),
    firstTokenP50: at('firstToken', 0.5),
    lastByteP50: at('lastByte', 0.5),
    lastByteP99: at('lastByte', 0.99),
    streamsPerSec: loop.samples.length / loop.seconds,
    cpuPerStream: (after.cpuMicros - before.cpuMicros) / n,
    parentBusy: loop.parentCpuMicros / 1e6 / loop.seconds,
    ...(peak ? { peakRss: after.peakRss } : {}),
  };
}

interface CaseRound {
  json1: JsonLoad;
  json32: JsonLoad;
  stream1?: StreamLoad;
  stream32?: StreamLoad;
}

interface Memory {
  /** After a full collection, before the warm-up. */
  idleCold: ChildStats;
  /** After the warm-up and a full collection, before round 1: the baseline. */
  idle: ChildStats;
  /** After the last round, a 1 s pause and a full collection. */
  /** A full collection 1 s after the last round. */
  after1s?: ChildStats;
  /** RSS every 5 s while idle after the load (bytes). */
  idleSeries?: number[];
  settled?: ChildStats;
}

// ---------------------------------------------------------------------------------------------
// Printing

const MB = 1024 * 1024;
const num = (x: number | undefined, digits: number): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(0)}%`);
const signed = (x: number | undefined, digits: number): string => (x === undefined || !Number.isFinite(x) ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

const started = new Map<Kind, Child>();

/** Stops every server process started so far (also on an error or a signal: no orphans). */
async function stopAll(): Promise<void> {
  await Promise.all([...started.values()].map((child) => child.stop()));
}
process.on('exit', () => {
  for (const { child } of started.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const loadAtStart = os.loadavg();
  const wanted = process.env.BENCH_CASES?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted?.filter((name) => !ALL_CASES.some((c) => c.name === name)) ?? [];
  if (unknown.length) throw new Error(`BENCH_CASES: unknown case(s) ${unknown.join(', ')} (known: ${ALL_CASES.map((c) => c.name).join(', ')})`);
  const cases = wanted ? ALL_CASES.filter((c) => wanted.includes(c.name)) : ALL_CASES;
  const kinds = [...new Set(cases.map((c) => c.kind))];

  const up = await startUpstream();
  for (const kind of kinds) started.set(kind, await startChild([kind, up.url], kind));
  const urlOf = (c: Case): string => `${started.get(c.kind)!.url}/v1/chat/completions`;

  console.log(
    `stack bench: ${cases.map((c) => c.name).join(', ')}; ${ROUNDS} round(s), interleaved, order rotated per round; ` +
      `JSON ${N1} requests at c=1 and ${N32} at c=32, streams ${S1} at c=1 and ${S32} at c=32 (${STREAM_CHUNKS} content chunks each), per case per round; ` +
      `node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );

  // Idle (cold), warm-up, idle.
  const memory = new Map<Kind, Memory>();
  const cold = new Map<Kind, ChildStats>();
  for (const kind of kinds) cold.set(kind, await started.get(kind)!.gc());
  for (const c of cases) {
    const loop = await closedLoop(WARMUP, 8, () => post(urlOf(c), c.headers));
    if (loop.errors) console.log(`warm-up ${c.name}: ${loop.errors} of ${WARMUP} failed (${loop.firstError})`);
    if (c.stream) {
      const s = await closedLoop(WARMUP_STREAMS, 8, () => postStream(urlOf(c), c.headers));
      if (s.errors) console.log(`warm-up ${c.name} streams: ${s.errors} of ${WARMUP_STREAMS} failed (${s.firstError})`);
    }
  }
  for (const kind of kinds) memory.set(kind, { idleCold: cold.get(kind)!, idle: await started.get(kind)!.gc() });

  const rounds: Array<{ round: number; order: string[]; seconds: number; results: Record<string, CaseRound> }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const roundStart = performance.now();
    const order = cases.map((_, i) => cases[(i + r) % cases.length]!);
    const results: Record<string, CaseRound> = {};
    for (const c of order) {
      const child = started.get(c.kind)!;
      const url = urlOf(c);
      const json1 = await jsonLoad(child, url, c, N1, 1);
      const json32 = await jsonLoad(child, url, c, N32, 32);
      const result: CaseRound = { json1, json32 };
      if (c.stream) {
        result.stream1 = await streamLoad(child, url, c, S1, 1);
        result.stream32 = await streamLoad(child, url, c, S32, 32);
      }
      results[c.name] = result;
      const errors = [json1, json32, result.stream1, result.stream32].filter((l) => l && l.errors > 0);
      for (const l of errors) console.log(`  round ${r + 1} ${c.name} c=${l!.concurrency}${l === result.stream1 || l === result.stream32 ? ' stream' : ''}: ${l!.errors} of ${l!.n} failed (${l!.firstError})`);
    }
    const seconds = (performance.now() - roundStart) / 1000;
    rounds.push({ round: r + 1, order: order.map((c) => c.name), seconds, results });
    const brief = order.map((c) => `${c.name} ${num(results[c.name]!.json32.rps, 0)}`).join(', ');
    console.log(`round ${r + 1}/${ROUNDS} (${seconds.toFixed(1)} s) c=32 req/s: ${brief}`);
  }

  // After the load: a full collection after 1 s, then idle (V8's memory reducer), then another.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const kind of kinds) memory.get(kind)!.after1s = await started.get(kind)!.gc();
  const settleSeconds = Number(process.env.BENCH_SETTLE_S ?? 60);
  for (const kind of kinds) memory.get(kind)!.idleSeries = [];
  console.log(`idle for ${settleSeconds} s (V8's memory reducer)...`);
  for (let waited = 0; waited < settleSeconds; waited += 5) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    for (const kind of kinds) memory.get(kind)!.idleSeries!.push((await started.get(kind)!.stats()).rss);
  }
  for (const kind of kinds) memory.get(kind)!.settled = await started.get(kind)!.gc();

  // ------------------------------------------------------------------------------------------
  // Summaries: medians over the rounds; ratios and differences per round, then their median.
  const has = (name: string): boolean => cases.some((c) => c.name === name);
  const over = <T>(name: string, pick: (r: CaseRound) => T | undefined): T[] =>
    rounds.map((r) => r.results[name]).filter((x): x is CaseRound => x !== undefined).map(pick).filter((x): x is T => x !== undefined);
  const med = (name: string, pick: (r: CaseRound) => number | undefined): number => median(over(name, pick));
  const max = (xs: number[]): number => (xs.length ? Math.max(...xs) : NaN);
  /** Median over the rounds of f(this case's round, the other case's round). */
  const paired = (name: string, other: string, f: (a: CaseRound, b: CaseRound) => number | undefined): number => {
    if (!has(name) || !has(other)) return NaN;
    return median(rounds.map((r) => f(r.results[name]!, r.results[other]!) ?? NaN));
  };
  const ratio = (name: string, other: string, pick: (r: CaseRound) => number | undefined): number =>
    paired(name, other, (a, b) => {
      const x = pick(a);
      const y = pick(b);
      return x === undefined || y === undefined ? undefined : x / y;
    });
  const diff = (name: string, other: string, pick: (r: CaseRound) => number | undefined): number =>
    paired(name, other, (a, b) => {
      const x = pick(a);
      const y = pick(b);
      return x === undefined || y === undefined ? undefined : x - y;
    });
  const peakOf = (name: string, pick: (r: CaseRound) => number | undefined): number => max(over(name, pick));

  const summary: Record<string, Record<string, number>> = {};
  for (const c of cases) {
    const n = c.name;
    const s: Record<string, number> = {
      c1P50: med(n, (r) => r.json1.p50),
      c1P99: med(n, (r) => r.json1.p99),
      c1Rps: med(n, (r) => r.json1.rps),
      c1CpuPerReq: med(n, (r) => r.json1.cpuPerReq),
      c32P50: med(n, (r) => r.json32.p50),
      c32P99: med(n, (r) => r.json32.p99),
      c32Rps: med(n, (r) => r.json32.rps),
      c32CpuPerReq: med(n, (r) => r.json32.cpuPerReq),
      c32ParentBusy: med(n, (r) => r.json32.parentBusy),
      c32PeakRssMB: peakOf(n, (r) => r.json32.peakRss) / MB,
      c32RpsVsFloor: ratio(n, 'floor', (r) => r.json32.rps),
      c32RpsVsCeiling: ratio(n, 'ceiling', (r) => r.json32.rps),
      c32CpuVsFloor: ratio(n, 'floor', (r) => r.json32.cpuPerReq),
      c32CpuVsCeiling: ratio(n, 'ceiling', (r) => r.json32.cpuPerReq),
      c1AddedP50OverFloor: diff(n, 'floor', (r) => r.json1.p50),
      errors: rounds.reduce((sum, r) => {
        const x = r.results[n];
        return sum + (x ? x.json1.errors + x.json32.errors + (x.stream1?.errors ?? 0) + (x.stream32?.errors ?? 0) : 0);
      }, 0),
    };
    if (c.stream) {
      for (const [k, pick] of [
        ['1', (r: CaseRound) => r.stream1],
        ['32', (r: CaseRound) => r.stream32],
      ] as const) {
        s[`stream${k}FirstByteP50`] = med(n, (r) => pick(r)?.firstByteP50);
        s[`stream${k}FirstTokenP50`] = med(n, (r) => pick(r)?.firstTokenP50);
        s[`stream${k}LastByteP50`] = med(n, (r) => pick(r)?.lastByteP50);
        s[`stream${k}LastByteP99`] = med(n, (r) => pick(r)?.lastByteP99);
        s[`stream${k}PerSec`] = med(n, (r) => pick(r)?.streamsPerSec);
        s[`stream${k}CpuPerStream`] = med(n, (r) => pick(r)?.cpuPerStream);
        s[`stream${k}ParentBusy`] = med(n, (r) => pick(r)?.parentBusy);
        s[`stream${k}FirstByteOverFloor`] = diff(n, 'floor', (r) => pick(r)?.firstByteP50);
        s[`stream${k}FirstTokenOverFloor`] = diff(n, 'floor', (r) => pick(r)?.firstTokenP50);
        s[`stream${k}LastByteOverFloor`] = diff(n, 'floor', (r) => pick(r)?.lastByteP50);
      }
      s.stream32PeakRssMB = peakOf(n, (r) => r.stream32?.peakRss) / MB;
    }
    summary[n] = s;
  }

  // Table 1: JSON, measured.
  console.log(
    `\nJSON requests (medians over ${rounds.length} round(s); peak RSS: the largest over the rounds, under the c=32 load; ` +
      `parent busy: this process's CPU (load generator + fake upstream) over wall time, 100% = one core, near it the parent bounds the figure)`,
  );
  console.log(
    table(
      ['case', 'c=1 p50 ms', 'c=1 p99 ms', 'c=1 req/s', 'c=1 CPU µs/req', 'c=32 p50 ms', 'c=32 p99 ms', 'c=32 req/s', 'c=32 CPU µs/req', 'peak RSS MB', 'c=32 parent busy'],
      cases.map((c) => {
        const s = summary[c.name]!;
        return [c.name, num(s.c1P50, 3), num(s.c1P99, 3), num(s.c1Rps, 0), num(s.c1CpuPerReq, 0), num(s.c32P50, 2), num(s.c32P99, 2), num(s.c32Rps, 0), num(s.c32CpuPerReq, 0), num(s.c32PeakRssMB, 1), pct(s.c32ParentBusy)];
      }),
    ),
  );

  // Table 2: JSON, ratios.
  console.log(`\nJSON ratios (each the median over the rounds of that round's ratio or difference)`);
  console.log(
    table(
      ['case', 'c=1 p50 ms', 'c=32 req/s', 'c=32 p99 ms', 'CPU µs/req', 'peak RSS MB', 'req/s ÷ floor', 'req/s ÷ ceiling', 'CPU ÷ floor', 'CPU ÷ ceiling', 'c=1 p50 − floor ms'],
      cases.map((c) => {
        const s = summary[c.name]!;
        return [
          c.name,
          num(s.c1P50, 3),
          num(s.c32Rps, 0),
          num(s.c32P99, 2),
          num(s.c32CpuPerReq, 0),
          num(s.c32PeakRssMB, 1),
          num(s.c32RpsVsFloor, 3),
          num(s.c32RpsVsCeiling, 3),
          num(s.c32CpuVsFloor, 2),
          num(s.c32CpuVsCeiling, 3),
          signed(s.c1AddedP50OverFloor, 3),
        ];
      }),
    ),
  );

  // Table 3: streaming.
  const streaming = cases.filter((c) => c.stream);
  if (streaming.length) {
    console.log(`\nstreaming, p50 ms from sending (${STREAM_CHUNKS} content chunks; "− floor": the median over the rounds of that round's difference)`);
    const rows: string[][] = [];
    for (const k of ['1', '32'] as const) {
      for (const c of streaming) {
        const s = summary[c.name]!;
        const pair = (what: string, digits: number): string => `${num(s[`stream${k}${what}P50`], digits)} (${signed(s[`stream${k}${what}OverFloor`], digits)})`;
        rows.push([
          c.name,
          k,
          pair('FirstByte', 3),
          pair('FirstToken', 3),
          pair('LastByte', 3),
          num(s[`stream${k}LastByteP99`], 2),
          num(s[`stream${k}PerSec`], 0),
          num(s[`stream${k}CpuPerStream`], 0),
          k === '32' ? num(s.stream32PeakRssMB, 1) : '',
          pct(s[`stream${k}ParentBusy`]),
        ]);
      }
    }
    console.log(table(['case', 'c', 'first byte (− floor)', 'first token (− floor)', 'last byte (− floor)', 'last byte p99', 'streams/s', 'CPU µs/stream', 'peak RSS MB', 'parent busy'], rows));
  }

  // Table 4: memory per process.
  console.log(`\nmemory per server process (MB; idle cold: before the warm-up; idle: after it, before round 1; 1 s after: a full GC 1 s after the last round; settled: after ${process.env.BENCH_SETTLE_S ?? 60} s idle and a full GC; peak: the largest under any c=32 load)`);
  const memRows: string[][] = [];
  const memJson: Record<string, Record<string, number>> = {};
  for (const kind of kinds) {
    const m = memory.get(kind)!;
    const names = cases.filter((c) => c.kind === kind).map((c) => c.name);
    const peak = max(names.flatMap((n) => [...over(n, (r) => r.json32.peakRss), ...over(n, (r) => r.stream32?.peakRss)])) / MB;
    const settled = m.settled ? m.settled.rss / MB : NaN;
    memJson[kind] = {
      idleColdRssMB: m.idleCold.rss / MB,
      idleRssMB: m.idle.rss / MB,
      peakRssMB: peak,
      settledRssMB: settled,
      after1sRssMB: m.after1s ? m.after1s.rss / MB : NaN,
      settledMinusIdleMB: settled - m.idle.rss / MB,
      settledMinusIdleColdMB: settled - m.idleCold.rss / MB,
      idleHeapMB: m.idle.heapUsed / MB,
      settledHeapMB: m.settled ? m.settled.heapUsed / MB : NaN,
    };
    const j = memJson[kind]!;
    memRows.push([
      `${kind}${names.length > 1 || names[0] !== kind ? ` (${names.join(', ')})` : ''}`,
      num(j.idleColdRssMB, 1),
      num(j.idleRssMB, 1),
      num(j.peakRssMB, 1),
      num(j.after1sRssMB, 1),
      num(j.settledRssMB, 1),
      signed(j.settledMinusIdleMB, 1),
      signed(j.settledMinusIdleColdMB, 1),
      num(j.idleHeapMB, 1),
      num(j.settledHeapMB, 1),
    ]);
  }
  console.log(table(['process', 'idle cold', 'idle', 'peak', '1 s after', 'settled', 'settled − idle', 'settled − idle cold', 'idle heap', 'settled heap'], memRows));
  console.log(`RSS while idle after the load (MB, every 5 s):`);
  for (const kind of kinds) console.log(`  ${kind.padEnd(14)} ${(memory.get(kind)!.idleSeries ?? []).map((b) => (b / MB).toFixed(0)).join(' ')}`);

  // What each layer of the stack costs per request (CPU, c=32).
  const cpu32 = (r: CaseRound): number => r.json32.cpuPerReq;
  const costs = {
    express: diff('express-node', 'node-json', cpu32),
    axios: diff('node-axios', 'node-json', cpu32),
    jsonParseStringify: diff('node-json', 'floor', cpu32),
    routerOwnWork: diff('router', 'ceiling', cpu32),
    fallbackAttempt: diff('router-fallback', 'router', cpu32),
  };
  console.log(`\nwhat the stack costs per request (server CPU µs/req at c=32, the median over the rounds of that round's difference)`);
  console.log(`  Express (express-node − node-json):          ${signed(costs.express, 0)} µs`);
  console.log(`  axios (node-axios − node-json):              ${signed(costs.axios, 0)} µs`);
  console.log(`  JSON parse+stringify (node-json − floor):    ${signed(costs.jsonParseStringify, 0)} µs`);
  console.log(`  the router's own work (router − ceiling):    ${signed(costs.routerOwnWork, 0)} µs`);
  console.log(`  a failed first attempt (router-fallback − router): ${signed(costs.fallbackAttempt, 0)} µs`);

  // Targets (issue #15, item 2).
  const router = summary.router;
  const routerPeak = has('router') ? max([...over('router', (r) => r.json32.peakRss), ...over('router', (r) => r.stream32?.peakRss)]) / MB : NaN;
  const ceilingCasePeak = has('ceiling') ? max([...over('ceiling', (r) => r.json32.peakRss), ...over('ceiling', (r) => r.stream32?.peakRss)]) / MB : NaN;
  const targets = [
    { name: 'router ÷ ceiling, req/s at c=32', value: router?.c32RpsVsCeiling ?? NaN, op: '>=', limit: 1.0, unit: '', digits: 3 },
    { name: 'router-fallback ÷ router, req/s at c=32', value: ratio('router-fallback', 'router', (r) => r.json32.rps), op: '>=', limit: 0.6, unit: '', digits: 3 },
    { name: 'router p50 − floor p50 at c=1', value: router?.c1AddedP50OverFloor ?? NaN, op: '<=', limit: 0.3, unit: ' ms', digits: 3 },
    { name: 'router first content token − floor at c=1', value: router?.stream1FirstTokenOverFloor ?? NaN, op: '<=', limit: 1, unit: ' ms', digits: 3 },
    {
      name: `router peak RSS ÷ ceiling peak RSS (c=32 JSON and streams: ${num(routerPeak, 1)} MB ÷ ${num(ceilingCasePeak, 1)} MB)`,
      value: routerPeak / ceilingCasePeak,
      op: '<=',
      limit: 1.1,
      unit: '',
      digits: 3,
    },
    {
      // Against the larger of the two idle figures' differences: cold (before any request) and idle (after the warm-up).
      name: 'router settled − idle RSS (the larger of − idle and − idle cold)',
      value: has('router') ? Math.max(memJson.router?.settledMinusIdleMB ?? NaN, memJson.router?.settledMinusIdleColdMB ?? NaN) : NaN,
      op: '<=',
      limit: 10,
      unit: ' MB',
      digits: 1,
    },
  ].map((t) => ({ ...t, result: !Number.isFinite(t.value) ? 'n/a' : (t.op === '>=' ? t.value >= t.limit : t.value <= t.limit) ? 'PASS' : 'MISS' }));
  console.log(`\ntargets (issue #15, item 2)`);
  const targetWidth = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets) {
    console.log(`  ${t.result.padEnd(4)}  ${t.name.padEnd(targetWidth)}  ${num(t.value, t.digits)}${t.unit}  (target ${t.op} ${t.limit}${t.unit})`);
  }

  const wallSeconds = (performance.now() - wallStart) / 1000;
  const out = {
    bench: 'stack',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: os.loadavg(),
    cpuModel: os.cpus()[0]?.model,
    settings: { rounds: ROUNDS, requestsC1: N1, requestsC32: N32, streamsC1: S1, streamsC32: S32, streamChunks: STREAM_CHUNKS, warmup: WARMUP, warmupStreams: WARMUP_STREAMS, cases: cases.map((c) => c.name) },
    cases: Object.fromEntries(cases.map((c) => [c.name, { kind: c.kind, headers: c.headers, stream: c.stream }])),
    rounds,
    memory: Object.fromEntries(kinds.map((kind) => [kind, { ...memory.get(kind), summaryMB: memJson[kind] }])),
    summary,
    costsMicrosPerRequest: costs,
    targets: targets.map(({ name, value, op, limit, unit, result }) => ({ name, value, op, limit, unit: unit.trim(), result })),
    wallSeconds,
  };
  mkdirSync(path.dirname(path.resolve(JSON_PATH)), { recursive: true });
  writeFileSync(JSON_PATH, `${JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  console.log(`\nJSON: ${JSON_PATH}  (wall time ${wallSeconds.toFixed(1)} s; load average now ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);

  agent.destroy();
  up.server.closeAllConnections();
  up.server.close();
}

main()
  .then(
    () => 0,
    (err: unknown) => {
      console.error(err);
      return 1;
    },
  )
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  });
