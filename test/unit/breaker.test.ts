/**
 * The circuit breaker's bookkeeping: the in-memory BreakerStore's atomic operations (bounded
 * memory, the open rule over a window, one probe per cooldown), and the router's mirror over a
 * store (decisions without awaiting it, newest state wins, failures fail open).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineEvents } from '../../lib/engine/events.js';
import { CircuitBreakers, breakerKey } from '../../lib/engine/policies/breaker.js';
import type { BreakerState, BreakerStore } from '../../lib/stores/breaker-store.js';
import { MemoryBreakerStore } from '../../lib/stores/memory-breaker-store.js';

const policy = { failureThreshold: 2, minimumRequests: 5, windowMs: 10_000, cooldownMs: 1_000 };
const fail = { failed: true, probe: false };
const ok = { failed: false, probe: false };

describe('MemoryBreakerStore', () => {
  test('is bounded: the least recently written key goes first', () => {
    const store = new MemoryBreakerStore(3);
    for (const k of ['a', 'b', 'c', 'd']) store.record(k, policy, ok, 1);
    assert.deepEqual(store.snapshot().map((s) => s.key), ['b', 'c', 'd']);
    store.record('b', policy, ok, 2);
    store.record('e', policy, ok, 3);
    assert.deepEqual(store.snapshot().map((s) => s.key), ['d', 'b', 'e']);
  });

  test('a key keeps only the requests that can decide, however many it sees', () => {
    const store = new MemoryBreakerStore();
    let state: BreakerState | undefined;
    for (let i = 0; i < 500; i++) state = store.record('k', policy, ok, 1000 + i);
    assert.equal(state!.requests, policy.minimumRequests);
    state = store.record('k', policy, fail, 2000);
    assert.ok(state.requests <= policy.minimumRequests + Math.max(policy.failureThreshold, policy.minimumRequests));
  });

  test('opens on threshold failures out of at least the minimum requests, within the window', () => {
    const onlyFailures = new MemoryBreakerStore();
    for (let i = 0; i < 4; i++) assert.equal(onlyFailures.record('k', policy, fail, 1000).state, 'closed', 'below the minimum of 5');
    assert.equal(onlyFailures.record('k', policy, fail, 1000).state, 'open', '5 failures out of 5');

    const mixed = new MemoryBreakerStore();
    for (let i = 0; i < 100; i++) mixed.record('k', policy, ok, 1000);
    assert.equal(mixed.record('k', policy, fail, 1000).state, 'closed');
    assert.equal(mixed.record('k', policy, fail, 1000).state, 'open', '2 failures out of 102 requests');

    const windowed = new MemoryBreakerStore();
    for (let i = 0; i < 5; i++) windowed.record('k', policy, ok, 1000);
    windowed.record('k', policy, fail, 1000);
    assert.equal(windowed.record('k', policy, fail, 1000 + policy.windowMs + 1).state, 'closed', 'the old failure left the window');
  });

  test('one probe per cooldown: its success closes, its failure reopens; a lost probe goes stale', () => {
    const store = new MemoryBreakerStore();
    const open = { ...policy, minimumRequests: 1, failureThreshold: 1 };
    let now = 5_000_000;
    store.record('k', open, fail, now);
    assert.equal(store.acquire('k', open, now).decision, 'open');
    now += open.cooldownMs;
    const decisions = Array.from({ length: 10 }, () => store.acquire('k', open, now).decision);
    assert.deepEqual(decisions, ['probe', ...Array(9).fill('open')], 'exactly one of ten simultaneous callers probes');
    assert.equal(store.record('k', open, { failed: true, probe: true }, now).state, 'open', 'the failed probe reopened it');
    assert.equal(store.acquire('k', open, now + 1).decision, 'open');
    now += open.cooldownMs;
    assert.equal(store.acquire('k', open, now).decision, 'probe');
    assert.equal(store.acquire('k', open, now + 2 * open.cooldownMs).decision, 'probe', 'a probe silent for two cooldowns is replaced');
    assert.equal(store.record('k', open, { failed: false, probe: true }, now).state, 'closed');
    assert.equal(store.acquire('k', open, now).decision, 'allow');
  });

  test('every change grows the version', () => {
    const store = new MemoryBreakerStore();
    const versions = [store.record('k', policy, ok, 1).version, store.record('k', policy, fail, 2).version, store.record('k', policy, fail, 3).version];
    assert.deepEqual(versions, [1, 2, 3]);
  });
});

/** A store whose every call waits until the test releases it. */
function gatedStore(inner: BreakerStore): BreakerStore & { calls: string[]; release(): void } {
  const gates: Array<() => void> = [];
  const calls: string[] = [];
  const gated =
    <A extends unknown[], R>(name: string, fn: (...a: A) => R) =>
    (...a: A): Promise<R> => {
      calls.push(name);
      return new Promise<R>((resolve) => gates.push(() => resolve(fn(...a))));
    };
  return {
    calls,
    acquire: gated('acquire', (k: string, p, n: number) => inner.acquire(k, p, n) as ReturnType<MemoryBreakerStore['acquire']>),
    record: gated('record', (k: string, p, r, n: number) => inner.record(k, p, r, n) as BreakerState),
    release: () => gates.splice(0).forEach((open) => open()),
  };
}

