/**
 * The Redis trace store against a real redis-server: every filter of GET /logs, the order and
 * `before`/`limit` answer exactly what MemoryTraceStore (the reference) answers; `maxTraces`
 * trims on write (the JSON of a trace that left goes too); every key has the TTL; a listing walks
 * an index (it examines no trace outside it); during an outage this instance's traces are
 * answered locally and reach Redis once it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRedisStores, type RedisStores } from '../../lib/redis.js';
import { MemoryTraceStore } from '../../lib/trace/memory-store.js';
import type { Trace, TraceQuery } from '../../lib/trace/types.js';
import { connectClient, redisSkip, startRedisServer, type RedisClient, type RedisServer } from '../helpers/redis-server.js';

/** An hour ago, on a whole second (traces older than the TTL would leave at once). */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const PROVIDERS = ['openai', 'anthropic', 'azure-openai'];

/** A trace: start time T0 + i seconds (a few share a millisecond), a config, a status, providers. */
function trace(i: number, extra: Partial<Trace> = {}): Trace {
  const served = PROVIDERS[i % 3]!;
  const tried = PROVIDERS[(i + 1) % 3]!;
  return {
    traceId: `trace-${i % 17}`,
    requestId: `req-${i}`,
    configId: i % 4 === 3 ? 'cfg-3 é✓:7:' : `cfg-${i % 4}`, // any text, not only ASCII
    endpoint: 'chat',
    stream: false,
    startedAt: new Date(T0 + Math.floor(i / 2) * 1000).toISOString(),
    status: i % 5 === 0 ? 503 : 200,
    provider: served,
    latencyMs: 10,
    attempts: [
      { path: 'config.targets[0]', provider: tried, retry: 0, startedAt: '', latencyMs: 5, served: false, status: 503 },
      { path: 'config.targets[1]', provider: served, retry: 0, startedAt: '', latencyMs: 5, served: true, status: 200 },
    ],
    totals: { promptTokens: 1, completionTokens: 1, totalTokens: 2, costUsd: 0, attempts: 2, unpricedAttempts: 0 },
    ...extra,
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));
const ids = (traces: Trace[]): string[] => traces.map((t) => t.requestId);

