/**
 * `npm run soak`: minutes of mixed load through the router, then what it left behind.
 *
 * Everything runs on 127.0.0.1 in this process: a fake OpenAI and a fake Anthropic (node:http,
 * each speaking its own wire format, behaving as the request's `model` says), and an Express app
 * with `createFallbackRouter`. A client with bounded concurrency sends a weighted mix of:
 * successes, failovers (503 then a backup), streams (passthrough and buffered, OpenAI and
 * Anthropic), client aborts mid-request and mid-stream, upstream timeouts (a short
 * request_timeout over a slow upstream), upstream resets, retries honouring `retry-after-ms`,
 * hedges, and invalid configs.
 *
 * At the end it prints the requests sent, the answers by status (overall and per scenario), the
 * unanswered ones (no response when the run ended, after a grace period), RSS and heap at start /
 * peak / settled (after GC, a few seconds after the load stopped), open sockets (the router's
 * server connections, the upstreams' connections from the router, the client agent's sockets)
 * and the active handles and timers (process.getActiveResourcesInfo()).
 *
 * Exit code: 0 when every request was answered as its scenario expects and settled memory is
 * near the start; 1 otherwise (each reason printed); 2 when the run itself overran its bounds.
 *
 * Environment: SOAK_SECONDS (default 180), SOAK_CONCURRENCY (32), SOAK_MAX_REQUESTS (1,000,000),
 * SOAK_SEED (1), SOAK_GRACE_MS (10,000), SOAK_SETTLE_MS (3,000).
 * Run with `node --expose-gc --import tsx bench/soak.ts` (that is `npm run soak`).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { createFallbackRouter } from '../lib/index.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 32);
const MAX_REQUESTS = Number(process.env.SOAK_MAX_REQUESTS ?? 1_000_000);
const SEED = Number(process.env.SOAK_SEED ?? 1);
const GRACE_MS = Number(process.env.SOAK_GRACE_MS ?? 10_000);
const SETTLE_MS = Number(process.env.SOAK_SETTLE_MS ?? 3_000);
const WARMUP_REQUESTS = 200;

/** Settled memory above these (over the start) fails the run. */
const HEAP_GROWTH_LIMIT = (startHeap: number): number => Math.max(48 * MB, startHeap);
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;
const MB = 1024 * 1024;

// A hard stop: whatever happens, the soak ends.
const hardStop = setTimeout(
  () => {
    console.error(`soak: still running ${SECONDS + 120} s after the start; giving up`);
    process.exit(2);
  },
  (SECONDS + 120) * 1000,
);
hardStop.unref();

if (typeof global.gc !== 'function') {
  console.error('soak: run with --expose-gc (npm run soak) so that settled memory is measured after a GC');
}

