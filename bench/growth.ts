/**
 * Cost as the work grows (issue #15, item 3), measured from outside the router's process:
 *
 *   node --import tsx bench/growth.ts        (npm run build first: the router runs from dist/)
 *
 * Each case starts a fresh router in a child process (bench/host.ts, bench/servers.mjs), reads
 * its CPU time, RSS and live heap through the child's `/__bench/*` routes (live heap: after two
 * full collections), times HTTP requests against it, stops it and prints a table:
 *
 *   stream    a 1 MB and a 10 MB streamed answer (and a 10 MB one read by a client that stalls for
 *             a second): RSS idle, peak during, settled after; all of it received, [DONE] last. The
 *             same 10 MB through the bare proxy (floor) and the hand-written Express + axios route
 *             (ceiling), and once in a router with 1 MB semi-spaces (what V8's young generation takes)
 *   configs   100,000 requests at c=32, each with a distinct inline config (body `config`), then
 *             10,000 in the `x-portkey-config` header, then 5,000 distinct ~32 KB configs: live
 *             heap, req/s and CPU per request at each step (the plan cache is bounded)
 *   traces    100,000 traces in the memory store (`logs.maxTraces: 100000`): live heap per trace,
 *             req/s and CPU per request as it fills and once full, and GET /logs p50 (default
 *             page, limit=500, filters that match many, few and none)
 *   breakers  10,000 breaker keys (a `cb_config`, one distinct model per request): heap per key,
 *             p50 of new keys at the start and at the end, GET /health time and size
 *   chain     fallback chains of 1, 2, 5, 10, 20 targets, all but the last answering 503: p50 and
 *             router CPU per request at c=1, a least-squares line against the failed attempts
 *             (and the bare proxy's CPU per request as a yardstick)
 *   hedge     a fallback whose first target answers after 20 ms (the upstream's `/slow` path), with
 *             `hedge_after_ms: 5` and without, at c=1 and c=32: req/s, p50, CPU per request, peak
 *             RSS, and the slow attempts as the upstream saw them (sent, answered, closed before
 *             their answer, still open)
 *
 * At the end: failed checks (facts: a bound not kept, an answer cut, a loser left open) and
 * watches (timing or CPU compared between phases, which other work on the machine can move).
 *
 * BENCH_CASES=stream,configs,... selects cases (default all); BENCH_SCALE=0.05 scales every
 * count (for a quick try); BENCH_JSON=<file> moves the JSON output (default bench/out/growth.json).
 * Everything runs on 127.0.0.1; the children are stopped on exit, on error and on Ctrl-C.
 */
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './host.js';
import { agent } from './load.js';
import { CONTENT_CHUNK_BYTES, startUpstream, upstreamCounts } from './upstream.js';

const ALL_CASES = ['stream', 'configs', 'traces', 'breakers', 'chain', 'hedge'] as const;
type CaseName = (typeof ALL_CASES)[number];
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
if (!(SCALE > 0)) throw new Error('BENCH_SCALE must be a number above 0, e.g. BENCH_SCALE=0.05');
const CASES = (process.env.BENCH_CASES ?? ALL_CASES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const name of CASES) if (!(ALL_CASES as readonly string[]).includes(name)) throw new Error(`BENCH_CASES: unknown case "${name}"; cases: ${ALL_CASES.join(',')}`);
const OUT = process.env.BENCH_JSON ?? fileURLToPath(new URL('./out/growth.json', import.meta.url));

/** A count scaled by BENCH_SCALE, at least `min`. */
const scaled = (n: number, min = 1): number => Math.max(min, Math.round(n * SCALE));
/** Requests before a measurement: enough to warm the JIT and fill the default trace store (1,000). */
const WARM_UP = 1100;
const CONCURRENCY = 32;
const MESSAGES = [{ role: 'user', content: 'Hello' }];
const CHAT = '/v1/chat/completions';
/** Breaker keys a router keeps (MAX_MIRRORED in lib/engine/policies/breaker.ts, the MemoryBreakerStore's maxEntries). */
const BREAKER_KEYS_BOUND = 10_000;

// ---------------------------------------------------------------------------------------------
// Children: every router started is stopped, whatever happens.

