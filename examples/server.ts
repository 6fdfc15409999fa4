/**
 * `npm start`: an example gateway on localhost, which sends itself one request to show a fallback.
 *
 * Each of the three providers is played by the real one when its key is in the environment, and
 * by a local demo upstream (examples/demo-upstreams.ts, on 127.0.0.1) when it is not, so every
 * virtual key and saved config below exists with any subset of keys:
 *
 *   OPENAI_API_KEY                               OpenAI            (else: a demo that always answers 429)
 *   AZURE_OPENAI_API_KEY + AZURE_OPENAI_DEPLOYMENT
 *     + AZURE_OPENAI_RESOURCE or AZURE_OPENAI_ENDPOINT   Azure OpenAI   (else: a demo that answers)
 *   ANTHROPIC_API_KEY                            Anthropic         (else: a demo that answers)
 *
 * Optional: OPENAI_BASE_URL (e.g. https://api.openai.com/v1), ANTHROPIC_BASE_URL (e.g.
 * https://api.anthropic.com/v1; without /v1, as the Anthropic SDK reads it, works too),
 * AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com), AZURE_OPENAI_API_VERSION,
 * OPENAI_MODEL (default gpt-4o), ANTHROPIC_MODEL (default claude-sonnet-4-5), PORT (default 8787,
 * 0 for any free port), GATEWAY_API_KEY (default demo-gateway-key).
 *
 * The self-test always starts with a local OpenAI that answers 429 (`rate-limited-virtual-key`),
 * so a fallback happens whatever keys are set; it then tries the real providers you gave, then
 * the demo ones.
 */
import express from 'express';
import { createFallbackRouter, type ProviderOptions, type Trace } from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

type Role = 'openai' | 'azure_openai' | 'anthropic';

/** Who plays one provider: its server-side options, and how to name it on the console. */
interface Player {
  readonly options: ProviderOptions;
  readonly real: boolean;
  /** e.g. `OpenAI (OPENAI_API_KEY, https://api.openai.com/v1)` or `demo upstream (answers)` */
  readonly description: string;
  /** The model the saved configs ask this provider for. */
  readonly model: string;
}

const env = process.env;
/** An environment variable, unset when empty. */
const read = (name: string): string | undefined => env[name]?.trim() || undefined;

const port = Number(read('PORT') ?? 8787);
const gatewayKey = read('GATEWAY_API_KEY') ?? 'demo-gateway-key';
/** How the key is shown in the printed commands: the demo key as is, the host's own never. */
const shownKey = read('GATEWAY_API_KEY') ? '$GATEWAY_API_KEY' : gatewayKey;
const openaiModel = read('OPENAI_MODEL') ?? 'gpt-4o';
const anthropicModel = read('ANTHROPIC_MODEL') ?? 'claude-sonnet-4-5';

