/**
 * Traces bounded by size (issue 10, item 6), end to end through the router and fake providers:
 * the default store stays under `logs.maxBytes` with many large traces; a captured 1 MB body is
 * stored truncated and says so; GET /logs on a store holding more than one answer may carry
 * (MAX_LOGS_RESPONSE_BYTES) answers a bounded page with a cursor that reaches every other trace;
 * and the logs page's "Load older" button follows that cursor (chromium).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import request from 'supertest';
import { MemoryTraceStore, type RouterOptions, type Trace } from '../../lib/index.js';
import type { AttemptRecord } from '../../lib/engine/outcome.js';
import { MAX_CAPTURED_BODY_BYTES, isTruncatedBody } from '../../lib/trace/bounds.js';
import { MAX_LOGS_RESPONSE_BYTES } from '../../lib/trace/logs-routes.js';
import { buildTrace, normalisePricing } from '../../lib/trace/recorder.js';
import type { TruncatedBody } from '../../lib/trace/types.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const GW = 'gw-bounds-key';
const MB = 1024 * 1024;
const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
type App = ReturnType<typeof createApp>;
interface ListBody {
  object: 'list';
  data: Trace[];
  has_more: boolean;
  next_before?: number;
}

/** A chat completion whose answer is `chars` long. */
const bigCompletion = (chars: number) => ({
  id: 'chatcmpl-big',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'y'.repeat(chars), refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
});

