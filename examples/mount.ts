/**
 * The README's "Mount it": the router in an Express app, provider keys from the environment.
 *
 *   GATEWAY_API_KEY=my-gateway-key OPENAI_API_KEY=sk-... ANTHROPIC_API_KEY=sk-ant-... npx tsx examples/mount.ts
 *
 * then send requests as in the README, with `x-portkey-api-key: my-gateway-key`, to
 * http://localhost:3000/v1 (PORT changes the port). The *_BASE_URL variables are optional.
 */
import express from 'express';
import { createFallbackRouter } from '../lib/index.js';

const env = process.env;
const gatewayKey = env.GATEWAY_API_KEY;
if (!gatewayKey) throw new Error('Set GATEWAY_API_KEY: the key your clients must send as x-portkey-api-key');

const app = express();
app.use('/v1', createFallbackRouter({
  providers: {
    openai:       { apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL },
    azure_openai: { apiKey: env.AZURE_OPENAI_API_KEY, resourceName: env.AZURE_OPENAI_RESOURCE, deploymentId: env.AZURE_OPENAI_DEPLOYMENT },
    anthropic:    { apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL },
  },
  virtualKeys: {   // ids clients may name; each takes its provider's key and settings above
    'openai-virtual-key':    { provider: 'openai' },
    'anthropic-virtual-key': { provider: 'anthropic' },
  },
  auth: { apiKeys: [gatewayKey] },   // checked against x-portkey-api-key
}));
const port = Number(env.PORT ?? 3000);
app.listen(port, () => console.log(`LLM gateway on http://localhost:${port}/v1`));
