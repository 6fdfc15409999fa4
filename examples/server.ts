/**
 * `npm start`: an example gateway on localhost.
 *
 * With no provider keys in the environment it also starts local demo upstreams (an OpenAI that
 * is always rate limited, an Azure OpenAI and an Anthropic that answer), so a fallback can be
 * seen end to end without any account. With OPENAI_API_KEY / ANTHROPIC_API_KEY /
 * AZURE_OPENAI_API_KEY (+ AZURE_OPENAI_RESOURCE, AZURE_OPENAI_DEPLOYMENT) it uses the real
 * providers instead.
 */
import express from 'express';
import { createFallbackRouter, type RouterOptions } from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

const port = Number(process.env.PORT ?? 8787);
const gatewayKey = process.env.GATEWAY_API_KEY ?? 'demo-gateway-key';
const env = process.env;
const demo = !env.OPENAI_API_KEY && !env.ANTHROPIC_API_KEY && !env.AZURE_OPENAI_API_KEY;

async function main(): Promise<void> {
  let providers: NonNullable<RouterOptions['providers']>;
  let closeDemo = async (): Promise<void> => undefined;
  if (demo) {
    const up = await startDemoUpstreams();
    closeDemo = up.close;
    providers = {
      openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
      azure_openai: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
      anthropic: { apiKey: 'demo-anthropic-key', baseURL: up.anthropicBaseURL },
    };
  } else {
    providers = {};
    if (env.OPENAI_API_KEY) providers.openai = { apiKey: env.OPENAI_API_KEY };
    if (env.ANTHROPIC_API_KEY) providers.anthropic = { apiKey: env.ANTHROPIC_API_KEY };
    if (env.AZURE_OPENAI_API_KEY) {
      providers.azure_openai = {
        apiKey: env.AZURE_OPENAI_API_KEY,
        resourceName: env.AZURE_OPENAI_RESOURCE,
        deploymentId: env.AZURE_OPENAI_DEPLOYMENT,
      };
    }
  }
  // Virtual keys name the server-side credentials, so clients never see a provider key.
  const virtualKeys: NonNullable<RouterOptions['virtualKeys']> = {};
  if (providers.openai) virtualKeys['openai-virtual-key'] = { provider: 'openai', ...providers.openai };
  if (providers.azure_openai) virtualKeys['azure-openai-virtual-key'] = { provider: 'azure-openai', ...providers.azure_openai };
  if (providers.anthropic) virtualKeys['anthropic-virtual-key'] = { provider: 'anthropic', ...providers.anthropic };

  const app = express();
  app.get('/', (_req, res) => {
    res.type('text/plain').send('express-llm-fallback example gateway: POST /v1/chat/completions\n');
  });
  app.use(
    '/v1',
    createFallbackRouter({
      providers,
      virtualKeys,
      configs: {
        'pc-demo-fallback': {
          strategy: { mode: 'fallback' },
          targets: [
            { virtual_key: 'openai-virtual-key', override_params: { model: 'gpt-4o' } },
            { virtual_key: 'anthropic-virtual-key', override_params: { model: 'claude-3-5-sonnet-20240620' } },
          ],
        },
      },
      auth: { apiKeys: [gatewayKey] },
    }),
  );

  const server = app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const address = server.address();
  const base = `http://localhost:${typeof address === 'object' && address ? address.port : port}/v1`;
  console.log(`express-llm-fallback example gateway on ${base}${demo ? ' (demo upstreams: OpenAI always answers 429)' : ''}`);

  // Show one fallback at once, so the first thing a newcomer sees is the feature working.
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': gatewayKey, 'x-portkey-fallback': 'openai,azure_openai' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }>; error?: { message?: string } };
  console.log(
    `\nself-test: x-portkey-fallback: openai,azure_openai -> HTTP ${res.status}, ` +
      `served by ${res.headers.get('x-portkey-provider')} (${res.headers.get('x-portkey-last-used-option-index')}), ` +
      `${res.headers.get('x-portkey-attempts')} attempts\n  ${body.choices?.[0]?.message?.content ?? body.error?.message}`,
  );
  console.log(`
Try it:

curl -s ${base}/chat/completions \\
  -H 'Content-Type: application/json' \\
  -H 'x-portkey-api-key: ${gatewayKey}' \\
  -H 'x-portkey-fallback: openai,azure_openai' \\
  -d '{"model":"gpt-4o","messages":[{"role":"user","content":"What are the top 10 happiest countries in the world?"}]}' -i

More examples (legacy body config, strategy + targets with virtual keys) are in README.md.
Ctrl-C to stop.`);

  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void closeDemo().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  if (e.code === 'EADDRINUSE') console.error(`Port ${port} is in use: run with PORT=<another port> npm start`);
  else console.error(e.message ?? err);
  process.exit(1);
});
