/**
 * The README's "logs routes elsewhere": the public router keeps its /logs routes off, and a second
 * router, mounted under an admin path with its own key, serves the same traces (one shared
 * TraceStore). Against the local demo upstreams:
 *
 *   npx tsx examples/logs-elsewhere.ts
 *
 * makes one request through /v1, shows that /v1/logs is gone, reads the trace from /admin/llm/logs
 * and exits.
 */
import express from 'express';
import { MemoryTraceStore, createFallbackRouter, type RouterOptions } from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

const up = await startDemoUpstreams();
const gateway: RouterOptions = {
  providers: {
    openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
    azure_openai: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
  },
  auth: { apiKeys: ['demo-gateway-key'] },
};
const adminKey = 'demo-admin-key';
const app = express();

const traces = new MemoryTraceStore({ maxTraces: 1000 });
app.use('/v1', createFallbackRouter({ ...gateway, traceStore: traces, logs: { enabled: false } }));
app.use('/admin/llm', createFallbackRouter({ traceStore: traces, auth: { apiKeys: [adminKey] } })); // only /logs* and /health used here

const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const address = server.address();
const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
try {
  const res = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key', 'x-portkey-fallback': 'openai,azure_openai' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  await res.arrayBuffer();
  console.log(`POST /v1/chat/completions: HTTP ${res.status} from ${res.headers.get('x-portkey-provider')}`);
  const publicLogs = await fetch(`${origin}/v1/logs`, { headers: { 'x-portkey-api-key': 'demo-gateway-key' } });
  await publicLogs.arrayBuffer();
  console.log(`GET /v1/logs: HTTP ${publicLogs.status}`);
  const traceId = res.headers.get('x-portkey-trace-id') ?? '';
  let status = 0;
  let found: { provider?: string; attempts?: unknown[] } = {};
  for (let i = 0; i < 100 && status !== 200; i++) {
    const admin = await fetch(`${origin}/admin/llm/logs/${encodeURIComponent(traceId)}`, { headers: { 'x-portkey-api-key': adminKey } });
    status = admin.status;
    found = (await admin.json()) as typeof found;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(`GET /admin/llm/logs/${traceId}: HTTP ${status}, served by ${found.provider} after ${found.attempts?.length} attempts`);
} finally {
  server.closeAllConnections();
  server.close();
  await up.close();
}
