/**
 * The logs page in a real headless browser (Debian's chromium driven by playwright-core): real
 * fallback requests go through the router to fake providers (one answering 503, one serving),
 * then the page is opened with the gateway key, filtered by Config ID and then by the Trace ID
 * from a response header, and must show the failed 503 attempt and the attempt that served, in
 * order, with provider, model, latency and cost. Trace data comes from clients: an HTML payload
 * as a model name or trace id must render as text.
 *
 * Then (issue 11, item 9), at 1280 px: the wait before a retry (Retry-After) as a row, so that
 * the rows add up to the trace's latency, hedged attempts that overlap with none; a stream's
 * tokens and time to first token; unpriced attempts as "unpriced" and totals that leave them out
 * as lower bounds (also in traces older than the `unpriced` fields); the time-range filter, kept
 * in the URL; the summary line over the traces shown; no sideways scroll with long values.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { MemoryTraceStore, createFallbackRouter, type AttemptTrace, type Trace } from '../../lib/index.js';
import { quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const CHROMIUM = '/usr/bin/chromium';
/** The page's window in functions run by the browser (they are serialised; the tests compile without the DOM lib). */
type BrowserElement = { scrollWidth: number; clientWidth: number; getAttribute(name: string): string | null };
type BrowserWindow = {
  document: {
    querySelectorAll(s: string): { length: number } & Iterable<BrowserElement>;
    querySelector(s: string): { textContent: string | null } | null;
    documentElement: { scrollWidth: number; clientWidth: number };
  };
  getComputedStyle(e: unknown): { backgroundColor: string; color: string };
};
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `${CHROMIUM} is not installed (apt-get install chromium); this test is required when CI=true`
    : false;

const GW = 'gw-ui-key';
const XSS_MODEL = '<img src=x onerror=alert(1)>';
const XSS_TRACE = '<svg/onload=alert(2)>';
const messages = [{ role: 'user', content: 'Say hello' }];