/** Exits with a message naming the variables to set, before anything starts. */
function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/** The real providers whose keys are set; a missing companion variable stops the start at once. */
function realPlayers(): Partial<Record<Role, Player>> {
  const players: Partial<Record<Role, Player>> = {};
  const openaiKey = read('OPENAI_API_KEY');
  if (openaiKey) {
    const baseURL = read('OPENAI_BASE_URL');
    players.openai = {
      options: { apiKey: openaiKey, ...(baseURL ? { baseURL } : {}) },
      real: true,
      description: `OpenAI (OPENAI_API_KEY, ${baseURL ?? 'https://api.openai.com/v1'})`,
      model: openaiModel,
    };
  }
  const azureKey = read('AZURE_OPENAI_API_KEY');
  if (azureKey) {
    const resourceName = read('AZURE_OPENAI_RESOURCE');
    const endpoint = read('AZURE_OPENAI_ENDPOINT');
    const deploymentId = read('AZURE_OPENAI_DEPLOYMENT');
    const apiVersion = read('AZURE_OPENAI_API_VERSION');
    if (!resourceName && !endpoint) {
      fail(
        'AZURE_OPENAI_API_KEY is set, but neither AZURE_OPENAI_RESOURCE (the <resource> of https://<resource>.openai.azure.com) ' +
          'nor AZURE_OPENAI_ENDPOINT is: set one, or unset AZURE_OPENAI_API_KEY to use the demo Azure OpenAI.',
      );
    }
    if (!deploymentId) {
      fail('AZURE_OPENAI_API_KEY is set, but AZURE_OPENAI_DEPLOYMENT (your deployment name) is not: set it, or unset AZURE_OPENAI_API_KEY to use the demo Azure OpenAI.');
    }
    players.azure_openai = {
      options: {
        apiKey: azureKey,
        ...(endpoint ? { baseURL: endpoint } : { resourceName }),
        deploymentId,
        ...(apiVersion ? { apiVersion } : {}),
      },
      real: true,
      description: `Azure OpenAI (AZURE_OPENAI_API_KEY, ${endpoint ?? `https://${resourceName}.openai.azure.com`}, deployment ${deploymentId})`,
      model: deploymentId,
    };
  }
  const anthropicKey = read('ANTHROPIC_API_KEY');
  if (anthropicKey) {
    // The router's baseURL holds the version path; the Anthropic SDK's ANTHROPIC_BASE_URL does not.
    const given = read('ANTHROPIC_BASE_URL')?.replace(/\/+$/, '');
    const baseURL = given && !/\/v1$/.test(given) ? `${given}/v1` : given;
    players.anthropic = {
      options: { apiKey: anthropicKey, ...(baseURL ? { baseURL } : {}) },
      real: true,
      description: `Anthropic (ANTHROPIC_API_KEY, ${baseURL ?? 'https://api.anthropic.com/v1'})`,
      model: anthropicModel,
    };
  }
  return players;
}

const ROLES: readonly Role[] = ['openai', 'azure_openai', 'anthropic'];
const VIRTUAL_KEY: Record<Role, string> = {
  openai: 'openai-virtual-key',
  azure_openai: 'azure-openai-virtual-key',
  anthropic: 'anthropic-virtual-key',
};
const PROVIDER: Record<Role, string> = { openai: 'openai', azure_openai: 'azure-openai', anthropic: 'anthropic' };

