/**
 * Traces without Express: building a Trace from the engine's attempt records (served marking,
 * costs, totals), the bounded in-memory store and its query semantics, the recorder's
 * fire-and-forget hand-off to stores that throw, reject or hang, hook guards, the GET /logs
 * query parser, and the trace-related router options.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttemptRecord } from '../../lib/engine/outcome.js';
import type { AttemptFailure, AttemptSuccess } from '../../lib/engine/plan.js';
import { MemoryTraceStore, traceMatches } from '../../lib/index.js';
import type { Trace, TraceStore } from '../../lib/index.js';
import { attemptCost, buildTrace, callHook, createTraceRecorder, normalisePricing, type TraceInput } from '../../lib/trace/recorder.js';
import { parseLogsQuery } from '../../lib/trace/logs-routes.js';
import { escapeHtml, renderLogsPage } from '../../lib/trace/logs-page.js';
import { parseOptions } from '../../lib/options.js';
import { OptionsError } from '../../lib/errors.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

function success(path: string, provider: string, model?: string): AttemptSuccess {
  return { kind: 'success', ok: true, status: 200, body: { object: 'chat.completion' }, provider, path, ...(model ? { model } : {}), retries: 0 };
}
function failure(path: string, provider: string, status: number, errorClass: AttemptFailure['errorClass'], code?: string): AttemptFailure {
  return { kind: 'failure', ok: false, status, errorClass, message: `upstream said ${status}`, provider, path, ...(code ? { code } : {}) };
}
function input(over: Partial<TraceInput>): TraceInput {
  return { traceId: 't-1', configId: 'pc-main', endpoint: 'chat', stream: false, startedAt: T0, status: 200, attempts: [], ...over };
}
/** A trace to put in a store. */
function trace(traceId: string, startedAtMs: number, over: Partial<Trace> = {}): Trace {
  return {
    traceId,
    requestId: `${traceId}-${startedAtMs}`,
    configId: 'pc-main',
    endpoint: 'chat',
    stream: false,
    startedAt: new Date(startedAtMs).toISOString(),
    status: 200,
    latencyMs: 10,
    attempts: [],
    totals: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 0, unpricedAttempts: 0 },
    ...over,
  };
}
const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('buildTrace: attempts, served, totals', () => {
  const prices = normalisePricing({ 'gpt-4o': { input: 2.5, output: 10 }, 'anthropic/claude-3-5-sonnet': { input: 3, output: 15 } });

  test('a fallback: the failed attempt, then the one that served, in order', () => {
    const attempts: AttemptRecord[] = [
      { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 503, errorClass: 'server', retry: 0, startedAt: T0 + 1, latencyMs: 40 },
      { path: 'config.targets[1]', provider: 'anthropic', model: 'claude-3-5-sonnet', status: 200, retry: 0, startedAt: T0 + 42, latencyMs: 120, usage: usage(1000, 200) },
    ];
    const t = buildTrace(input({ attempts, outcome: success('config.targets[1]', 'anthropic', 'claude-3-5-sonnet') }), prices, T0 + 170);
    assert.equal(t.traceId, 't-1');
    assert.equal(t.configId, 'pc-main');
    assert.equal(t.startedAt, '2024-05-01T12:00:00.000Z');
    assert.equal(t.latencyMs, 170);
    assert.equal(t.status, 200);
    assert.equal(t.servedPath, 'config.targets[1]');
    assert.equal(t.provider, 'anthropic');
    assert.equal(t.model, 'claude-3-5-sonnet');
    assert.equal(t.error, undefined);
    assert.deepEqual(
      t.attempts.map((a) => [a.path, a.provider, a.status, a.errorClass, a.served, a.costUsd]),
      [
        ['config.targets[0]', 'openai', 503, 'server', false, 0],
        ['config.targets[1]', 'anthropic', 200, undefined, true, 0.006], // 1000*3/1e6 + 200*15/1e6
      ],
    );
    assert.equal(t.attempts[0]!.startedAt, '2024-05-01T12:00:00.001Z');
    assert.equal(t.attempts[0]!.latencyMs, 40);
    assert.deepEqual(t.attempts[1]!.usage, { promptTokens: 1000, completionTokens: 200, totalTokens: 1200 });
    assert.deepEqual(t.totals, { promptTokens: 1000, completionTokens: 200, totalTokens: 1200, costUsd: 0.006, attempts: 2, unpricedAttempts: 0 });
  });

  test('retries on the serving target: only its last attempt is marked served', () => {
    const attempts: AttemptRecord[] = [
      { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 429, errorClass: 'rate_limit', code: 'rate_limit_exceeded', retry: 0, startedAt: T0, latencyMs: 5 },
      { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 200, retry: 1, startedAt: T0 + 30, latencyMs: 7, usage: usage(10, 20) },
    ];
    const t = buildTrace(input({ attempts, outcome: success('config.targets[0]', 'openai', 'gpt-4o') }), prices);
    assert.deepEqual(t.attempts.map((a) => [a.retry, a.served, a.code]), [[0, false, 'rate_limit_exceeded'], [1, true, undefined]]);
    assert.equal(t.totals.attempts, 2);
    assert.equal(t.totals.costUsd, 0.000225); // 10*2.5/1e6 + 20*10/1e6
  });

  test('every target failed: nothing is served, the final error is kept', () => {
    const attempts: AttemptRecord[] = [
      { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 408, errorClass: 'timeout', code: 'request_timeout', retry: 0, startedAt: T0, latencyMs: 50 },
      { path: 'config.targets[1]', provider: 'anthropic', status: 529, errorClass: 'server', retry: 0, startedAt: T0 + 51, latencyMs: 9 },
    ];
    const t = buildTrace(input({ status: 529, attempts, outcome: failure('config.targets[1]', 'anthropic', 529, 'server', 'overloaded') }), prices);
    assert.equal(t.status, 529);
    assert.ok(t.attempts.every((a) => !a.served));
    assert.equal(t.servedPath, undefined);
    assert.equal(t.provider, undefined);
    assert.deepEqual(t.error, { message: 'upstream said 529', code: 'overloaded', errorClass: 'server' });
    assert.deepEqual(t.attempts.map((a) => a.costUsd), [0, 0]);
    assert.deepEqual(t.totals, { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 2, unpricedAttempts: 0 });
  });

  test('a skipped target keeps its reason, costs nothing and is not counted as an attempt', () => {
    const attempts: AttemptRecord[] = [
      { path: 'config.targets[0]', provider: 'anthropic', retry: 0, startedAt: T0, latencyMs: 0, skipped: 'unsupported_endpoint' },
      { path: 'config.targets[1]', provider: 'openai', model: 'text-embedding-3-small', status: 200, retry: 0, startedAt: T0, latencyMs: 3, usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 } },
    ];
    const t = buildTrace(input({ endpoint: 'embedding', attempts, outcome: success('config.targets[1]', 'openai') }), prices);
    assert.equal(t.attempts[0]!.skipped, 'unsupported_endpoint');
    assert.equal(t.attempts[0]!.served, false);
    assert.equal(t.attempts[0]!.costUsd, undefined);
    assert.equal(t.attempts[0]!.status, undefined);
    assert.equal(t.totals.attempts, 1);
    assert.equal(t.model, 'text-embedding-3-small', 'the model falls back to the serving attempt');
  });

  test('no price for the model: the attempt has no cost and adds nothing to the total', () => {
    const attempts: AttemptRecord[] = [
      { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 200, retry: 0, startedAt: T0, latencyMs: 1, usage: usage(100, 100) },
      { path: 'config.targets[1]', provider: 'groq', model: 'llama-3.1-70b', status: 200, retry: 0, startedAt: T0, latencyMs: 1, usage: usage(100, 100) },
    ];
    const t = buildTrace(input({ attempts, outcome: success('config.targets[1]', 'groq', 'llama-3.1-70b') }), prices);
    assert.equal(t.attempts[0]!.costUsd, 0.00125);
    assert.equal(t.attempts[1]!.costUsd, undefined);
    assert.equal(t.totals.costUsd, 0.00125);
    assert.equal(t.totals.totalTokens, 400);
  });

  test('stream fields: time to first token and notes are kept', () => {
    const rec = { path: 'config', provider: 'openai', model: 'gpt-4o', status: 200, retry: 0, startedAt: T0, latencyMs: 900, ttftMs: 120, notes: ['skipped 1 malformed stream event(s)'] };
    const t = buildTrace(input({ stream: true, attempts: [rec as AttemptRecord], outcome: success('config', 'openai', 'gpt-4o') }), prices);
    assert.equal(t.stream, true);
    assert.equal(t.attempts[0]!.ttftMs, 120);
    // An answer without usage: its cost is unknown, and a note says why (issue 11).
    assert.deepEqual(t.attempts[0]!.notes, ['skipped 1 malformed stream event(s)', 'the provider reported no usage: cost unknown']);
  });

  test('a request rejected before any attempt: no attempts, the error it got', () => {
    const t = buildTrace(input({ configId: 'invalid', status: 400, error: { message: 'config.retry.attempts must be less than or equal to 5', type: 'invalid_request_error', code: 'invalid_config' } }), prices);
    assert.equal(t.configId, 'invalid');
    assert.deepEqual(t.attempts, []);
    assert.equal(t.totals.attempts, 0);
    assert.deepEqual(t.error, { message: 'config.retry.attempts must be less than or equal to 5', type: 'invalid_request_error', code: 'invalid_config' });
  });

  test('request ids are unique, trace ids are the client\'s', () => {
    const a = buildTrace(input({}), prices);
    const b = buildTrace(input({}), prices);
    assert.equal(a.traceId, b.traceId);
    assert.notEqual(a.requestId, b.requestId);
    assert.match(a.requestId, /^[0-9a-f-]{36}$/);
  });

  test('captured bodies are copies, and a captured request never holds its config', () => {
    const params = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], config: { api_key: 'sk-should-not-be-stored' } };
    const t = buildTrace(input({ requestBody: params, responseBody: { id: 'x' } }), prices);
    assert.deepEqual(t.request, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(t.response, { id: 'x' });
    params.messages[0]!.content = 'changed';
    assert.deepEqual(t.request, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(buildTrace(input({}), prices).request, undefined);
  });
});

