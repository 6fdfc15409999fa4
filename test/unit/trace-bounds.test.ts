/**
 * Traces bounded by size, not only by count (issue 10, item 6): the memory store's byte bound,
 * what one trace and one captured body may hold (cut, and saying so), totals over every attempt,
 * and the GET /logs page cut by bytes with a cursor to the rest.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttemptRecord } from '../../lib/engine/outcome.js';
import type { AttemptSuccess } from '../../lib/engine/plan.js';
import { MemoryTraceStore } from '../../lib/index.js';
import type { Trace } from '../../lib/index.js';
import { buildTrace, normalisePricing, type TraceInput } from '../../lib/trace/recorder.js';
import {
  MAX_CAPTURED_BODY_BYTES,
  MAX_TRACE_ATTEMPTS,
  MAX_TRACE_BYTES,
  MAX_TRACE_STRING_CHARS,
  captureBody,
  clipString,
  fitTrace,
  isTruncatedBody,
  keptRows,
} from '../../lib/trace/bounds.js';
import { DEFAULT_TRACE_STORE_MAX_BYTES } from '../../lib/trace/memory-store.js';
import { MAX_LOGS_RESPONSE_BYTES, cutLogsPage } from '../../lib/trace/logs-routes.js';
import type { TruncatedBody } from '../../lib/trace/types.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const prices = normalisePricing({ 'gpt-4o': { input: 2.5, output: 10 } });
const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

function input(over: Partial<TraceInput>): TraceInput {
  return { traceId: 't-1', configId: 'pc-main', endpoint: 'chat', stream: false, startedAt: T0, status: 200, attempts: [], ...over };
}
function success(path: string, provider: string, model?: string): AttemptSuccess {
  return { kind: 'success', ok: true, status: 200, body: { object: 'chat.completion' }, provider, path, ...(model ? { model } : {}), retries: 0 };
}
/** `n` skipped targets (no embeddings endpoint), like the 2,500-target request of the issue. */
function skippedRows(n: number): AttemptRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    path: `config.targets[${i}]`, provider: 'anthropic', retry: 0, startedAt: T0 + i, latencyMs: 0, skipped: 'unsupported_endpoint' as const,
  }));
}
/** A trace to put in a store, with `pad` characters of filler in an attempt note. */
function trace(traceId: string, startedAtMs: number, pad = 0): Trace {
  return {
    traceId,
    requestId: `${traceId}-${startedAtMs}`,
    configId: 'pc-main',
    endpoint: 'chat',
    stream: false,
    startedAt: new Date(startedAtMs).toISOString(),
    status: 200,
    latencyMs: 10,
    attempts: pad > 0 ? [{ path: 'config.targets[0]', provider: 'openai', retry: 0, startedAt: new Date(startedAtMs).toISOString(), latencyMs: 1, served: true, notes: ['x'.repeat(pad)] }] : [],
    totals: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 0, unpricedAttempts: 0 },
  };
}
const jsonLength = (value: unknown): number => JSON.stringify(value).length;

describe('limits', () => {
  test('are exported with the documented values', () => {
    assert.equal(MAX_TRACE_ATTEMPTS, 100);
    assert.equal(MAX_CAPTURED_BODY_BYTES, 64 * 1024);
    assert.equal(MAX_TRACE_STRING_CHARS, 4096);
    assert.equal(MAX_TRACE_BYTES, 256 * 1024);
    assert.equal(DEFAULT_TRACE_STORE_MAX_BYTES, 50 * 1024 * 1024);
    assert.equal(MAX_LOGS_RESPONSE_BYTES, 5 * 1024 * 1024);
  });
});