describe('GET /logs/ui in chromium', { skip }, () => {
  let primary: Fake;
  let anthropic: Fake;
  let server: Server;
  let base: string;
  let browser: Browser | undefined;

  before(async () => {
    [primary, anthropic] = await Promise.all([startFake('openai', 'primary'), startFake('anthropic')]);
    primary.always({ kind: 'status', status: 503 });
    const app = express();
    app.use(
      '/v1',
      createFallbackRouter({
        providers: {
          openai: { apiKey: 'sk-openai-ui', baseURL: primary.baseURL },
          anthropic: { apiKey: 'sk-ant-ui', baseURL: anthropic.baseURL },
        },
        configs: {
          'pc-checkout': {
            strategy: { mode: 'fallback' },
            targets: [
              { provider: 'openai', override_params: { model: 'gpt-4o' } },
              { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
            ],
          },
        },
        auth: { apiKeys: [GW] },
        pricing: { 'gpt-4o': { input: 2.5, output: 10 }, 'claude-3-5-sonnet-20240620': { input: 3, output: 15 } },
        logger: quietLogger(),
      }),
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await Promise.all([primary?.close(), anthropic?.close()]);
  });

  async function chat(config: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-api-key': GW, 'x-portkey-config': config, ...headers },
      body: JSON.stringify({ messages }),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-portkey-attempts'), '2');
    return res.headers.get('x-portkey-trace-id')!;
  }

  async function traceById(traceId: string): Promise<Trace> {
    const res = await fetch(`${base}/logs?trace_id=${encodeURIComponent(traceId)}`, { headers: { 'x-portkey-api-key': GW } });
    const body = (await res.json()) as { data: Trace[] };
    assert.equal(body.data.length, 1);
    return body.data[0]!;
  }

  const rows = (page: Page) => page.locator('[data-testid=trace-row]');
  const waitRows = (page: Page, n: number) =>
    page.waitForFunction((count) => (globalThis as unknown as BrowserWindow).document.querySelectorAll('[data-testid=trace-row]').length === count, n);
  async function filter(page: Page, fields: { config?: string; trace?: string }): Promise<void> {
    await page.fill('[data-testid=filter-config-id]', fields.config ?? '');
    await page.fill('[data-testid=filter-trace-id]', fields.trace ?? '');
    await page.click('[data-testid=apply-filters]');
  }
  const cell = (row: ReturnType<Page['locator']>, field: string) => row.locator(`[data-field=${field}]`).innerText();

  test('filter by Config ID, then by Trace ID; the failed and the serving attempts are shown in order; HTML in trace data is text', async () => {
    const saved1 = await chat('pc-checkout');
    const saved2 = await chat('pc-checkout');
    const inlineConfig = JSON.stringify({
      strategy: { mode: 'fallback' },
      targets: [
        { provider: 'openai', override_params: { model: 'gpt-4o-mini' } },
        { provider: 'anthropic', override_params: { model: XSS_MODEL } },
      ],
    });
    const inline = await chat(inlineConfig);
    const svgTrace = await chat(inlineConfig, { 'x-portkey-trace-id': XSS_TRACE });
    assert.equal(svgTrace, XSS_TRACE);
    const inlineConfigId = (await traceById(inline)).configId;
    assert.match(inlineConfigId, /^cfg-/);
    assert.notEqual(saved1, saved2);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1500, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const dialogs: string[] = [];
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });

    // Without a key: the key form; with it, the page.
    const first = await page.goto(`${base}/logs/ui`);
    assert.equal(first?.status(), 401);
    await page.fill('[data-testid=gateway-key]', GW);
    await Promise.all([page.waitForNavigation(), page.click('[data-testid=open-logs]')]);
    await waitRows(page, 4);

    // 1. Config ID
    await filter(page, { config: 'pc-checkout' });
    await waitRows(page, 2);
    const configCells = await rows(page).locator('td:nth-child(3)').allInnerTexts();
    assert.deepEqual(configCells, ['pc-checkout', 'pc-checkout']);
    const listedTraceIds = await rows(page).locator('td:nth-child(2)').allInnerTexts();
    assert.deepEqual(listedTraceIds, [saved2, saved1], 'newest first');

    // 2. Trace ID from the response header: the trace opens with its attempts in order
    await filter(page, { config: 'pc-checkout', trace: saved1 });
    await waitRows(page, 1);
    const detail = page.locator('[data-testid=trace-detail]');
    await detail.waitFor({ state: 'visible' });
    assert.equal(await page.locator('[data-testid=detail-trace-id]').innerText(), saved1);
    assert.equal(await page.locator('[data-testid=detail-config-id]').innerText(), 'pc-checkout');
    const attempts = page.locator('[data-testid=attempt-row]');
    assert.equal(await attempts.count(), 2);
    assert.deepEqual(await attempts.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-outcome'))), ['failed', 'served']);

    const failed = attempts.nth(0);
    assert.equal(await cell(failed, 'outcome'), 'FAILED');
    assert.equal(await cell(failed, 'path'), 'config.targets[0]');
    assert.equal(await cell(failed, 'provider'), 'openai');
    assert.equal(await cell(failed, 'model'), 'gpt-4o');
    assert.equal(await cell(failed, 'status'), '503');
    assert.equal(await cell(failed, 'error'), 'server');
    assert.match(await cell(failed, 'latency'), /^\d+ ms$/);
    assert.equal(await cell(failed, 'cost'), '$0');

    const served = attempts.nth(1);
    assert.equal(await cell(served, 'outcome'), 'SERVED');
    assert.equal(await cell(served, 'path'), 'config.targets[1]');
    assert.equal(await cell(served, 'provider'), 'anthropic');
    assert.equal(await cell(served, 'model'), 'claude-3-5-sonnet-20240620');
    assert.equal(await cell(served, 'status'), '200');
    assert.match(await cell(served, 'latency'), /^\d+ ms$/);
    assert.equal(await cell(served, 'tokens'), '11 / 7');
    assert.equal(await cell(served, 'cost'), '$0.000138'); // (11 * 3 + 7 * 15) / 1e6
    assert.equal(await page.locator('[data-testid=detail-cost]').innerText(), '$0.000138');
    assert.match(await page.locator('[data-testid=detail-served]').innerText(), /config\.targets\[1\].*anthropic \/ claude-3-5-sonnet-20240620/);
    // The marking is visible, not only an attribute: failed and served rows look different.
    const backgrounds = await attempts.evaluateAll((trs) => trs.map((tr) => (globalThis as unknown as BrowserWindow).getComputedStyle(tr).backgroundColor));
    assert.notEqual(backgrounds[0], backgrounds[1]);
    const badgeColors = await attempts.locator('.badge').first().evaluate((b) => (globalThis as unknown as BrowserWindow).getComputedStyle(b).color);
    assert.ok(badgeColors.length > 0);

    await page.screenshot({ path: '/tmp/logs-ui.png', fullPage: true });

    // 3. HTML in a model name renders as text
    await filter(page, { config: inlineConfigId });
    await waitRows(page, 2);
    await rows(page).nth(1).click();
    await detail.waitFor({ state: 'visible' });
    await page.waitForFunction((id) => (globalThis as unknown as BrowserWindow).document.querySelector('[data-testid=detail-trace-id]')?.textContent === id, inline);
    const xssRow = page.locator('[data-testid=attempt-row]').nth(1);
    assert.equal(await xssRow.locator('[data-field=model]').textContent(), XSS_MODEL);
    assert.equal(await page.locator('main img').count(), 0);
    assert.match(await rows(page).nth(1).locator('td:nth-child(6)').innerText(), /anthropic \/ <img src=x onerror=alert\(1\)>/);

    // 4. ... and in a trace id
    await filter(page, { trace: XSS_TRACE });
    await waitRows(page, 1);
    assert.equal(await page.locator('[data-testid=detail-trace-id]').innerText(), XSS_TRACE);
    assert.equal(await rows(page).first().locator('td:nth-child(2)').innerText(), XSS_TRACE);
    assert.equal(await page.locator('main svg').count(), 0);

    assert.deepEqual(dialogs, [], 'no script from trace data ran');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors.filter((m) => !/401/.test(m)), [], 'no CSP violation or script error');

    // 5. The key in the page URL also works; it is taken out of the address bar, filters come from the hash.
    const second = await context.newPage();
    const opened = await second.goto(`${base}/logs/ui?key=${GW}#config_id=pc-checkout`);
    assert.equal(opened?.status(), 200);
    await waitRows(second, 2);
    assert.ok(!second.url().includes(GW), second.url());
    assert.equal(await second.inputValue('[data-testid=filter-config-id]'), 'pc-checkout');
  });
});