describe('CircuitBreakers: the mirror over a store', () => {
  const quiet = { error: () => undefined };

  test('a healthy target is admitted without waiting on the store, and outcomes are not awaited', () => {
    const store = gatedStore(new MemoryBreakerStore());
    const breakers = new CircuitBreakers(store, new EngineEvents(quiet), quiet);
    for (let i = 0; i < 5; i++) {
      assert.equal(breakers.admit('k', policy), 'allow', 'a synchronous answer');
      breakers.report('k', policy, false, false);
    }
    assert.deepEqual(store.calls, Array(5).fill('record'), 'records went out; no acquire was needed');
    store.release();
  });

  test('an open state from the store is mirrored: skipped at once, one probe asked for after the cooldown', async () => {
    let now = 1_000;
    const inner = new MemoryBreakerStore();
    const store = gatedStore(inner);
    const changes: string[] = [];
    const events = new EngineEvents(quiet);
    events.on('breaker:state', (e) => void changes.push(`${e.from}->${e.to}`));
    const breakers = new CircuitBreakers(store, events, quiet, () => now);
    const open = { ...policy, minimumRequests: 1, failureThreshold: 1 };
    breakers.report('k', open, true, false);
    store.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(changes, ['closed->open']);
    assert.equal(breakers.admit('k', open), 'open');
    now += open.cooldownMs;
    const first = breakers.admit('k', open);
    assert.ok(first instanceof Promise, 'past the cooldown the store decides');
    assert.equal(breakers.admit('k', open), 'open', 'one request of this instance asks at a time');
    store.release();
    assert.equal(await first, 'probe');
    breakers.report('k', open, false, true);
    assert.equal(breakers.admit('k', open), 'allow', 'the probe succeeded: closed at once');
    store.release();
  });

  test('a breaker this instance opens: its transition time is its opening time, in the event, the mirror and the store alike', async () => {
    // A clock that moves on every read: two reads for one opening would disagree.
    let clock = 7_000_000;
    const events = new EngineEvents(quiet);
    const seen: Array<{ to: string; at: number }> = [];
    events.on('breaker:state', (e) => void seen.push({ to: e.to, at: e.at }));
    const store = new MemoryBreakerStore();
    const breakers = new CircuitBreakers(store, events, quiet, () => (clock += 1));
    const opens = { ...policy, failureThreshold: 1, minimumRequests: 1 };
    assert.equal(breakers.admit('k', opens), 'allow');
    breakers.report('k', opens, true, false);
    assert.deepEqual(seen.map((e) => e.to), ['open']);
    const [row] = (await breakers.snapshot()).filter((r) => r.key === 'k');
    assert.equal(row!.state.state, 'open');
    assert.equal(row!.state.openedAt, seen[0]!.at, 'the store opened it when the event says');
    assert.equal(row!.lastTransitionAt, seen[0]!.at, 'GET /health shows the same time');
    assert.equal(breakers.openedAt('k'), seen[0]!.at);
  });

  test('a store that throws fails open and is logged once', () => {
    const lines: string[] = [];
    const broken: BreakerStore = {
      acquire: () => {
        throw new Error('down');
      },
      record: () => {
        throw new Error('down');
      },
    };
    const breakers = new CircuitBreakers(broken, new EngineEvents(quiet), { error: (...a: unknown[]) => void lines.push(a.join(' ')) });
    breakers.report('k', policy, true, false);
    breakers.report('k', policy, true, false);
    assert.equal(breakers.admit('k', policy), 'allow');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /breakerStore failed \(record\).*down/);
  });

  test('keys name the account by a hash, never the key', () => {
    const key = breakerKey('openai', 'gpt-4o', 'chat', 'https://api.openai.com/v1', 'sk-SECRET-abc');
    assert.match(key, /^openai\|gpt-4o\|chat\|[0-9a-f]{10}$/);
    assert.ok(!key.includes('SECRET'));
    assert.notEqual(key, breakerKey('openai', 'gpt-4o', 'chat', 'https://api.openai.com/v1', 'sk-other'));
  });
});