describe('traces bounded in bytes', () => {
  let upstream: Fake;
  before(async () => {
    upstream = await startFake('openai', 'upstream');
  });
  after(async () => {
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  const app = (extra: Partial<RouterOptions> = {}): App =>
    createApp({
      providers: { openai: { apiKey: 'sk-bounds', baseURL: upstream.baseURL } },
      configs: { 'pc-main': { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', override_params: { model: 'gpt-4o' } }] } },
      auth: { apiKeys: [GW] },
      ...extra,
    });
  /** One chat request with a user message of `chars` characters; resolves to its trace id. */
  async function chat(a: App, chars: number): Promise<{ traceId: string; body: unknown }> {
    const res = await request(a)
      .post('/v1/chat/completions')
      .set('x-portkey-api-key', GW)
      .set('x-portkey-config', 'pc-main')
      .send({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(chars) }] });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    return { traceId: res.headers['x-portkey-trace-id']!, body: res.body };
  }
  async function list(a: App, query: string): Promise<{ body: ListBody; bytes: number }> {
    const res = await request(a).get(`/v1/logs${query}`).set('x-portkey-api-key', GW);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    return { body: res.body as ListBody, bytes: Buffer.byteLength(res.text) };
  }
  /** Every trace matching `query`, following next_before; checks each page against the bound. */
  async function pageThrough(a: App, query: string): Promise<{ traces: Trace[]; pages: number }> {
    const traces: Trace[] = [];
    let before: number | undefined;
    let pages = 0;
    for (;;) {
      const { body, bytes } = await list(a, `?${query}${before !== undefined ? `&before=${before}` : ''}`);
      pages += 1;
      assert.ok(bytes <= MAX_LOGS_RESPONSE_BYTES, `page ${pages}: ${bytes} bytes`);
      assert.ok(body.data.length > 0 || !body.has_more);
      traces.push(...body.data);
      if (!body.has_more) {
        assert.equal(body.next_before, undefined);
        return { traces, pages };
      }
      assert.equal(typeof body.next_before, 'number');
      assert.ok(before === undefined || body.next_before! < before, 'the cursor moves back in time');
      before = body.next_before;
      assert.ok(pages < 1000);
    }
  }

  test('many large traces keep the default store under logs.maxBytes', async () => {
    const maxBytes = 300 * 1024;
    const a = app({ logs: { captureBodies: true, maxBytes } });
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) ids.push((await chat(a, MB)).traceId);
    await immediate();
    const { body } = await list(a, '?limit=500');
    const held = body.data.reduce((n, t) => n + JSON.stringify(t).length, 0);
    assert.ok(held <= maxBytes, `the store holds ${held} bytes of traces, at most ${maxBytes}`);
    assert.ok(body.data.length >= 3 && body.data.length < 15, `the oldest were dropped: ${body.data.length} kept`);
    assert.deepEqual(
      body.data.map((t) => t.traceId),
      ids.slice(ids.length - body.data.length).reverse(),
      'the newest are kept, newest first',
    );
    for (const t of body.data) assert.ok(isTruncatedBody(t.request));
    assert.equal(body.has_more, false);
  });

  test('captureBodies with a 1 MB body stores a truncated body that says so', async () => {
    const a = app({ logs: { captureBodies: true } });
    const { traceId, body: answer } = await chat(a, MB);
    await immediate();
    const res = await request(a).get(`/v1/logs/${traceId}`).set('x-portkey-api-key', GW);
    assert.equal(res.status, 200);
    const t = res.body as Trace;
    const req = t.request as TruncatedBody;
    assert.equal(req.truncated, true);
    assert.ok(req.bytes > MB && req.bytes < MB + 200, `the size of the whole body: ${req.bytes}`);
    assert.ok(Buffer.byteLength(req.preview) <= MAX_CAPTURED_BODY_BYTES);
    assert.ok(req.preview.startsWith('{"model":"gpt-4o","messages":[{"role":"user","content":"xxx'));
    assert.deepEqual(t.response, answer, 'the small response is kept whole');
    assert.equal(t.truncated, true);
    assert.ok(t.notes?.some((n) => n.startsWith(`request body truncated: ${req.bytes} bytes of JSON, `)), String(t.notes));
    assert.ok(res.text.length < MAX_CAPTURED_BODY_BYTES + 8 * 1024, `the trace is ${res.text.length} bytes`);
    assert.deepEqual(t.totals, { promptTokens: 11, completionTokens: 7, totalTokens: 18, costUsd: 0, attempts: 1, unpricedAttempts: 1 });
  });

  test('GET /logs on a store holding more than one answer: a bounded page and a cursor to the rest', async () => {
    upstream.always({ kind: 'ok', body: bigCompletion(100 * 1024) });
    const a = app({ logs: { captureBodies: true } });
    const ids: string[] = [];
    for (let i = 0; i < 45; i++) ids.push((await chat(a, 200 * 1024)).traceId);
    await immediate();

    const first = await list(a, '?limit=500');
    assert.ok(first.bytes <= MAX_LOGS_RESPONSE_BYTES, `${first.bytes} bytes`);
    assert.ok(first.bytes > MAX_LOGS_RESPONSE_BYTES / 2, 'the page is filled, not cut short');
    assert.ok(first.body.data.length < 45);
    assert.equal(first.body.object, 'list');
    assert.equal(first.body.has_more, true);
    assert.equal(first.body.next_before, Date.parse(first.body.data.at(-1)!.startedAt));
    assert.deepEqual(first.body.data.map((t) => t.traceId), ids.slice(ids.length - first.body.data.length).reverse());

    const all = await pageThrough(a, 'limit=500');
    assert.ok(all.pages >= 2);
    assert.deepEqual(all.traces.map((t) => t.traceId), [...ids].reverse(), 'every trace once, newest first');

    // The count limit pages with the same cursor.
    const bySeven = await pageThrough(a, 'limit=7');
    assert.equal(bySeven.pages, 7);
    assert.deepEqual(bySeven.traces.map((t) => t.traceId), [...ids].reverse());

    // Filters still apply to every page.
    const none = await list(a, '?limit=500&status=503');
    assert.deepEqual(none.body, { object: 'list', data: [], has_more: false });
  });

  test('a full page at the largest limit still says whether more match', async () => {
    const store = new MemoryTraceStore({ maxTraces: 2000 });
    const T0 = Date.parse('2024-05-01T12:00:00.000Z');
    for (let i = 0; i < 501; i++) store.record(tinyTrace(`t${i}`, T0 + i));
    const a = app({ traceStore: store });
    const page = await list(a, '?limit=500');
    assert.equal(page.body.data.length, 500);
    assert.equal(page.body.has_more, true);
    assert.equal(page.body.next_before, T0 + 1);
    const rest = await list(a, `?limit=500&before=${page.body.next_before}`);
    assert.deepEqual(rest.body, { object: 'list', data: [store.get('t0')], has_more: false });
    store.record(tinyTrace('t501', T0 + 501));
    const exact = await list(a, `?limit=500&before=${T0 + 501}`);
    assert.equal(exact.body.data.length, 500);
    assert.equal(exact.body.has_more, true, 't0 is still older');
  });
});

function tinyTrace(traceId: string, startedAtMs: number): Trace {
  return {
    traceId,
    requestId: `${traceId}-req`,
    configId: 'pc-main',
    endpoint: 'chat',
    stream: false,
    startedAt: new Date(startedAtMs).toISOString(),
    status: 200,
    latencyMs: 1,
    attempts: [],
    totals: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 0, unpricedAttempts: 0 },
  };
}

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `${CHROMIUM} is not installed` : false;
type BrowserWindow = { document: { querySelectorAll(s: string): { length: number } } };

