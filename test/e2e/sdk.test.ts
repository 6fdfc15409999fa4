/**
 * Real clients against the router: the official `openai` SDK (v6) and the `portkey-ai` SDK (v3),
 * each pointed with `baseURL` at an Express 5 or Express 4 app listening on 127.0.0.1, the router
 * at /v1, and fake providers (real HTTP servers on 127.0.0.1) behind it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { Portkey } from 'portkey-ai';
import type { Config, RouterOptions } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp } from '../helpers/create-app.js';
import { startFake, type Fake, type Received } from '../helpers/fake-providers.js';

const OPENAI_VK_KEY = 'sk-openai-vk-secret';
const ANTHROPIC_VK_KEY = 'sk-ant-vk-secret';
const OPENAI_SERVER_KEY = 'sk-openai-server-secret';
const AZURE_SERVER_KEY = 'azure-server-secret';
const AZURE_DEPLOYMENT = 'gpt4o-deploy';
const AZURE_API_VERSION = '2024-10-21';

/** The current-form config of the task: OpenAI first, Anthropic as the fallback, via virtual keys. */
const fallbackConfig = {
  strategy: { mode: 'fallback' },
  targets: [
    { virtual_key: 'openai-vk', override_params: { model: 'gpt-4o' } },
    { virtual_key: 'anthropic-vk', override_params: { model: 'claude-3-5-sonnet-20240620' } },
  ],
} satisfies Config;

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Say hi' },
];