describe('MemoryTraceStore: bounded in bytes', () => {
  test('drops the oldest traces while the total is over maxBytes', () => {
    const one = jsonLength(trace('t0', T0, 10_000));
    const store = new MemoryTraceStore({ maxTraces: 1000, maxBytes: one * 5 + 10 });
    for (let i = 0; i < 20; i++) store.record(trace(`t${i}`, T0 + i, 10_000));
    assert.equal(store.size, 5);
    assert.ok(store.bytes <= store.maxBytes, `${store.bytes} <= ${store.maxBytes}`);
    assert.deepEqual(store.list({}).map((t) => t.traceId), ['t19', 't18', 't17', 't16', 't15']);
    assert.equal(store.get('t14'), undefined);
  });

  test('counts each trace once, as its JSON length, and forgets it when dropped', () => {
    const store = new MemoryTraceStore({ maxTraces: 2 });
    const a = trace('a', T0, 100);
    const b = trace('b', T0 + 1, 200);
    const c = trace('c', T0 + 2, 300);
    store.record(a);
    store.record(b);
    assert.equal(store.bytes, jsonLength(a) + jsonLength(b));
    store.record(c);
    assert.equal(store.bytes, jsonLength(b) + jsonLength(c), 'maxTraces still applies, and the dropped trace is no longer counted');
    store.clear();
    assert.equal(store.bytes, 0);
  });

  test('a trace larger than the whole budget is kept cut to fit, without evicting everything', () => {
    const store = new MemoryTraceStore({ maxBytes: 64 * 1024 });
    for (let i = 0; i < 3; i++) store.record(trace(`small${i}`, T0 + i, 100));
    const huge = buildTrace(input({ traceId: 'huge', startedAt: T0 + 10, attempts: skippedRows(2500), requestBody: { input: 'y'.repeat(1024 * 1024) } }), prices, T0 + 20);
    assert.ok(jsonLength(huge) > 64 * 1024, 'the trace alone is larger than the store');
    store.record(huge);
    const kept = store.get('huge');
    assert.ok(kept, 'the large trace is kept');
    assert.equal(kept.truncated, true);
    assert.ok(jsonLength(kept) <= store.maxTraceBytes, `${jsonLength(kept)} <= ${store.maxTraceBytes}`);
    assert.equal(kept.totals.attempts, 0, 'totals unchanged (every target was skipped)');
    assert.equal(kept.attempts.length + kept.attemptsOmitted!, 2500, 'rows kept + omitted = rows made');
    assert.ok(kept.notes?.some((n) => n.startsWith('trace shrunk:')));
    assert.deepEqual(store.list({}).map((t) => t.traceId), ['huge', 'small2', 'small1', 'small0'], 'the small ones are still there');
    assert.ok(store.bytes <= store.maxBytes);
    assert.equal(huge.attempts.length, MAX_TRACE_ATTEMPTS, 'the recorded object is not changed');
  });

  test('a budget too small for any trace still keeps the newest one', () => {
    const store = new MemoryTraceStore({ maxBytes: 1 });
    store.record(trace('a', T0, 50));
    store.record(trace('b', T0 + 1, 50));
    assert.deepEqual(store.list({}).map((t) => t.traceId), ['b']);
  });

  test('maxBytes must be a whole number of at least 1', () => {
    assert.throws(() => new MemoryTraceStore({ maxBytes: 0 }), /maxBytes/);
    assert.throws(() => new MemoryTraceStore({ maxBytes: 1.5 }), /maxBytes/);
    assert.equal(new MemoryTraceStore().maxBytes, 50 * 1024 * 1024);
  });
});