async function main(): Promise<void> {
  const real = realPlayers();
  // The demo upstreams always run: they fill the roles without a key, and play the rate-limited
  // OpenAI that the self-test starts with.
  const up = await startDemoUpstreams();
  const demo: Record<Role, Player> = {
    openai: { options: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL }, real: false, description: 'demo upstream on 127.0.0.1 (always answers 429); set OPENAI_API_KEY for the real one', model: openaiModel },
    azure_openai: {
      options: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
      real: false,
      description: 'demo upstream on 127.0.0.1 (answers); set AZURE_OPENAI_API_KEY, AZURE_OPENAI_RESOURCE and AZURE_OPENAI_DEPLOYMENT for the real one',
      model: 'gpt-4o',
    },
    anthropic: { options: { apiKey: 'demo-anthropic-key', baseURL: up.anthropicBaseURL }, real: false, description: 'demo upstream on 127.0.0.1 (answers); set ANTHROPIC_API_KEY for the real one', model: anthropicModel },
  };
  const players = Object.fromEntries(ROLES.map((role) => [role, real[role] ?? demo[role]])) as Record<Role, Player>;

  // The self-test: the rate-limited demo first, then your providers, then the demo ones that answer.
  const chain: Role[] = [...ROLES.filter((role) => players[role].real), ...ROLES.filter((role) => role !== 'openai' && !players[role].real)];
  const labels = new Map<string, string>([['config.targets[0]', 'rate-limited demo OpenAI (always 429)']]);
  chain.forEach((role, i) => labels.set(`config.targets[${i + 1}]`, `${PROVIDER[role]} ${players[role].real ? '(your key)' : '(demo)'}`));

  // Traces of the self-test, as the router finishes them.
  const traces = new Map<string, (trace: Trace) => void>();

  const app = express();
  app.get('/', (_req, res) => {
    res.type('text/plain').send('express-llm-fallback example gateway: POST /v1/chat/completions, logs page at /v1/logs/ui\n');
  });
  app.use(
    '/v1',
    createFallbackRouter({
      providers: Object.fromEntries(ROLES.map((role) => [role, players[role].options])),
      // Virtual keys name the server-side credentials, so clients never see a provider key.
      virtualKeys: {
        ...Object.fromEntries(ROLES.map((role) => [VIRTUAL_KEY[role], { provider: PROVIDER[role], ...players[role].options }])),
        'rate-limited-virtual-key': { provider: 'openai', ...demo.openai.options },
      },
      configs: {
        'pc-demo-fallback': {
          strategy: { mode: 'fallback' },
          targets: [
            { virtual_key: 'openai-virtual-key', override_params: { model: players.openai.model } },
            { virtual_key: 'anthropic-virtual-key', override_params: { model: players.anthropic.model } },
          ],
        },
        'pc-self-test': {
          strategy: { mode: 'fallback' },
          targets: [
            { virtual_key: 'rate-limited-virtual-key', override_params: { model: openaiModel } },
            ...chain.map((role) => ({ virtual_key: VIRTUAL_KEY[role], override_params: { model: players[role].model } })),
          ],
        },
      },
      auth: { apiKeys: [gatewayKey] },
      hooks: { onTrace: (trace) => traces.get(trace.traceId)?.(trace) },
    }),
  );

  const server = app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const address = server.address();
  const origin = `http://localhost:${typeof address === 'object' && address ? address.port : port}`;
  const base = `${origin}/v1`;
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void up.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  console.log(`express-llm-fallback example gateway on ${base}`);
  for (const role of ROLES) console.log(`  ${PROVIDER[role].padEnd(13)} ${players[role].description}`);
  console.log(`logs page: ${base}/logs/ui (gateway key: ${shownKey})`);

  // Show one fallback at once, so the first thing a newcomer sees is the feature working.
  const traceId = `self-test-${Date.now()}`;
  const traced = new Promise<Trace | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5000);
    traces.set(traceId, (trace) => {
      clearTimeout(timer);
      resolve(trace);
    });
  });
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portkey-api-key': gatewayKey, 'x-portkey-config': 'pc-self-test', 'x-portkey-trace-id': traceId },
    body: JSON.stringify({ model: openaiModel, messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }>; error?: { message?: string } };
  const trace = await traced;
  traces.delete(traceId);
  console.log(
    `\nself-test: x-portkey-config: pc-self-test -> HTTP ${res.status}, ` +
      `served by ${res.headers.get('x-portkey-provider') ?? 'none'} (${res.headers.get('x-portkey-last-used-option-index') ?? '-'}), ` +
      `${res.headers.get('x-portkey-attempts')} attempts`,
  );
  for (const a of trace?.attempts ?? []) {
    const result = a.skipped ? `skipped: ${a.skipped}` : `${a.status}${a.errorClass ? ` ${a.errorClass}` : ''}${a.code ? ` ${a.code}` : ''}`;
    console.log(`  ${a.path}  ${labels.get(a.path) ?? a.provider}  ${a.model ?? ''}  ${result}  ${a.latencyMs} ms`);
  }
  console.log(res.ok ? `  answer: ${body.choices?.[0]?.message?.content ?? ''}` : `  self-test FAILED: ${body.error?.message ?? ''}`);
  console.log(`  trace: ${base}/logs/${traceId}  (or the logs page)`);

  console.log(`
Try it (the self-test again, then a provider list):

curl -s ${base}/chat/completions -i \\
  -H 'Content-Type: application/json' \\
  -H "x-portkey-api-key: ${shownKey}" \\
  -H 'x-portkey-config: pc-self-test' \\
  -d '{"messages":[{"role":"user","content":"Say hello"}]}'

curl -s ${base}/chat/completions -i \\
  -H 'Content-Type: application/json' \\
  -H "x-portkey-api-key: ${shownKey}" \\
  -H 'x-portkey-fallback: openai,azure_openai' \\
  -d '{"model":"${openaiModel}","messages":[{"role":"user","content":"What are the top 10 happiest countries in the world?"}]}'

More examples (legacy body config, strategy + targets with virtual keys, the SDKs) are in README.md.
Ctrl-C to stop.`);
}

main().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  if (e.code === 'EADDRINUSE') console.error(`Port ${port} is in use: run with PORT=<another port> npm start`);
  else console.error(e.message ?? err);
  process.exit(1);
});