describe('attemptCost and pricing keys', () => {
  test('provider/model wins over model; provider aliases are normalised', () => {
    const prices = normalisePricing({ 'gpt-4o': { input: 1, output: 1 }, 'azure_openai/gpt-4o': { input: 5, output: 5 } });
    const u = usage(1_000_000, 0);
    assert.equal(attemptCost({ provider: 'azure-openai', model: 'gpt-4o', usage: u }, prices), 5);
    assert.equal(attemptCost({ provider: 'openai', model: 'gpt-4o', usage: u }, prices), 1);
    // Issue 11: a key prices its variants (`gpt-4o` prices `gpt-4o-mini` unless it has its own key).
    assert.equal(attemptCost({ provider: 'openai', model: 'gpt-4o-mini', usage: u }, prices), 1);
    assert.equal(attemptCost({ provider: 'openai', usage: u }, prices), undefined, 'no model, no price');
  });

  test('no usage (the provider billed nothing) is 0, even without a price; skipped is undefined', () => {
    const prices = normalisePricing({});
    assert.equal(attemptCost({ provider: 'openai', model: 'unknown' }, prices), 0);
    assert.equal(attemptCost({ provider: 'openai', model: 'unknown', usage: usage(0, 0) }, prices), 0);
    assert.equal(attemptCost({ provider: 'openai', model: 'unknown', skipped: 'deadline_exceeded' }, prices), undefined);
  });

  test('input and output are USD per million tokens', () => {
    const prices = normalisePricing({ m: { input: 0.15, output: 0.6 } });
    assert.equal(attemptCost({ provider: 'p', model: 'm', usage: usage(2000, 1000) }, prices), 0.0009);
  });
});

