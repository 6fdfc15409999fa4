/** The circuit breaker's bookkeeping: bounded memory, and the open rule over a window. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreakers, MemoryBreakerStore, breakerKey } from '../../lib/engine/breaker.js';

const config = { failureThreshold: 2, minimumRequests: 5, windowMs: 10_000, cooldownMs: 1_000 };

describe('circuit breaker bookkeeping', () => {
  test('the memory store is bounded: the least recently written key goes first', () => {
    const store = new MemoryBreakerStore(3);
    for (const k of ['a', 'b', 'c', 'd']) store.set(k, { state: 'closed', events: [] });
    assert.deepEqual(store.keys(), ['b', 'c', 'd']);
    store.set('b', { state: 'closed', events: [] });
    store.set('e', { state: 'closed', events: [] });
    assert.deepEqual(store.keys(), ['d', 'b', 'e']);
  });

  test('a key keeps only the events that can decide, however many requests it sees', async () => {
    const store = new MemoryBreakerStore();
    const breakers = new CircuitBreakers(store);
    for (let i = 0; i < 500; i++) await breakers.report('k', config, false, false);
    assert.equal(store.get('k')!.events.length, config.minimumRequests);
    await breakers.report('k', config, true, false);
    assert.ok(store.get('k')!.events.length <= config.minimumRequests + Math.max(config.failureThreshold, config.minimumRequests));
  });

  test('opens on threshold failures out of at least the minimum requests, whether failures or successes fill it', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const onlyFailures = new CircuitBreakers(new MemoryBreakerStore(), console, clock);
    for (let i = 0; i < 4; i++) await onlyFailures.report('k', config, true, false);
    assert.equal(await onlyFailures.isOpen('k'), false, '4 requests: below the minimum of 5');
    await onlyFailures.report('k', config, true, false);
    assert.equal(await onlyFailures.isOpen('k'), true, '5 failures out of 5');

    const mixed = new CircuitBreakers(new MemoryBreakerStore(), console, clock);
    for (let i = 0; i < 100; i++) await mixed.report('k', config, false, false);
    await mixed.report('k', config, true, false);
    assert.equal(await mixed.isOpen('k'), false);
    await mixed.report('k', config, true, false);
    assert.equal(await mixed.isOpen('k'), true, '2 failures out of 102 requests');

    // failures older than the window do not count
    const windowed = new CircuitBreakers(new MemoryBreakerStore(), console, clock);
    for (let i = 0; i < 5; i++) await windowed.report('k', config, false, false);
    await windowed.report('k', config, true, false);
    now += config.windowMs + 1;
    await windowed.report('k', config, true, false);
    assert.equal(await windowed.isOpen('k'), false);
  });

  test('half-open: one probe after the cooldown; its success closes, its failure reopens', async () => {
    let now = 5_000_000;
    const breakers = new CircuitBreakers(new MemoryBreakerStore(), console, () => now);
    const open = { ...config, minimumRequests: 1, failureThreshold: 1 };
    await breakers.report('k', open, true, false);
    assert.equal(await breakers.admit('k', open), 'open');
    now += open.cooldownMs;
    assert.equal(await breakers.admit('k', open), 'probe');
    assert.equal(await breakers.admit('k', open), 'open', 'a single probe at a time');
    await breakers.report('k', open, true, true);
    assert.equal(await breakers.admit('k', open), 'open', 'the failed probe reopened it');
    now += open.cooldownMs;
    assert.equal(await breakers.admit('k', open), 'probe');
    await breakers.report('k', open, false, true);
    assert.equal(await breakers.admit('k', open), 'allow');
  });

  test('keys name the account by a hash, never the key', () => {
    const key = breakerKey('openai', 'gpt-4o', 'chat', 'https://api.openai.com/v1', 'sk-SECRET-abc');
    assert.match(key, /^openai\|gpt-4o\|chat\|[0-9a-f]{10}$/);
    assert.ok(!key.includes('SECRET'));
    assert.notEqual(key, breakerKey('openai', 'gpt-4o', 'chat', 'https://api.openai.com/v1', 'sk-other'));
  });
});
