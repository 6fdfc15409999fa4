/**
 * Several instances, one view (issue #13): two routers in two Express apps, one with an ioredis
 * client and one with node-redis, sharing one real redis-server (test/helpers/redis-server.ts)
 * through createRedisStores. A breaker opened by one is respected by the other; one probe per
 * cooldown goes out across both; a trace recorded by one is read at the other; Redis killed under
 * load changes nothing a client sees (one warning per instance), and sharing resumes once it is
 * back. Durations are short and configured (refreshIntervalMs 100, cooldowns of 300 ms).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Server } from 'node:http';
import request from 'supertest';
import type { AddressInfo } from 'node:net';
import type { RouterOptions } from '../../lib/index.js';
import { createRedisStores, type RedisStores } from '../../lib/redis.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { connectClient, redisSkip, startRedisServer, type RedisClient, type RedisServer } from '../helpers/redis-server.js';

interface Instance {
  /** `http://127.0.0.1:<port>/v1` */
  readonly base: string;
  readonly logger: ReturnType<typeof quietLogger>;
  /** Breaker changes this instance saw: `from->to`. */
  readonly changes: string[];
  /** Resolves at the first change to `to` seen from now on. */
  seen(to: string): Promise<void>;
}

const messages = [{ role: 'user', content: 'hi' }];
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const config = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'backup' }] };
const redisLines = (i: Instance): string[] => i.logger.lines.filter((l) => /Redis|breakerStore|traceStore/.test(l));

