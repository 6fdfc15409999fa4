/**
 * `npm run bench`: what the router adds, as ratios against baselines measured in the same run.
 *
 *   1. latency and throughput of a chat request: direct to the upstream, through a bare axios
 *      proxy in Express (the least any Express proxy can do), and through the router
 *      (one target; and a fallback: primary 503, backup answers);
 *   2. several instances (bench/redis.ts): the router with the Redis stores against the
 *      in-memory stores, added latency at c=1 and throughput at c=32, and the trace listing
 *      among 100,000 traces in Redis (skipped without redis-server);
 *   3. memory while streaming long answers through the router: peak live heap (sampled after a
 *      forced GC) for a 4 MB and a 16 MB answer, which should not grow with the length
 *      (passthrough never holds the whole answer).
 *
 * Everything runs on 127.0.0.1. Bounded in count and time; prints a table and exits.
 */
import http from 'node:http';
import axios from 'axios';
import express from 'express';
import { createFallbackRouter } from '../lib/index.js';
import { agent, listen, run as runLoad, type Result } from './load.js';
import { benchRedis } from './redis.js';

const N = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const run = (name: string, url: string, headers: Record<string, string> = {}): Promise<Result> => runLoad(name, url, headers, N, CONCURRENCY);

const answer = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench upstream.' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 },
});

/** An OpenAI-like upstream: /ok answers, /down answers 503, /stream?bytes=N streams N bytes of text. */
function upstream(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  req.on('end', () => {
    if (req.url?.startsWith('/down')) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"down","type":"server_error"}}');
      return;
    }
    if (req.url?.startsWith('/stream')) {
      const total = Number(new URL(req.url, 'http://x').searchParams.get('bytes') ?? 0);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const piece = 'x'.repeat(200);
      const frame = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`;
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += piece.length;
          if (!res.write(frame)) {
            res.once('drain', pump);
            return;
          }
        }
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
}

async function streamPeakHeap(url: string, bytes: number): Promise<{ mb: number; peakGrowthMb: number; received: number }> {
  // Live memory, not garbage: collect before each sample (npm run bench passes --expose-gc).
  const live = (): number => {
    global.gc?.();
    return process.memoryUsage().heapUsed;
  };
  const before = live();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, live());
  }, 25);
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-portkey-provider': 'openai', 'x-bench-bytes': String(bytes) } }, (res) => {
      res.on('data', (d: Buffer) => {
        received += d.length;
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'long' }], stream: true }));
  });
  clearInterval(timer);
  return { mb: bytes / 1e6, peakGrowthMb: (peak - before) / 1e6, received };
}

async function main(): Promise<void> {
  const up = await listen(upstream);

  // Baseline: the least an Express proxy can do (axios with keep-alive, no config, no checks).
  const client = axios.create({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }), proxy: false, validateStatus: () => true, responseType: 'text', transformResponse: [(d: unknown) => d] });
  const bare = express();
  bare.use(express.json());
  bare.post('/v1/chat/completions', async (req, res) => {
    const r = await client.post(`${up.url}/ok`, req.body, { headers: { authorization: 'Bearer x' } });
    res.status(r.status).type('application/json').send(r.data);
  });
  const bareServer = await listen(bare as unknown as http.RequestListener);

  const gw = express();
  const router = createFallbackRouter({
    providers: { openai: { apiKey: 'sk-bench', baseURL: `${up.url}/ok` } },
    virtualKeys: { down: { provider: 'openai', apiKey: 'sk-bench', baseURL: `${up.url}/down` } },
    logger: { warn: () => undefined, error: console.error },
  });
  gw.use('/v1', router);
  const gwServer = await listen(gw as unknown as http.RequestListener);

  // The upstream's base URL ends in /ok: the OpenAI adapter appends /chat/completions.
  const results = [
    await run('direct to upstream', `${up.url}/ok`),
    await run('bare axios proxy (Express)', `${bareServer.url}/v1/chat/completions`),
    await run('router, one target', `${gwServer.url}/v1/chat/completions`, { 'x-portkey-provider': 'openai' }),
    await run('router, fallback (503 then 200)', `${gwServer.url}/v1/chat/completions`, {
      'x-portkey-config': JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'down' }, { provider: 'openai' }] }),
    }),
  ];
  const baseline = results[1]!;
  console.log(`\nlatency and throughput: ${N} requests, ${CONCURRENCY} at a time, after 200 warm-up requests each\n`);
  console.log('case                               p50 ms   p99 ms      req/s   p50 vs bare   req/s vs bare');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(34)} ${r.p50.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(8)} ${r.rps.toFixed(0).padStart(10)}   ${(r.p50 / baseline.p50).toFixed(2).padStart(10)}x   ${(r.rps / baseline.rps).toFixed(2).padStart(12)}x`,
    );
  }

  // Several instances: the Redis stores against the in-memory ones (bench/redis.ts).
  await benchRedis(up.url);

  // Streaming memory: a router whose OpenAI base asks the upstream for a long stream.
  const sizes = [4_000_000, 16_000_000];
  console.log(`\nstreaming memory (passthrough): peak live heap growth while streaming one long answer${global.gc ? '' : ' (no --expose-gc: garbage included)'}\n`);
  const rows: Array<{ mb: number; peakGrowthMb: number; received: number }> = [];
  for (const bytes of sizes) {
    const app = express();
    app.use('/v1', createFallbackRouter({ providers: { openai: { apiKey: 'sk-bench', baseURL: `${up.url}/stream?bytes=${bytes}#` } }, logger: { warn: () => undefined, error: console.error } }));
    const s = await listen(app as unknown as http.RequestListener);
    rows.push(await streamPeakHeap(`${s.url}/v1/chat/completions`, bytes));
    s.server.close();
  }
  for (const r of rows) console.log(`answer ${r.mb.toFixed(0).padStart(3)} MB: ${(r.received / 1e6).toFixed(1)} MB of SSE received, peak heap growth ${r.peakGrowthMb.toFixed(1)} MB`);
  const [small, large] = rows;
  if (small && large) {
    // Holding the answer would cost at least its extra length; passthrough should cost ~nothing.
    const extra = large.mb - small.mb;
    const diff = large.peakGrowthMb - small.peakGrowthMb;
    console.log(`an answer ${extra.toFixed(0)} MB longer used ${diff.toFixed(1)} MB more live heap (${((diff / extra) * 100).toFixed(1)}% of the extra length; buffering it would be >= 100%)`);
  }

  agent.destroy();
  for (const s of [up.server, bareServer.server, gwServer.server]) {
    s.closeAllConnections();
    s.close();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
