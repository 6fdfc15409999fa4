/**
 * options.onError (issue 11, item 7): the host customises error answers, sees an UpstreamError
 * (with the provider) when every target failed, falls back to the default answer when the hook
 * throws or does not answer, and unexpected errors are logged with their stack.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import { FallbackRouterError, UpstreamError, openaiAdapter, type RouterOptions } from '../../lib/index.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { sendChat } from '../helpers/requests.js';

const T = { timeout: 10_000 };

describe('options.onError', () => {
  let a: Fake;
  before(async () => {
    a = await startFake('openai', 'a');
  });
  after(async () => {
    await a.close();
  });
  beforeEach(() => a.reset());
  const options = (extra: Partial<RouterOptions>): RouterOptions => ({ virtualKeys: { a: { provider: 'openai', apiKey: 'ka', baseURL: a.baseURL } }, ...extra });

  test('customises a router error (an invalid config): status, code and param reach the hook', T, async () => {
    const seen: FallbackRouterError[] = [];
    const app = createApp(
      options({
        onError: (err, _req, res) => {
          seen.push(err);
          res.status(err.status).json({ ok: false, reason: err.code, field: err.param });
        },
      }),
    );
    const res = await sendChat(app, { virtual_key: 'a', retry: { attempts: 9 } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { ok: false, reason: 'invalid_config', field: 'config.retry.attempts' });
    assert.ok(seen[0] instanceof FallbackRouterError);
  });

  test('every target failed: the hook gets an UpstreamError with the provider, and the trace keeps the status sent', T, async () => {
    a.always({ kind: 'status', status: 503 });
    let got: UpstreamError | undefined;
    const app = createApp(
      options({
        onError: (err, _req, res) => {
          if (err instanceof UpstreamError) got = err;
          res.status(502).json({ upstream: (err as UpstreamError).provider });
        },
      }),
    );
    const res = await sendChat(app, { virtual_key: 'a' }, {}, 'onerror-up');
    assert.equal(res.status, 502);
    assert.deepEqual(res.body, { upstream: 'openai' });
    assert.equal(got?.status, 503);
    assert.equal(got?.errorClass, 'server');
    assert.equal(got?.path, 'config');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await request(app).get('/v1/logs/onerror-up')).body.status, 502);
  });

  test('a hook that throws, or answers nothing: the default OpenAI-format answer goes out, the throw is logged', T, async () => {
    const logger = quietLogger();
    for (const onError of [
      (): void => {
        throw new Error('hook broke');
      },
      (): void => undefined,
    ]) {
      const res = await request(createApp(options({ onError, logger }))).get('/v1/nope');
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    }
    assert.ok(logger.lines.some((l) => l.includes('options.onError threw') && l.includes('hook broke')), logger.lines.join('\n'));
  });

  test('an unexpected error is a 500 internal_error, logged with its stack, and reaches the hook with its cause', T, async () => {
    const logger = quietLogger();
    const broken = {
      ...openaiAdapter,
      name: 'broken',
      endpoints: new (class extends Set<'chat'> {
        override has(): boolean {
          throw new TypeError('adapter bug');
        }
      })(['chat']),
    };
    let cause: unknown;
    const app = createApp({
      adapters: { broken },
      providers: { broken: { apiKey: 'k', baseURL: a.baseURL } },
      logger,
      onError: (err) => {
        cause = err.cause;
      },
    });
    const res = await sendChat(app, { provider: 'broken' });
    assert.equal(res.status, 500);
    assert.equal(res.body.error.code, 'internal_error');
    assert.ok(cause instanceof TypeError);
    const line = logger.lines.find((l) => l.includes('unexpected error'));
    assert.ok(line?.includes('adapter bug') && line.includes('    at '), `the stack is logged: ${line}`);
  });
});