describe('two routers sharing one redis-server', { skip: redisSkip() }, () => {
  let server: RedisServer;
  let primary: Fake;
  let backup: Fake;
  const clients: RedisClient[] = [];
  const stores: RedisStores[] = [];
  const servers: Server[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  let prefixes = 0;

  before(async () => {
    [server, primary, backup] = await Promise.all([startRedisServer(), startFake('openai', 'primary'), startFake('openai', 'backup')]);
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const s of servers) s.closeAllConnections(), s.close();
    for (const s of stores) await s.close();
    for (const c of clients) await c.close();
    await Promise.all([server?.stop(), primary?.close(), backup?.close()]);
  });
  beforeEach(() => {
    primary.reset();
    backup.reset();
    primary.always({ kind: 'ok' });
    backup.always({ kind: 'ok' });
  });

  /** One instance: its own client and stores over the shared prefix, its own app and logger. */
  async function instance(kind: RedisClient['kind'], prefix: string, breaker: RouterOptions['circuitBreaker']): Promise<Instance> {
    const client = await connectClient(kind, server.port);
    clients.push(client);
    const { breaker: breakerStore, traces, ...rest } = createRedisStores({ sendCommand: client.sendCommand, prefix, refreshIntervalMs: 100, retryIntervalMs: 50, commandTimeoutMs: 100, traceTimeoutMs: 200 });
    stores.push({ breaker: breakerStore, traces, ...rest });
    const logger = quietLogger();
    const changes: string[] = [];
    const waiters: Array<{ to: string; resolve: () => void }> = [];
    const app = createApp({
      logger,
      virtualKeys: {
        primary: { provider: 'openai', apiKey: 'k1', baseURL: primary.baseURL },
        backup: { provider: 'openai', apiKey: 'k2', baseURL: backup.baseURL },
      },
      circuitBreaker: breaker,
      breakerStore,
      traceStore: traces,
      hooks: {
        onBreakerStateChange: (e) => {
          changes.push(`${e.from}->${e.to}`);
          for (const w of waiters.splice(0)) (w.to === e.to ? w.resolve : () => waiters.push(w))();
        },
      },
    });
    const listening = app.listen(0, '127.0.0.1');
    servers.push(listening);
    await new Promise((resolve) => listening.once('listening', resolve));
    const base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/v1`;
    const seen = (to: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no breaker change to ${to} within 1 s (${changes.join(', ')})`)), 1000);
        waiters.push({ to, resolve: () => (clearTimeout(timer), resolve()) });
      });
    return { base, logger, changes, seen };
  }

  /** Two instances, ioredis and node-redis, on a fresh prefix. */
  async function fleet(breaker: RouterOptions['circuitBreaker'] = { failureThreshold: 2, minimumRequests: 2, windowMs: 10_000, cooldownMs: 60_000 }): Promise<[Instance, Instance]> {
    const prefix = `e2e${++prefixes}:`;
    return [await instance('ioredis', prefix, breaker), await instance('node-redis', prefix, breaker)];
  }

  /** A chat request; resolves with its status and the target that served it. */
  const send = async (i: Instance, headers: Record<string, string> = {}): Promise<{ status: number; served: string | null }> => {
    const res = await fetch(`${i.base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-config': JSON.stringify(config), ...headers },
      body: JSON.stringify({ model: 'gpt-4o', messages }),
    });
    await res.arrayBuffer();
    return { status: res.status, served: res.headers.get('x-portkey-last-used-option-index') };
  };
  /** A GET under the mount path; resolves with its status, JSON body (or text) and content type. */
  const get = async (i: Instance, path: string): Promise<{ status: number; body: any; type: string }> => {
    const res = await fetch(`${i.base}${path}`);
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: type.includes('json') ? await res.json() : await res.text(), type };
  };

  test('a breaker opened by one instance is respected by the other within a second', async () => {
    const [a, b] = await fleet();
    assert.equal((await send(b)).served, 'config.targets[0]', 'B uses the primary');
    primary.always({ kind: 'status', status: 503 });
    const [aSees, bSees] = [a.seen('open'), b.seen('open')];
    for (let k = 0; k < 2; k++) assert.equal((await send(a)).status, 200);
    await aSees; // two failures (and B's success) in the window opened it, as A's mirror learns
    await bSees; // B learns it from Redis within the guard's second, though B saw no failure
    const before = primary.received.length;
    const res = await send(b);
    assert.equal(res.status, 200);
    assert.equal(res.served, 'config.targets[1]');
    assert.equal(primary.received.length, before, 'B skipped the primary without trying it');
    const health = await get(b, '/health');
    assert.deepEqual(health.body.stores.breaker, { kind: 'redis', shared: true, reachable: true, dropped: 0 });
    assert.equal(health.body.stores.traces.kind, 'redis');
    assert.equal(health.body.targets.find((t: { model: string }) => t.model === 'gpt-4o')?.state, 'open', 'B reports the state A wrote');
  });

  test('one probe per cooldown across both instances: the upstream sees one call per burst', async () => {
    const [a, b] = await fleet({ failureThreshold: 2, minimumRequests: 2, windowMs: 10_000, cooldownMs: 300 });
    await send(b); // B knows the target
    primary.always({ kind: 'status', status: 503 });
    const bSees = b.seen('open');
    for (let k = 0; k < 2; k++) await send(a);
    await bSees;
    // The probe is answered (503) only after 400 ms: until then the breaker is half-open, and
    // after it open for another cooldown, so every other request of a burst is skipped.
    primary.always({ kind: 'status', status: 503, delayMs: 400 });
    for (let burst = 1; burst <= 2; burst++) {
      await wait(350); // past the cooldown
      const before = primary.received.length;
      const results = await Promise.all(Array.from({ length: 16 }, (_, k) => send(k % 2 ? a : b)));
      assert.ok(results.every((r) => r.status === 200), `burst ${burst}: every request served`);
      assert.equal(primary.received.length - before, 1, `burst ${burst}: exactly one probe across both instances`);
    }
  });

  test('a trace recorded by one instance is read at the other: /logs, /logs/:traceId, /logs/ui', async () => {
    const [a, b] = await fleet();
    const traceId = `shared-${Date.now()}`;
    assert.equal((await send(a, { 'x-portkey-trace-id': traceId })).status, 200);
    let one = await get(b, `/logs/${traceId}`);
    for (let k = 0; k < 50 && one.status === 404; k++) {
      await wait(20); // recorded after the response, in the background
      one = await get(b, `/logs/${traceId}`);
    }
    assert.equal(one.status, 200);
    assert.equal(one.body.traceId, traceId);
    assert.equal(one.body.provider, 'openai');
    const listed = await get(b, `/logs?trace_id=${traceId}`);
    assert.deepEqual(listed.body.data.map((t: { traceId: string }) => t.traceId), [traceId]);
    assert.equal((await send(b, { 'x-portkey-trace-id': `${traceId}-b` })).status, 200);
    let both = await get(a, '/logs?limit=10');
    for (let k = 0; k < 50 && both.body.data.length < 2; k++) {
      await wait(20);
      both = await get(a, '/logs?limit=10');
    }
    assert.deepEqual(both.body.data.map((t: { traceId: string }) => t.traceId), [`${traceId}-b`, traceId], 'A lists B\'s trace and its own, newest first');
    const page = await get(b, '/logs/ui');
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
  });

  test('Redis killed under load: every request served from local state, one warning each; sharing resumes when it is back', async () => {
    const [a, b] = await fleet();
    await Promise.all([send(a), send(b)]);
    const statuses: number[] = [];
    let running = true;
    const load = Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        while (running) statuses.push((await send(k % 2 ? a : b)).status);
      }),
    );
    await wait(150);
    await server.stop();
    await wait(400);
    const during = await get(a, '/health');
    assert.equal(during.status, 200);
    assert.equal(during.body.stores.breaker.reachable, false);
    const traces = await get(b, '/logs?limit=5');
    assert.equal(traces.status, 200, '/logs answers from this instance meanwhile');
    await server.start();
    for (let k = 0; k < 100; k++) {
      const [ha, hb] = await Promise.all([get(a, '/health'), get(b, '/health')]);
      if (ha.body.stores.breaker.reachable && hb.body.stores.breaker.reachable) break;
      await wait(50);
    }
    running = false;
    await load;
    assert.ok(statuses.length > 50, `${statuses.length} requests under load`);
    assert.deepEqual([...new Set(statuses)], [200], 'every request was served, before, during and after the outage');
    for (const i of [a, b]) {
      const lines = redisLines(i);
      assert.equal(lines.filter((l) => /Redis is unreachable/.test(l)).length, 1, lines.join('\n'));
      assert.deepEqual(lines.filter((l) => !/Redis is unreachable/.test(l)), [], 'nothing else logged about the stores');
    }
    assert.deepEqual(unhandled, []);

    // Shared again: a breaker A opens now is respected by B.
    primary.always({ kind: 'status', status: 503 });
    const bSees = b.seen('open');
    for (let k = 0; k < 4 && !a.changes.includes('closed->open'); k++) await send(a);
    await bSees;
    const before = primary.received.length;
    assert.equal((await send(b)).served, 'config.targets[1]');
    assert.equal(primary.received.length, before);
  });
});

describe('GET /health names the stores', () => {
  test('the built-in ones are local to the instance; without traces, none', async () => {
    const health = await request(createApp({})).get('/v1/health');
    assert.deepEqual(health.body.stores, { breaker: { kind: 'memory', shared: false, reachable: true }, traces: { kind: 'memory', shared: false, reachable: true } });
    const quiet = await request(createApp({ logs: { enabled: false } })).get('/v1/health');
    assert.deepEqual(quiet.body.stores, { breaker: { kind: 'memory', shared: false, reachable: true }, traces: null });
  });

  test('a store whose status fails or does not answer is reported unreachable, and /health still answers', async () => {
    const broken = {
      acquire: () => ({ decision: 'allow' as const, state: { state: 'closed' as const, failures: 0, requests: 0, version: 0 } }),
      record: () => ({ state: 'closed' as const, failures: 0, requests: 0, version: 0 }),
      status: async () => {
        throw new Error('status down');
      },
    };
    const health = await request(createApp({ breakerStore: broken })).get('/v1/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.stores.breaker, { kind: 'unknown', shared: true, reachable: false, detail: 'status down' });
  });
});
