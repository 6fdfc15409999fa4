/**
 * The README's Prometheus example: the router's metrics in a prom-client Registry and served on
 * GET /v1/metrics (behind auth), against the local demo upstreams (an OpenAI that answers 429,
 * an Azure OpenAI that answers).
 *
 *   npx tsx examples/prometheus.ts
 *
 * makes one request through a saved fallback config (OpenAI, then Azure OpenAI), scrapes
 * GET /v1/metrics and prints the router's series (without the histogram buckets), and exits.
 */
import express from 'express';
import client from 'prom-client';
import { createFallbackRouter, type RouterOptions } from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

const up = await startDemoUpstreams();
const gateway: RouterOptions = {
  providers: {
    openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
    azure_openai: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
  },
  auth: { apiKeys: ['demo-gateway-key'] },
};

const registry = new client.Registry(); // or client.register, the global one

const router = createFallbackRouter({
  ...gateway, // providers, virtualKeys, auth: as in "Mount it"
  configs: {
    'openai-then-azure': { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'azure-openai' }] },
  },
  metrics: {
    registry, // the host's prom-client Registry (without one: a registry of the router's own)
    route: true, // GET /v1/metrics, Prometheus text format, behind auth
    modelLabels: ['gpt-4o'], // models that may be a `model` label; any other is `other`
    // prefix: 'llm_fallback_', // the default
  },
  pricing: { 'gpt-4o': { input: 2.5, output: 10 } }, // USD per million tokens: llm_fallback_cost_usd_total
  // telemetry: false, // no OpenTelemetry metrics (they are on when the host registered a MeterProvider)
});

const app = express();
app.use('/v1', router);
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
const headers = { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key' };
try {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { ...headers, 'x-portkey-config': 'openai-then-azure' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  console.log(`HTTP ${res.status} from ${res.headers.get('x-portkey-provider')} after ${res.headers.get('x-portkey-attempts')} attempts`);
  const scrape = await fetch(`${base}/metrics`, { headers });
  console.log(`GET /v1/metrics: HTTP ${scrape.status}, ${scrape.headers.get('content-type')}`);
  const text = await scrape.text();
  for (const line of text.split('\n')) {
    if (line.startsWith('llm_fallback_') && !line.includes('_bucket{')) console.log(line);
  }
  const unauthorised = await fetch(`${base}/metrics`);
  console.log(`GET /v1/metrics without the gateway key: HTTP ${unauthorised.status}`);
} finally {
  server.closeAllConnections();
  server.close();
  await up.close();
}