describe('buildTrace: one trace bounded', () => {
  test('2,500 rows: the first and last 50 kept, the rest counted and said so', () => {
    const rows = skippedRows(2498);
    rows.push(
      { path: 'fallback.a', provider: 'openai', model: 'gpt-4o', status: 503, errorClass: 'server', retry: 0, startedAt: T0 + 3000, latencyMs: 5, usage: usage(100, 0) },
      { path: 'fallback.b', provider: 'openai', model: 'gpt-4o', status: 200, retry: 0, startedAt: T0 + 3010, latencyMs: 5, usage: usage(1000, 200) },
    );
    // Usage on omitted rows too: totals count them.
    (rows[1000] as { usage?: unknown }).usage = usage(7, 3);
    (rows[1000] as { skipped?: unknown }).skipped = undefined;
    (rows[1000] as { model?: unknown }).model = 'gpt-4o';
    const t = buildTrace(input({ endpoint: 'embedding', attempts: rows, outcome: success('fallback.b', 'openai', 'gpt-4o') }), prices, T0 + 4000);
    assert.equal(t.attempts.length, MAX_TRACE_ATTEMPTS);
    assert.equal(t.attemptsOmitted, 2400);
    assert.equal(t.attemptsOmittedAt, 50);
    assert.equal(t.truncated, true);
    assert.deepEqual(t.attempts.slice(0, 2).map((a) => a.path), ['config.targets[0]', 'config.targets[1]']);
    assert.equal(t.attempts[49]!.path, 'config.targets[49]');
    assert.equal(t.attempts[50]!.path, 'config.targets[2450]');
    assert.deepEqual(t.attempts.slice(-2).map((a) => [a.path, a.served]), [['fallback.a', false], ['fallback.b', true]]);
    assert.ok(t.notes?.some((n) => /^attempt rows omitted: 2400 of 2500 rows \(after row 50\)/.test(n)), String(t.notes));
    // Totals over every attempt, the omitted one included.
    assert.equal(t.totals.attempts, 3);
    assert.equal(t.totals.promptTokens, 1107);
    assert.equal(t.totals.completionTokens, 203);
    assert.equal(t.totals.totalTokens, 1310);
    assert.equal(t.totals.costUsd, (1107 * 2.5 + 203 * 10) / 1e6);
    assert.ok(jsonLength(t) < 40_000, `the trace is small: ${jsonLength(t)}`);
  });

  test('at most 100 rows: nothing cut, no marker', () => {
    const t = buildTrace(input({ attempts: skippedRows(100) }), prices, T0);
    assert.equal(t.attempts.length, 100);
    assert.equal(t.attemptsOmitted, undefined);
    assert.equal(t.attemptsOmittedAt, undefined);
    assert.equal(t.truncated, undefined);
    assert.equal(t.notes, undefined);
  });

  test('a captured body over 64 KiB is stored as { truncated, bytes, preview }', () => {
    const requestBody = { model: 'gpt-4o', input: 'z'.repeat(1024 * 1024), config: { secret: 'sk-never' } };
    const responseBody = { object: 'list', data: [{ embedding: [0.5] }] };
    const t = buildTrace(input({ requestBody, responseBody }), prices, T0);
    assert.ok(isTruncatedBody(t.request));
    const req = t.request as TruncatedBody;
    assert.equal(req.truncated, true);
    assert.equal(req.bytes, Buffer.byteLength(JSON.stringify({ model: 'gpt-4o', input: 'z'.repeat(1024 * 1024) })), 'the size of the body without config');
    assert.ok(Buffer.byteLength(req.preview) <= MAX_CAPTURED_BODY_BYTES);
    assert.ok(req.preview.length > MAX_CAPTURED_BODY_BYTES - 10);
    assert.ok(req.preview.startsWith('{"model":"gpt-4o","input":"zzz'));
    assert.ok(!req.preview.includes('sk-never'));
    assert.deepEqual(t.response, responseBody, 'a small body is kept as it was');
    assert.notEqual(t.response, responseBody, '... as a copy');
    assert.equal(t.truncated, true);
    assert.ok(t.notes?.some((n) => n.startsWith(`request body truncated: ${req.bytes} bytes of JSON`)), String(t.notes));
    assert.ok(jsonLength(t) < MAX_CAPTURED_BODY_BYTES + 4096);
  });

  test('long text fields are clipped and say so', () => {
    const longModel = 'm'.repeat(100_000);
    const rows: AttemptRecord[] = Array.from({ length: 100 }, (_, i) => ({ path: `config.targets[${i}]`, provider: 'openai', model: longModel, status: 500, errorClass: 'server', retry: 0, startedAt: T0, latencyMs: 1 }));
    const t = buildTrace(input({ attempts: rows, status: 500, error: { message: 'e'.repeat(50_000), code: 'upstream_error' } }), prices, T0);
    assert.ok(t.attempts[0]!.model!.length < MAX_TRACE_STRING_CHARS + 50);
    assert.ok(t.attempts[0]!.model!.endsWith('more characters]'));
    assert.ok(jsonLength(t) <= MAX_TRACE_BYTES, `the whole trace fits: ${jsonLength(t)}`);
    assert.ok(t.error!.message.startsWith('eee'));
  });
});