describe('RedisTraceStore on redis-server', { skip: redisSkip() }, () => {
  let server: RedisServer;
  let client: RedisClient;
  const all: RedisStores[] = [];
  let n = 0;
  const stores = (extra: Partial<Parameters<typeof createRedisStores>[0]> = {}): RedisStores & { prefix: string } => {
    const prefix = `tr${++n}:`;
    const s = createRedisStores({ sendCommand: client.sendCommand, prefix, logger: { warn: () => undefined, error: () => undefined }, ...extra });
    all.push(s);
    return Object.assign(s, { prefix });
  };
  before(async () => {
    server = await startRedisServer();
    client = await connectClient('ioredis', server.port);
  });
  after(async () => {
    for (const s of all) await s.close();
    await client?.close();
    await server?.stop();
  });

  test('answers every filter, order, before and limit as MemoryTraceStore does', async () => {
    const redis = stores();
    const memory = new MemoryTraceStore({ maxTraces: 1000 });
    // Recorded out of order, as requests finish
    const order = Array.from({ length: 120 }, (_, i) => i).sort((a, b) => ((a * 37) % 120) - ((b * 37) % 120));
    for (const i of order) {
      memory.record(trace(i));
      redis.traces.record(trace(i));
    }
    await redis.traces.drain();
    const queries: TraceQuery[] = [{}, { limit: 7 }, { limit: 1000 }, { traceId: 'trace-3' }, { configId: 'cfg-2' }, { configId: 'cfg-3 é✓:7:' }, { status: 503 }, { status: 404 }, { provider: 'anthropic' }, { provider: 'nobody' }];
    queries.push({ configId: 'cfg-1', status: 503 }, { configId: 'cfg-1', provider: 'openai', limit: 3 }, { traceId: 'trace-5', status: 200, provider: 'azure-openai' });
    queries.push({ before: T0 + 30_000 }, { before: new Date(T0 + 30_000).toISOString(), configId: 'cfg-0' }, { before: String(T0 + 12_000), limit: 4 }, { before: 'not a time' });
    for (const q of queries) {
      const expected = memory.list(q);
      const got = await redis.traces.list(q);
      // Within one millisecond the order is each store's own: compare per millisecond.
      const byMs = (traces: Trace[]): string[] => traces.map((t) => `${t.startedAt}`);
      assert.deepEqual(byMs(got), byMs(expected), `the same start times, newest first, for ${JSON.stringify(q)}`);
      assert.deepEqual(ids(got).sort(), ids(expected).sort(), `the same traces for ${JSON.stringify(q)}`);
    }
    assert.equal((await redis.traces.get('trace-3'))?.requestId, memory.get('trace-3')?.requestId, 'get: the newest with that id');
    assert.equal(await redis.traces.get('no-such-trace'), undefined);
  });

  test('maxTraces trims on write, the oldest first, with their JSON; every key expires after traceTtlSeconds', async () => {
    const redis = stores({ maxTraces: 10, traceTtlSeconds: 3600 });
    for (let i = 0; i < 25; i++) redis.traces.record(trace(i, { startedAt: new Date(Date.now() - 25_000 + i * 1000).toISOString() }));
    await redis.traces.drain();
    const listed = await redis.traces.list({ limit: 100 });
    assert.deepEqual(ids(listed), Array.from({ length: 10 }, (_, k) => `req-${24 - k}`));
    assert.equal(await client.sendCommand('ZCARD', `${redis.prefix}tr:all`), 10);
    assert.equal(await client.sendCommand('EXISTS', `${redis.prefix}tr:req-3`), 0, 'the JSON of a trimmed trace is gone');
    const keys = (await client.sendCommand('KEYS', `${redis.prefix}*`)) as string[];
    assert.ok(keys.length > 10);
    for (const key of keys) {
      const ttl = Number(await client.sendCommand('TTL', key));
      assert.ok(ttl > 3500 && ttl <= 3600, `${key} has TTL ${ttl}`);
    }
    // An index whose traces all left is trimmed too: listing by it finds none of them.
    assert.deepEqual(ids(await redis.traces.list({ traceId: 'trace-10' })), []);
  });

  test('a listing walks the smallest index of its filters, never the whole store', async () => {
    const commands: string[][] = [];
    const redis = stores({ sendCommand: (...args: string[]) => (commands.push(args), client.sendCommand(...args)), maxScan: 20 });
    for (let i = 0; i < 200; i++) redis.traces.record(trace(i, { configId: i === 151 ? 'rare' : 'common' }));
    await redis.traces.drain();
    // 'rare' has one trace: found, though maxScan (20) is far below the 200 traces
    assert.deepEqual(ids(await redis.traces.list({ configId: 'rare', status: 200 })), ['req-151']);
    assert.deepEqual(ids(await redis.traces.list({ configId: 'rare', status: 503 })), []);
    // A sparse combination in a large index stops at maxScan: fewer than asked for, never a full scan
    const sparse = await redis.traces.list({ configId: 'common', traceId: 'trace-16', status: 200, limit: 50 });
    assert.ok(sparse.length >= 1 && sparse.length < 11, `${sparse.length} found within the bound`);
    assert.ok(commands.every((c) => !['SCAN', 'KEYS'].includes(c[0]!)));
  });

  test('during an outage, traces are answered from this instance and reach Redis once it is back', async () => {
    const other = await connectClient('node-redis', server.port);
    try {
      const warnings: string[] = [];
      const prefix = `tr${++n}:`;
      const redis = createRedisStores({ sendCommand: other.sendCommand, prefix, retryIntervalMs: 50, commandTimeoutMs: 100, traceTimeoutMs: 100, logger: { warn: (m: unknown) => void warnings.push(String(m)), error: () => undefined } });
      all.push(redis);
      redis.traces.record(trace(1));
      for (let i = 0; i < 100 && !(await redis.traces.get('trace-1')); i++) await settle();
      await server.stop();
      redis.traces.record(trace(2));
      await new Promise((resolve) => setTimeout(resolve, 150)); // past the 100 ms command timeout
      redis.traces.record(trace(3));
      assert.deepEqual(ids(await redis.traces.list({})), ['req-3', 'req-2'], 'the outage traces, from this instance');
      assert.equal((await redis.traces.get('trace-3'))?.requestId, 'req-3');
      assert.equal((await redis.status()).reachable, false);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      await server.start();
      for (let i = 0; i < 100 && !(await redis.status()).reachable; i++) await settle();
      await redis.traces.drain();
      // Redis restarted empty (no persistence): what it holds now is what was kept during the outage.
      assert.deepEqual(ids(await redis.traces.list({})).sort(), ['req-2', 'req-3']);
      assert.equal(warnings.length, 1, 'one warning for the outage');
    } finally {
      await other.close();
      if (!server.running) await server.start();
    }
  });
});
