/**
 * The openai SDK with its default retries (2, on 429 and 5xx) against a chain the router has
 * already retried and failed over: the router answers `x-should-retry: false`, so the SDK does not
 * repeat the whole chain (issue 11, item 2); a single failed attempt is still the SDK's to retry,
 * and the last upstream's Retry-After is passed on.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { listen } from '../helpers/sse.js';

const T = { timeout: 20_000 };

describe('SDK retries and x-should-retry', () => {
  let a: Fake;
  let b: Fake;
  let server: { origin: string; close: () => Promise<void> };
  const traces: string[] = [];
  before(async () => {
    [a, b] = await Promise.all([startFake('openai', 'a'), startFake('openai', 'b')]);
    server = await listen(
      createApp({
        virtualKeys: { a: { provider: 'openai', apiKey: 'ka', baseURL: a.baseURL }, b: { provider: 'openai', apiKey: 'kb', baseURL: b.baseURL } },
        hooks: { onTrace: (t) => void traces.push(t.traceId) },
      }),
    );
  });
  after(async () => {
    await server.close();
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(() => {
    a.reset();
    b.reset();
    traces.length = 0;
  });
  const client = (config: unknown): OpenAI =>
    // The SDK's defaults: 2 retries on 429/5xx. A short retry cap keeps the test quick.
    new OpenAI({ apiKey: 'client', baseURL: `${server.origin}/v1`, defaultHeaders: { 'x-portkey-config': JSON.stringify(config), 'x-portkey-trace-id': 'sdk-chain' }, timeout: 5000 });

  test('a failed chain (fallback, both 503) is not repeated by the SDK: two upstream calls, one trace', T, async () => {
    a.always({ kind: 'status', status: 503 });
    b.always({ kind: 'status', status: 503 });
    const chain = { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] };
    await assert.rejects(client(chain).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (err: { status?: number; headers?: Headers }) => {
      assert.equal(err.status, 503);
      assert.equal(err.headers?.get('x-should-retry'), 'false');
      return true;
    });
    assert.equal(a.received.length + b.received.length, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(traces.length, 1);
  });

  test("a single attempt that failed is still the SDK's to retry, and the upstream's Retry-After is passed on", T, async () => {
    a.script({ kind: 'status', status: 429, headers: { 'retry-after-ms': '20' } });
    const res = await client({ virtual_key: 'a' }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(res.data.choices[0]!.message.content, 'Hello from a');
    assert.equal(a.received.length, 2, 'the SDK retried the one failed attempt');
  });

  test('the retry-after of the last upstream reaches the client', T, async () => {
    a.always({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const res = await fetch(`${server.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-config': JSON.stringify({ virtual_key: 'a' }) },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.equal(res.headers.get('retry-after-ms'), '7000');
    assert.equal(res.headers.get('x-should-retry'), null, 'one attempt: nothing was retried yet');
  });
});