const GW2 = 'gw-ui-key-2';
const PRICING = { 'gpt-4o': { input: 2.5, output: 10 }, 'claude-3-5-sonnet-20240620': { input: 3, output: 15 } };
const LONG_TRACE = `trace-${'0123456789abcdef'.repeat(14)}`;
const LONG_MODEL = `a-model-whose-name-goes-on-${'and-on-'.repeat(30)}end`;
const LONG_ERROR = `upstream said: ${'E'.repeat(2500)} and then ${'word '.repeat(200)}`;

/** The page's formats, for what the summary line must say. */
function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
function fmtCost(c: number): string {
  if (c === 0) return '$0';
  if (c >= 0.01) return `$${c.toFixed(4)}`;
  return `$${c.toFixed(8).replace(/0+$/, '')}`;
}
const fmtTotal = (c: number, unpriced: number): string => (unpriced > 0 ? `≥ ${fmtCost(c)} (${unpriced} unpriced)` : fmtCost(c));
const roundUsd = (usd: number): number => Math.round(usd * 1e10) / 1e10;
/** Unpriced as the page reads it: the flag, or (older traces) usage without a cost. */
const isUnpriced = (a: AttemptTrace): boolean =>
  !a.skipped && (a.unpriced ?? (a.costUsd === undefined && !!a.usage && a.usage.promptTokens + a.usage.completionTokens > 0));

