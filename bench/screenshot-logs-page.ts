/**
 * Takes the README's screenshot of the logs page (docs/logs-page.png): a few real requests go
 * through the router to fake providers (a plain answer, a fallback after a 429 with Retry-After
 * and a 503, a stream, an answer from a model without a price), then headless Chromium opens
 * GET /v1/logs/ui at 1280 px, opens the fallback trace and saves a PNG.
 *
 *   node --import tsx bench/screenshot-logs-page.ts [out.png]      (default docs/logs-page.png)
 *
 * Needs Chromium at /usr/bin/chromium (apt-get install chromium), or its path in $CHROMIUM.
 */
import { statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { chromium } from 'playwright-core';
import { createFallbackRouter } from '../lib/index.js';
import { quietLogger } from '../test/helpers/create-app.js';
import { startFake } from '../test/helpers/fake-providers.js';

const out = process.argv[2] ?? 'docs/logs-page.png';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const KEY = 'gw-demo-key';

const openai = await startFake('openai', 'openai');
const anthropic = await startFake('anthropic', 'anthropic');
openai.always({ kind: 'ok', delayMs: 240 });
anthropic.always({ kind: 'ok', delayMs: 310 });

const app = express();
app.use(
  '/v1',
  createFallbackRouter({
    providers: {
      openai: { apiKey: 'sk-demo-openai', baseURL: openai.baseURL },
      anthropic: { apiKey: 'sk-demo-anthropic', baseURL: anthropic.baseURL },
    },
    configs: {
      'pc-checkout': {
        strategy: { mode: 'fallback' },
        targets: [
          { provider: 'openai', override_params: { model: 'gpt-4o' }, retry: { attempts: 1, on_status_codes: [429], use_retry_after_header: true } },
          { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
        ],
      },
      'pc-chat': {
        strategy: { mode: 'fallback' },
        targets: [
          { provider: 'openai', override_params: { model: 'gpt-4o-mini' } },
          { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
        ],
      },
      'pc-summarise': { strategy: { mode: 'fallback' }, targets: [{ provider: 'anthropic', override_params: { model: 'claude-3-haiku-20240307' } }] },
    },
    auth: { apiKeys: [KEY] },
    // claude-3-haiku has no price here: its attempts show as "unpriced".
    pricing: { 'gpt-4o': { input: 2.5, output: 10 }, 'gpt-4o-mini': { input: 0.15, output: 0.6 }, 'claude-3-5-sonnet-20240620': { input: 3, output: 15 } },
    logger: quietLogger(),
  }),
);
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;

async function chat(config: string, traceId: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': KEY, 'x-portkey-config': config, 'x-portkey-trace-id': traceId },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Summarise my order' }], ...extra }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${traceId}: HTTP ${res.status}`);
}

try {
  await chat('pc-checkout', 'checkout-5d1e02');
  await chat('pc-summarise', 'summarise-a81c44');
  openai.script({ kind: 'stream', firstDelayMs: 180, intervalMs: 40, pieces: ['Your', ' order', ' ships', ' today'] });
  await chat('pc-chat', 'chat-stream-3b9f70', { stream: true });
  openai.script({ kind: 'status', status: 429, delayMs: 95, headers: { 'retry-after-ms': '500' } }, { kind: 'status', status: 503, delayMs: 70 });
  await chat('pc-checkout', 'checkout-9c27aa');
  await chat('pc-chat', 'chat-0e4d19');

  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    await page.goto(`${base}/logs/ui?key=${KEY}`);
    await page.locator('[data-testid=trace-row]').nth(4).waitFor();
    await page.locator('[data-testid=trace-row][data-trace-id="checkout-9c27aa"]').click();
    await page.locator('[data-testid=wait-row]').waitFor();
    const wide = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    if (wide > 1280) throw new Error(`the page is ${wide} px wide at 1280`);
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`${out}: ${Math.round(statSync(out).size / 1024)} KB`);
} finally {
  server.closeAllConnections();
  server.close();
  await Promise.all([openai.close(), anthropic.close()]);
}
