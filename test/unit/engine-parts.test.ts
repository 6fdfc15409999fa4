/**
 * Engine parts without a network: the typed event stream (a throwing or rejecting subscriber
 * never reaches the emitter), the Watchdog (absolute instants that events cannot move, idle
 * limits that they do), and a strategy that stops at once when its signal aborts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cancellation, skipped, type RunContext } from '../../lib/engine/context.js';
import { EngineEvents } from '../../lib/engine/events.js';
import type { PlanGroup, PlanNode } from '../../lib/engine/plan.js';
import { Watchdog, type Expiry } from '../../lib/engine/policies/timeout.js';
import { runLoadbalance } from '../../lib/engine/strategies/loadbalance.js';
import { runFallback } from '../../lib/engine/strategies/fallback.js';

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('EngineEvents', () => {
  test('every subscriber is called; one that throws or rejects is logged, never rethrown', async () => {
    const lines: string[] = [];
    const events = new EngineEvents({ error: (...a: unknown[]) => void lines.push(a.join(' ')) });
    const seen: string[] = [];
    events.on('breaker:state', () => {
      throw new Error('sync boom');
    });
    events.on('breaker:state', async () => {
      throw new Error('async boom');
    });
    events.on('breaker:state', (e) => void seen.push(`${e.from}->${e.to}`));
    assert.doesNotThrow(() => events.emit('breaker:state', { key: 'k', from: 'closed', to: 'open', at: 1 }));
    await wait(0);
    assert.deepEqual(seen, ['closed->open']);
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.includes('breaker:state subscriber failed') && lines[0]!.includes('sync boom'));
    assert.ok(lines[1]!.includes('async boom'));
  });

  test('has() tells whether anyone listens; the returned function unsubscribes', () => {
    const events = new EngineEvents();
    assert.equal(events.has('fallback'), false);
    const off = events.on('fallback', () => undefined);
    assert.equal(events.has('fallback'), true);
    off();
    assert.equal(events.has('fallback'), false);
  });

  test('a subscriber that never settles does not hold the emitter', () => {
    const events = new EngineEvents();
    events.on('attempt:end', () => new Promise(() => undefined));
    const started = performance.now();
    events.emit('attempt:end', { requestId: 'r', traceId: 't', record: { path: 'config', provider: 'openai', retry: 0, startedAt: 0, latencyMs: 0 } });
    assert.ok(performance.now() - started < 50);
  });
});

describe('Watchdog', () => {
  test('until(): events do not move the instant', async () => {
    const fired: Expiry[] = [];
    const dog = new Watchdog((e) => void fired.push(e));
    const started = Date.now();
    dog.until(started + 80);
    for (let i = 0; i < 6; i++) {
      await wait(20);
      dog.touch(); // a keep-alive ping
    }
    assert.deepEqual(fired, ['deadline']);
    assert.ok(Date.now() - started < 200);
  });

  test('idle(): fires after a silence, and events keep it from firing', async () => {
    const fired: Expiry[] = [];
    const dog = new Watchdog((e) => void fired.push(e));
    dog.idle(60);
    for (let i = 0; i < 5; i++) {
      await wait(25);
      dog.touch();
    }
    assert.deepEqual(fired, [], 'events every 25 ms keep a 60 ms idle limit open');
    await wait(120);
    assert.deepEqual(fired, ['idle']);
  });

  test('idle() with an instant: the instant wins over events', async () => {
    const fired: Expiry[] = [];
    const dog = new Watchdog((e) => void fired.push(e));
    dog.idle(1_000, Date.now() + 50);
    for (let i = 0; i < 5; i++) {
      await wait(20);
      dog.touch();
    }
    assert.deepEqual(fired, ['deadline']);
  });

  test('stop() disarms it', async () => {
    const fired: Expiry[] = [];
    const dog = new Watchdog((e) => void fired.push(e));
    dog.until(Date.now() + 20);
    dog.stop();
    await wait(50);
    assert.deepEqual(fired, []);
  });
});

describe('strategies stop when their signal aborts', () => {
  const leaf = (i: number): PlanNode => ({ kind: 'group', path: `config.targets[${i}]`, weight: 1, mode: 'single', children: [] });
  const group = (mode: PlanGroup['mode']): PlanGroup => ({ kind: 'group', path: 'config', weight: 1, mode, children: [leaf(0), leaf(1), leaf(2)] });

  for (const [name, run] of [
    ['loadbalance', runLoadbalance],
    ['fallback', runFallback],
  ] as const) {
    test(`${name}: no child runs after the abort`, async () => {
      const controller = new AbortController();
      const ctx = { signal: controller.signal } as unknown as RunContext;
      const ran: string[] = [];
      const outcome = await run(group(name === 'fallback' ? 'fallback' : 'loadbalance'), ctx, async (node) => {
        ran.push(node.path);
        controller.abort(new Cancellation('hedge_cancelled'));
        return skipped(node.path); // this child could not serve: another would be tried
      });
      assert.equal(ran.length, 1);
      assert.equal(outcome.kind, 'cancelled');
      assert.equal(outcome.kind === 'cancelled' && outcome.reason, 'hedge_cancelled');
    });
  }
});
