/**
 * Several instances, one view: two router instances (two Express apps, as two replicas behind a
 * load balancer would be) keep their circuit breakers and traces in one Redis.
 *
 *   npx tsx examples/redis.ts                                   # starts its own redis-server
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis.ts  # or uses yours (keys under llmfb:example:)
 *
 * Without REDIS_URL it starts Debian's `redis-server` (apt-get install redis-server) on a free
 * loopback port, without persistence, and stops it at the end. Instance A talks to Redis through
 * ioredis, instance B through node-redis (`redis`): either client works, through `sendCommand`.
 *
 * The demo OpenAI always answers 429, so each request falls back to the demo Azure OpenAI. B
 * sends one request and A one: neither saw two failures, but the fleet did, and the breaker on
 * OpenAI opens (failureThreshold 2). B learns it from Redis within a second and skips OpenAI
 * from then on; GET /logs on A lists the traces of both instances. Prints what happened and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import net from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { createFallbackRouter, type RouterOptions } from '../lib/index.js';
import { createRedisStores } from '../lib/redis.js';
import { startDemoUpstreams } from './demo-upstreams.js';

interface Instance {
  /** `http://127.0.0.1:<port>/v1` */
  readonly base: string;
  close(): Promise<void>;
}

const gatewayKey = 'demo-gateway-key';

/** One instance of your service: its router keeps breakers and traces in Redis, through ioredis. */
function routerWithIoredis(redisUrl: string, options: RouterOptions) {
  const redis = new Redis(redisUrl);
  redis.on('error', (err) => console.error('redis (ioredis):', err.message));
  const stores = createRedisStores({
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args),
    prefix: 'llmfb:example:', // the same on every instance; the default is 'llmfb:'
  });
  const router = createFallbackRouter({ ...options, breakerStore: stores.breaker, traceStore: stores.traces });
  const close = async () => {
    await stores.close(); // sends what is queued; the client stays yours to quit
    await redis.quit();
  };
  return { router, close };
}

/** The same, through node-redis. */
async function routerWithNodeRedis(redisUrl: string, options: RouterOptions) {
  const client = createClient({ url: redisUrl });
  client.on('error', (err: Error) => console.error('redis (node-redis):', err.message));
  await client.connect();
  const stores = createRedisStores({
    sendCommand: (...args: string[]) => client.sendCommand(args),
    prefix: 'llmfb:example:',
  });
  const router = createFallbackRouter({ ...options, breakerStore: stores.breaker, traceStore: stores.traces });
  const close = async () => {
    await stores.close();
    await client.close();
  };
  return { router, close };
}

/** An Express app with the router at /v1, listening on a free loopback port. */
async function listen(instance: { router: express.Router; close(): Promise<void> }): Promise<Instance> {
  const app = express();
  app.use('/v1', instance.router);
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      server.close();
      await instance.close();
    },
  };
}

/** Starts redis-server on a free loopback port, without persistence; resolves once it answers. */
async function startRedisServer(): Promise<{ url: string; child: ChildProcess }> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  probe.close();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.on('error', (err) => {
    console.error(`could not start redis-server (${err.message}): install it (apt-get install redis-server) or set REDIS_URL`);
    process.exit(1);
  });
  for (let i = 0; i < 200; i++) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.on('data', (d) => (socket.end(), resolve(d.toString().startsWith('+PONG'))));
      socket.on('error', () => resolve(false));
    });
    if (pong) return { url: `redis://127.0.0.1:${port}`, child };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill();
  throw new Error(`redis-server did not answer on port ${port}`);
}

async function chat(instance: Instance): Promise<{ status: number; servedBy: string | null; traceId: string | null }> {
  const res = await fetch(`${instance.base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': gatewayKey, 'x-portkey-fallback': 'openai,azure_openai' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, servedBy: res.headers.get('x-portkey-provider'), traceId: res.headers.get('x-portkey-trace-id') };
}

async function getJson(instance: Instance, path: string): Promise<any> {
  const res = await fetch(`${instance.base}${path}`, { headers: { 'x-portkey-api-key': gatewayKey } });
  return res.json();
}

async function main(): Promise<void> {
  const own = process.env.REDIS_URL ? undefined : await startRedisServer();
  const redisUrl = process.env.REDIS_URL || own!.url;
  const up = await startDemoUpstreams();
  const options: RouterOptions = {
    providers: {
      openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
      azure_openai: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
    },
    auth: { apiKeys: [gatewayKey] },
    circuitBreaker: { failureThreshold: 2, minimumRequests: 2, windowMs: 60_000, cooldownMs: 30_000 },
  };
  // B tells when its router learns that the OpenAI breaker opened (it reads Redis in the background).
  let opened: () => void = () => undefined;
  const bLearns = new Promise<void>((resolve) => (opened = resolve));
  const onBreakerStateChange = (change: { key: string; to: string }): void => {
    if (change.key.startsWith('openai|') && change.to === 'open') opened();
  };
  const a = await listen(routerWithIoredis(redisUrl, options));
  const b = await listen(await routerWithNodeRedis(redisUrl, { ...options, hooks: { onBreakerStateChange } }));
  try {
    console.log(`Redis: ${own ? `a redis-server of our own at ${redisUrl}` : redisUrl}`);
    const first = await chat(b);
    console.log(`B: HTTP ${first.status}, served by ${first.servedBy} (OpenAI answered 429: one failure, counted in Redis)`);
    const second = await chat(a);
    console.log(`A: HTTP ${second.status}, served by ${second.servedBy} (a second failure, fleet-wide: the breaker on OpenAI opens)`);

    const started = Date.now();
    await Promise.race([bLearns, new Promise((resolve) => setTimeout(resolve, 5000))]);
    const health = await getJson(b, '/health');
    const state: string = health.targets.find((t: { provider: string }) => t.provider === 'openai')?.state ?? 'unknown';
    console.log(`B: learned from Redis in ${Date.now() - started} ms that the OpenAI breaker is ${state} (GET /health: stores ${JSON.stringify(health.stores.breaker)})`);
    const third = await chat(b);
    let trace = await getJson(b, `/logs/${third.traceId}`);
    for (let i = 0; i < 100 && !trace.attempts; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20)); // traces are written after the response
      trace = await getJson(b, `/logs/${third.traceId}`);
    }
    const skipped = trace.attempts?.find((row: { skipped?: string }) => row.skipped === 'circuit_open');
    console.log(`B: HTTP ${third.status}, served by ${third.servedBy}; OpenAI ${skipped ? 'skipped (circuit_open), not called' : 'was called'}`);

    const logs = await getJson(a, '/logs?limit=10');
    console.log(`A: GET /logs lists ${logs.data.length} traces of both instances: ${logs.data.map((t: { traceId: string }) => t.traceId).join(', ')}`);
    if (state !== 'open' || !skipped || logs.data.length < 3) process.exitCode = 1;
  } finally {
    await a.close();
    await b.close();
    await up.close();
    own?.child.kill();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