describe('MemoryTraceStore', () => {
  test('keeps at most maxTraces, dropping the oldest', () => {
    const store = new MemoryTraceStore({ maxTraces: 3 });
    for (let i = 0; i < 5; i++) store.record(trace(`t${i}`, T0 + i));
    assert.equal(store.size, 3);
    assert.deepEqual(store.list({}).map((t) => t.traceId), ['t4', 't3', 't2']);
    assert.equal(store.get('t0'), undefined);
    assert.equal(store.get('t1'), undefined);
    assert.equal(store.get('t2')?.traceId, 't2');
  });

  test('get returns the newest trace with that id', () => {
    const store = new MemoryTraceStore();
    store.record(trace('same', T0, { status: 503 }));
    store.record(trace('same', T0 + 10, { status: 200 }));
    store.record(trace('other', T0 + 20));
    assert.equal(store.get('same')?.status, 200);
    assert.deepEqual(store.list({ traceId: 'same' }).map((t) => t.status), [200, 503]);
    assert.equal(store.get('missing'), undefined);
  });

  test('list is newest first by start time, even when recorded out of order', () => {
    const store = new MemoryTraceStore();
    store.record(trace('b', T0 + 20));
    store.record(trace('a', T0 + 10)); // started earlier, finished later
    store.record(trace('c', T0 + 30));
    assert.deepEqual(store.list({}).map((t) => t.traceId), ['c', 'b', 'a']);
  });

  test('filters: config id, status, provider attempted or served, before', () => {
    const store = new MemoryTraceStore();
    const failedOpenAI = { path: 'config.targets[0]', provider: 'openai', status: 503, retry: 0, startedAt: new Date(T0).toISOString(), latencyMs: 1, served: false };
    store.record(trace('t1', T0 + 1, { configId: 'pc-a', status: 200, provider: 'anthropic', attempts: [failedOpenAI] }));
    store.record(trace('t2', T0 + 2, { configId: 'pc-b', status: 503 }));
    store.record(trace('t3', T0 + 3, { configId: 'pc-a', status: 200, provider: 'azure-openai' }));
    assert.deepEqual(store.list({ configId: 'pc-a' }).map((t) => t.traceId), ['t3', 't1']);
    assert.deepEqual(store.list({ status: 503 }).map((t) => t.traceId), ['t2']);
    assert.deepEqual(store.list({ provider: 'openai' }).map((t) => t.traceId), ['t1'], 'a provider that only failed still matches');
    assert.deepEqual(store.list({ provider: 'azure-openai' }).map((t) => t.traceId), ['t3']);
    assert.deepEqual(store.list({ before: T0 + 3 }).map((t) => t.traceId), ['t2', 't1'], 'epoch ms, exclusive');
    assert.deepEqual(store.list({ before: new Date(T0 + 2).toISOString() }).map((t) => t.traceId), ['t1'], 'ISO time');
    assert.deepEqual(store.list({ before: String(T0 + 2) }).map((t) => t.traceId), ['t1'], 'epoch ms as digits');
    assert.deepEqual(store.list({ configId: 'pc-a', status: 200, provider: 'openai' }).map((t) => t.traceId), ['t1']);
    assert.equal(traceMatches(store.get('t1')!, { configId: 'pc-b' }), false);
  });

  test('limit: default 50, at most 500', () => {
    const store = new MemoryTraceStore({ maxTraces: 1000 });
    for (let i = 0; i < 600; i++) store.record(trace(`t${i}`, T0 + i));
    assert.equal(store.list({}).length, 50);
    assert.equal(store.list({ limit: 7 }).length, 7);
    assert.equal(store.list({ limit: 7 })[0]!.traceId, 't599');
    assert.equal(store.list({ limit: 10_000 }).length, 500);
  });

  test('maxTraces must be a whole number of at least 1', () => {
    assert.throws(() => new MemoryTraceStore({ maxTraces: 0 }), /maxTraces/);
    assert.throws(() => new MemoryTraceStore({ maxTraces: 1.5 }), /maxTraces/);
  });
});