/** mulberry32: a small seeded PRNG, so a run's mix can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

// ---------------------------------------------------------------------------------------------
// Fake upstreams. The request's `model` picks the behaviour:
//   soak-ok      answers (JSON, or a short stream)
//   soak-503     503
//   soak-slow    answers after 1.5 s (a request_timeout cuts it first)
//   soak-reset   destroys the socket
//   soak-429     every other call 429 with retry-after-ms 0..30, else answers
//   soak-long    a stream of 40 events, 25 ms apart
//   soak-cut     a stream cut after 2 events

type Kind = 'openai' | 'anthropic';

interface Upstream {
  readonly kind: Kind;
  readonly origin: string;
  readonly server: http.Server;
  readonly sockets: Set<Socket>;
  calls: number;
}

let flip429 = 0;

function startUpstream(kind: Kind): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const up: Upstream = { kind, origin: '', server: http.createServer(), sockets, calls: 0 };
  up.server.keepAliveTimeout = 5_000;
  up.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      up.calls += 1;
      let body: { model?: unknown; stream?: unknown } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        // answered as soak-ok
      }
      const model = typeof body.model === 'string' ? body.model : 'soak-ok';
      behave(kind, model, body.stream === true, req, res);
    });
  });
  return new Promise((resolve) => {
    up.server.listen(0, '127.0.0.1', () => {
      (up as { origin: string }).origin = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
      resolve(up);
    });
  });
}

function json(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorPayload(kind: Kind, status: number): unknown {
  return kind === 'anthropic'
    ? { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message: `soak ${status}` } }
    : { error: { message: `soak ${status}`, type: status === 429 ? 'rate_limit_error' : 'server_error', param: null, code: null } };
}

function okPayload(kind: Kind, model: string): unknown {
  return kind === 'anthropic'
    ? { id: 'msg_soak', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'Hello from the soak upstream.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 9, output_tokens: 7 } }
    : { id: 'chatcmpl-soak', object: 'chat.completion', created: 1_700_000_000, model, choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the soak upstream.' }, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 } };
}

function behave(kind: Kind, model: string, stream: boolean, req: http.IncomingMessage, res: http.ServerResponse): void {
  switch (model) {
    case 'soak-503':
      return json(res, 503, errorPayload(kind, 503));
    case 'soak-reset':
      req.socket.destroy();
      return;
    case 'soak-429':
      if (flip429++ % 2 === 0) return json(res, 429, errorPayload(kind, 429), { 'retry-after-ms': String(between(0, 30)) });
      break;
    case 'soak-slow': {
      const timer = setTimeout(() => (stream ? streamAnswer(kind, model, res, 3, 5, undefined) : json(res, 200, okPayload(kind, model))), 1_500);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case 'soak-long':
      return streamAnswer(kind, model, res, 40, 25, undefined);
    case 'soak-cut':
      return streamAnswer(kind, model, res, 6, 5, 2);
  }
  if (stream) return streamAnswer(kind, model, res, 5, 2, undefined);
  json(res, 200, okPayload(kind, model));
}

/** A stream in the upstream's format: `pieces` content events `intervalMs` apart, cut after `cutAfter`. */
function streamAnswer(kind: Kind, model: string, res: http.ServerResponse, pieces: number, intervalMs: number, cutAfter: number | undefined): void {
  if (res.destroyed) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const frame = (data: unknown, event?: string): string => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
    frame({ id: 'chatcmpl-soak', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  if (kind === 'anthropic') {
    res.write(frame({ type: 'message_start', message: { id: 'msg_soak', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: 9, output_tokens: 1 } } }, 'message_start'));
    res.write(frame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
  } else {
    res.write(chunk({ role: 'assistant', content: '' }));
  }
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => clearTimeout(timer));
  const next = (): void => {
    if (res.destroyed || res.writableEnded) return;
    if (cutAfter !== undefined && sent === cutAfter) {
      res.socket?.destroy();
      return;
    }
    if (sent < pieces) {
      sent += 1;
      res.write(kind === 'anthropic' ? frame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` piece${sent}` } }, 'content_block_delta') : chunk({ content: ` piece${sent}` }));
      timer = setTimeout(next, intervalMs);
      return;
    }
    if (kind === 'anthropic') {
      res.write(frame({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
      res.write(frame({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pieces } }, 'message_delta'));
      res.end(frame({ type: 'message_stop' }, 'message_stop'));
    } else {
      res.write(chunk({}, 'stop'));
      res.end(frame('[DONE]'));
    }
  };
  timer = setTimeout(next, intervalMs);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  readonly name: string;
  readonly weight: number;
  readonly config: unknown;
  readonly stream?: boolean;
  readonly headers?: Record<string, string>;
  /** Statuses this scenario may answer with. */
  readonly expect: readonly number[];
  /** For a stream: the answer must end as a whole answer. */
  readonly complete?: boolean;
  /** The client hangs up: mid-request after a delay, or mid-stream after the first bytes. */
  readonly abort?: 'request' | 'stream';
}