/** What the router's HTTP server saw (method, URL, headers), recorded beside the app. */
interface Incoming {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** Client credentials and router headers must never reach a provider (SPEC §10). */
function assertNoClientLeak(rec: Received, clientSecrets: string[]): void {
  const headerNames = Object.keys(rec.headers);
  for (const name of headerNames) {
    assert.ok(!name.startsWith('x-portkey-'), `router header ${name} was forwarded upstream to ${rec.url}`);
    assert.ok(!name.startsWith('x-stainless-'), `SDK header ${name} was forwarded upstream to ${rec.url} without forward_headers`);
  }
  const all = JSON.stringify(rec.headers);
  for (const secret of clientSecrets) {
    assert.ok(!all.includes(secret), `client credential "${secret}" reached the provider at ${rec.url}`);
  }
}

/** Little-endian float32 values as the base64 text OpenAI returns for `encoding_format: "base64"`. */
function float32Base64(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}

for (const { name: expressName, express } of EXPRESS_VERSIONS) {
  describe(`SDK clients against the router in ${expressName}`, () => {
    let openaiFake: Fake;
    let anthropicFake: Fake;
    let azureFake: Fake;
    let server: http.Server;
    let baseURL: string;
    let origin: string;
    const incoming: Incoming[] = [];
    /** Every URL the SDKs fetched (a pass-through spy on the global fetch they use). */
    const outbound: string[] = [];
    const realFetch = globalThis.fetch;

    function resetAll(): void {
      openaiFake.reset();
      anthropicFake.reset();
      azureFake.reset();
      incoming.length = 0;
      outbound.length = 0;
    }

    /** Every request any SDK made went to our router on 127.0.0.1, nowhere else. */
    function assertOnlyLocal(expected: number): void {
      assert.equal(outbound.length, expected, `SDK fetches: ${outbound.join(', ')}`);
      for (const url of outbound) assert.ok(url.startsWith(`${baseURL}/`), `the SDK fetched ${url}, outside ${baseURL}`);
      assert.equal(incoming.length, expected, 'requests that reached the router');
    }

    before(async () => {
      [openaiFake, anthropicFake, azureFake] = await Promise.all([
        startFake('openai', 'openai'),
        startFake('anthropic', 'anthropic'),
        startFake('azure', 'azure'),
      ]);
      const options: RouterOptions = {
        virtualKeys: {
          'openai-vk': { provider: 'openai', apiKey: OPENAI_VK_KEY, baseURL: openaiFake.baseURL },
          'anthropic-vk': { provider: 'anthropic', apiKey: ANTHROPIC_VK_KEY, baseURL: anthropicFake.baseURL },
        },
        providers: {
          openai: { apiKey: OPENAI_SERVER_KEY, baseURL: openaiFake.baseURL },
          azure_openai: {
            apiKey: AZURE_SERVER_KEY,
            resourceName: 'acme',
            deploymentId: AZURE_DEPLOYMENT,
            apiVersion: AZURE_API_VERSION,
            baseURL: azureFake.baseURL,
          },
        },
        configs: { 'pc-main': fallbackConfig },
      };
      const app = createApp(options, { express });
      server = app.listen(0, '127.0.0.1');
      server.prependListener('request', (req: http.IncomingMessage) => {
        incoming.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      });
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      origin = `http://127.0.0.1:${port}`;
      baseURL = `${origin}/v1`;
      globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
        outbound.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
        return realFetch(input, init);
      }) as typeof fetch;
    });

    after(async () => {
      globalThis.fetch = realFetch;
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await Promise.all([openaiFake.close(), anthropicFake.close(), azureFake.close()]);
    });

    function openaiClient(headers: Record<string, string>): OpenAI {
      return new OpenAI({ apiKey: 'client-dummy', baseURL, defaultHeaders: headers, maxRetries: 0 });
    }

    describe('openai SDK', () => {
      test('x-portkey-config fallback: OpenAI 500, Anthropic answers in OpenAI format (withResponse)', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 500 });
        const client = openaiClient({ 'x-portkey-config': JSON.stringify(fallbackConfig) });

        const { data, response } = await client.chat.completions
          .create({ model: 'gpt-4o-mini', messages, max_tokens: 64 })
          .withResponse();

        assert.equal(response.status, 200);
        assert.equal(data.object, 'chat.completion');
        assert.equal(data.model, 'claude-3-5-sonnet-20240620');
        assert.equal(data.choices.length, 1);
        assert.equal(data.choices[0]!.message.role, 'assistant');
        assert.equal(data.choices[0]!.message.content, 'Hello from anthropic');
        assert.equal(data.choices[0]!.finish_reason, 'stop');
        assert.deepEqual(
          { prompt: data.usage?.prompt_tokens, completion: data.usage?.completion_tokens, total: data.usage?.total_tokens },
          { prompt: 11, completion: 7, total: 18 },
        );
        assert.equal(response.headers.get('x-portkey-provider'), 'anthropic');
        assert.equal(response.headers.get('x-portkey-last-used-option-index'), 'config.targets[1]');
        assert.equal(response.headers.get('x-portkey-attempts'), '2');
        assert.ok(response.headers.get('x-portkey-trace-id'), 'a trace id is returned');

        // The primary: one call, with the virtual key's key and the overridden model.
        assert.equal(openaiFake.received.length, 1);
        const primary = openaiFake.received[0]!;
        assert.equal(primary.method, 'POST');
        assert.equal(primary.url, '/v1/chat/completions');
        assert.equal(primary.headers.authorization, `Bearer ${OPENAI_VK_KEY}`);
        assert.equal(primary.body.model, 'gpt-4o');
        assert.deepEqual(primary.body.messages, messages);
        assert.equal(primary.body.max_tokens, 64);
        assertNoClientLeak(primary, ['client-dummy']);

        // The fallback: Anthropic's wire format with the virtual key's key.
        assert.equal(anthropicFake.received.length, 1);
        const fallback = anthropicFake.received[0]!;
        assert.equal(fallback.method, 'POST');
        assert.equal(fallback.url, '/v1/messages');
        assert.equal(fallback.headers['x-api-key'], ANTHROPIC_VK_KEY);
        assert.equal(fallback.headers['anthropic-version'], '2023-06-01');
        assert.equal(fallback.headers.authorization, undefined, 'no Authorization header goes to Anthropic');
        assert.equal(fallback.body.model, 'claude-3-5-sonnet-20240620');
        assert.equal(fallback.body.max_tokens, 64);
        assert.equal(fallback.body.system, 'Be brief.');
        assert.deepEqual(fallback.body.messages, [{ role: 'user', content: 'Say hi' }]);
        assertNoClientLeak(fallback, ['client-dummy']);

        assert.equal(azureFake.received.length, 0);
        assertOnlyLocal(1);
        assert.equal(incoming[0]!.url, '/v1/chat/completions');
        assert.equal(incoming[0]!.headers.authorization, 'Bearer client-dummy', 'the SDK did send its key to the router');
      });