describe('bounds helpers', () => {
  test('captureBody: UTF-8 sizes, cut at a character boundary', () => {
    const body = { text: 'é😀'.repeat(40_000) };
    const cut = captureBody(body, 1000) as TruncatedBody;
    assert.equal(cut.bytes, Buffer.byteLength(JSON.stringify(body)));
    assert.ok(Buffer.byteLength(cut.preview) <= 1000);
    assert.ok(!cut.preview.includes('\uFFFD'));
    assert.deepEqual(captureBody({ a: [1, 2] }), { a: [1, 2] });
  });

  test('clipString and keptRows', () => {
    assert.equal(clipString('abcdef', 10), 'abcdef');
    assert.equal(clipString('abcdef', 3), 'abc… [3 more characters]');
    assert.deepEqual(keptRows(10, 100), { head: 10, tail: 0 });
    assert.deepEqual(keptRows(2500, 100), { head: 50, tail: 50 });
    assert.deepEqual(keptRows(100, 10, 50), { head: 5, tail: 5 });
    assert.deepEqual(keptRows(100, 10, 2), { head: 2, tail: 8 }, 'the new gap holds the old one');
  });

  test('fitTrace cuts harder until the trace fits, and keeps totals', () => {
    const t = buildTrace(input({ attempts: skippedRows(2500), requestBody: { q: 'a'.repeat(200_000) }, responseBody: { r: 'b'.repeat(200_000) } }), prices, T0);
    for (const max of [100_000, 20_000, 4_000]) {
      const fitted = fitTrace(t, max);
      assert.ok(fitted.bytes <= max, `${fitted.bytes} <= ${max}`);
      assert.equal(fitted.bytes, jsonLength(fitted.trace));
      assert.equal(fitted.trace.attempts.length + fitted.trace.attemptsOmitted!, 2500);
      assert.deepEqual(fitted.trace.totals, t.totals);
      assert.equal(fitted.trace.notes!.filter((n) => n.startsWith('attempt rows omitted:')).length, 1, 'one note per cut, not one per pass');
    }
    const same = fitTrace(t, 10_000_000);
    assert.equal(same.trace, t, 'a trace that fits is not copied');
  });
});

describe('GET /logs pages: cut by bytes', () => {
  const big = (i: number, ms: number): Trace => trace(`t${i}`, ms, 100_000);

  test('stops before the byte bound and gives the cursor to the rest', () => {
    const rows = Array.from({ length: 30 }, (_, i) => big(i, T0 + 1000 - i));
    const { page, items } = cutLogsPage(rows, 50, 1_000_000);
    assert.equal(items.length, 9);
    assert.ok(page.parts.reduce((n, p) => n + p.length + 1, 80) <= 1_000_000);
    assert.equal(page.hasMore, true);
    assert.equal(page.nextBefore, T0 + 1000 - 8);
  });

  test('a page never ends inside a millisecond when it can help it', () => {
    const rows = [big(0, T0 + 3), big(1, T0 + 2), big(2, T0 + 2), big(3, T0 + 2), big(4, T0 + 1)];
    const { page, items } = cutLogsPage(rows, 3, 100_000_000);
    assert.deepEqual(items.map((t) => t.traceId), ['t0'], 't1 and t2 share their millisecond with t3: they go to the next page');
    assert.equal(page.nextBefore, T0 + 3);
  });

  test('one trace larger than the bound is still sent alone; no more rows: no cursor', () => {
    const { page, items } = cutLogsPage([big(0, T0)], 50, 1000);
    assert.equal(items.length, 1);
    assert.equal(page.hasMore, false);
    assert.equal(page.nextBefore, undefined);
  });
});