describe('the logs page pages with the cursor (chromium)', { skip }, () => {
  let server: Server;
  let base: string;
  let browser: Browser | undefined;
  const store = new MemoryTraceStore();
  const T0 = Date.parse('2024-05-01T12:00:00.000Z');
  const N = 50;

  before(async () => {
    // 50 large traces (~130 KB each: two truncated bodies, 150 rows of which 50 are omitted):
    // more than one answer may hold, though fewer than the page's 50 a request.
    const prices = normalisePricing({});
    const rows: AttemptRecord[] = Array.from({ length: 150 }, (_, i) => ({
      path: `config.targets[${i}]`, provider: 'anthropic', retry: 0, startedAt: T0, latencyMs: 0, skipped: 'unsupported_endpoint' as const,
    }));
    for (let i = 0; i < N; i++) {
      store.record(
        buildTrace(
          { traceId: `big-${i}`, configId: 'pc-big', endpoint: 'embedding', stream: false, startedAt: T0 + i * 1000, status: 400, attempts: rows, requestBody: { input: 'q'.repeat(100_000) }, responseBody: { error: 'r'.repeat(100_000) } },
          prices,
          T0 + i * 1000 + 5,
        ),
      );
    }
    const app = createApp({ providers: { openai: { apiKey: 'sk-ui' } }, auth: { apiKeys: [GW] }, traceStore: store });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  test('"Load older" follows next_before past a page cut by bytes; omitted rows and truncated bodies are shown', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
    const page = await (await browser.newContext({ viewport: { width: 1500, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const count = () => page.evaluate(() => (globalThis as unknown as BrowserWindow).document.querySelectorAll('[data-testid=trace-row]').length);

    await page.goto(`${base}/logs/ui?key=${GW}`);
    await page.waitForFunction(() => (globalThis as unknown as BrowserWindow).document.querySelectorAll('[data-testid=trace-row]').length > 0);
    const firstPage = await count();
    assert.ok(firstPage > 0 && firstPage < N, `the first answer is cut by bytes: ${firstPage} traces`);
    const more = page.locator('#more');
    assert.equal(await more.isVisible(), true, 'the button shows although the page holds fewer than 50');
    await more.click();
    await page.waitForFunction((n) => (globalThis as unknown as BrowserWindow).document.querySelectorAll('[data-testid=trace-row]').length === n, N);
    assert.equal(await more.isVisible(), false, 'no more after the last page');
    const listed = await page.locator('[data-testid=trace-row] td:nth-child(2)').allInnerTexts();
    assert.deepEqual(listed, Array.from({ length: N }, (_, i) => `big-${N - 1 - i}`), 'every trace once, newest first');

    await page.locator('[data-testid=trace-row]').first().click();
    const omitted = page.locator('[data-testid=attempts-omitted]');
    await omitted.waitFor({ state: 'visible' });
    assert.match(await omitted.innerText(), /50 attempt rows omitted/);
    assert.equal(await page.locator('[data-testid=attempt-row]').count(), 100);
    assert.equal(await page.locator('[data-testid=attempt-row]').last().locator('td').first().innerText(), '150', 'rows after the gap keep their numbers');
    assert.match(await page.locator('[data-testid=detail-notes]').innerText(), /attempt rows omitted: 50 of 150/);
    assert.match(await page.locator('details summary').first().innerText(), /^Request \(truncated: \d+ bytes of JSON/);
    assert.deepEqual(pageErrors, []);
  });
});