describe('createTraceRecorder: never fails or delays the response', () => {
  const lines: string[] = [];
  const logger = { error: (...a: unknown[]) => void lines.push(a.map(String).join(' ')) };

  test('records in the background, after finish has returned, and calls onTrace', async () => {
    const store = new MemoryTraceStore();
    const seen: Trace[] = [];
    const recorder = createTraceRecorder({ store, pricing: {}, logger, onTrace: (t) => void seen.push(t) });
    recorder.finish(input({ traceId: 'bg' }));
    assert.equal(store.size, 0, 'nothing is stored synchronously');
    await immediate();
    assert.equal(store.get('bg')?.traceId, 'bg');
    assert.equal(seen.length, 1);
    assert.equal(seen[0], store.get('bg'));
  });

  test('a store that throws, rejects or never answers: finish returns at once, errors are logged', async () => {
    lines.length = 0;
    let hung = 0;
    const stores: TraceStore[] = [
      { record: () => { throw new Error('disk full'); }, get: () => undefined, list: () => [] },
      { record: () => Promise.reject(new Error('db down')), get: () => undefined, list: () => [] },
      { record: () => { hung += 1; return new Promise<void>(() => undefined); }, get: () => undefined, list: () => [] },
    ];
    for (const store of stores) {
      const recorder = createTraceRecorder({ store, pricing: {}, logger });
      const started = performance.now();
      assert.doesNotThrow(() => recorder.finish(input({})));
      assert.ok(performance.now() - started < 50);
    }
    await immediate();
    await immediate();
    assert.equal(hung, 1);
    assert.ok(lines.some((l) => l.includes('traceStore.record threw') && l.includes('disk full')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('traceStore.record rejected') && l.includes('db down')), lines.join('\n'));
  });

  test('a store that never answers holds at most maxPending traces; the rest are dropped and reported once', async () => {
    lines.length = 0;
    let calls = 0;
    const store: TraceStore = { record: () => { calls += 1; return new Promise<void>(() => undefined); }, get: () => undefined, list: () => [] };
    const recorder = createTraceRecorder({ store, pricing: {}, logger, maxPending: 3 });
    for (let i = 0; i < 10; i++) recorder.finish(input({}));
    await immediate();
    assert.equal(calls, 3);
    assert.equal(lines.filter((l) => l.includes('waiting on the trace store')).length, 1);
  });

  test('onTrace that throws or rejects is logged; the store still gets the trace', async () => {
    lines.length = 0;
    const store = new MemoryTraceStore();
    createTraceRecorder({ store, pricing: {}, logger, onTrace: () => { throw new Error('hook boom'); } }).finish(input({ traceId: 'a' }));
    createTraceRecorder({ store, pricing: {}, logger, onTrace: async () => { throw new Error('async hook boom'); } }).finish(input({ traceId: 'b' }));
    await immediate();
    await immediate();
    assert.ok(store.get('a') && store.get('b'));
    assert.ok(lines.some((l) => l.includes('hooks.onTrace failed') && l.includes('hook boom')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('async hook boom')), lines.join('\n'));
  });

  test('without a store, traces still reach onTrace', async () => {
    const seen: string[] = [];
    createTraceRecorder({ pricing: {}, logger, onTrace: (t) => void seen.push(t.traceId) }).finish(input({ traceId: 'x' }));
    await immediate();
    assert.deepEqual(seen, ['x']);
  });

  test('callHook: neither a throw nor a rejection escapes', async () => {
    lines.length = 0;
    callHook(() => { throw new Error('sync'); }, 'onAttempt', 1, logger);
    callHook(() => Promise.reject(new Error('async')), 'onFallback', 1, logger);
    let got: number | undefined;
    callHook((n: number) => { got = n; }, 'onAttempt', 42, logger);
    await immediate();
    assert.equal(got, 42);
    // The first line of each (the stack frames follow on the lines below).
    assert.deepEqual(lines.map((l) => l.split('\n')[0]), ['express-llm-fallback: hooks.onAttempt failed: sync', 'express-llm-fallback: hooks.onFallback failed: async']);
    assert.ok(lines.every((l) => l.includes('\n    at ')), 'with the stack');
  });
});

