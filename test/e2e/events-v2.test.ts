/**
 * What the engine's events make visible through the public hooks: breaker state changes
 * (hooks.onBreakerStateChange), attempts and fallbacks in order, and hooks that throw or hang
 * without touching a response. Also: an async adapter whose request building outlasts the
 * attempt's request_timeout fails over as a timeout.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import { defineProviderAdapter, openaiAdapter, type RouterOptions } from '../../lib/index.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const messages = [{ role: 'user', content: 'hi' }];
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('events through the hooks', () => {
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
      primary: { provider: 'openai', apiKey: 'k1', baseURL: primary.baseURL },
      second: { provider: 'openai', apiKey: 'k2', baseURL: second.baseURL },
    },
    ...extra,
  });
  const chain = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] };
  const send = (app: ReturnType<typeof createApp>, config: unknown = chain) =>
    request(app).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ model: 'gpt-4o', messages });

  test('onBreakerStateChange sees closed -> open, open -> half_open on the probe, and half_open -> closed when it succeeds', async () => {
    const changes: string[] = [];
    const app = createApp(
      options({
        circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 100 },
        hooks: { onBreakerStateChange: (c) => void changes.push(`${c.key.split('|')[0]}:${c.from}->${c.to}`) },
      }),
    );
    primary.script({ kind: 'status', status: 503 });
    assert.equal((await send(app)).status, 200);
    assert.deepEqual(changes, ['openai:closed->open']);
    await wait(150);
    const probe = await send(app);
    assert.equal(probe.headers['x-portkey-last-used-option-index'], 'config.targets[0]', 'the probe went to the primary and served');
    assert.deepEqual(changes, ['openai:closed->open', 'openai:open->half_open', 'openai:half_open->closed']);
  });

  test('onAttempt and onFallback arrive in order; hooks that throw or never settle leave the answer alone', async () => {
    const seen: string[] = [];
    const app = createApp(
      options({
        hooks: {
          onAttempt: (r) => {
            seen.push(`attempt ${r.path} ${r.status}`);
            throw new Error('hook boom');
          },
          onFallback: (f) => {
            seen.push(`fallback ${f.from} -> ${f.to}`);
            return new Promise(() => undefined);
          },
        },
      }),
    );
    primary.script({ kind: 'status', status: 500 });
    const res = await send(app);
    assert.equal(res.status, 200);
    assert.equal(res.body.choices[0].message.content, 'Hello from second');
    assert.deepEqual(seen, ['attempt config.targets[0] 500', 'fallback config.targets[0] -> config.targets[1]', 'attempt config.targets[1] 200']);
  });

  test('an async buildRequest that outlasts request_timeout is a timeout: it fails over at once, and nothing is sent for it', async () => {
    let abortedWhileSigning: boolean | undefined;
    const slow = defineProviderAdapter({
      ...openaiAdapter,
      name: 'slow-signer',
      // Ignores its signal and takes 1.5 s: the router must not wait for it.
      async buildRequest(req, target, signal) {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        abortedWhileSigning = signal.aborted;
        return openaiAdapter.buildRequest(req, target, signal);
      },
    });
    const logger = quietLogger();
    const app = createApp({
      ...options(),
      adapters: { 'slow-signer': slow },
      providers: { 'slow-signer': { apiKey: 'k9', baseURL: primary.baseURL } },
      logger,
    });
    const config = { strategy: { mode: 'fallback' }, request_timeout: 100, targets: [{ provider: 'slow-signer' }, { virtual_key: 'second' }] };
    const traceId = `slow-${Date.now()}`;
    const started = performance.now();
    const res = await send(app, config).set('x-portkey-trace-id', traceId);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
    assert.ok(performance.now() - started < 1000, 'the fallback did not wait for the slow signer');
    await wait(1600);
    assert.equal(abortedWhileSigning, true, 'its signal told it the attempt was abandoned');
    assert.equal(primary.received.length, 0, 'the slow target sent nothing');
    const trace = (await request(app).get(`/v1/logs/${traceId}`)).body;
    assert.equal(trace.attempts[0].status, 408);
    assert.equal(trace.attempts[0].code, 'request_timeout');
  });
});