describe('GET /logs/ui at 1280 px: waits, streams, unpriced, time range, summary (chromium)', { skip }, () => {
  let primary: Fake;
  let anthropic: Fake;
  let server: Server;
  let base: string;
  let browser: Browser | undefined;
  const store = new MemoryTraceStore();
  const NOW = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();

  /** Traces put in the store as they are, beside the ones real requests make. */
  function seed(): void {
    // A hedge: the second attempt started while the first still ran and won; the loser is recorded last.
    const h = NOW - 60_000;
    store.record({
      traceId: 'ui-hedge', requestId: 'ui-hedge-req', configId: 'pc-hedge', endpoint: 'chat', stream: false, startedAt: iso(h), status: 200,
      servedPath: 'config.targets[1]', provider: 'anthropic', model: 'claude-3-5-sonnet-20240620', latencyMs: 655,
      attempts: [
        { path: 'config.targets[1]', provider: 'anthropic', model: 'claude-3-5-sonnet-20240620', status: 200, retry: 0, startedAt: iso(h + 402), latencyMs: 250, served: true, usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 }, costUsd: 0.000138 },
        { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 499, errorClass: 'network', code: 'hedge_cancelled', retry: 0, startedAt: iso(h + 2), latencyMs: 651, served: false, costUsd: 0 },
      ],
      totals: { promptTokens: 11, completionTokens: 7, totalTokens: 18, costUsd: 0.000138, attempts: 2, unpricedAttempts: 0 },
    });
    // Recorded before the `unpriced` fields existed: usage without a cost, no totals.unpricedAttempts.
    const l = NOW - 20 * 60_000;
    store.record({
      traceId: 'ui-legacy', requestId: 'ui-legacy-req', configId: 'pc-azure', endpoint: 'chat', stream: false, startedAt: iso(l), status: 200,
      servedPath: 'config.targets[0]', provider: 'azure-openai', model: 'gpt-4o-2024-08-06', latencyMs: 420,
      attempts: [{ path: 'config.targets[0]', provider: 'azure-openai', model: 'gpt-4o-2024-08-06', status: 200, retry: 0, startedAt: iso(l + 1), latencyMs: 415, served: true, usage: { promptTokens: 20, completionTokens: 5, totalTokens: 25 } }],
      totals: { promptTokens: 20, completionTokens: 5, totalTokens: 25, costUsd: 0, attempts: 1 },
    } as unknown as Trace);
    // Two hours old: out of the "last hour".
    const o = NOW - 2 * 3600_000;
    store.record({
      traceId: 'ui-two-hours-ago', requestId: 'ui-old-req', configId: 'pc-old', endpoint: 'chat', stream: false, startedAt: iso(o), status: 200,
      servedPath: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', latencyMs: 300,
      attempts: [{ path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 200, retry: 0, startedAt: iso(o + 2), latencyMs: 296, served: true, usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 }, costUsd: 0.0000975 }],
      totals: { promptTokens: 11, completionTokens: 7, totalTokens: 18, costUsd: 0.0000975, attempts: 1, unpricedAttempts: 0 },
    });
    // Long values everywhere: they must not widen the page.
    const g = NOW - 30_000;
    store.record({
      traceId: LONG_TRACE, requestId: 'ui-long-req', configId: `cfg-${'c'.repeat(120)}`, endpoint: 'chat', stream: false, startedAt: iso(g), status: 502, latencyMs: 1195,
      attempts: [
        { path: 'config.targets[0].targets[1].targets[2]', provider: 'openai', model: LONG_MODEL, status: 500, errorClass: 'server', code: `code_${'x'.repeat(150)}`, retry: 0, startedAt: iso(g + 1), latencyMs: 500, served: false, costUsd: 0, notes: [`note ${'n'.repeat(400)}`] },
        { path: 'config.targets[1]', provider: `provider-${'p'.repeat(60)}`, model: LONG_MODEL, status: 502, errorClass: 'server', retry: 0, startedAt: iso(g + 501), latencyMs: 690, served: false, costUsd: 0 },
      ],
      totals: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 2, unpricedAttempts: 0 },
      error: { message: LONG_ERROR, type: 'server_error', code: 'upstream_error', errorClass: 'server' },
      request: { model: LONG_MODEL, messages: [{ role: 'user', content: 'q'.repeat(3000) }] },
      notes: [`a note without spaces ${'z'.repeat(500)}`],
    });
  }

  before(async () => {
    [primary, anthropic] = await Promise.all([startFake('openai', 'primary'), startFake('anthropic')]);
    seed();
    const app = express();
    app.use(
      '/v1',
      createFallbackRouter({
        providers: {
          openai: { apiKey: 'sk-openai-ui', baseURL: primary.baseURL },
          anthropic: { apiKey: 'sk-ant-ui', baseURL: anthropic.baseURL },
        },
        configs: {
          'pc-retry': {
            strategy: { mode: 'fallback' },
            targets: [
              { provider: 'openai', override_params: { model: 'gpt-4o' }, retry: { attempts: 1, on_status_codes: [429], use_retry_after_header: true } },
              { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
            ],
          },
          'pc-stream': { strategy: { mode: 'fallback' }, targets: [{ provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } }] },
          'pc-unpriced': { strategy: { mode: 'fallback' }, targets: [{ provider: 'anthropic', override_params: { model: 'mystery-model-1' } }] },
        },
        auth: { apiKeys: [GW2] },
        pricing: PRICING,
        traceStore: store,
        logger: quietLogger(),
      }),
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await Promise.all([primary?.close(), anthropic?.close()]);
  });

  async function chat(config: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-api-key': GW2, 'x-portkey-config': config },
      body: JSON.stringify({ messages, ...extra }),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    return res.headers.get('x-portkey-trace-id')!;
  }
  async function allTraces(): Promise<Trace[]> {
    const res = await fetch(`${base}/logs?limit=500`, { headers: { 'x-portkey-api-key': GW2 } });
    return ((await res.json()) as { data: Trace[] }).data;
  }

  const waitRows = (page: Page, n: number) => page.waitForFunction((count) => (globalThis as unknown as BrowserWindow).document.querySelectorAll('[data-testid=trace-row]').length === count, n);
  const testId = (page: Page, id: string) => page.locator(`[data-testid=${id}]`);
  /** Opens one trace and waits for its detail. */
  async function open(page: Page, traceId: string): Promise<void> {
    await page.locator(`[data-testid=trace-row][data-trace-id="${traceId}"]`).click();
    await page.waitForFunction((id) => (globalThis as unknown as BrowserWindow).document.querySelector('[data-testid=detail-trace-id]')?.textContent === id, traceId);
  }
  /** Nothing scrolls sideways: not the page, nor a pane, table or box in it. */
  async function noSidewaysScroll(page: Page, what: string): Promise<void> {
    const widths = await page.evaluate(() => {
      const d = (globalThis as unknown as BrowserWindow).document;
      const wide: string[] = [];
      for (const e of d.querySelectorAll('header, form.filters, #stats, #message, main, section.pane, table, pre, .error-box, dl.facts')) {
        if (e.scrollWidth > e.clientWidth + 1) wide.push(`${e.getAttribute('id') ?? e.getAttribute('class') ?? '?'}: ${e.scrollWidth} > ${e.clientWidth}`);
      }
      return { page: d.documentElement.scrollWidth, wide };
    });
    assert.ok(widths.page <= 1280, `${what}: the page is ${widths.page} px wide`);
    assert.deepEqual(widths.wide, [], `${what}: nothing scrolls sideways`);
  }
  /** The rows of the open trace's attempts table, as [testid, data-ms]. */
  const timelineRows = (page: Page) =>
    page.locator('[data-testid=attempt-rows] > tr').evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-testid'), (tr as unknown as { querySelector(s: string): { getAttribute(n: string): string | null } | null }).querySelector('[data-field=latency]')?.getAttribute('data-ms') ?? null] as const),
    );

  test('waits add up to the latency, hedges overlap, streams carry tokens, unpriced is shown as such, the summary and the time range, no sideways scroll', async () => {
    primary.script({ kind: 'status', status: 429, headers: { 'retry-after-ms': '300' } }, { kind: 'status', status: 503 });
    const retryId = await chat('pc-retry');
    anthropic.script({ kind: 'stream', firstDelayMs: 20, intervalMs: 5 });
    const streamId = await chat('pc-stream', { stream: true });
    const unpricedId = await chat('pc-unpriced');
    const traces = await allTraces();
    assert.equal(traces.length, 7);
    const byId = (id: string): Trace => traces.find((t) => t.traceId === id)!;
    assert.equal(byId(retryId).attempts.length, 3);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    await page.goto(`${base}/logs/ui?key=${GW2}`);
    await waitRows(page, 7);
    await noSidewaysScroll(page, 'the list');

    // The summary line over the 7 traces shown.
    const latencies = traces.map((t) => t.latencyMs).sort((a, b) => a - b);
    const rank = (p: number) => latencies[Math.ceil((p / 100) * latencies.length) - 1]!;
    assert.equal(await testId(page, 'stat-requests').innerText(), '7 requests loaded');
    // Failovers: the retry (3 attempts), the hedge (2) and the long one (2 failed attempts).
    assert.equal(await testId(page, 'stat-failover').innerText(), 'failover 43% (3 of 7)');
    assert.equal(await testId(page, 'stat-p50').innerText(), `p50 ${fmtMs(rank(50))}`);
    assert.equal(await testId(page, 'stat-p95').innerText(), `p95 ${fmtMs(rank(95))}`);
    const byProvider = new Map<string, { cost: number; unpriced: number }>();
    for (const t of traces) {
      for (const a of t.attempts) {
        if (a.skipped) continue;
        const p = byProvider.get(a.provider) ?? { cost: 0, unpriced: 0 };
        p.cost += a.costUsd ?? 0;
        p.unpriced += isUnpriced(a) ? 1 : 0;
        byProvider.set(a.provider, p);
      }
    }
    assert.equal(byProvider.get('anthropic')!.unpriced, 1, 'the unpriced real attempt');
    assert.equal(byProvider.get('azure-openai')!.unpriced, 1, 'the legacy trace');
    const totalCost = roundUsd(traces.reduce((sum, t) => sum + t.totals.costUsd, 0));
    const costText = await testId(page, 'stat-cost').innerText();
    assert.ok(costText.startsWith(`cost ${fmtTotal(totalCost, 2)}: `), costText);
    for (const [name, p] of byProvider) {
      assert.equal((await page.locator(`[data-testid=stat-cost-provider][data-provider="${name}"]`).innerText()).replace(/^, /, ''), `${name} ${fmtTotal(roundUsd(p.cost), p.unpriced)}`);
    }

    // 1. A retry after Retry-After: one "waited" row before the retry; the rows add up to the latency.
    await open(page, retryId);
    const retry = byId(retryId);
    const rows = await timelineRows(page);
    const kinds = rows.map(([kind]) => kind).filter((kind) => kind !== 'router-row');
    assert.deepEqual(kinds, ['attempt-row', 'wait-row', 'attempt-row', 'attempt-row']);
    const wait = testId(page, 'wait-row');
    assert.ok(Number(await wait.locator('[data-field=latency]').getAttribute('data-ms')) >= 300, 'at least the Retry-After');
    assert.match(await wait.locator('[data-field=label]').innerText(), /^waited \d+ ms before retry 1 of config\.targets\[0\] \(Retry-After or backoff\)$/);
    const sum = rows.reduce((total, [, ms]) => total + (ms === null ? 0 : Number(ms)), 0);
    assert.equal(sum, retry.latencyMs, `the rows add up to the trace latency: ${JSON.stringify(rows)}`);
    assert.equal(await testId(page, 'latency-sum').locator('[data-field=latency]').getAttribute('data-ms'), String(retry.latencyMs));
    assert.match(await testId(page, 'detail-latency').innerText(), /^\d+ ms = attempts \d+ ms \+ waited \d+ ms \+ router \d+ ms$/);
    await noSidewaysScroll(page, 'a retried trace');

    // 2. A hedge: the attempts overlap, no wait; the one that started second (recorded first) ran in parallel.
    await open(page, 'ui-hedge');
    assert.equal(await testId(page, 'wait-row').count(), 0);
    assert.deepEqual(await page.locator('[data-testid=attempt-row]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-parallel'))), ['true', null]);
    assert.equal(await page.locator('[data-testid=attempt-row]').first().locator('[data-testid=parallel]').innerText(), '∥ parallel');
    assert.equal(await testId(page, 'latency-sum').locator('td').nth(1).innerText(), 'Trace latency = attempts 901 ms − 250 ms in parallel (hedged) + router 4 ms');

    // 3. A stream: tokens and time to first token.
    await open(page, streamId);
    const streamRow = page.locator('[data-testid=attempt-row]').first();
    assert.equal(await cellOf(streamRow, 'tokens'), '11 / 7');
    assert.match(await cellOf(streamRow, 'ttft'), /^\d+ ms$/);
    assert.match(await testId(page, 'detail-ttft').innerText(), /^\d+ ms$/);
    assert.equal(await testId(page, 'detail-tokens').innerText(), '11 prompt + 7 completion = 18');
    assert.equal(await page.locator(`[data-testid=trace-row][data-trace-id="${streamId}"] [data-field=tokens]`).innerText(), '18');
    assert.equal(await cellOf(streamRow, 'cost'), '$0.000138');

    // 4. Unpriced: "unpriced", never "$0" or "—"; the total is a lower bound. Also in an older trace.
    for (const id of [unpricedId, 'ui-legacy']) {
      await open(page, id);
      assert.equal(await cellOf(page.locator('[data-testid=attempt-row]').first(), 'cost'), 'unpriced');
      assert.equal(await testId(page, 'detail-cost').innerText(), '≥ $0 (1 unpriced)');
      assert.equal(await page.locator(`[data-testid=trace-row][data-trace-id="${id}"] [data-field=cost]`).innerText(), '≥ $0 (1 unpriced)');
    }

    // 5. Long values: cut or wrapped, never wider than the window.
    await open(page, LONG_TRACE);
    await testId(page, 'detail-error').waitFor({ state: 'visible' });
    await page.locator('details summary').first().click();
    await noSidewaysScroll(page, 'a trace with long values');

    // 6. The time range: the last hour leaves the two-hours-old trace out, the summary follows, the URL keeps it.
    await page.selectOption('[data-testid=filter-range]', '1h');
    await waitRows(page, 6);
    assert.equal(await page.locator('[data-testid=trace-row][data-trace-id="ui-two-hours-ago"]').count(), 0);
    assert.equal(await testId(page, 'stat-requests').innerText(), '6 requests in the last hour');
    assert.match(page.url(), /#range=1h$/);
    const reopened = await context.newPage();
    await reopened.goto(`${base}/logs/ui?key=${GW2}#range=1h`);
    await waitRows(reopened, 6);
    assert.equal(await reopened.inputValue('[data-testid=filter-range]'), '1h');
    await reopened.close();
    await page.selectOption('[data-testid=filter-range]', '15m');
    await waitRows(page, 5);
    await page.selectOption('[data-testid=filter-range]', '');
    await waitRows(page, 7);
    assert.equal(await testId(page, 'stat-requests').innerText(), '7 requests loaded');

    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, [], 'no CSP violation or script error');
  });

  test('a time range loads older pages until it is covered; without one, "Load older" pages by hand', async () => {
    const before = (await allTraces()).filter((t) => Date.parse(t.startedAt) >= Date.now() - 15 * 60_000).length;
    const t0 = Date.now() - 10 * 60_000;
    for (let i = 0; i < 260; i++) {
      const at = iso(t0 + i * 1000);
      store.record({
        traceId: `bulk-${i}`, requestId: `bulk-${i}-req`, configId: 'pc-bulk', endpoint: 'chat', stream: false, startedAt: at, status: 200,
        servedPath: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', latencyMs: 100 + i,
        attempts: [{ path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 200, retry: 0, startedAt: at, latencyMs: 100 + i, served: true, costUsd: 0 }],
        totals: { promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, attempts: 1, unpricedAttempts: 0 },
      });
    }
    const page = await (await browser!.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${base}/logs/ui?key=${GW2}#range=15m`);
    await waitRows(page, before + 260);
    assert.equal(await page.locator('#more').isVisible(), false, 'every trace of the range is loaded');
    assert.equal(await testId(page, 'stat-requests').innerText(), `${before + 260} requests in the last 15 min`);
    assert.equal(await testId(page, 'stat-partial').count(), 0);
    await page.selectOption('[data-testid=filter-range]', '');
    await waitRows(page, 50);
    assert.equal(await page.locator('#more').isVisible(), true);
    assert.equal(await testId(page, 'stat-partial').innerText(), 'older traces not loaded');
    await page.close();
  });
});

const cellOf = (row: ReturnType<Page['locator']>, field: string) => row.locator(`[data-field=${field}]`).innerText();
