/**
 * The Redis breaker store against a real redis-server (test/helpers/redis-server.ts), with both
 * clients: it decides exactly as MemoryBreakerStore (the reference) over long random sequences,
 * gives one probe per cooldown to concurrent callers of two instances, reloads its scripts after
 * SCRIPT FLUSH, and reads many keys in one call. And the connection layer with a scripted
 * `sendCommand` (no server needed): one warning per outage, nothing sent while down but a PING
 * per retry interval, a bounded number of commands in flight, local answers meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRedisStores, type RedisStores } from '../../lib/redis.js';
import type { BreakerPolicy } from '../../lib/stores/breaker-store.js';
import { MemoryBreakerStore } from '../../lib/stores/memory-breaker-store.js';
import { CircuitBreakers } from '../../lib/engine/policies/breaker.js';
import { EngineEvents } from '../../lib/engine/events.js';
import { connectClient, rawCommand, redisSkip, startRedisServer, type RedisClient, type RedisServer } from '../helpers/redis-server.js';

const policy: BreakerPolicy = { failureThreshold: 2, minimumRequests: 3, windowMs: 2_000, cooldownMs: 1_000 };
const quiet = (): { warn: (...a: unknown[]) => void; error: (...a: unknown[]) => void; info: (...a: unknown[]) => void; warnings: string[] } => {
  const warnings: string[] = [];
  return { warn: (...a) => void warnings.push(a.join(' ')), error: (...a) => void warnings.push(`error: ${a.join(' ')}`), info: () => undefined, warnings };
};

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const skip = redisSkip();

describe('RedisBreakerStore on redis-server', { skip }, () => {
  let server: RedisServer;
  const clients: RedisClient[] = [];
  const stores: RedisStores[] = [];
  let prefixes = 0;
  const open = async (kind: RedisClient['kind'], prefix = `t${++prefixes}:`, extra: Partial<Parameters<typeof createRedisStores>[0]> = {}) => {
    const client = await connectClient(kind, server.port);
    clients.push(client);
    const stores_ = createRedisStores({ sendCommand: client.sendCommand, prefix, logger: quiet(), ...extra });
    stores.push(stores_);
    return { client, stores: stores_, prefix };
  };
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const s of stores) await s.close();
    for (const c of clients) await c.close();
    await server?.stop();
  });

  for (const kind of ['ioredis', 'node-redis'] as const) {
    test(`${kind}: decides as MemoryBreakerStore over a long random sequence, and every change grows the version`, async () => {
      const { stores: redis } = await open(kind);
      const memory = new MemoryBreakerStore();
      const next = random(kind === 'ioredis' ? 7 : 11);
      let now = 1_000_000;
      const lastVersion = new Map<string, number>();
      const seen = new Set<string>();
      for (let step = 0; step < 400; step++) {
        now += Math.floor(next() * 400);
        const key = `k${Math.floor(next() * 3)}`;
        const what = `step ${step} (${key} at ${now})`;
        const before = memory.get(key)?.version ?? 0;
        let changed: boolean;
        if (next() < 0.4) {
          const m = memory.acquire(key, policy, now);
          const r = await redis.breaker.acquire(key, policy, now);
          assert.equal(r.decision, m.decision, `${what}: acquire`);
          seen.add(`${r.decision} ${r.state.state}`);
          assert.deepEqual({ ...r.state, version: 0 }, { ...m.state, version: 0 }, `${what}: acquire state`);
          changed = m.decision === 'probe';
          if (before > 0 || changed) check(key, r.state.version, changed, what);
        } else {
          const result = { failed: next() < 0.5, probe: next() < 0.1 };
          const m = memory.record(key, policy, result, now);
          const r = await redis.breaker.record(key, policy, result, now);
          assert.deepEqual({ ...r, version: 0 }, { ...m, version: 0 }, `${what}: record ${JSON.stringify(result)}`);
          seen.add(`record ${r.state}`);
          check(key, r.version, m.version !== before, what);
        }
      }
      function check(key: string, version: number, changed: boolean, what: string): void {
        const last = lastVersion.get(key) ?? 0;
        if (changed) assert.ok(version > last, `${what}: a change grows the version (${last} -> ${version})`);
        else assert.equal(version, last, `${what}: no change, same version`);
        lastVersion.set(key, version);
      }
      for (const what of ['allow closed', 'open open', 'probe half_open', 'open half_open', 'record open', 'record closed']) assert.ok(seen.has(what), `the sequence met ${what}: ${[...seen].join(', ')}`);
      const snapshot = await redis.breaker.snapshot();
      assert.deepEqual(snapshot.map((s) => s.key).sort(), memory.snapshot().map((s) => s.key).sort());
    });
  }

  test('outcomes recorded together (one script call, several per key) decide as one by one', async () => {
    const client = await connectClient('ioredis', server.port);
    clients.push(client);
    let evals = 0;
    const redis = createRedisStores({ sendCommand: (...args) => ((evals += args[0] === 'EVALSHA' ? 1 : 0), client.sendCommand(...args)), prefix: `t${++prefixes}:`, logger: quiet() });
    stores.push(redis);
    const memory = new MemoryBreakerStore();
    const next = random(3);
    const calls = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 2}`, result: { failed: next() < 0.6, probe: next() < 0.05 }, now: 1_000_000 + i * 50 }));
    const expected = calls.map((c) => ({ ...memory.record(c.key, policy, c.result, c.now), version: 0 }));
    const got = await Promise.all(calls.map((c) => redis.breaker.record(c.key, policy, c.result, c.now)));
    assert.deepEqual(got.map((g) => ({ ...g, version: 0 })), expected);
    assert.ok(evals <= 2, `${evals} script calls for ${calls.length} outcomes`);
    assert.ok(expected.some((e) => e.state === 'open') && expected.some((e) => e.state === 'closed'));
  });

  test('one probe per cooldown among concurrent callers of two instances (ioredis and node-redis)', async () => {
    const a = await open('ioredis');
    const b = await open('node-redis', a.prefix);
    const now = Date.now();
    const strict = { ...policy, minimumRequests: 1, failureThreshold: 1 };
    await a.stores.breaker.record('k', strict, { failed: true, probe: false }, now);
    const early = await Promise.all([a.stores.breaker.acquire('k', strict, now + 10), b.stores.breaker.acquire('k', strict, now + 10)]);
    assert.deepEqual(early.map((x) => x.decision), ['open', 'open'], 'within the cooldown, both are told open');
    const later = now + strict.cooldownMs;
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).stores.breaker.acquire('k', strict, later)));
    assert.equal(decisions.filter((d) => d.decision === 'probe').length, 1, JSON.stringify(decisions.map((d) => d.decision)));
    assert.equal((await b.stores.breaker.acquire('k', strict, later + 2 * strict.cooldownMs)).decision, 'probe', 'a probe silent for two cooldowns is replaced');
    assert.equal((await a.stores.breaker.record('k', strict, { failed: false, probe: true }, later + 1)).state, 'closed');
    assert.equal((await b.stores.breaker.acquire('k', strict, later + 2)).decision, 'allow');
  });

  test('getMany reads many keys in one call; a key without state is undefined', async () => {
    const client = await connectClient('ioredis', server.port);
    clients.push(client);
    const seen: string[][] = [];
    const s = createRedisStores({ sendCommand: (...args) => (seen.push(args), client.sendCommand(...args)), prefix: `t${++prefixes}:`, logger: quiet() });
    stores.push(s);
    await s.breaker.record('a', policy, { failed: true, probe: false }, 5_000);
    const keys = ['a', ...Array.from({ length: 200 }, (_, i) => `none${i}`)];
    seen.length = 0;
    const states = await s.breaker.getMany(keys);
    assert.equal(states.length, keys.length);
    assert.equal(states[0]?.failures, 1);
    assert.ok(states.slice(1).every((x) => x === undefined));
    assert.equal(seen.filter((c) => c[0] === 'EVALSHA').length, 1, 'one round trip');
  });

  test('scripts are loaded once, and again after SCRIPT FLUSH (NOSCRIPT), with no warning', async () => {
    const client = await connectClient('node-redis', server.port);
    clients.push(client);
    const commands: string[] = [];
    const logger = quiet();
    const s = createRedisStores({ sendCommand: (...args) => (commands.push(args.slice(0, 2).join(' ')), client.sendCommand(...args)), prefix: `t${++prefixes}:`, logger });
    stores.push(s);
    for (let i = 0; i < 3; i++) await s.breaker.record('k', policy, { failed: false, probe: false }, 1000 + i);
    assert.equal(commands.filter((c) => c === 'SCRIPT LOAD').length, 1, commands.join(', '));
    assert.match(await rawCommand(server.port, 'SCRIPT', 'FLUSH'), /^\+OK/);
    commands.length = 0;
    const state = await s.breaker.record('k', policy, { failed: false, probe: false }, 2000);
    assert.equal(state.requests, 3, 'the record went through after the reload');
    assert.deepEqual(commands.map((c) => c.split(' ')[0]), ['EVALSHA', 'SCRIPT', 'EVALSHA'], commands.join(', '));
    assert.deepEqual(logger.warnings, []);
  });
});

describe('the Redis connection layer, with a scripted sendCommand', () => {
  const connectionError = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6399'));
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  test('an outage: one warning, local answers meanwhile, only a PING per retry interval, then shared again by itself', async () => {
    let up = true;
    const sent: string[] = [];
    const logger = quiet();
    const s = createRedisStores({
      sendCommand: async (...args) => {
        sent.push(args[0]!);
        if (!up) return connectionError();
        if (args[0] === 'PING') return 'PONG';
        if (args[0] === 'SCRIPT') return (await import('node:crypto')).createHash('sha1').update(args[2]!).digest('hex');
        return ['c', '', '', 0, 0, 1]; // a closed state, for any script (only the record path is used)
      },
      logger,
      retryIntervalMs: 50,
    });
    const strict = { ...policy, minimumRequests: 1, failureThreshold: 1 };
    assert.equal((await s.breaker.record('k', strict, { failed: false, probe: false }, Date.now())).state, 'closed');
    up = false;
    const during = await s.breaker.record('k', strict, { failed: true, probe: false }, Date.now());
    assert.equal(during.state, 'open', 'answered from local state: one failure opened it');
    assert.ok(during.version >= Date.now() * 1000 - 10_000_000, 'with a time-based version, above what Redis said');
    sent.length = 0;
    for (let i = 0; i < 50; i++) assert.equal((await s.breaker.acquire('k', strict, Date.now())).decision, 'open');
    assert.deepEqual(sent.filter((c) => c !== 'PING'), [], 'nothing but PINGs is sent while down');
    assert.ok(sent.length <= 1, `${sent.length} PINGs within the retry interval`);
    assert.deepEqual(logger.warnings.length, 1, logger.warnings.join('\n'));
    assert.match(logger.warnings[0]!, /Redis is unreachable \(connect ECONNREFUSED.*local state/);
    assert.equal((await s.status()).reachable, false);
    up = true;
    await wait(60);
    await s.breaker.acquire('k', strict, Date.now()); // answered locally; starts the PING now due
    await wait(5);
    assert.equal((await s.status()).reachable, true, 'back by itself');
    assert.ok(sent.includes('PING'));
    assert.equal((await s.breaker.record('k', strict, { failed: false, probe: false }, Date.now())).state, 'closed', 'Redis decides again');
    assert.equal(logger.warnings.length, 1, 'still one warning');
    await s.close();
  });

  test('the router reads back the keys it uses in one batched call per interval, and stops when the stores close', async () => {
    const sent: string[][] = [];
    const s = createRedisStores({
      sendCommand: async (...args) => {
        sent.push(args);
        if (args[0] === 'SCRIPT') return (await import('node:crypto')).createHash('sha1').update(args[2]!).digest('hex');
        return Array.from({ length: Number(args[2]) }, () => ['', '', '', 0, 0, 0]).flat(); // getMany: no state
      },
      logger: quiet(),
      refreshIntervalMs: 20,
    });
    let asked = 0;
    const getMany = s.breaker.getMany.bind(s.breaker);
    s.breaker.getMany = (keys) => ((asked += 1), getMany(keys));
    const breakers = new CircuitBreakers(s.breaker, new EngineEvents(quiet()), quiet());
    for (const key of ['a', 'b', 'c']) assert.equal(breakers.admit(key, policy), 'allow', 'decided at once');
    await wait(110);
    const reads = sent.filter((c) => c[0] === 'EVALSHA');
    assert.ok(reads.length >= 3, `${reads.length} reads in 110 ms at one per 20 ms`);
    assert.ok(reads.every((c) => c[2] === '3'), 'each read asks for the three keys at once');
    await s.close();
    await wait(30); // a tick may be under way
    const [sentAfter, askedAfter] = [sent.length, asked];
    await wait(100);
    assert.equal(sent.length, sentAfter, 'nothing is sent once the stores are closed');
    assert.equal(asked, askedAfter, 'and the refresh stopped: getMany is no longer called');
  });

  test('a command with no reply times out, and at most maxInFlight commands wait: the rest are dropped and counted', async () => {
    const logger = quiet();
    const pending: Array<() => void> = [];
    const s = createRedisStores({ sendCommand: () => new Promise((resolve) => pending.push(() => resolve('x'))), logger, commandTimeoutMs: 30, maxInFlight: 2, retryIntervalMs: 10_000 });
    const state = await s.breaker.acquire('k', policy, Date.now());
    assert.equal(state.decision, 'allow', 'answered locally after the timeout');
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!, /no reply within 30 ms/);
    assert.equal(pending.length, 1, 'the unanswered command still holds its slot');
    const slow = createRedisStores({ sendCommand: () => new Promise((resolve) => pending.push(() => resolve('PONG'))), logger: quiet(), commandTimeoutMs: 5_000, maxInFlight: 2 });
    const pings = [slow.status(), slow.status(), slow.status(), slow.status()];
    await wait(10);
    assert.equal((await slow.breaker.snapshot().catch((err: Error) => err.name)), 'StoreUnavailableError');
    pending.splice(0).forEach((release) => release());
    await Promise.all(pings);
    assert.ok(((await slow.status()).dropped ?? 0) >= 3, 'the commands past the bound were dropped and counted');
    await s.close();
    await slow.close();
  });
});