const vk = (id: string, model: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ virtual_key: id, override_params: { model }, ...extra });
const fallback = (targets: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ strategy: { mode: 'fallback' }, targets, ...extra });

const SCENARIOS: readonly Scenario[] = [
  { name: 'success (openai)', weight: 14, config: vk('vk-openai', 'soak-ok'), expect: [200] },
  { name: 'success (anthropic)', weight: 6, config: vk('vk-anthropic', 'soak-ok'), expect: [200] },
  { name: 'failover 503 -> backup', weight: 10, config: fallback([vk('vk-openai', 'soak-503'), vk('vk-anthropic', 'soak-ok')]), expect: [200] },
  { name: 'stream passthrough (openai)', weight: 8, config: vk('vk-openai', 'soak-ok'), stream: true, expect: [200], complete: true },
  { name: 'stream passthrough (anthropic)', weight: 5, config: vk('vk-anthropic', 'soak-ok'), stream: true, expect: [200], complete: true },
  {
    name: 'stream buffered, primary cut mid-stream',
    weight: 6,
    config: fallback([vk('vk-openai', 'soak-cut'), vk('vk-anthropic', 'soak-ok')]),
    stream: true,
    headers: { 'x-portkey-stream-mode': 'buffered' },
    expect: [200],
    complete: true,
  },
  { name: 'client abort mid-request', weight: 6, config: vk('vk-openai', 'soak-slow'), expect: [], abort: 'request' },
  { name: 'client abort mid-stream', weight: 6, config: vk('vk-anthropic', 'soak-long'), stream: true, expect: [200], abort: 'stream' },
  { name: 'upstream timeout -> backup', weight: 7, config: fallback([vk('vk-openai', 'soak-slow'), vk('vk-anthropic', 'soak-ok')], { request_timeout: 150 }), expect: [200] },
  { name: 'upstream timeout, no backup', weight: 3, config: vk('vk-openai', 'soak-slow', { request_timeout: 120 }), expect: [408] },
  { name: 'upstream reset -> backup', weight: 6, config: fallback([vk('vk-openai', 'soak-reset'), vk('vk-anthropic', 'soak-ok')]), expect: [200] },
  {
    name: 'retries with retry-after-ms',
    weight: 8,
    config: fallback([vk('vk-openai', 'soak-429', { retry: { attempts: 3, use_retry_after_header: true } }), vk('vk-anthropic', 'soak-ok')]),
    expect: [200],
  },
  { name: 'hedge over a slow primary', weight: 4, config: fallback([vk('vk-openai', 'soak-slow'), vk('vk-anthropic', 'soak-ok')], { strategy: { mode: 'fallback', hedge_after_ms: 40 } }), expect: [200] },
  { name: 'invalid config', weight: 3, config: { strategy: { mode: 'nope' }, targets: [] }, expect: [400] },
  { name: 'long stream to the end', weight: 2, config: vk('vk-openai', 'soak-long'), stream: true, expect: [200], complete: true },
];