      test('Anthropic gets a max_tokens even when the SDK request has none (asResponse)', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 500 });
        const client = openaiClient({ 'x-portkey-config': JSON.stringify(fallbackConfig) });

        const response = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).asResponse();

        assert.equal(response.status, 200);
        assert.equal(response.headers.get('x-portkey-provider'), 'anthropic');
        assert.equal(response.headers.get('x-portkey-last-used-option-index'), 'config.targets[1]');
        const body = (await response.json()) as OpenAI.Chat.Completions.ChatCompletion;
        assert.equal(body.choices[0]!.message.content, 'Hello from anthropic');
        assert.equal(body.model, 'claude-3-5-sonnet-20240620');
        assert.equal(openaiFake.received.length, 1);
        assert.equal(anthropicFake.received.length, 1);
        const sent = anthropicFake.received[0]!.body;
        assert.equal(typeof sent.max_tokens, 'number');
        assert.ok(sent.max_tokens > 0, 'Anthropic requires a positive max_tokens');
        assertOnlyLocal(1);
      });

      test('x-portkey-fallback: openai,azure_openai with server-side providers; Azure answers', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 503 });
        const client = openaiClient({ 'x-portkey-fallback': 'openai,azure_openai' });

        const { data, response } = await client.chat.completions
          .create({ model: 'gpt-4o-mini', messages })
          .withResponse();

        assert.equal(data.choices[0]!.message.content, 'Hello from azure');
        assert.equal(data.model, 'gpt-4o-2024-08-06');
        assert.equal(response.headers.get('x-portkey-provider'), 'azure-openai');
        assert.equal(response.headers.get('x-portkey-last-used-option-index'), 'config.targets[1]');
        assert.equal(response.headers.get('x-portkey-attempts'), '2');

        assert.equal(openaiFake.received.length, 1);
        const primary = openaiFake.received[0]!;
        assert.equal(primary.url, '/v1/chat/completions');
        assert.equal(primary.headers.authorization, `Bearer ${OPENAI_SERVER_KEY}`);
        assert.equal(primary.body.model, 'gpt-4o-mini');
        assertNoClientLeak(primary, ['client-dummy']);

        assert.equal(azureFake.received.length, 1);
        const azure = azureFake.received[0]!;
        assert.equal(azure.method, 'POST');
        assert.equal(azure.url, `/openai/deployments/${AZURE_DEPLOYMENT}/chat/completions?api-version=${AZURE_API_VERSION}`);
        assert.equal(azure.headers['api-key'], AZURE_SERVER_KEY);
        assert.equal(azure.headers.authorization, undefined, 'Azure is reached with api-key, not the client\'s Authorization');
        assert.deepEqual(azure.body.messages, messages);
        assertNoClientLeak(azure, ['client-dummy']);

        assert.equal(anthropicFake.received.length, 0);
        assertOnlyLocal(1);
      });

      test('embeddings (float) served by the OpenAI fake', async () => {
        resetAll();
        const client = openaiClient({ 'x-portkey-fallback': 'openai' });

        const { data, response } = await client.embeddings
          .create({ model: 'text-embedding-3-small', input: 'hello world', encoding_format: 'float' })
          .withResponse();

        assert.equal(data.object, 'list');
        assert.equal(data.data.length, 1);
        assert.deepEqual(data.data[0]!.embedding, [0.1, 0.2, 0.3]);
        assert.equal(data.model, 'text-embedding-3-small');
        assert.equal(response.headers.get('x-portkey-provider'), 'openai');
        assert.equal(response.headers.get('x-portkey-last-used-option-index'), 'config.targets[0]');

        assert.equal(openaiFake.received.length, 1);
        const rec = openaiFake.received[0]!;
        assert.equal(rec.url, '/v1/embeddings');
        assert.equal(rec.headers.authorization, `Bearer ${OPENAI_SERVER_KEY}`);
        assert.deepEqual(rec.body, { model: 'text-embedding-3-small', input: 'hello world', encoding_format: 'float' });
        assertNoClientLeak(rec, ['client-dummy']);
        assertOnlyLocal(1);
      });

      test('embeddings with the SDK default base64 encoding round-trip; Anthropic (no embeddings) is skipped', async () => {
        resetAll();
        const values = [0.5, -0.25, 1];
        openaiFake.script({
          kind: 'ok',
          body: {
            object: 'list',
            data: [{ object: 'embedding', index: 0, embedding: float32Base64(values) }],
            model: 'text-embedding-3-small',
            usage: { prompt_tokens: 2, total_tokens: 2 },
          },
        });
        const config = {
          strategy: { mode: 'fallback' },
          targets: [{ virtual_key: 'anthropic-vk' }, { virtual_key: 'openai-vk' }],
        };
        const client = openaiClient({ 'x-portkey-config': JSON.stringify(config) });

        const { data, response } = await client.embeddings
          .create({ model: 'text-embedding-3-small', input: ['hello'] })
          .withResponse();

        assert.deepEqual(Array.from(data.data[0]!.embedding), values);
        assert.equal(response.headers.get('x-portkey-provider'), 'openai');
        assert.equal(response.headers.get('x-portkey-last-used-option-index'), 'config.targets[1]');
        assert.equal(anthropicFake.received.length, 0, 'a target whose adapter lacks embeddings is skipped');
        assert.equal(openaiFake.received.length, 1);
        const rec = openaiFake.received[0]!;
        assert.equal(rec.url, '/v1/embeddings');
        assert.equal(rec.headers.authorization, `Bearer ${OPENAI_VK_KEY}`);
        assert.equal(rec.body.encoding_format, 'base64', 'the SDK\'s encoding_format is forwarded as sent');
        assert.deepEqual(rec.body.input, ['hello']);
        assertOnlyLocal(1);
      });

      test('legacy completions: OpenAI 502, Azure completions deployment answers', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 502 });
        const client = openaiClient({ 'x-portkey-fallback': 'openai,azure_openai' });

        const { data, response } = await client.completions
          .create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', max_tokens: 16 })
          .withResponse();

        assert.equal(data.object, 'text_completion');
        assert.equal(data.choices[0]!.text, 'Hello from azure');
        assert.equal(response.headers.get('x-portkey-provider'), 'azure-openai');
        assert.equal(response.headers.get('x-portkey-last-used-option-index'), 'config.targets[1]');

        assert.equal(openaiFake.received.length, 1);
        assert.equal(openaiFake.received[0]!.url, '/v1/completions');
        assert.equal(openaiFake.received[0]!.body.prompt, 'Say hi');
        assert.equal(azureFake.received.length, 1);
        const azure = azureFake.received[0]!;
        assert.equal(azure.url, `/openai/deployments/${AZURE_DEPLOYMENT}/completions?api-version=${AZURE_API_VERSION}`);
        assert.equal(azure.headers['api-key'], AZURE_SERVER_KEY);
        assert.equal(azure.body.prompt, 'Say hi');
        assert.equal(azure.body.max_tokens, 16);
        assertNoClientLeak(azure, ['client-dummy']);
        assertOnlyLocal(1);
      });

      test('legacy completions served directly by OpenAI', async () => {
        resetAll();
        const client = openaiClient({ 'x-portkey-fallback': 'openai' });

        const completion = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });

        assert.equal(completion.choices[0]!.text, 'Hello from openai');
        assert.equal(completion.model, 'gpt-3.5-turbo-instruct');
        assert.equal(openaiFake.received.length, 1);
        assert.equal(openaiFake.received[0]!.url, '/v1/completions');
        assert.equal(openaiFake.received[0]!.body.model, 'gpt-3.5-turbo-instruct');
        assertOnlyLocal(1);
      });

      test('every target 429: the SDK throws RateLimitError (status 429) naming the provider', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 429 });
        anthropicFake.script({
          kind: 'status',
          status: 429,
          body: { type: 'error', error: { type: 'rate_limit_error', message: 'anthropic is rate limited' } },
        });
        const client = openaiClient({ 'x-portkey-config': JSON.stringify(fallbackConfig) });

        await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages }), (err: unknown) => {
          assert.ok(err instanceof OpenAI.APIError, 'an APIError');
          assert.ok(err instanceof OpenAI.RateLimitError, 'a RateLimitError');
          assert.equal(err.status, 429);
          const error = err.error as { message?: string; provider?: string } | undefined;
          assert.equal(error?.provider, 'anthropic', 'the last attempt\'s provider is named (finalError "last")');
          assert.match(String(error?.message), /anthropic is rate limited/, 'the upstream message is kept');
          assert.equal(err.headers?.get('x-portkey-provider'), 'anthropic');
          assert.equal(err.headers?.get('x-portkey-last-used-option-index'), 'config.targets[1]');
          assert.equal(err.headers?.get('x-portkey-attempts'), '2');
          return true;
        });
        assert.equal(openaiFake.received.length, 1, 'no retries by default; the SDK has maxRetries 0');
        assert.equal(anthropicFake.received.length, 1);
        assertOnlyLocal(1);
      });
    });

    describe('portkey-ai SDK', () => {
      async function assertPortkeyFallback(portkey: Portkey, expectedConfigHeader: string): Promise<void> {
        const completion = await portkey.chat.completions.create({ messages, model: 'gpt-4o-mini' });

        assert.equal(completion.choices[0]!.message?.content, 'Hello from anthropic');
        assert.equal(completion.model, 'claude-3-5-sonnet-20240620');
        const headers = completion.getHeaders?.() as Record<string, string> | null | undefined;
        assert.equal(headers?.['provider'], 'anthropic', 'the SDK exposes x-portkey-provider');
        assert.equal(headers?.['last-used-option-index'], 'config.targets[1]');

        assert.equal(openaiFake.received.length, 1, 'the primary got exactly one request');
        assert.equal(openaiFake.received[0]!.body.model, 'gpt-4o');
        assert.equal(openaiFake.received[0]!.headers.authorization, `Bearer ${OPENAI_VK_KEY}`);
        assertNoClientLeak(openaiFake.received[0]!, ['portkey-dummy']);
        assert.equal(anthropicFake.received.length, 1, 'Anthropic served the fallback');
        const fallback = anthropicFake.received[0]!;
        assert.equal(fallback.url, '/v1/messages');
        assert.equal(fallback.headers['x-api-key'], ANTHROPIC_VK_KEY);
        assert.equal(fallback.body.model, 'claude-3-5-sonnet-20240620');
        assertNoClientLeak(fallback, ['portkey-dummy']);
        assert.equal(azureFake.received.length, 0);

        // What the SDK sent: one POST to our router, carrying its x-portkey-* headers.
        assertOnlyLocal(1);
        const req = incoming[0]!;
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/v1/chat/completions');
        assert.equal(req.headers['x-portkey-config'], expectedConfigHeader);
        assert.equal(req.headers['x-portkey-api-key'], 'portkey-dummy');
      }

      test('config as an object (current form, virtual keys): OpenAI 500, Anthropic answers', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 500 });
        const portkey = new Portkey({ apiKey: 'portkey-dummy', baseURL, config: fallbackConfig });
        await assertPortkeyFallback(portkey, JSON.stringify(fallbackConfig));
      });

      test('config as a saved config id (pc-main): OpenAI 500, Anthropic answers', async () => {
        resetAll();
        openaiFake.script({ kind: 'status', status: 500 });
        const portkey = new Portkey({ apiKey: 'portkey-dummy', baseURL, config: 'pc-main' });
        await assertPortkeyFallback(portkey, 'pc-main');
      });
    });
  });
}
