/**
 * The README's traces example: pricing, the logs settings and the three request hooks, against
 * the local demo upstreams (an OpenAI that answers 429, an Azure OpenAI that answers).
 *
 *   npx tsx examples/hooks.ts
 *
 * makes one request with `x-portkey-fallback: openai,azure_openai`, prints what the hooks saw and
 * the stored trace's attempts (GET /v1/logs/:traceId), and exits.
 */
import express from 'express';
import { createFallbackRouter, type RouterOptions, type Trace } from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

const up = await startDemoUpstreams();
const gateway: RouterOptions = {
  providers: {
    openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
    azure_openai: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
  },
  auth: { apiKeys: ['demo-gateway-key'] },
};

const router = createFallbackRouter({
  ...gateway, // providers, virtualKeys, auth: as in "Mount it"
  // USD per million tokens, by 'provider/model' or 'model' (the model that answered)
  pricing: { 'gpt-4o': { input: 2.5, output: 10 }, 'anthropic/claude-sonnet-4-5': { input: 3, output: 15 } },
  logs: { enabled: true, captureBodies: false, maxTraces: 1000 }, // the defaults
  hooks: {
    onAttempt: (attempt) => console.log(`attempt ${attempt.path}: ${attempt.provider} ${attempt.status} in ${attempt.latencyMs} ms`),
    onFallback: ({ from, to, status, errorClass }) => console.log(`fallback ${from} -> ${to} (${status} ${errorClass})`),
    onTrace: (trace) => console.log(`trace ${trace.traceId}: HTTP ${trace.status} from ${trace.provider}, ${trace.totals.totalTokens} tokens, $${trace.totals.costUsd}`),
  },
  // traceStore: your own store (see below)
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
    headers: { ...headers, 'x-portkey-fallback': 'openai,azure_openai' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }> };
  console.log(`HTTP ${res.status}: ${body.choices?.[0]?.message?.content}`);
  // The trace is stored once the answer has gone out: GET /logs/:traceId finds it.
  const traceId = res.headers.get('x-portkey-trace-id') ?? '';
  let trace: Trace | undefined;
  for (let i = 0; i < 100 && !trace; i++) {
    const found = await fetch(`${base}/logs/${encodeURIComponent(traceId)}`, { headers });
    if (found.ok) trace = (await found.json()) as Trace;
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(`GET /v1/logs/${traceId}: ${trace?.attempts.map((a) => `${a.provider} ${a.status}`).join(', ')}`);
} finally {
  server.closeAllConnections();
  server.close();
  await up.close();
}