const TOTAL_WEIGHT = SCENARIOS.reduce((n, s) => n + s.weight, 0);
function pickScenario(): Scenario {
  let r = random() * TOTAL_WEIGHT;
  for (const s of SCENARIOS) {
    r -= s.weight;
    if (r < 0) return s;
  }
  return SCENARIOS[0]!;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Tally {
  sent: number;
  byStatus: Map<number, number>;
  aborted: number;
  unexpected: number;
  incomplete: number;
  clientErrors: number;
  unanswered: number;
}
const newTally = (): Tally => ({ sent: 0, byStatus: new Map(), aborted: 0, unexpected: 0, incomplete: 0, clientErrors: 0, unanswered: 0 });
const total = newTally();
const perScenario = new Map<string, Tally>(SCENARIOS.map((s) => [s.name, newTally()]));
const examples: string[] = [];
const note = (line: string): void => {
  if (examples.length < 12) examples.push(line);
};

/** Requests with no outcome yet: destroyed at the end if still here after the grace period. */
const pending = new Map<number, { scenario: Scenario; req: http.ClientRequest; startedAt: number; abandon: () => void }>();
let nextId = 0;

function count(t: Tally, f: (t: Tally) => void): void {
  f(t);
  f(total);
}

function send(origin: string, agent: http.Agent, scenario: Scenario, measured: boolean): Promise<void> {
  const id = nextId++;
  const tally = measured ? perScenario.get(scenario.name)! : newTally();
  const add = (f: (t: Tally) => void): void => (measured ? count(tally, f) : f(tally));
  add((t) => (t.sent += 1));
  const body = JSON.stringify({ model: 'soak-ok', max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }], ...(scenario.stream ? { stream: true } : {}) });
  return new Promise<void>((resolve) => {
    let settled = false;
    let intended = false;
    const finish = (f?: (t: Tally) => void): void => {
      if (settled) return;
      settled = true;
      pending.delete(id);
      if (f) add(f);
      resolve();
    };
    const req = http.request(
      `${origin}/v1/chat/completions`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'soak-gateway-key', 'x-portkey-config': JSON.stringify(scenario.config), ...scenario.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (scenario.abort === 'stream' && text === '') setTimeout(() => ((intended = true), req.destroy()), between(0, 150));
          text += d;
        });
        let ended = false;
        res.on('close', () => {
          if (ended) return;
          if (intended) return finish((t) => (t.aborted += 1));
          finish((t) => {
            t.clientErrors += 1;
            note(`${scenario.name}: the response was cut (status ${res.statusCode}, ${text.length} bytes): ...${text.slice(-200)}`);
          });
        });
        res.on('end', () => {
          ended = true;
          const status = res.statusCode ?? 0;
          finish((t) => {
            t.byStatus.set(status, (t.byStatus.get(status) ?? 0) + 1);
            if (scenario.expect.length > 0 && !scenario.expect.includes(status)) {
              t.unexpected += 1;
              note(`${scenario.name}: unexpected ${status} ${text.slice(0, 200)}`);
            } else if (scenario.complete && status === 200 && !/data: \[DONE\]\s*$/.test(text)) {
              t.incomplete += 1;
              note(`${scenario.name}: stream did not end with [DONE]: ...${text.slice(-200)}`);
            }
          });
        });
        res.on('error', () => undefined); // reported through req 'error' / 'close'
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (intended) return finish((t) => (t.aborted += 1));
      finish((t) => {
        t.clientErrors += 1;
        note(`${scenario.name}: client error ${err.code ?? ''} ${err.message}`);
      });
    });
    req.on('close', () => {
      if (intended) finish((t) => (t.aborted += 1));
    });
    // Counted as unanswered by the caller: what happens to the socket afterwards is not counted again.
    const abandon = (): void => {
      settled = true;
      pending.delete(id);
      resolve();
    };
    pending.set(id, { scenario, req, startedAt: Date.now(), abandon });
    req.end(body);
    if (scenario.abort === 'request') setTimeout(() => ((intended = true), req.destroy()), between(20, 200));
  });
}

interface Mem {
  rss: number;
  heapUsed: number;
}
const mem = (): Mem => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
};
const settle = async (): Promise<Mem> => {
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return mem();
};
const fmt = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) out[name] = (out[name] ?? 0) + 1;
  return out;
}

function connections(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_err, n) => resolve(n)));
}

function agentSockets(agent: http.Agent): { active: number; free: number } {
  const n = (o: NodeJS.ReadOnlyDict<unknown[]>): number => Object.values(o).reduce((a, list) => a + (list?.length ?? 0), 0);
  return { active: n(agent.sockets), free: n(agent.freeSockets) };
}

