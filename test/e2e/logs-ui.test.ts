/**
 * The logs page in a real headless browser (Debian's chromium driven by playwright-core): real
 * fallback requests go through the router to fake providers (one answering 503, one serving),
 * then the page is opened with the gateway key, filtered by Config ID and then by the Trace ID
 * from a response header, and must show the failed 503 attempt and the attempt that served, in
 * order, with provider, model, latency and cost. Trace data comes from clients: an HTML payload
 * as a model name or trace id must render as text.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createFallbackRouter, type Trace } from '../../lib/index.js';
import { quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const CHROMIUM = '/usr/bin/chromium';
/** The page's window in functions run by the browser (they are serialised; the tests compile without the DOM lib). */
type BrowserWindow = { document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { textContent: string | null } | null }; getComputedStyle(e: unknown): { backgroundColor: string; color: string } };
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
