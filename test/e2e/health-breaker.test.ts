/**
 * Breaker visibility (issue #14, item 4): GET /health shows each breaker's state with the time of
 * its last transition (`last_transition_at`), which moves with every change and is the `at` that
 * `hooks.onBreakerStateChange` received; a breaker another instance opened (a shared store) shows
 * when it opened.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { MemoryBreakerStore } from '../../lib/stores/memory-breaker-store.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const messages = [{ role: 'user', content: 'hi' }];
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Change = Parameters<NonNullable<NonNullable<RouterOptions['hooks']>['onBreakerStateChange']>>[0];

describe('GET /health: the time of each breaker\'s last transition', () => {
  let primary: Fake;
  let second: Fake;
  before(async () => {
    [primary, second] = await Promise.all([startFake('openai', 'primary'), startFake('openai', 'second')]);
  });
  after(async () => {
    await Promise.all([primary.close(), second.close()]);
  });
  beforeEach(() => {
    primary.reset();
    second.reset();
  });

  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    virtualKeys: {
      primary: { provider: 'openai', apiKey: 'k-primary', baseURL: primary.baseURL },
      second: { provider: 'openai', apiKey: 'k-second', baseURL: second.baseURL },
    },
    circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 100 },
    defaultConfig: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] },
    ...extra,
  });
  const send = (app: ReturnType<typeof createApp>) => request(app).post('/v1/chat/completions').send({ model: 'gpt-4o', messages });
  /** The primary's row (its breaker key starts with its provider and model; the second's account differs). */
  const rowOf = async (app: ReturnType<typeof createApp>, key: string): Promise<Record<string, unknown>> => {
    const res = await request(app).get('/v1/health');
    assert.equal(res.status, 200);
    const row = (res.body.targets as Array<Record<string, unknown>>).find((r) => r.target === key);
    assert.ok(row, `a row for ${key}: ${JSON.stringify(res.body.targets)}`);
    return row;
  };

  test('closed without a transition: null; then each change moves it to the `at` the hook received', async () => {
    const changes: Change[] = [];
    const app = createApp(options({ hooks: { onBreakerStateChange: (c) => void changes.push(c) } }));
    assert.equal((await send(app)).status, 200);
    const healthRes = await request(app).get('/v1/health');
    const primaryRow = (healthRes.body.targets as Array<Record<string, unknown>>).find((r) => r.state === 'closed' && r.provider === 'openai');
    assert.ok(primaryRow);
    assert.equal(primaryRow.last_transition_at, null, 'a breaker that never changed has no transition');
    const key = String(primaryRow.target);

    primary.script({ kind: 'status', status: 503 });
    assert.equal((await send(app)).status, 200, 'the second served');
    assert.deepEqual(changes.map((c) => `${c.from}->${c.to}`), ['closed->open']);
    assert.equal(changes[0]!.key, key);
    const opened = await rowOf(app, key);
    assert.equal(opened.state, 'open');
    assert.equal(opened.last_transition_at, new Date(changes[0]!.at).toISOString(), 'the hook and /health agree on when it opened');
    assert.equal(opened.last_transition_at, opened.opened_at);

    await wait(150); // the 100 ms cooldown
    assert.equal((await send(app)).headers['x-portkey-last-used-option-index'], 'config.targets[0]', 'the probe served');
    assert.deepEqual(changes.map((c) => `${c.from}->${c.to}`), ['closed->open', 'open->half_open', 'half_open->closed']);
    const closed = await rowOf(app, key);
    assert.equal(closed.state, 'closed');
    assert.equal(closed.last_transition_at, new Date(changes[2]!.at).toISOString());
    assert.ok(Date.parse(String(closed.last_transition_at)) > Date.parse(String(opened.last_transition_at)), 'it moved forward');
    assert.ok(changes[1]!.at >= changes[0]!.at + 100 && changes[2]!.at >= changes[1]!.at, 'the hook`s times are epoch ms, in order');
  });

  test('a breaker another instance opened (one shared store): open, its last transition when it opened', async () => {
    const store = new MemoryBreakerStore();
    const a = createApp(options({ breakerStore: store }));
    const b = createApp(options({ breakerStore: store }));
    primary.script({ kind: 'status', status: 503 });
    assert.equal((await send(a)).status, 200);
    const res = await request(b).get('/v1/health');
    const row = (res.body.targets as Array<Record<string, unknown>>).find((r) => r.state === 'open');
    assert.ok(row, `b sees the open breaker: ${JSON.stringify(res.body.targets)}`);
    assert.equal(typeof row.last_transition_at, 'string');
    assert.equal(row.last_transition_at, row.opened_at, 'b never saw it change: it opened then');
  });
});