async function main(): Promise<number> {
  const [openai, anthropic] = await Promise.all([startUpstream('openai'), startUpstream('anthropic')]);
  const logs = { warn: 0, error: 0 };
  const app = express();
  app.use(
    '/v1',
    createFallbackRouter({
      providers: {
        openai: { apiKey: 'sk-soak-openai', baseURL: `${openai.origin}/v1` },
        anthropic: { apiKey: 'sk-soak-anthropic', baseURL: `${anthropic.origin}/v1` },
      },
      virtualKeys: {
        'vk-openai': { provider: 'openai', apiKey: 'sk-soak-vk-openai', baseURL: `${openai.origin}/v1` },
        'vk-anthropic': { provider: 'anthropic', apiKey: 'sk-soak-vk-anthropic', baseURL: `${anthropic.origin}/v1` },
      },
      auth: { apiKeys: ['soak-gateway-key'] },
      logger: { warn: () => void (logs.warn += 1), error: () => void (logs.error += 1) },
    }),
  );
  const server = http.createServer(app);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  console.log(`soak: ${SECONDS} s, concurrency ${CONCURRENCY}, seed ${SEED}, ${SCENARIOS.length} scenarios, router at ${origin}`);

  // Warm up (JIT, pools, the trace store's first entries), then the baseline.
  await Promise.all(Array.from({ length: WARMUP_REQUESTS }, (_, i) => send(origin, agent, SCENARIOS[i % 4]!, false)));
  const start = await settle();
  let peak = { ...start };
  const sampler = setInterval(() => {
    const m = mem();
    peak = { rss: Math.max(peak.rss, m.rss), heapUsed: Math.max(peak.heapUsed, m.heapUsed) };
  }, 200);

  const startedAt = performance.now();
  const endAt = startedAt + SECONDS * 1000;
  let lastReport = startedAt;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < endAt && total.sent < MAX_REQUESTS) {
      await send(origin, agent, pickScenario(), true);
      const now = performance.now();
      if (now - lastReport >= 10_000) {
        lastReport = now;
        const m = mem();
        console.log(`  t=${((now - startedAt) / 1000).toFixed(0)}s sent=${total.sent} in-flight=${pending.size} rss=${fmt(m.rss)} heap=${fmt(m.heapUsed)}`);
      }
    }
  });
  // Workers end once the time is up and their request has an outcome; a request that never gets
  // one holds its worker, so wait for them for the grace period only.
  const loadDone = Promise.all(workers);
  const stopAt = new Promise<void>((r) => setTimeout(r, SECONDS * 1000).unref());
  await stopAt;
  const graceOver = new Promise<'grace'>((r) => setTimeout(() => r('grace'), GRACE_MS).unref());
  await Promise.race([loadDone, graceOver]);
  const loadSeconds = (performance.now() - startedAt) / 1000;
  clearInterval(sampler);

  // Whatever is still pending got no response: unanswered.
  const stuck = [...pending.values()];
  for (const p of stuck) {
    const t = perScenario.get(p.scenario.name);
    if (t) count(t, (x) => (x.unanswered += 1));
    note(`${p.scenario.name}: unanswered after ${((Date.now() - p.startedAt) / 1000).toFixed(1)} s`);
    p.abandon();
    p.req.destroy();
  }
  pending.clear();

  const clientSocketsAtEnd = agentSockets(agent);
  agent.destroy();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const settled = await settle();
  const routerConnections = await connections(server);
  const upstreamConnections = (await connections(openai.server)) + (await connections(anthropic.server));
  const active = resources();

  // Close everything and see what would still keep the process alive.
  server.closeAllConnections();
  for (const up of [openai, anthropic]) up.server.closeAllConnections();
  await Promise.all([server, openai.server, anthropic.server].map((s) => new Promise<void>((r) => s.close(() => r()))));
  await new Promise((r) => setTimeout(r, 200));
  const afterClose = resources();

  // ---- report
  const line = (label: string, value: string): void => console.log(`${label.padEnd(34)} ${value}`);
  const statuses = (m: Map<number, number>): string => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ') || '-';
  console.log('');
  console.log(`== soak results (${loadSeconds.toFixed(1)} s of load, ${(total.sent / loadSeconds).toFixed(0)} req/s) ==`);
  line('requests sent', String(total.sent));
  line('answered, by status', statuses(total.byStatus));
  line('aborted by the client (intended)', String(total.aborted));
  line('unanswered', String(total.unanswered));
  line('client errors (reset, no response)', String(total.clientErrors));
  line('unexpected status', String(total.unexpected));
  line('streams not ending as a whole', String(total.incomplete));
  line('upstream calls', `openai ${openai.calls}, anthropic ${anthropic.calls}`);
  line('router log lines', `warn ${logs.warn}, error ${logs.error}`);
  console.log('');
  console.log('per scenario:');
  for (const s of SCENARIOS) {
    const t = perScenario.get(s.name)!;
    const bad = [t.unanswered && `unanswered ${t.unanswered}`, t.clientErrors && `client errors ${t.clientErrors}`, t.unexpected && `unexpected ${t.unexpected}`, t.incomplete && `incomplete ${t.incomplete}`].filter(Boolean).join(', ');
    console.log(`  ${s.name.padEnd(40)} sent ${String(t.sent).padStart(6)}  ${statuses(t.byStatus)}${t.aborted ? `, aborted ${t.aborted}` : ''}${bad ? `  !! ${bad}` : ''}`);
  }
  console.log('');
  line('memory', 'start / peak / settled');
  line('  rss', `${fmt(start.rss)} / ${fmt(peak.rss)} / ${fmt(settled.rss)}`);
  line('  heap used', `${fmt(start.heapUsed)} / ${fmt(peak.heapUsed)} / ${fmt(settled.heapUsed)}`);
  line('open sockets (settled)', `router server connections ${routerConnections}, upstream connections from the router ${upstreamConnections}, client agent ${clientSocketsAtEnd.active} active + ${clientSocketsAtEnd.free} free at the end of the load (then destroyed)`);
  line('active resources (settled)', JSON.stringify(active));
  line('active resources (after close)', JSON.stringify(afterClose));
  if (examples.length > 0) {
    console.log('');
    console.log('examples:');
    for (const e of examples) console.log(`  ${e}`);
  }

  const failures: string[] = [];
  if (total.unanswered > 0) failures.push(`${total.unanswered} requests unanswered`);
  if (total.clientErrors > 0) failures.push(`${total.clientErrors} requests ended without a response`);
  if (total.unexpected > 0) failures.push(`${total.unexpected} answers with a status their scenario does not expect`);
  if (total.incomplete > 0) failures.push(`${total.incomplete} streams that did not end as a whole answer`);
  const heapLimit = HEAP_GROWTH_LIMIT(start.heapUsed);
  if (settled.heapUsed - start.heapUsed > heapLimit) failures.push(`settled heap ${fmt(settled.heapUsed)} is more than ${fmt(heapLimit)} above the start (${fmt(start.heapUsed)})`);
  if (settled.rss - start.rss > RSS_GROWTH_LIMIT) failures.push(`settled RSS ${fmt(settled.rss)} is more than ${fmt(RSS_GROWTH_LIMIT)} above the start (${fmt(start.rss)})`);
  if (routerConnections > 0) console.log(`note: ${routerConnections} router server connections still open ${SETTLE_MS} ms after the client closed its sockets`);
  console.log('');
  if (failures.length > 0) {
    console.log(`FAIL: ${failures.join('; ')}`);
    return 1;
  }
  console.log(`OK: every request answered as expected; settled heap within ${fmt(heapLimit)} of the start, RSS within ${fmt(RSS_GROWTH_LIMIT)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('soak: crashed:', err);
    process.exit(2);
  },
);
