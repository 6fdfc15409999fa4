/**
 * Traces and the logs routes end to end (SPEC §8, §10): real Express apps (5 and 4), real fake
 * providers; a fallback is followed by Config ID and Trace ID through GET /logs, with every
 * attempt, its latency and its cost. Also: query validation, auth, logs.enabled: false, custom
 * stores that throw, reject or hang, hooks, captureBodies, and the custom store example.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { AttemptRecord, FallbackInfo, RouterOptions, Trace, TraceStore } from '../../lib/index.js';
import { MemoryTraceStore } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const messages = [{ role: 'user', content: 'Say hello' }];
const GW = 'gw-logs-key';
const PRICING = { 'gpt-4o': { input: 2.5, output: 10 }, 'anthropic/claude-3-5-sonnet-20240620': { input: 3, output: 15 } };
/** The fakes answer with 11 prompt and 7 completion tokens. */
const COST_GPT4O = (11 * 2.5 + 7 * 10) / 1e6;
const COST_CLAUDE = (11 * 3 + 7 * 15) / 1e6;
const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type App = ReturnType<typeof createApp>;

for (const { name: version, express } of EXPRESS_VERSIONS) {
  describe(`logs routes (${version})`, () => {
    let primary: Fake;
    let anthropic: Fake;
    before(async () => {
      [primary, anthropic] = await Promise.all([startFake('openai', 'primary'), startFake('anthropic')]);
    });
    after(async () => {
      await Promise.all([primary.close(), anthropic.close()]);
    });
    beforeEach(() => {
      primary.reset();
      anthropic.reset();
    });

    const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
      providers: {
        openai: { apiKey: 'sk-openai-server', baseURL: primary.baseURL },
        anthropic: { apiKey: 'sk-ant-server', baseURL: anthropic.baseURL },
      },
      configs: {
        'pc-main': {
          strategy: { mode: 'fallback' },
          targets: [
            { provider: 'openai', override_params: { model: 'gpt-4o' } },
            { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
          ],
        },
      },
      auth: { apiKeys: [GW] },
      pricing: PRICING,
      ...extra,
    });
    const chat = (app: App, config: string, headers: Record<string, string> = {}) =>
      request(app).post('/v1/chat/completions').set('x-portkey-api-key', GW).set('x-portkey-config', config).set(headers).send({ messages });
    const logs = (app: App, query = '') => request(app).get(`/v1/logs${query}`).set('x-portkey-api-key', GW);

    test('a fallback is found by Config ID, then by Trace ID: the failed 503 attempt, then the one that served, with latency and cost', async () => {
      primary.always({ kind: 'status', status: 503 });
      const app = createApp(options(), { express });
      const res = await chat(app, 'pc-main');
      assert.equal(res.status, 200);
      const traceId = res.headers['x-portkey-trace-id']!;
      // another config's request, which the Config ID filter must leave out
      const other = await chat(app, JSON.stringify({ provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } }));
      assert.equal(other.status, 200);

      const byConfig = await logs(app, '?config_id=pc-main');
      assert.equal(byConfig.status, 200);
      assert.equal(byConfig.body.object, 'list');
      assert.equal(byConfig.body.data.length, 1);
      assert.equal(byConfig.body.data[0].traceId, traceId);

      const byTrace = await logs(app, `?trace_id=${encodeURIComponent(traceId)}`);
      assert.equal(byTrace.body.data.length, 1);
      const one = await logs(app, `/${encodeURIComponent(traceId)}`);
      assert.equal(one.status, 200);
      const trace = one.body as Trace;
      assert.deepEqual(byTrace.body.data[0], trace);

      assert.equal(trace.traceId, traceId);
      assert.equal(trace.configId, 'pc-main');
      assert.equal(trace.endpoint, 'chat');
      assert.equal(trace.stream, false);
      assert.equal(trace.status, 200);
      assert.equal(trace.servedPath, res.headers['x-portkey-last-used-option-index']);
      assert.equal(trace.servedPath, 'config.targets[1]');
      assert.equal(trace.provider, 'anthropic');
      assert.equal(trace.model, 'claude-3-5-sonnet-20240620');
      assert.ok(trace.latencyMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(trace.startedAt)));
      assert.equal(trace.attempts.length, 2);
      const [failed, served] = trace.attempts;
      assert.deepEqual(
        { path: failed!.path, provider: failed!.provider, model: failed!.model, status: failed!.status, errorClass: failed!.errorClass, served: failed!.served, retry: failed!.retry, costUsd: failed!.costUsd },
        { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 503, errorClass: 'server', served: false, retry: 0, costUsd: 0 },
      );
      assert.deepEqual(
        { path: served!.path, provider: served!.provider, model: served!.model, status: served!.status, served: served!.served, usage: served!.usage },
        { path: 'config.targets[1]', provider: 'anthropic', model: 'claude-3-5-sonnet-20240620', status: 200, served: true, usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 } },
      );
      assert.ok(Math.abs(served!.costUsd! - COST_CLAUDE) < 1e-12, String(served!.costUsd));
      for (const a of trace.attempts) assert.ok(typeof a.latencyMs === 'number' && a.latencyMs >= 0);
      assert.ok(Date.parse(failed!.startedAt) <= Date.parse(served!.startedAt));
      assert.equal(trace.totals.attempts, Number(res.headers['x-portkey-attempts']));
      assert.deepEqual({ ...trace.totals, costUsd: undefined }, { promptTokens: 11, completionTokens: 7, totalTokens: 18, costUsd: undefined, attempts: 2, unpricedAttempts: 0 });
      assert.ok(Math.abs(trace.totals.costUsd - COST_CLAUDE) < 1e-12);
      // The inline config's trace carries the short stable hash of its config.
      assert.equal(other.status, 200);
      const all = await logs(app);
      assert.deepEqual(all.body.data.map((t: Trace) => t.traceId), [other.headers['x-portkey-trace-id'], traceId], 'newest first');
      assert.match(all.body.data[0].configId, /^cfg-[0-9a-f]{12}$/);
    });

    test('GET /logs/:traceId: the newest request with that trace id; unknown ids are a 404', async () => {
      const app = createApp(options(), { express });
      primary.script({ kind: 'status', status: 503 });
      const first = await chat(app, 'pc-main', { 'x-portkey-trace-id': 'checkout-42' });
      const second = await chat(app, 'pc-main', { 'x-portkey-trace-id': 'checkout-42' });
      assert.equal(first.headers['x-portkey-trace-id'], 'checkout-42');
      assert.equal(second.headers['x-portkey-trace-id'], 'checkout-42');
      const one = await logs(app, '/checkout-42');
      assert.equal(one.status, 200);
      assert.equal(one.body.attempts.length, 1, 'the second request was served at once');
      assert.equal(one.body.provider, 'openai');
      const both = await logs(app, '?trace_id=checkout-42');
      assert.deepEqual(both.body.data.map((t: Trace) => t.attempts.length), [1, 2]);
      assert.notEqual(both.body.data[0].requestId, both.body.data[1].requestId);

      const missing = await logs(app, '/no-such-trace');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'trace_not_found');
      assert.equal(missing.body.error.type, 'invalid_request_error');
      assert.match(missing.body.error.message, /no-such-trace/);
    });

    test('filters status, provider, limit and before', async () => {
      const app = createApp(options(), { express });
      primary.script({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
      anthropic.script({ kind: 'status', status: 529 });
      const failedAll = await chat(app, 'pc-main'); // openai 503, anthropic 529
      const fallback = await chat(app, 'pc-main'); // openai 503, anthropic serves
      const direct = await chat(app, 'pc-main'); // openai serves
      assert.deepEqual([failedAll.status, fallback.status, direct.status], [529, 200, 200]);
      const ids = (body: { data: Trace[] }) => body.data.map((t) => t.traceId);
      const [tFailed, tFallback, tDirect] = [failedAll, fallback, direct].map((r) => r.headers['x-portkey-trace-id']);

      assert.deepEqual(ids((await logs(app, '?status=529')).body), [tFailed]);
      assert.deepEqual(ids((await logs(app, '?status=200')).body), [tDirect, tFallback]);
      assert.deepEqual(ids((await logs(app, '?provider=anthropic')).body), [tFallback, tFailed]);
      assert.deepEqual(ids((await logs(app, '?provider=openai&status=200')).body), [tDirect, tFallback], 'openai was attempted in both');
      assert.deepEqual(ids((await logs(app, '?limit=1')).body), [tDirect]);
      const newest = (await logs(app, '?limit=1')).body.data[0] as Trace;
      assert.deepEqual(ids((await logs(app, `?before=${encodeURIComponent(newest.startedAt)}`)).body), [tFallback, tFailed]);
      assert.deepEqual(ids((await logs(app, `?before=${Date.parse(newest.startedAt)}`)).body), [tFallback, tFailed]);
      assert.deepEqual(ids((await logs(app, '?before=2000-01-01T00:00:00Z')).body), []);

      const failedTrace = (await logs(app, `/${tFailed}`)).body as Trace;
      assert.equal(failedTrace.status, 529);
      assert.equal(failedTrace.servedPath, undefined);
      assert.ok(failedTrace.attempts.every((a) => !a.served));
      assert.equal(failedTrace.error?.errorClass, 'server');
      assert.equal(failedTrace.totals.costUsd, 0, 'failed attempts billed nothing');
    });

    test('bad queries are 400s in OpenAI format naming the parameter', async () => {
      const app = createApp(options(), { express });
      for (const [query, param] of [
        ['limit=-1', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=10000', 'limit'],
        ['limit=0', 'limit'],
        ['status=abc', 'status'],
        ['status=42', 'status'],
        ['before=yesterday', 'before'],
        ['trace_id=a&trace_id=b', 'trace_id'],
      ] as const) {
        const res = await logs(app, `?${query}`);
        assert.equal(res.status, 400, query);
        assert.match(res.headers['content-type'] ?? '', /application\/json/);
        assert.equal(res.body.error.type, 'invalid_request_error', query);
        assert.equal(res.body.error.code, 'invalid_query', query);
        assert.equal(res.body.error.param, param, query);
        assert.match(res.body.error.message, new RegExp(`^${param}`), query);
      }
    });

    test('behind options.auth: JSON clients get 401; a browser gets the key form; the page takes ?key= or the form', async () => {
      const app = createApp(options(), { express });
      const noKey = await request(app).get('/v1/logs');
      assert.equal(noKey.status, 401);
      assert.equal(noKey.body.error.code, 'invalid_api_key');
      assert.equal((await request(app).get('/v1/logs/abc').set('x-portkey-api-key', 'wrong')).status, 401);
      assert.equal((await request(app).get(`/v1/logs?key=${GW}`)).status, 401, 'the query key is for the page only');
      assert.equal((await request(app).get('/v1/logs/ui').set('accept', 'application/json')).status, 401);

      const form = await request(app).get('/v1/logs/ui').set('accept', 'text/html,application/xhtml+xml');
      assert.equal(form.status, 401);
      assert.match(form.headers['content-type'] ?? '', /text\/html/);
      assert.match(form.text, /<form method="post">/);
      assert.match(form.text, /name="key"/);
      assert.doesNotMatch(form.text, /elf-key"/);

      const wrong = await request(app).post('/v1/logs/ui').set('accept', 'text/html').type('form').send({ key: 'nope' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /That key was refused/);

      for (const res of [
        await request(app).get(`/v1/logs/ui?key=${GW}`),
        await request(app).post('/v1/logs/ui').type('form').send({ key: GW }),
        await request(app).get('/v1/logs/ui').set('x-portkey-api-key', GW),
      ]) {
        assert.equal(res.status, 200);
        assert.match(res.headers['content-type'] ?? '', /text\/html/);
        assert.match(res.text, /<title>Logs/);
        assert.match(res.headers['content-security-policy'] ?? '', /default-src 'none'; script-src 'nonce-[^']+'/);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.headers['referrer-policy'], 'no-referrer');
      }
    });

    test('/logs/ui is not shadowed by /logs/:traceId; wrong methods are 405', async () => {
      const app = createApp(options({ auth: undefined }), { express });
      const ui = await request(app).get('/v1/logs/ui');
      assert.equal(ui.status, 200);
      assert.match(ui.text, /^<!doctype html>/);
      const post = await request(app).post('/v1/logs').send({});
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET');
      assert.equal(post.body.error.code, 'method_not_allowed');
      assert.equal((await request(app).delete('/v1/logs/some-trace')).status, 405);
      assert.equal((await request(app).get('/v1/logs/a/b')).status, 404);
    });

    test('logs.enabled: false removes /logs* (a custom store still gets traces)', async () => {
      const kept: Trace[] = [];
      const store: TraceStore = { record: (t) => void kept.push(t), get: () => undefined, list: () => [] };
      const app = createApp(options({ logs: { enabled: false }, traceStore: store }), { express });
      const res = await chat(app, 'pc-main');
      assert.equal(res.status, 200);
      for (const path of ['/v1/logs', '/v1/logs/ui', `/v1/logs/${res.headers['x-portkey-trace-id']}`]) {
        const r = await request(app).get(path).set('x-portkey-api-key', GW);
        assert.equal(r.status, 404, path);
        assert.equal(r.body.error.code, 'not_found', path);
      }
      await immediate();
      assert.equal(kept.length, 1);
      assert.equal(kept[0]!.traceId, res.headers['x-portkey-trace-id']);
    });
  });
}

describe('traces of every outcome', () => {
  let primary: Fake;
  let backup: Fake;
  let anthropic: Fake;
  before(async () => {
    [primary, backup, anthropic] = await Promise.all([startFake('openai', 'primary'), startFake('openai', 'backup'), startFake('anthropic')]);
  });
  after(async () => {
    await Promise.all([primary.close(), backup.close(), anthropic.close()]);
  });
  beforeEach(() => {
    primary.reset();
    backup.reset();
    anthropic.reset();
  });
  const target = (fake: Fake, extra: Record<string, unknown> = {}) => ({ provider: fake.kind, api_key: `key-${fake.name}`, custom_host: fake.baseURL, ...extra });
  const app = (extra: Partial<RouterOptions> = {}) => createApp({ allowCustomHost: true, pricing: PRICING, ...extra });
  const send = (a: App, config: unknown, body: Record<string, unknown> = { messages }, path = '/v1/chat/completions') =>
    request(a).post(path).set('x-portkey-config', JSON.stringify(config)).send(body);
  const traceOf = async (a: App, traceId: string): Promise<Trace> => {
    const res = await request(a).get(`/v1/logs/${encodeURIComponent(traceId)}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Trace;
  };

  test('retries on one target: each try is an attempt with its retry number; the last is served', async () => {
    primary.script({ kind: 'status', status: 503 });
    const a = app();
    const res = await send(a, { retry: { attempts: 2 }, ...target(primary, { override_params: { model: 'gpt-4o' } }) });
    assert.equal(res.status, 200);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.deepEqual(trace.attempts.map((x) => [x.path, x.retry, x.status, x.served]), [['config', 0, 503, false], ['config', 1, 200, true]]);
    assert.ok(Math.abs(trace.totals.costUsd - COST_GPT4O) < 1e-12);
  });

  test('a timeout: 408, class timeout, cost 0; the next target serves', async () => {
    primary.script({ kind: 'hang' });
    const a = app();
    const res = await send(a, { strategy: { mode: 'fallback' }, request_timeout: 60, targets: [target(primary, { override_params: { model: 'gpt-4o' } }), target(backup)] });
    assert.equal(res.status, 200);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.deepEqual(trace.attempts.map((x) => [x.status, x.errorClass, x.code, x.served, x.costUsd]), [[408, 'timeout', 'request_timeout', false, 0], [200, undefined, undefined, true, undefined]]);
    assert.ok(trace.attempts[0]!.latencyMs >= 50);
    assert.equal(trace.attempts[1]!.model, 'backup-model', 'no price for this model: no cost');
    assert.equal(trace.totals.costUsd, 0);
  });

  test('a target that cannot serve the endpoint is recorded as skipped, with why', async () => {
    const a = app();
    const res = await send(a, { strategy: { mode: 'fallback' }, targets: [target(anthropic), target(backup)] }, { input: 'hello' }, '/v1/embeddings');
    assert.equal(res.status, 200);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.equal(trace.endpoint, 'embedding');
    assert.deepEqual(trace.attempts.map((x) => [x.provider, x.skipped, x.served]), [['anthropic', 'unsupported_endpoint', false], ['openai', undefined, true]]);
    assert.equal(trace.totals.attempts, 1);
  });

  test('an invalid config still leaves a trace: config id "invalid", no attempts, the error the client got', async () => {
    const a = app();
    const res = await send(a, { strategy: { mode: 'fallback' }, targets: [{ ...target(primary), retry: { attempts: 9 } }] });
    assert.equal(res.status, 400);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.equal(trace.configId, 'invalid');
    assert.equal(trace.status, 400);
    assert.deepEqual(trace.attempts, []);
    assert.equal(trace.error?.code, 'invalid_config');
    assert.equal(trace.error?.message, res.body.error.message);
    assert.equal(primary.received.length, 0);
    // body-parse errors and unknown paths leave no trace
    await request(a).post('/v1/chat/completions').set('content-type', 'application/json').send('{"messages":');
    await request(a).get('/v1/nope');
    assert.equal((await request(a).get('/v1/logs')).body.data.length, 1);
  });

  test('a stream: the trace is recorded when the stream ends, with time to first token and usage', async () => {
    primary.script({ kind: 'status', status: 503 });
    backup.script({ kind: 'stream', firstDelayMs: 30, intervalMs: 5 });
    const a = app();
    const res = await send(a, { strategy: { mode: 'fallback' }, targets: [target(primary), target(backup, { override_params: { model: 'gpt-4o' } })] }, {
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    assert.match(res.text, /data: \[DONE\]/);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.equal(trace.stream, true);
    assert.equal(trace.status, 200);
    assert.deepEqual(trace.attempts.map((x) => [x.path, x.status, x.served]), [['config.targets[0]', 503, false], ['config.targets[1]', 200, true]]);
    const served = trace.attempts[1]!;
    assert.equal(typeof served.ttftMs, 'number');
    assert.ok(served.ttftMs! >= 25 && served.ttftMs! <= served.latencyMs, `ttft ${served.ttftMs}, latency ${served.latencyMs}`);
    assert.equal(trace.attempts[0]!.ttftMs, undefined);
    assert.deepEqual(served.usage, { promptTokens: 11, completionTokens: 7, totalTokens: 18 });
    assert.ok(Math.abs(served.costUsd! - COST_GPT4O) < 1e-12);
  });

  test('the default store keeps logs.maxTraces traces', async () => {
    const a = app({ logs: { maxTraces: 2 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send(a, target(backup))).headers['x-portkey-trace-id']!);
    const list = await request(a).get('/v1/logs');
    assert.deepEqual(list.body.data.map((t: Trace) => t.traceId), [ids[2], ids[1]]);
    assert.equal((await request(a).get(`/v1/logs/${ids[0]}`)).status, 404);
  });

  test('bodies are kept only with logs.captureBodies, and never the config', async () => {
    const plain = app();
    const r1 = await send(plain, target(backup), { messages: [{ role: 'user', content: 'secret plans for tuesday' }] });
    const t1 = await traceOf(plain, r1.headers['x-portkey-trace-id']!);
    assert.equal(t1.request, undefined);
    assert.equal(t1.response, undefined);
    assert.ok(!JSON.stringify(t1).includes('secret plans'));

    const capturing = app({ logs: { captureBodies: true } });
    const r2 = await request(capturing)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-4o', messages: [{ role: 'user', content: 'secret plans for tuesday' }], config: target(backup) });
    assert.equal(r2.status, 200);
    const t2 = await traceOf(capturing, r2.headers['x-portkey-trace-id']!);
    assert.deepEqual(t2.request, { model: 'gpt-4o', messages: [{ role: 'user', content: 'secret plans for tuesday' }] });
    assert.deepEqual(t2.response, r2.body);
    assert.ok(!JSON.stringify(t2).includes('key-backup'));
  });

  test('hooks: onAttempt per attempt, onFallback with from/to, onTrace once; a throwing or rejecting hook changes nothing', async () => {
    primary.script({ kind: 'status', status: 429 });
    const attempts: AttemptRecord[] = [];
    const fallbacks: FallbackInfo[] = [];
    const traces: Trace[] = [];
    const logger = quietLogger();
    const a = app({
      logger,
      hooks: {
        onAttempt: (r) => {
          attempts.push(r);
          throw new Error('onAttempt exploded');
        },
        onFallback: async (info) => {
          fallbacks.push(info);
          throw new Error('onFallback rejected');
        },
        onTrace: (t) => void traces.push(t),
      },
    });
    const res = await send(a, { strategy: { mode: 'fallback' }, targets: [target(primary), target(backup)] });
    assert.equal(res.status, 200);
    await immediate();
    assert.deepEqual(attempts.map((r) => [r.path, r.status]), [['config.targets[0]', 429], ['config.targets[1]', 200]]);
    assert.deepEqual(fallbacks, [{ from: 'config.targets[0]', to: 'config.targets[1]', strategyPath: 'config', provider: 'openai', status: 429, errorClass: 'rate_limit', code: 'rate_limit_exceeded' }]);
    assert.equal(traces.length, 1);
    assert.equal(traces[0]!.traceId, res.headers['x-portkey-trace-id']);
    assert.deepEqual(traces[0], (await request(a).get(`/v1/logs/${traces[0]!.traceId}`)).body);
    assert.ok(logger.lines.some((l) => l.includes('onAttempt exploded')), logger.lines.join('\n'));
    assert.ok(logger.lines.some((l) => l.includes('onFallback rejected')), logger.lines.join('\n'));
  });

  test('a trace store that throws, rejects or never answers fails and delays no response', async () => {
    const logger = quietLogger();
    let hanging = 0;
    const stores: TraceStore[] = [
      { record: () => { throw new Error('store exploded'); }, get: () => undefined, list: () => [] },
      { record: async () => { throw new Error('store rejected'); }, get: () => undefined, list: () => [] },
      { record: () => { hanging += 1; return new Promise<void>(() => undefined); }, get: () => undefined, list: () => [] },
    ];
    for (const traceStore of stores) {
      const res = await send(app({ traceStore, logger }), target(backup));
      assert.equal(res.status, 200);
      assert.equal(res.body.choices[0].message.content, 'Hello from backup');
    }
    await immediate();
    assert.equal(hanging, 1, 'the hanging store was called and the response came anyway');
    assert.ok(logger.lines.some((l) => l.includes('store exploded')), logger.lines.join('\n'));
    assert.ok(logger.lines.some((l) => l.includes('store rejected')), logger.lines.join('\n'));
  });

  test('a store failing on GET /logs is a 503 for that logs request only', async () => {
    const logger = quietLogger();
    const broken: TraceStore = { record: () => undefined, get: async () => { throw new Error('db down'); }, list: () => { throw new Error('db down'); } };
    const a = app({ traceStore: broken, logger });
    const list = await request(a).get('/v1/logs');
    assert.equal(list.status, 503);
    assert.equal(list.body.error.code, 'trace_store_unavailable');
    assert.equal((await request(a).get('/v1/logs/x')).status, 503);
    assert.equal((await send(a, target(backup))).status, 200);
    assert.ok(logger.lines.some((l) => l.includes('traceStore.list failed') && l.includes('db down')));
  });

  test('a store returning rows that cannot be serialised (BigInt) is a 503, not a crashed host', async () => {
    const row = { traceId: 't-big', requestId: 'r', configId: 'c', endpoint: 'chat', stream: false, startedAt: new Date().toISOString(), status: 200, latencyMs: 1, attempts: [], totals: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 0 }, rowId: 1n };
    const odd = { record: () => undefined, get: async () => row, list: async () => [row] } as unknown as TraceStore;
    const a = app({ traceStore: odd, logger: quietLogger() });
    const list = await request(a).get('/v1/logs');
    assert.equal(list.status, 503);
    const one = await request(a).get('/v1/logs/t-big');
    assert.equal(one.status, 503);
    assert.equal((await send(a, target(backup))).status, 200, 'the router still serves');
  });

  test('a custom async store is used for GET /logs', async () => {
    const inner = new MemoryTraceStore();
    const asyncStore: TraceStore = {
      record: async (t) => inner.record(t),
      get: async (id) => inner.get(id),
      list: async (q) => inner.list(q),
    };
    const a = app({ traceStore: asyncStore });
    const res = await send(a, target(backup));
    await immediate();
    const got = await request(a).get(`/v1/logs?trace_id=${res.headers['x-portkey-trace-id']}`);
    assert.equal(got.body.data.length, 1);
    assert.equal(got.body.data[0].provider, 'openai');
  });
});

describe('examples/trace-store.ts', () => {
  test('runs a router with a JSON-lines store against the demo upstreams and prints the stored trace', async () => {
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'examples/trace-store.ts'], { cwd: new URL('../..', import.meta.url).pathname, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(Object.assign(err, { stdout, stderr }));
        else resolve({ stdout, stderr });
      });
    });
    const json = stdout.slice(stdout.indexOf('{'));
    const trace = JSON.parse(json) as Trace;
    assert.equal(trace.status, 200);
    assert.equal(trace.attempts.length, 2);
    assert.deepEqual(trace.attempts.map((x) => [x.provider, x.status, x.served]), [['openai', 429, false], ['azure-openai', 200, true]]);
    assert.ok(trace.totals.costUsd > 0);
    assert.match(stdout, /served by azure-openai/);
  });
});
