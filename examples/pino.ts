/**
 * The README's structured-logging example: the router's log lines through a pino logger (JSON on
 * stdout, each with the trace id and config id), against the local demo upstreams (an OpenAI that
 * answers 429, an Azure OpenAI that answers).
 *
 *   npx tsx examples/pino.ts
 *
 * makes four requests: a retry then a fallback (info lines), a chain with only the rate-limited
 * OpenAI (a breaker that opens and a request that gives up: warn lines), and a request with a
 * broken config (refused before any attempt: an info line); then exits.
 */
import express from 'express';
import pino from 'pino';
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

const logger = pino({ level: 'info' }); // 'debug' adds the half-open breaker lines

const router = createFallbackRouter({
  ...gateway, // providers, virtualKeys, auth: as in "Mount it"
  logger, // or console, or a winston logger: each line carries traceId and configId
  configs: {
    'openai-then-azure': {
      strategy: { mode: 'fallback' },
      targets: [{ provider: 'openai', retry: { attempts: 1, use_retry_after_header: false } }, { provider: 'azure-openai' }],
    },
    'openai-only': {
      strategy: { mode: 'fallback', cb_config: { failure_threshold: 1, minimum_requests: 1, cooldown_ms: 30_000 } },
      targets: [{ provider: 'openai' }],
    },
  },
});

const app = express();
app.use('/v1', router);
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;

/** One chat request with a trace id of our own (the `x-portkey-trace-id` header), so its lines are easy to find. */
async function chat(traceId: string, config: string): Promise<void> {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key', 'x-portkey-trace-id': traceId, 'x-portkey-config': config },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  await res.arrayBuffer();
  process.stderr.write(`${traceId}: HTTP ${res.status}\n`);
}

try {
  await chat('demo-fallback', 'openai-then-azure'); // info: retrying openai; info: falling back to azure-openai
  await chat('demo-give-up', 'openai-only'); // warn: circuit breaker opened; warn: giving up after 1 attempt
  await chat('demo-open', 'openai-only'); // warn: giving up (openai skipped: its breaker is open, the last resort tried it)
  await chat('demo-refused', '{"strategy":{"mode":"nonsense"}}'); // info: request refused before any attempt
} finally {
  server.closeAllConnections();
  server.close();
  await up.close();
}