describe('GET /logs query parsing', () => {
  test('valid filters, snake_case or camelCase', () => {
    assert.deepEqual(parseLogsQuery({}), { limit: 50 });
    assert.deepEqual(parseLogsQuery({ trace_id: ' abc ', config_id: 'pc-main', status: '503', provider: 'openai', limit: '10', before: '1714564800000' }), {
      traceId: 'abc',
      configId: 'pc-main',
      status: 503,
      provider: 'openai',
      limit: 10,
      before: 1714564800000,
    });
    assert.deepEqual(parseLogsQuery({ traceId: 'abc', configId: 'cfg-1' }), { traceId: 'abc', configId: 'cfg-1', limit: 50 });
    assert.equal(parseLogsQuery({ before: '2024-05-01T12:00:00Z' }).before, T0);
    assert.deepEqual(parseLogsQuery({ trace_id: '', status: '' }), { limit: 50 }, 'empty fields are no filter');
  });

  test('invalid values throw naming the parameter', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ limit: '-1' }, 'limit'],
      [{ limit: 'abc' }, 'limit'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '10000' }, 'limit'],
      [{ limit: '1.5' }, 'limit'],
      [{ status: 'abc' }, 'status'],
      [{ status: '99' }, 'status'],
      [{ status: '600' }, 'status'],
      [{ before: 'yesterday' }, 'before'],
      [{ before: '2024-13-45T99:00:00Z' }, 'before'],
      [{ trace_id: ['a', 'b'] }, 'trace_id'],
      [{ config_id: { x: '1' } }, 'config_id'],
      [{ provider: 'p'.repeat(300) }, 'provider'],
    ];
    for (const [query, name] of cases) {
      assert.throws(() => parseLogsQuery(query), (err: Error & { param?: string }) => err.param === name && err.message.startsWith(name), JSON.stringify(query));
    }
  });
});