const live = new Set<Child>();
async function startServer(kind: 'router' | 'floor' | 'ceiling', extra: object = {}, name: string = kind): Promise<Child> {
  // A child that exits before it listens is tried again a few times (dist/ may be being rebuilt at that moment).
  for (let tries = 1; ; tries++) {
    try {
      const child = await startChild([kind, upstreamURL, JSON.stringify(extra)], name);
      live.add(child);
      return child;
    } catch (err) {
      if (tries >= 5) throw err;
      console.error(`(${name} did not start: ${(err as Error).message}; trying again in 3 s)`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}
const startRouter = (extra: object = {}, name = 'router'): Promise<Child> => startServer('router', extra, name);
async function stopServer(child: Child): Promise<void> {
  live.delete(child);
  await child.stop();
}
process.on('exit', () => {
  for (const child of live) child.child.kill('SIGTERM');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of live) child.child.kill('SIGTERM');
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// A client: one request, and a closed-loop load of many.

interface Req {
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface Reply {
  status: number;
  ms: number;
  bytes: number;
  headers: http.IncomingHttpHeaders;
  /** The body when `keep` was asked, or when the status was not 200. */
  text?: string;
}

const REQUEST_TIMEOUT_MS = 60_000;

function send(base: string, r: Req, keep = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const headers: Record<string, string | number> = { ...(r.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) } : {}), ...r.headers };
    const req = http.request(`${base}${r.path ?? CHAT}`, { method: r.method ?? (r.body !== undefined ? 'POST' : 'GET'), agent, headers }, (res) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      const hold = keep || res.statusCode !== 200;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        if (hold) parts.push(d);
      });
      res.on('end', () => {
        const reply: Reply = { status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6, bytes, headers: res.headers };
        if (hold) reply.text = Buffer.concat(parts).toString();
        resolve(reply);
      });
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms from ${base}${r.path ?? CHAT}`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

interface LoadResult {
  n: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Count of each status answered. */
  statuses: Record<string, number>;
  /** The first answer with an unexpected status, cut short. */
  firstError?: string;
}

/**
 * Requests `from` .. `from + n - 1`, `concurrency` at a time, each built by `make(i)`; `seen`
 * sees each reply. A status other than `expect(i)` (200 by default) is counted, not thrown.
 */
async function load(base: string, from: number, n: number, concurrency: number, make: (i: number) => Req, opts: { expect?: (i: number) => number; seen?: (reply: Reply, i: number) => void } = {}): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let firstError: string | undefined;
  let next = from;
  const end = from + n;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < end) {
        const i = next++;
        const reply = await send(base, make(i));
        latencies.push(reply.ms);
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        if (reply.status !== (opts.expect?.(i) ?? 200)) firstError ??= `HTTP ${reply.status} for request ${i}: ${(reply.text ?? '').slice(0, 300)}`;
        opts.seen?.(reply, i);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { n, seconds, rps: n / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), statuses, ...(firstError ? { firstError } : {}) };
}

const quantile = (sorted: readonly number[], q: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
const median = (values: readonly number[]): number => quantile([...values].sort((a, b) => a - b), 0.5);

/** Times `calls` GETs of `path` (one at a time); p50 and the size of the last answer. */
async function timeGet(base: string, path: string, calls: number, headers: Record<string, string> = {}): Promise<{ p50: number; p99: number; bytes: number; status: number; text: string }> {
  const ms: number[] = [];
  let last: Reply | undefined;
  for (let i = 0; i < calls; i++) {
    last = await send(base, { path, headers }, true);
    ms.push(last.ms);
  }
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), bytes: last!.bytes, status: last!.status, text: last!.text ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Printing.

const MB = 1024 * 1024;
const mb = (bytes: number): string => (bytes / MB).toFixed(1);
const signedMb = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)}`;
const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const round = (n: number, digits = 3): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

function table(title: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = rows.map((row) => row.map(String));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}
const note = (text: string): void => console.log(`  ${text}`);

/**
 * What the run can tell by itself, printed at the end: a check is a fact (a bound kept, an answer
 * whole, an attempt cancelled); a watch compares timings or CPU between phases, which other work on
 * the machine can move by 20-30%, so it is a lead to look at, not a verdict.
 */
const problems: string[] = [];
const watches: string[] = [];
function check(ok: boolean, what: string): boolean {
  if (!ok) {
    problems.push(what);
    note(`CHECK FAILED: ${what}`);
  }
  return ok;
}
function watch(ok: boolean, what: string): boolean {
  if (!ok) {
    watches.push(what);
    note(`WATCH: ${what}`);
  }
  return ok;
}

const statusText = (s: Record<string, number>): string =>
  Object.entries(s)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');

// ---------------------------------------------------------------------------------------------
// Case 1: streamed answers of 1 MB and 10 MB.

interface StreamRead {
  status: number;
  bytes: number;
  contentChunks: number;
  doneLast: boolean;
  ms: number;
  firstByteMs: number;
}

/** One streamed answer of `chunks` content chunks, read to the end (after a stall of `stallMs` at the first byte). */
function readStream(base: string, chunks: number, stallMs = 0): Promise<StreamRead> {
  return new Promise((resolve, reject) => {
    // The chunk count in the body (`bench_chunks`): every server forwards the body, not every one a header.
    const body = JSON.stringify({ model: 'gpt-4o', stream: true, bench_chunks: chunks, messages: MESSAGES });
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    const req = http.request(
      `${base}${CHAT}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-portkey-provider': 'openai',
        },
      },
      (res) => {
        let bytes = 0;
        let contentChunks = 0;
        let rest = '';
        let lastEvent = '';
        let firstByteMs = -1;
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          if (firstByteMs < 0) {
            firstByteMs = elapsed();
            if (stallMs > 0) {
              res.pause();
              setTimeout(() => res.resume(), stallMs);
            }
          }
          bytes += Buffer.byteLength(text);
          const events = (rest + text).split('\n\n');
          rest = events.pop()!;
          for (const event of events) {
            if (event.includes('"content":"token "')) contentChunks += 1;
            if (event.trim() !== '') lastEvent = event.trim();
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, contentChunks, doneLast: lastEvent === 'data: [DONE]' && rest.trim() === '', ms: elapsed(), firstByteMs }));
        res.on('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('stream: no answer in time')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One streamed answer of at least `target` bytes through `child`: its RSS idle, peak and settled, and whether all of it came. */
async function measureStream(child: Child, label: string, target: number, stallMs: number): Promise<Record<string, number | boolean | string>> {
  const chunks = Math.ceil(target / CONTENT_CHUNK_BYTES);
  const idle = await child.gc();
  await child.reset();
  const before = upstreamCounts.answered;
  const read = await readStream(child.url, chunks, stallMs);
  const during = await child.stats();
  const cpuPerChunk = (during.cpuMicros - idle.cpuMicros) / chunks;
  const settled = await child.gc();
  const whole = read.status === 200 && read.contentChunks === chunks && read.doneLast && read.bytes >= target;
  check(whole, `stream ${label}: got HTTP ${read.status}, ${read.contentChunks}/${chunks} content chunks, ${read.bytes} bytes, [DONE] last: ${read.doneLast}`);
  check(upstreamCounts.answered - before === 1, `stream ${label}: one upstream request expected, saw ${upstreamCounts.answered - before}`);
  return {
    label,
    contentChunks: chunks,
    receivedBytes: read.bytes,
    receivedChunks: read.contentChunks,
    doneLast: read.doneLast,
    complete: whole,
    ms: round(read.ms, 1),
    firstByteMs: round(read.firstByteMs, 2),
    mbPerSecond: round(read.bytes / MB / (read.ms / 1000), 2),
    cpuMicrosPerChunk: round(cpuPerChunk, 2),
    rssIdle: idle.rss,
    rssPeak: during.peakRss,
    rssSettled: settled.rss,
    heapIdle: idle.heapUsed,
    heapSettled: settled.heapUsed,
    peakGrowth: during.peakRss - idle.rss,
    settledGrowth: settled.rss - idle.rss,
  };
}

async function caseStream(): Promise<object> {
  const runs: Array<Record<string, number | boolean | string>> = [];
  const warm = async (child: Child): Promise<void> => {
    for (let i = 0; i < 50; i++) await readStream(child.url, 20);
  };
  const child = await startRouter();
  try {
    await warm(child);
    runs.push(await measureStream(child, 'router: 1 MB', MB, 0));
    runs.push(await measureStream(child, 'router: 10 MB', 10 * MB, 0));
    runs.push(await measureStream(child, 'router: 10 MB, client stalls 1 s', 10 * MB, 1000));
    runs.push(await measureStream(child, 'router: 10 MB again', 10 * MB, 0));
    runs.push(await measureStream(child, 'router: 1 MB again', MB, 0));
  } finally {
    await stopServer(child);
  }
  // The same answers through the bare node:http proxy and the hand-written Express + axios route, for comparison.
  for (const kind of ['floor', 'ceiling'] as const) {
    const other = await startServer(kind);
    try {
      await warm(other);
      runs.push(await measureStream(other, `${kind}: 10 MB`, 10 * MB, 0));
      runs.push(await measureStream(other, `${kind}: 10 MB again`, 10 * MB, 0));
    } finally {
      await stopServer(other);
    }
  }
  // Diagnostic: the same first 10 MB answer in a router whose young generation may not grow past
  // 1 MB semi-spaces (V8 grows them up to 16 MB under a high allocation rate, and RSS keeps them).
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --max-semi-space-size=1`.trim();
  let diag: Child;
  try {
    diag = await startRouter({}, 'router-semi1'); // nothing else is spawned meanwhile
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
  try {
    await warm(diag);
    runs.push(await measureStream(diag, 'router, --max-semi-space-size=1: 10 MB', 10 * MB, 0));
  } finally {
    await stopServer(diag);
  }
  table(
    'Case 1. A long streamed answer: router RSS (MB) idle after GC, peak during (reset before), settled after GC',
    ['server: answer', 'received', 'chunks', '[DONE]', 'ms', 'MB/s', 'cpu µs/chunk', 'idle', 'peak', 'growth', 'settled', 'settled-idle', 'heap idle→settled'],
    runs.map((r) => [
      String(r.label),
      `${mb(r.receivedBytes as number)} MB`,
      int(r.receivedChunks as number),
      r.doneLast ? 'yes' : 'NO',
      fixed(r.ms as number, 0),
      fixed(r.mbPerSecond as number, 1),
      fixed(r.cpuMicrosPerChunk as number, 1),
      mb(r.rssIdle as number),
      mb(r.rssPeak as number),
      signedMb(r.peakGrowth as number),
      mb(r.rssSettled as number),
      signedMb(r.settledGrowth as number),
      `${mb(r.heapIdle as number)}→${mb(r.heapSettled as number)}`,
    ]),
  );
  note(`one content chunk upstream: ${CONTENT_CHUNK_BYTES} bytes; the router's rows run in order in one process, each other server in a process of its own`);
  const first10 = runs[1]!;
  const later = runs.slice(2, 5);
  const worstLater = Math.max(...later.map((r) => r.peakGrowth as number));
  const byLabel = (label: string): Record<string, number | boolean | string> | undefined => runs.find((r) => r.label === label);
  const floor10 = byLabel('floor: 10 MB');
  const ceiling10 = byLabel('ceiling: 10 MB');
  note(`router: RSS growth during the first 10 MB answer ${signedMb(first10.peakGrowth as number)} MB (settled ${signedMb(first10.settledGrowth as number)}), during the later ones at most ${signedMb(worstLater)} MB; live heap ${mb(first10.heapIdle as number)}→${mb(runs[4]!.heapSettled as number)} MB`);
  if (floor10 && ceiling10) note(`first 10 MB answer, RSS growth: floor ${signedMb(floor10.peakGrowth as number)} MB, hand-written route ${signedMb(ceiling10.peakGrowth as number)} MB; router CPU per chunk ${fixed(first10.cpuMicrosPerChunk as number, 1)} µs against ${fixed(floor10.cpuMicrosPerChunk as number, 1)} (floor) and ${fixed(ceiling10.cpuMicrosPerChunk as number, 1)} (hand-written)`);
  check(worstLater <= 4 * MB, `stream: RSS grew ${mb(worstLater)} MB during a 10 MB answer after the first (expected a few MB at most)`);
  check((first10.peakGrowth as number) <= 8 * MB, `stream: RSS grew ${mb(first10.peakGrowth as number)} MB during the router's first 10 MB answer and kept ${mb(first10.settledGrowth as number)} MB of it; its live heap did not grow`);
  return { contentChunkBytes: CONTENT_CHUNK_BYTES, runs };
}

// ---------------------------------------------------------------------------------------------
// Case 2: distinct inline configs.

interface Step {
  requests: number;
  heapUsed: number;
  rss: number;
  rps: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  statuses: Record<string, number>;
}

/**
 * `total` requests built by `make`, in `slices`; after each slice two full GCs, then the live
 * heap. Returns the baseline (step 0) and each slice's step.
 */
async function growInSteps(child: Child, total: number, slices: number, make: (i: number) => Req, expect?: (i: number) => number, concurrency = CONCURRENCY): Promise<Step[]> {
  const base = await child.gc();
  const steps: Step[] = [{ requests: 0, heapUsed: base.heapUsed, rss: base.rss, rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, cpuMicrosPerRequest: Number.NaN, statuses: {} }];
  let done = 0;
  let cpu = base.cpuMicros;
  for (let s = 1; s <= slices; s++) {
    const upTo = Math.round((total * s) / slices);
    const r = await load(child.url, done, upTo - done, concurrency, make, expect ? { expect } : {});
    const stats = await child.stats();
    const after = await child.gc();
    steps.push({ requests: upTo, heapUsed: after.heapUsed, rss: after.rss, rps: r.rps, p50: r.p50, p99: r.p99, cpuMicrosPerRequest: (stats.cpuMicros - cpu) / (upTo - done), statuses: r.statuses });
    if (r.firstError) check(false, r.firstError);
    cpu = after.cpuMicros;
    done = upTo;
  }
  return steps;
}

function stepTable(title: string, steps: readonly Step[], perItem?: { label: string; items: (requests: number) => number }): void {
  const base = steps[0]!;
  const columns = ['requests', 'heap MB', 'Δheap MB', 'rss MB', 'req/s', 'p50 ms', 'p99 ms', 'cpu µs/req', 'statuses'];
  if (perItem) columns.splice(3, 0, perItem.label);
  table(
    title,
    columns,
    steps.map((s) => {
      const row = [int(s.requests), mb(s.heapUsed), signedMb(s.heapUsed - base.heapUsed), mb(s.rss), int(s.rps), fixed(s.p50), fixed(s.p99), int(s.cpuMicrosPerRequest), statusText(s.statuses)];
      if (perItem) {
        const items = perItem.items(s.requests);
        row.splice(3, 0, items > 0 ? int((s.heapUsed - base.heapUsed) / items) : '-');
      }
      return row;
    }),
  );
}

/**
 * How the last slices compare with the first ones (the median of up to three each): req/s (below 1:
 * slower) and CPU µs per request (above 1: dearer). CPU per request is the steadier of the two on
 * a machine that other work shares.
 */
function trend(steps: readonly Step[]): { rps: number; cpu: number } {
  const slices = steps.slice(1);
  const k = Math.max(1, Math.min(3, Math.floor(slices.length / 2)));
  const first = slices.slice(0, k);
  const last = slices.slice(-k);
  return {
    rps: median(last.map((s) => s.rps)) / median(first.map((s) => s.rps)),
    cpu: median(last.map((s) => s.cpuMicrosPerRequest)) / median(first.map((s) => s.cpuMicrosPerRequest)),
  };
}

async function caseConfigs(): Promise<object> {
  const n = scaled(100_000, 1000);
  const nHeader = scaled(10_000, 1000);
  const nLarge = scaled(5_000, 600);
  const out: Record<string, unknown> = {};
  const child = await startRouter();
  try {
    // Warm-up on one config: the JIT warms and the trace store (1,000 traces) fills, so what grows after is the cache.
    await load(child.url, 0, WARM_UP, CONCURRENCY, () => ({ headers: { 'x-portkey-provider': 'openai' }, body: JSON.stringify({ model: 'gpt-4o', messages: MESSAGES }) }));
    const bodyConfig = (i: number): Req => ({
      body: JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, config: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', override_params: { temperature: i / 1e6 } }] } }),
    });
    const body = await growInSteps(child, n, 10, bodyConfig);
    stepTable(`Case 2a. ${int(n)} distinct inline configs (body "config" field), c=${CONCURRENCY}: live heap after GC, req/s per slice`, body);
    // The header form: distinct from every config above (another temperature range).
    const headerConfig = (i: number): Req => ({
      headers: { 'x-portkey-config': JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', override_params: { temperature: 1 + i / 1e6 } }] }) },
      body: JSON.stringify({ model: 'gpt-4o', messages: MESSAGES }),
    });
    const header = await growInSteps(child, nHeader, 4, headerConfig);
    stepTable(`Case 2b. ${int(nHeader)} more distinct configs in the x-portkey-config header (same router, baseline after 2a)`, header);
    const t = trend(body);
    out.body = { requests: n, steps: body, trend: { rps: round(t.rps), cpu: round(t.cpu) } };
    out.header = { requests: nHeader, steps: header, trend: { rps: round(trend(header).rps), cpu: round(trend(header).cpu) } };
    const growth = body[body.length - 1]!.heapUsed - body[1]!.heapUsed;
    note(`live heap from ${int(body[1]!.requests)} to ${int(n)} configs: ${signedMb(growth)} MB; last three slices against the first three: req/s ${fixed(t.rps)}x, CPU per request ${fixed(t.cpu)}x`);
    check(growth < 5 * MB, `configs: live heap grew ${mb(growth)} MB between ${int(body[1]!.requests)} and ${int(n)} distinct configs (the cache should be bounded)`);
    watch(t.cpu < 1.2, `configs: CPU per request rose to ${fixed(t.cpu)}x the first slices' as distinct configs went by`);
  } finally {
    await stopServer(child);
  }
  // Large configs, in a router of their own: ~32 KB each (a padded override_params field).
  const large = await startRouter();
  try {
    await load(large.url, 0, WARM_UP, CONCURRENCY, () => ({ headers: { 'x-portkey-provider': 'openai' }, body: JSON.stringify({ model: 'gpt-4o', messages: MESSAGES }) }));
    const pad = 'x'.repeat(32 * 1024 - 160);
    const largeConfig = (i: number): Req => ({
      body: JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, config: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', override_params: { metadata: { pad: `${i}:${pad}` } } }] } }),
    });
    const configBytes = Buffer.byteLength(JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', override_params: { metadata: { pad: `0:${pad}` } } }] }));
    const steps = await growInSteps(large, nLarge, 5, largeConfig, undefined, 8);
    stepTable(`Case 2c. ${int(nLarge)} distinct large configs (${fixed(configBytes / 1024, 1)} KB of JSON each, body form), c=8`, steps, {
      label: 'configs of JSON held',
      items: () => configBytes,
    });
    const full = steps[steps.length - 1]!.heapUsed - steps[0]!.heapUsed;
    const lastStep = steps[steps.length - 1]!.heapUsed - steps[steps.length - 2]!.heapUsed;
    note(`live heap held once the cache is full: ${mb(full)} MB, the size of ${fixed(full / configBytes, 0)} of these configs' JSON (a bound of 500 by count alone would hold 500 configs, ${mb(500 * configBytes)} MB of text and their plans)`);
    note(`a config may be up to 64 KB (MAX_CONFIG_TEXT); last slice: ${signedMb(lastStep)} MB`);
    check(Math.abs(lastStep) < 0.1 * Math.max(full, 4 * MB), `large configs: live heap still grew ${mb(lastStep)} MB in the last slice (of ${mb(full)} MB)`);
    out.large = { requests: nLarge, configBytes, steps, heapHeld: full, configsOfJsonHeld: round(full / configBytes, 1) };
  } finally {
    await stopServer(large);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Case 3: 100,000 traces in the memory store.

async function caseTraces(): Promise<object> {
  const n = scaled(100_000, 1000);
  const child = await startRouter({ logs: { maxTraces: n, maxBytes: 2 * 1024 * MB } });
  try {
    // One request in ten fails (the virtual key `down`: 503), so filters have something to find.
    const ok = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES });
    const make = (i: number): Req =>
      i % 10 === 9
        ? { headers: { 'x-portkey-config': '{"virtual_key":"down"}', 'x-portkey-trace-id': `bench-${i}` }, body: ok }
        : { headers: { 'x-portkey-provider': 'openai', 'x-portkey-trace-id': `bench-${i}` }, body: ok };
    const expect = (i: number): number => (i % 10 === 9 ? 503 : 200);
    // Warm-up (traces too): `warm` + (n - warm) = n traces in the store at the end of the filling.
    const warm = Math.min(WARM_UP, Math.floor(n / 10));
    await load(child.url, 1_000_000_000, warm, CONCURRENCY, make, { expect });
    const empty = await timeGet(child.url, '/v1/logs', 20);
    const steps = await growInSteps(child, n - warm, 10, make, expect);
    // Now the store holds exactly n traces.
    stepTable(`Case 3. ${int(n)} traces in the memory store (logs.maxTraces ${int(n)}), one in ten a 503, c=${CONCURRENCY}`, steps, {
      label: 'B/trace',
      items: (r) => r,
    });
    const calls = scaled(50, 5);
    const queries: Array<{ label: string; path: string; matches: string }> = [
      { label: 'default page (50)', path: '/v1/logs', matches: 'newest 50' },
      { label: 'limit=500', path: '/v1/logs?limit=500', matches: 'newest 500' },
      { label: 'status=503', path: '/v1/logs?status=503', matches: '1 in 10' },
      { label: 'provider=openai', path: '/v1/logs?provider=openai', matches: 'all' },
      { label: 'provider=anthropic', path: '/v1/logs?provider=anthropic', matches: 'none: whole store scanned' },
      { label: 'trace_id=bench-0', path: '/v1/logs?trace_id=bench-0', matches: '1, among the oldest: whole store scanned' },
      { label: '/logs/bench-0', path: '/v1/logs/bench-0', matches: '1, among the oldest' },
    ];
    const timed: Array<Record<string, unknown>> = [{ label: `default page, ${warm} traces in store`, path: '/v1/logs', p50: empty.p50, p99: empty.p99, bytes: empty.bytes, returned: (JSON.parse(empty.text) as { data: unknown[] }).data.length }];
    for (const q of queries) {
      const t = await timeGet(child.url, q.path, calls);
      let returned: number | string = '-';
      try {
        const parsed = JSON.parse(t.text) as { data?: unknown[] };
        returned = parsed.data ? parsed.data.length : 1;
      } catch {
        returned = '?';
      }
      check(t.status === 200, `GET ${q.path}: HTTP ${t.status}`);
      timed.push({ label: q.label, path: q.path, matches: q.matches, p50: t.p50, p99: t.p99, bytes: t.bytes, returned });
    }
    table(
      `GET /logs with ${int(n)} traces stored: ${calls} calls each, one at a time`,
      ['query', 'p50 ms', 'p99 ms', 'returned', 'bytes'],
      timed.map((t) => [String(t.label), fixed(t.p50 as number), fixed(t.p99 as number), String(t.returned), int(t.bytes as number)]),
    );
    const avgTraceJson = (timed[1]!.bytes as number) / 50;
    const full = steps[steps.length - 1]!;
    const perTrace = (full.heapUsed - steps[0]!.heapUsed) / full.requests;
    note(`live heap per trace: ${int(perTrace)} B; a trace's JSON in GET /logs: about ${int(avgTraceJson)} B; ${int(n)} traces: ${mb(full.heapUsed - steps[0]!.heapUsed)} MB`);
    // Once full, every trace recorded drops the oldest: req/s with the store at its bound.
    const atBound = scaled(10_000, 500);
    const evicting = await growInSteps(child, atBound, 2, (i) => make(n + i), (i) => expect(n + i));
    stepTable(`The store full: ${int(atBound)} more requests, each dropping the oldest trace (baseline: full store)`, evicting);
    const filling = trend(steps);
    // The store full, against the first slices of the filling (store nearly empty).
    const firstK = steps.slice(1, 4);
    const boundRps = median(evicting.slice(1).map((s) => s.rps)) / median(firstK.map((s) => s.rps));
    const boundCpu = median(evicting.slice(1).map((s) => s.cpuMicrosPerRequest)) / median(firstK.map((s) => s.cpuMicrosPerRequest));
    const cpuFirst = median(firstK.map((s) => s.cpuMicrosPerRequest));
    const cpuLast = median(steps.slice(-3).map((s) => s.cpuMicrosPerRequest));
    const cpuBound = median(evicting.slice(1).map((s) => s.cpuMicrosPerRequest));
    note(`CPU per request: ${int(cpuFirst)} µs as the store starts filling, ${int(cpuLast)} µs as it ends, ${int(cpuBound)} µs once full and dropping the oldest (${cpuBound >= cpuFirst ? '+' : ''}${int(cpuBound - cpuFirst)} µs)`);
    note(`as the store filled, last three slices against the first three: req/s ${fixed(filling.rps)}x, CPU per request ${fixed(filling.cpu)}x; store full and dropping: req/s ${fixed(boundRps)}x, CPU per request ${fixed(boundCpu)}x`);
    watch(filling.cpu < 1.2, `traces: CPU per request rose to ${fixed(filling.cpu)}x the first slices' while the store filled`);
    watch(boundCpu < 1.2, `traces: CPU per request with the store full and dropping is ${fixed(boundCpu)}x the first slices'`);
    return { traces: n, warmUpTraces: warm, steps, heapPerTrace: round(perTrace, 0), avgTraceJsonBytes: round(avgTraceJson, 0), logs: timed, trend: { rps: round(filling.rps), cpu: round(filling.cpu) }, full: { requests: atBound, steps: evicting, rps: round(boundRps), cpu: round(boundCpu) } };
  } finally {
    await stopServer(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Case 4: 10,000 breaker keys.

async function caseBreakers(): Promise<object> {
  const keys = scaled(10_000, 1000);
  const edge = Math.min(300, Math.floor(keys / 10));
  const child = await startRouter();
  try {
    const config = JSON.stringify({ strategy: { mode: 'fallback', cb_config: { failure_threshold: 5, minimum_requests: 5, window_ms: 60_000, cooldown_ms: 30_000 } }, targets: [{ provider: 'openai' }] });
    const make = (i: number): Req => ({ headers: { 'x-portkey-config': config }, body: JSON.stringify({ model: `bench-model-${i}`, messages: MESSAGES }) });
    await load(child.url, 0, WARM_UP, CONCURRENCY, () => ({ headers: { 'x-portkey-config': config }, body: JSON.stringify({ model: 'gpt-4o', messages: MESSAGES }) }));
    const healthBefore = await timeGet(child.url, '/v1/health', 20);
    const before = await child.gc();
    // Keys 0..edge-1 one at a time (the start), the middle at c=32, the last `edge` one at a time (the end).
    const start = await load(child.url, 0, edge, 1, make);
    const middle = await load(child.url, edge, keys - 2 * edge, CONCURRENCY, make);
    const end = await load(child.url, keys - edge, edge, 1, make);
    // Keys met before, again (a lookup in a full map).
    const again = await load(child.url, Math.floor(keys / 2), edge, 1, make);
    const after = await child.gc();
    for (const r of [start, middle, end, again]) if (r.firstError) check(false, r.firstError);
    const calls = scaled(20, 5);
    const health = await timeGet(child.url, '/v1/health', calls);
    let listed = -1;
    try {
      listed = (JSON.parse(health.text) as { targets: unknown[] }).targets.length;
    } catch {
      // counted as -1
    }
    check(health.status === 200, `GET /health with ${keys} breakers: HTTP ${health.status}`);
    // Breakers are bounded at 10,000 keys (the mirror and the memory store): the oldest, gpt-4o of the warm-up, goes first.
    const expected = Math.min(keys + 1, BREAKER_KEYS_BOUND);
    check(listed === expected, `GET /health lists ${listed} breakers, expected ${expected} (${keys} distinct models and gpt-4o, at most ${BREAKER_KEYS_BOUND})`);
    const perKey = (after.heapUsed - before.heapUsed) / keys;
    table(
      `Case 4. ${int(keys)} breaker keys (a request cb_config, one distinct model per request)`,
      ['phase', 'requests', 'breakers known', 'p50 ms', 'p99 ms', 'req/s'],
      [
        ['start: new keys, c=1', int(edge), `1→${int(edge + 1)}`, fixed(start.p50, 3), fixed(start.p99, 3), int(start.rps)],
        [`middle: new keys, c=${CONCURRENCY}`, int(middle.n), `→${int(keys - edge + 1)}`, fixed(middle.p50, 3), fixed(middle.p99, 3), int(middle.rps)],
        ['end: new keys, c=1', int(edge), `→${int(keys + 1)}`, fixed(end.p50, 3), fixed(end.p99, 3), int(end.rps)],
        ['known keys again, c=1', int(edge), int(keys + 1), fixed(again.p50, 3), fixed(again.p99, 3), int(again.rps)],
      ],
    );
    table('GET /health', ['breakers', 'p50 ms', 'p99 ms', 'bytes', 'listed'], [
      ['1', fixed(healthBefore.p50), fixed(healthBefore.p99), int(healthBefore.bytes), '1'],
      [int(keys + 1), fixed(health.p50), fixed(health.p99), int(health.bytes), int(listed)],
    ]);
    note(`live heap: ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB, ${int(perKey)} B per breaker key; p50 end / start: ${fixed(end.p50 / start.p50)}`);
    watch(end.p50 / start.p50 < 1.25, `breakers: p50 at ${keys} keys is ${fixed(end.p50 / start.p50)}x the p50 at the start`);
    return {
      keys,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      heapPerKey: round(perKey, 0),
      start,
      middle,
      end,
      knownAgain: again,
      endToStartP50: round(end.p50 / start.p50),
      health: { before: { p50: healthBefore.p50, bytes: healthBefore.bytes }, after: { p50: health.p50, p99: health.p99, bytes: health.bytes, listed } },
    };
  } finally {
    await stopServer(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Case 5: a fallback chain where all but the last target fail.

interface Fit {
  slope: number;
  intercept: number;
  r2: number;
  residuals: number[];
}

/** Least squares y = intercept + slope·x. */
function fitLine(xs: readonly number[], ys: readonly number[]): Fit {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const residuals = xs.map((x, i) => ys[i]! - (intercept + slope * x));
  const ssr = residuals.reduce((a, r) => a + r * r, 0);
  return { slope, intercept, r2: syy === 0 ? 1 : 1 - ssr / syy, residuals };
}

const chainConfig = (n: number): string =>
  JSON.stringify({ strategy: { mode: 'fallback' }, targets: [...Array.from({ length: n - 1 }, () => ({ virtual_key: 'down' })), { provider: 'openai' }] });

async function caseChain(): Promise<object> {
  const sizes = [1, 2, 5, 10, 20];
  const perSize = scaled(300, 30);
  const rounds = 5;
  const perRound = Math.ceil(perSize / rounds);
  const body = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES });
  const out: Record<string, unknown> = {};
  // First, the default limit: maxAttemptsPerRequest is 10, so a 20-target chain stops at the 10th attempt.
  const plain = await startRouter();
  try {
    const r = await send(plain.url, { headers: { 'x-portkey-config': chainConfig(20) }, body }, true);
    out.defaultLimit = { status: r.status, attempts: r.headers['x-portkey-attempts'] ?? null };
    note(`with the default maxAttemptsPerRequest (10), a 20-target chain answers HTTP ${r.status} after ${String(r.headers['x-portkey-attempts'] ?? '?')} attempts; the case below sets it to 100`);
  } finally {
    await stopServer(plain);
  }
  // A yardstick: CPU per request of the bare node:http proxy (one whole proxied request) at c=1.
  const floor = await startServer('floor');
  try {
    await load(floor.url, 0, 200, 1, () => ({ body }));
    const s0 = await floor.stats();
    const r = await load(floor.url, 0, perSize, 1, () => ({ body }));
    const s1 = await floor.stats();
    out.floor = { requests: perSize, p50Micros: round(r.p50 * 1000, 1), cpuMicrosPerRequest: round((s1.cpuMicros - s0.cpuMicros) / perSize, 1) };
  } finally {
    await stopServer(floor);
  }
  const child = await startRouter({ maxAttemptsPerRequest: 100 });
  try {
    const headersOf = (n: number): Record<string, string> => ({ 'x-portkey-config': chainConfig(n) });
    // Each chain answers 200 after n attempts, n-1 of them 503s, one upstream request each (no retry config: one attempt per target).
    for (const n of sizes) {
      const downBefore = upstreamCounts.down;
      const r = await send(child.url, { headers: headersOf(n), body }, true);
      check(r.status === 200 && r.headers['x-portkey-attempts'] === String(n), `chain n=${n}: HTTP ${r.status}, x-portkey-attempts ${String(r.headers['x-portkey-attempts'])} (expected 200 after ${n})`);
      check(upstreamCounts.down - downBefore === n - 1, `chain n=${n}: ${upstreamCounts.down - downBefore} requests reached the failing upstream, expected ${n - 1}`);
      await load(child.url, 0, 100, 1, () => ({ headers: headersOf(n), body })); // warm-up
    }
    const latencies = new Map<number, number[]>(sizes.map((n) => [n, []]));
    const cpu = new Map<number, number>(sizes.map((n) => [n, 0]));
    const downSeen = new Map<number, number>(sizes.map((n) => [n, 0]));
    // Interleaved: each round runs every size, so drift over time is shared.
    for (let round = 0; round < rounds; round++) {
      for (const n of sizes) {
        const s0 = await child.stats();
        const down0 = upstreamCounts.down;
        const ms = latencies.get(n)!;
        const r = await load(child.url, 0, perRound, 1, () => ({ headers: headersOf(n), body }), { seen: (reply) => ms.push(reply.ms) });
        const s1 = await child.stats();
        if (r.firstError) check(false, `chain n=${n}: ${r.firstError}`);
        cpu.set(n, cpu.get(n)! + (s1.cpuMicros - s0.cpuMicros));
        downSeen.set(n, downSeen.get(n)! + (upstreamCounts.down - down0));
      }
    }
    const rows = sizes.map((n) => {
      const count = latencies.get(n)!.length;
      return { targets: n, failed: n - 1, requests: count, p50Micros: median(latencies.get(n)!) * 1000, cpuMicrosPerRequest: cpu.get(n)! / count, downPerRequest: downSeen.get(n)! / count };
    });
    const xs = rows.map((r) => r.failed);
    const p50Fit = fitLine(xs, rows.map((r) => r.p50Micros));
    const cpuFit = fitLine(xs, rows.map((r) => r.cpuMicrosPerRequest));
    table(
      `Case 5. Fallback chains, all but the last target 503, c=1 (${perSize} requests per size, ${rounds} interleaved rounds)`,
      ['targets', 'failed', 'upstream 503s/req', 'p50 µs', 'p50 fit', 'resid', 'cpu µs/req', 'cpu fit', 'resid', 'Δp50/failed', 'Δcpu/failed'],
      rows.map((r, i) => [
        String(r.targets),
        String(r.failed),
        fixed(r.downPerRequest, 2),
        int(r.p50Micros),
        int(p50Fit.intercept + p50Fit.slope * r.failed),
        int(p50Fit.residuals[i]!),
        int(r.cpuMicrosPerRequest),
        int(cpuFit.intercept + cpuFit.slope * r.failed),
        int(cpuFit.residuals[i]!),
        r.failed > 0 ? int((r.p50Micros - rows[0]!.p50Micros) / r.failed) : '-',
        r.failed > 0 ? int((r.cpuMicrosPerRequest - rows[0]!.cpuMicrosPerRequest) / r.failed) : '-',
      ]),
    );
    // No worse than linear: the cost of a failed target between 10 and 20 targets is at most 1.5x its cost between 1
    // and 10 (growing faster than linear would show there). R² says how well one line fits, noise included.
    const at = (n: number): (typeof rows)[number] => rows.find((r) => r.targets === n)!;
    const segment = (y: (r: (typeof rows)[number]) => number, from: number, to: number): number => (y(at(to)) - y(at(from))) / (to - from);
    const shape = (f: Fit, y: (r: (typeof rows)[number]) => number): { linear: boolean; early: number; late: number } => {
      const early = segment(y, 1, 10);
      const late = segment(y, 10, 20);
      return { linear: late <= 1.5 * early, early, late };
    };
    const p50Shape = shape(p50Fit, (r) => r.p50Micros);
    const cpuShape = shape(cpuFit, (r) => r.cpuMicrosPerRequest);
    const p50Linear = p50Shape.linear;
    const cpuLinear = cpuShape.linear;
    note(`p50: ${int(p50Fit.intercept)} µs + ${int(p50Fit.slope)} µs per failed target (R² ${fixed(p50Fit.r2, 4)}; per failed target ${int(p50Shape.early)} µs from 1 to 10 targets, ${int(p50Shape.late)} µs from 10 to 20: ${p50Linear ? 'no worse than linear' : 'FASTER than linear'})`);
    note(`router CPU: ${int(cpuFit.intercept)} µs + ${int(cpuFit.slope)} µs per failed target (R² ${fixed(cpuFit.r2, 4)}; ${int(cpuShape.early)} µs from 1 to 10, ${int(cpuShape.late)} µs from 10 to 20: ${cpuLinear ? 'no worse than linear' : 'FASTER than linear'}); one whole request with one target: ${int(rows[0]!.cpuMicrosPerRequest)} µs`);
    const yard = out.floor as { p50Micros: number; cpuMicrosPerRequest: number };
    note(`yardstick, the bare node:http proxy at c=1: p50 ${int(yard.p50Micros)} µs, ${int(yard.cpuMicrosPerRequest)} µs of CPU per whole proxied request; a failed target costs the router ${fixed(cpuFit.slope / yard.cpuMicrosPerRequest, 1)}x that`);
    note('(no worse than linear: the cost per failed target from 10 to 20 targets at most 1.5x that from 1 to 10)');
    watch(p50Linear, `chain: p50 grows faster than linearly with the failed targets (R² ${fixed(p50Fit.r2, 4)}, ${int(p50Shape.early)} then ${int(p50Shape.late)} µs per failed target)`);
    watch(cpuLinear, `chain: CPU grows faster than linearly with the failed targets (R² ${fixed(cpuFit.r2, 4)}, ${int(cpuShape.early)} then ${int(cpuShape.late)} µs per failed target)`);
    for (const r of rows) check(Math.abs(r.downPerRequest - r.failed) < 1e-9, `chain n=${r.targets}: ${fixed(r.downPerRequest)} failing upstream requests per request, expected ${r.failed}`);
    Object.assign(out, {
      requestsPerSize: perSize,
      rounds,
      rows,
      p50: { interceptMicros: round(p50Fit.intercept, 1), perFailedMicros: round(p50Fit.slope, 1), r2: round(p50Fit.r2, 5), residuals: p50Fit.residuals.map((r) => round(r, 1)), perFailed1to10: round(p50Shape.early, 1), perFailed10to20: round(p50Shape.late, 1), linear: p50Linear },
      cpu: { interceptMicros: round(cpuFit.intercept, 1), perFailedMicros: round(cpuFit.slope, 1), r2: round(cpuFit.r2, 5), residuals: cpuFit.residuals.map((r) => round(r, 1)), perFailed1to10: round(cpuShape.early, 1), perFailed10to20: round(cpuShape.late, 1), linear: cpuLinear },
    });
    return out;
  } finally {
    await stopServer(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Case 6: hedging at 32 connections.

async function caseHedge(): Promise<object> {
  const n = scaled(10_000, 500);
  const nSerial = scaled(300, 30);
  const delayMs = 20;
  const hedgeAfterMs = 5;
  const extra = {
    virtualKeys: {
      down: { provider: 'openai', apiKey: 'sk-bench', baseURL: `${upstreamURL}/down` },
      slow: { provider: 'openai', apiKey: 'sk-bench', baseURL: `${upstreamURL}/slow/${delayMs}/v1` },
    },
  };
  const body = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES });
  const variants = [
    { label: 'no hedging', config: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'slow' }, { provider: 'openai' }] } },
    { label: `hedge_after_ms ${hedgeAfterMs}`, config: { strategy: { mode: 'fallback', hedge_after_ms: hedgeAfterMs }, targets: [{ virtual_key: 'slow' }, { provider: 'openai' }] } },
  ];
  const rows: Array<Record<string, unknown>> = [];
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  let fastAloneP50 = Number.NaN;
  for (const v of variants) {
    const child = await startRouter(extra);
    try {
      const headers = { 'x-portkey-config': JSON.stringify(v.config) };
      await load(child.url, 0, 500, CONCURRENCY, () => ({ headers, body })); // warm-up
      for (const concurrency of [1, CONCURRENCY]) {
        const count = concurrency === 1 ? nSerial : n;
        await pause(200);
        const idle = await child.gc();
        await child.reset();
        const c0 = { ...upstreamCounts };
        const served: Record<string, number> = {};
        const r = await load(child.url, 0, count, concurrency, () => ({ headers, body }), {
          seen: (reply) => {
            const at = String(reply.headers['x-portkey-last-used-option-index'] ?? '?');
            served[at] = (served[at] ?? 0) + 1;
          },
        });
        const s = await child.stats();
        // Cancelled attempts close their sockets at once; give the upstream a moment to see the last ones.
        await pause(300);
        const settled = await child.gc();
        const d = Object.fromEntries(Object.entries(upstreamCounts).map(([k, value]) => [k, value - c0[k as keyof typeof c0]])) as typeof upstreamCounts;
        if (r.firstError) check(false, `hedge (${v.label}, c=${concurrency}): ${r.firstError}`);
        const slowWon = served['config.targets[0]'] ?? 0;
        const fastWon = served['config.targets[1]'] ?? 0;
        rows.push({
          label: v.label,
          concurrency,
          requests: count,
          rps: r.rps,
          p50: r.p50,
          p99: r.p99,
          cpuMicrosPerRequest: (s.cpuMicros - idle.cpuMicros) / count,
          rssIdle: idle.rss,
          rssPeak: s.peakRss,
          rssSettled: settled.rss,
          slowWon,
          fastWon,
          // Attempts the router made (as the upstream saw them) and what became of them.
          slowStarted: d.slowStarted,
          slowAnswered: d.slowAnswered,
          slowAborted: d.slowAborted,
          slowPending: d.slowStarted - d.slowAnswered - d.slowAborted,
          // Slow attempts that lost the race yet were answered: the upstream wrote the answer before the router's abort reached it.
          slowAnsweredAfterLosing: d.slowAnswered - slowWon,
          // Slow attempts cancelled before they ever reached the upstream (the hedge won while the request was being sent).
          slowNeverSent: count - d.slowStarted,
          fastStarted: d.answered,
          statuses: r.statuses,
        });
      }
      if (v === variants[1]) {
        // A yardstick for the hedged p50: the fast target alone, in the same router, one at a time.
        const alone = await load(child.url, 0, nSerial, 1, () => ({ headers: { 'x-portkey-provider': 'openai' }, body }));
        fastAloneP50 = alone.p50;
      }
    } finally {
      await stopServer(child);
    }
  }
  table(
    `Case 6. Fallback [slow (${delayMs} ms), fast], with and without hedge_after_ms: ${hedgeAfterMs}; ${int(nSerial)} requests at c=1, ${int(n)} at c=${CONCURRENCY}`,
    ['config', 'c', 'req/s', 'p50 ms', 'p99 ms', 'cpu µs/req', 'peak RSS', 'settled', 'won slow/fast', 'slow sent', 'answered', 'aborted', 'open', 'fast sent'],
    rows.map((r) => [
      String(r.label),
      String(r.concurrency),
      int(r.rps as number),
      fixed(r.p50 as number),
      fixed(r.p99 as number),
      int(r.cpuMicrosPerRequest as number),
      mb(r.rssPeak as number),
      mb(r.rssSettled as number),
      `${int(r.slowWon as number)}/${int(r.fastWon as number)}`,
      int(r.slowStarted as number),
      int(r.slowAnswered as number),
      int(r.slowAborted as number),
      int(r.slowPending as number),
      int(r.fastStarted as number),
    ]),
  );
  note('slow sent/answered/aborted/open: the slow target\'s attempts as the upstream saw them (aborted: closed by the router before their answer; open: neither, after the run)');
  for (const r of rows.filter((row) => String(row.label).startsWith('hedge'))) {
    const losers = (r.requests as number) - (r.slowWon as number);
    note(
      `hedged, c=${r.concurrency}: the slow target lost ${int(losers)} races; ${int(r.slowAborted as number)} of those attempts were closed before their answer, ${int(r.slowNeverSent as number)} cancelled before they reached the upstream, ${int(r.slowAnsweredAfterLosing as number)} answered before the abort reached the upstream`,
    );
    check((r.slowPending as number) === 0, `hedge c=${r.concurrency}: ${r.slowPending} slow attempts still open at the upstream after the run`);
  }
  const serial = (label: string): Record<string, unknown> => rows.find((r) => r.concurrency === 1 && String(r.label).startsWith(label))!;
  const plain1 = serial('no hedging');
  const hedged1 = serial('hedge');
  const losers1 = (hedged1.requests as number) - (hedged1.slowWon as number);
  check((hedged1.slowAborted as number) + (hedged1.slowNeverSent as number) >= 0.9 * losers1, `hedge c=1: only ${int((hedged1.slowAborted as number) + (hedged1.slowNeverSent as number))} of ${int(losers1)} losing slow attempts were cancelled`);
  note(`hedged, c=1: p50 ${fixed(hedged1.p50 as number)} ms = hedge_after_ms ${hedgeAfterMs} + ${fixed((hedged1.p50 as number) - hedgeAfterMs)} ms; the fast target alone: p50 ${fixed(fastAloneP50)} ms; without hedging ${fixed(plain1.p50 as number)} ms`);
  check((hedged1.p50 as number) < (plain1.p50 as number) / 2, `hedge c=1: p50 with hedging (${fixed(hedged1.p50 as number)} ms) is not well below the p50 without (${fixed(plain1.p50 as number)} ms)`);
  return { delayMs, hedgeAfterMs, fastAloneP50, rows };
}

// ---------------------------------------------------------------------------------------------

let upstreamURL = '';

async function main(): Promise<void> {
  const wallStarted = performance.now();
  const upstream = await startUpstream();
  upstreamURL = upstream.url;
  console.log(`bench/growth.ts: cases ${CASES.join(',')}, scale ${SCALE}, node ${process.version}, ${new Date().toISOString()}`);
  const results: Record<string, unknown> = {};
  const seconds: Record<string, number> = {};
  const runners: Record<CaseName, () => Promise<object>> = { stream: caseStream, configs: caseConfigs, traces: caseTraces, breakers: caseBreakers, chain: caseChain, hedge: caseHedge };
  try {
    for (const name of CASES as CaseName[]) {
      const started = performance.now();
      results[name] = await runners[name]();
      seconds[name] = round((performance.now() - started) / 1000, 1);
      note(`(${name}: ${seconds[name]} s)`);
    }
  } finally {
    for (const child of [...live]) await stopServer(child);
    agent.destroy();
    upstream.server.close();
  }
  const wall = (performance.now() - wallStarted) / 1000;
  console.log(`\n${problems.length === 0 ? 'Every check passed.' : `${problems.length} check(s) failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`}`);
  if (watches.length > 0) console.log(`${watches.length} watch(es) (timing or CPU between phases; noise can move these):\n${watches.map((p) => `  - ${p}`).join('\n')}`);
  console.log(`wall time ${fixed(wall, 1)} s`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, scale: SCALE, cases: CASES, wallSeconds: round(wall, 1), caseSeconds: seconds, problems, watches, results }, null, 2)}\n`);
  console.log(`JSON: ${OUT}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    for (const child of live) child.child.kill('SIGTERM');
    process.exit(1);
  },
);
