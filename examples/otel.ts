/**
 * The README's OpenTelemetry example: the router's GenAI spans printed by the SDK's
 * ConsoleSpanExporter, against the local demo upstreams (an OpenAI that answers 429, an Azure
 * OpenAI that answers).
 *
 *   npx tsx examples/otel.ts
 *
 * registers a tracer provider (as a host's tracing setup does), makes one request that falls back
 * from OpenAI to Azure OpenAI inside a caller's trace (its `traceparent`), and exits. The exporter
 * prints the three spans as they end: the attempt that failed, the one that served, the request.
 */
import express from 'express';
import { startDemoUpstreams } from './demo-upstreams.js';
import type { RouterOptions } from '../lib/index.js';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createFallbackRouter } from '../lib/index.js';

// Your tracing setup (or @opentelemetry/sdk-node's NodeSDK): a tracer provider, registered globally.
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

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
  // On by itself once a tracer provider is registered; `false` turns it off. Prompts and
  // completions are span events only with captureBodies: true.
  telemetry: { captureBodies: false },
  pricing: { 'gpt-4o': { input: 2.5, output: 10 } }, // llm_fallback.cost_usd
  defaultConfig: {
    strategy: { mode: 'fallback' },
    trace_context: true, // each attempt sends its span upstream as `traceparent`
    targets: [{ provider: 'openai' }, { provider: 'azure_openai' }],
  },
});

const app = express();
app.use('/v1', router);
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
try {
  // The caller's trace: the router's request span is a child of its span.
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key', traceparent },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }> };
  // The request span ended as the answer went out (the attempts before it).
  console.log(`HTTP ${res.status} from ${res.headers.get('x-portkey-provider')}: ${body.choices?.[0]?.message?.content}`);
} finally {
  server.closeAllConnections();
  server.close();
  await up.close();
  await provider.shutdown();
}