describe('logs page', () => {
  test('escapeHtml', () => {
    assert.equal(escapeHtml(`<img src=x onerror="alert('1')">&`), '&#60;img src=x onerror=&#34;alert(&#39;1&#39;)&#34;&#62;&#38;');
  });

  test('the page is one self-contained document: inline script and style with the nonce, no external resource', () => {
    const html = renderLogsPage({ nonce: 'n0nce', headerPrefix: 'x-gw-', key: '"><script>alert(1)</script>' });
    assert.match(html, /<script nonce="n0nce">/);
    assert.match(html, /<style nonce="n0nce">/);
    assert.match(html, /<meta name="elf-key-header" content="x-gw-api-key">/);
    assert.ok(!html.includes('"><script>alert(1)'), 'the key is escaped');
    assert.doesNotMatch(html, /\b(src|href)=["']?(https?:)?\/\//i, 'no external resource');
    assert.doesNotMatch(html, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, 'values are never parsed as HTML');
    const script = html.slice(html.indexOf('<script nonce="n0nce">') + 22, html.indexOf('</script>'));
    assert.doesNotThrow(() => new Function(script), 'the inline script parses');
  });
});

describe('router options for traces', () => {
  test('defaults', () => {
    const s = parseOptions({});
    assert.deepEqual(s.logs, { enabled: true, captureBodies: false, maxTraces: 1000, maxBytes: 50 * 1024 * 1024 });
    assert.deepEqual(s.pricing, {});
    assert.deepEqual(s.hooks, {});
    assert.equal(s.traceStore, undefined);
  });

  test('given values are carried into the settings', () => {
    const store = new MemoryTraceStore();
    const onTrace = (): void => undefined;
    const s = parseOptions({ logs: { enabled: false, captureBodies: true, maxTraces: 5, maxBytes: 4096 }, pricing: { 'gpt-4o': { input: 1, output: 2 } }, hooks: { onTrace }, traceStore: store });
    assert.deepEqual(s.logs, { enabled: false, captureBodies: true, maxTraces: 5, maxBytes: 4096 });
    assert.deepEqual(s.pricing, { 'gpt-4o': { input: 1, output: 2 } });
    assert.equal(s.hooks.onTrace, onTrace);
    assert.equal(s.traceStore, store);
  });

  test('bad values throw an OptionsError naming the option', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ logs: { maxTraces: 0 } }, /options\.logs\.maxTraces/],
      [{ logs: { enabled: 'yes' } }, /options\.logs\.enabled/],
      [{ pricing: { 'gpt-4o': { input: -1, output: 1 } } }, /options\.pricing/],
      [{ pricing: { 'gpt-4o': { input: 1 } } }, /options\.pricing/],
      [{ hooks: { onTrace: 'log' } }, /options\.hooks\.onTrace/],
      [{ traceStore: { record() {} } }, /options\.traceStore\.get/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => parseOptions(options as never), (err: Error) => err instanceof OptionsError && message.test(err.message), JSON.stringify(options));
    }
  });
});

describe('MemoryTraceStore at scale: dropping the oldest is cheap and exact', () => {
  test('10,000 traces into a store of 3,000 (some out of order): the newest 3,000 kept, in order, bytes counted, dropped ones gone', () => {
    const store = new MemoryTraceStore({ maxTraces: 3000 });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const order: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      // Every 7th trace finished late: recorded after the next one.
      const at = i % 7 === 3 ? i - 1 : i;
      order.push(at);
      store.record(trace(`t-${i}`, t0 + at * 1000));
    }
    assert.equal(store.size, 3000);
    const listed = store.list({ limit: 100 });
    assert.equal(listed[0]!.traceId, 't-9999');
    for (let k = 1; k < listed.length; k++) assert.ok(Date.parse(listed[k - 1]!.startedAt) >= Date.parse(listed[k]!.startedAt), 'newest first');
    assert.equal(store.get('t-6999'), undefined, 'dropped');
    assert.equal(store.get('t-7001')?.traceId, 't-7001', 'kept');
    const one = JSON.stringify(store.get('t-9000')).length;
    assert.ok(Math.abs(store.bytes - one * 3000) < 3000 * 8, `${store.bytes} bytes for 3000 traces of about ${one}`);
    store.clear();
    assert.equal(store.size, 0);
    assert.equal(store.bytes, 0);
    store.record(trace('after-clear', t0));
    assert.deepEqual(store.list({}).map((t) => t.traceId), ['after-clear']);
  });

  test('the byte bound drops as many of the oldest as it takes, across compactions', () => {
    const one = JSON.stringify(trace('t-00000', 0)).length;
    const store = new MemoryTraceStore({ maxTraces: 100_000, maxBytes: one * 1500 + 10 });
    for (let i = 0; i < 5000; i++) store.record(trace(`t-${String(i).padStart(5, '0')}`, i));
    assert.ok(store.size > 1400 && store.size <= 1500, `${store.size} kept`);
    assert.ok(store.bytes <= one * 1500 + 10);
    assert.equal(store.list({ limit: 1 })[0]!.traceId, 't-04999');
    const oldest = 5000 - store.size;
    const name = (i: number): string => `t-${String(i).padStart(5, '0')}`;
    assert.equal(store.get(name(oldest))?.traceId, name(oldest), 'the oldest kept');
    assert.equal(store.get(name(oldest - 1)), undefined, 'the one before it dropped');
    const older = JSON.stringify(trace(name(oldest - 1), oldest - 1)).length;
    assert.ok(store.bytes + older > one * 1500 + 10, 'it did not fit');
  });
});
