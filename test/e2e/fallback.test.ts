/**
 * Fallback end to end: real Express apps (5 and 4), real fake providers, what the client sees and
 * what each upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp } from '../helpers/create-app.js';
import { refusedOrigin, startFake, type Fake } from '../helpers/fake-providers.js';

const messages = [{ role: 'user', content: 'What are the top 10 happiest countries in the world?' }];

for (const { name: version, express } of EXPRESS_VERSIONS) {
  describe(`fallback (${version})`, () => {
    let openai: Fake;
    let azure: Fake;
    let anthropic: Fake;
    let refused: string;

    before(async () => {
      [openai, azure, anthropic] = await Promise.all([startFake('openai'), startFake('azure'), startFake('anthropic')]);
      refused = await refusedOrigin();
    });
    after(async () => {
      await Promise.all([openai.close(), azure.close(), anthropic.close()]);
    });
    beforeEach(() => {
      openai.reset();
      azure.reset();
      anthropic.reset();
    });

    const options = (): RouterOptions => ({
      providers: {
        openai: { apiKey: 'sk-openai-server', baseURL: openai.baseURL },
        azure_openai: { apiKey: 'azure-server-key', baseURL: azure.baseURL, deploymentId: 'gpt4o-deploy', apiVersion: '2024-10-21' },
        anthropic: { apiKey: 'sk-ant-server', baseURL: anthropic.baseURL },
      },
      virtualKeys: {
        'openai-virtual-key': { provider: 'openai', apiKey: 'sk-openai-vk', baseURL: openai.baseURL },
        'azure-openai-virtual-key': { provider: 'azure-openai', apiKey: 'azure-vk', baseURL: azure.baseURL, deploymentId: 'vk-deploy' },
        'anthropic-virtual-key': { provider: 'anthropic', apiKey: 'sk-ant-vk', baseURL: anthropic.baseURL },
      },
    });
    const app = (extra: Partial<RouterOptions> = {}) => createApp({ ...options(), ...extra }, { express });

    test('x-portkey-fallback list: openai fails with 503, azure_openai serves', async () => {
      openai.always({ kind: 'status', status: 503 });
      const res = await request(app())
        .post('/v1/chat/completions')
        .set('x-portkey-fallback', 'openai,azure_openai')
        .send({ model: 'gpt-4o', messages });
      assert.equal(res.status, 200);
      assert.equal(res.body.choices[0].message.content, 'Hello from azure');
      assert.equal(res.body.model, 'gpt-4o-2024-08-06');
      assert.equal(res.headers['x-portkey-provider'], 'azure-openai');
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
      assert.equal(res.headers['x-portkey-attempts'], '2');
      assert.equal(res.headers['x-portkey-retry-attempt-count'], '0');
      assert.match(res.headers['x-portkey-trace-id'] ?? '', /^[0-9a-f-]{36}$/);

      assert.equal(openai.received.length, 1);
      assert.equal(openai.received[0]!.url, '/v1/chat/completions');
      assert.equal(openai.received[0]!.headers.authorization, 'Bearer sk-openai-server');
      assert.equal(azure.received.length, 1);
      assert.equal(azure.received[0]!.url, '/openai/deployments/gpt4o-deploy/chat/completions?api-version=2024-10-21');
      assert.equal(azure.received[0]!.headers['api-key'], 'azure-server-key');
      assert.equal(azure.received[0]!.headers.authorization, undefined);
      assert.deepEqual(azure.received[0]!.body, { model: 'gpt-4o', messages });
    });

    test('legacy body form on /chatComplete: openai fails, anthropic claude-v1 serves (seed example)', async () => {
      openai.always({ kind: 'status', status: 500 });
      const res = await request(app())
        .post('/v1/chatComplete')
        .set('x-portkey-api-key', 'ignored-without-auth')
        .send({
          config: {
            mode: 'fallback',
            options: [
              { provider: 'openai', apiKey: 'sk-client-openai', override_params: { model: 'gpt-3.5-turbo' } },
              { provider: 'anthropic', apiKey: 'sk-client-ant', override_params: { model: 'claude-v1' } },
            ],
          },
          params: { messages, max_tokens: 50, user: 'jbu3470' },
        });
      assert.equal(res.status, 200);
      assert.equal(res.body.object, 'chat.completion');
      assert.equal(res.body.model, 'claude-v1');
      assert.equal(res.body.choices[0].message.content, 'Hello from anthropic');
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.options[1]');
      assert.equal(res.headers['x-portkey-provider'], 'anthropic');
      // the client's own keys were used, not the server's
      assert.equal(openai.received[0]!.headers.authorization, 'Bearer sk-client-openai');
      assert.deepEqual(openai.received[0]!.body, { messages, max_tokens: 50, user: 'jbu3470', model: 'gpt-3.5-turbo' });
      const sent = anthropic.received[0]!;
      assert.equal(sent.url, '/v1/messages');
      assert.equal(sent.headers['x-api-key'], 'sk-client-ant');
      assert.equal(sent.body.model, 'claude-v1');
      assert.equal(sent.body.max_tokens, 50);
      assert.deepEqual(sent.body.metadata, { user_id: 'jbu3470' });
      assert.equal('config' in sent.body, false);
    });

    test('strategy + targets with virtual keys: fails over on 429 only (on_status_codes)', async () => {
      const config = {
        strategy: { mode: 'fallback', on_status_codes: [429] },
        targets: [
          { virtual_key: 'openai-virtual-key', override_params: { model: 'gpt-4o' } },
          { virtual_key: 'anthropic-virtual-key', override_params: { model: 'claude-3-5-sonnet-20240620' } },
        ],
      };
      openai.script({ kind: 'status', status: 429 });
      const served = await request(app()).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ messages });
      assert.equal(served.status, 200);
      assert.equal(served.body.model, 'claude-3-5-sonnet-20240620');
      assert.equal(served.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
      assert.equal(anthropic.received[0]!.headers['x-api-key'], 'sk-ant-vk');
      assert.equal(openai.received[0]!.headers.authorization, 'Bearer sk-openai-vk');

      // a 500 is not in on_status_codes: returned at once, anthropic never called
      openai.reset();
      anthropic.reset();
      openai.script({ kind: 'status', status: 500, body: { error: { message: 'boom upstream', type: 'server_error', code: null } } });
      const failed = await request(app()).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ messages });
      assert.equal(failed.status, 500);
      assert.equal(failed.body.error.message, 'boom upstream');
      assert.equal(failed.body.error.provider, 'openai');
      assert.equal(failed.headers['x-portkey-last-used-option-index'], 'config.targets[0]');
      assert.equal(anthropic.received.length, 0);
    });

    test('"5xx" class and on_errors union', async () => {
      const config = {
        strategy: { mode: 'fallback', on_status_codes: ['5xx'], on_errors: ['timeout'] },
        request_timeout: 60,
        targets: [{ provider: 'openai' }, { provider: 'openai' }, { provider: 'anthropic', override_params: { model: 'claude' } }],
      };
      openai.script({ kind: 'status', status: 502 }, { kind: 'hang' });
      const res = await request(app()).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ model: 'gpt-4o', messages });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[2]');
      assert.equal(res.headers['x-portkey-attempts'], '3');

      openai.reset();
      openai.script({ kind: 'status', status: 404 });
      const notFound = await request(app()).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ model: 'gpt-4o', messages });
      assert.equal(notFound.status, 404);
      assert.equal(openai.received.length, 1);
    });

    test('failures without a status: timeout 408, refused 502 upstream_unreachable, garbage 502 invalid_upstream_response, reset 502', async () => {
      const cases: Array<{ setup: () => void; provider: Record<string, unknown>; status: number; code: string; errorType: string }> = [
        { setup: () => openai.script({ kind: 'hang' }), provider: { provider: 'openai', request_timeout: 50 }, status: 408, code: 'request_timeout', errorType: 'timeout_error' },
        { setup: () => undefined, provider: { provider: 'openai-compatible', custom_host: `${refused}/v1` }, status: 502, code: 'upstream_unreachable', errorType: 'server_error' },
        { setup: () => openai.script({ kind: 'raw', status: 200, text: '<html>oops</html>', contentType: 'text/html' }), provider: { provider: 'openai' }, status: 502, code: 'invalid_upstream_response', errorType: 'server_error' },
        { setup: () => openai.script({ kind: 'ok', body: { id: 'x', object: 'chat.completion' } }), provider: { provider: 'openai' }, status: 502, code: 'invalid_upstream_response', errorType: 'server_error' },
        { setup: () => openai.script({ kind: 'reset' }), provider: { provider: 'openai' }, status: 502, code: 'upstream_unreachable', errorType: 'server_error' },
      ];
      for (const c of cases) {
        openai.reset();
        c.setup();
        const config = { strategy: { mode: 'fallback' }, targets: [c.provider, { provider: 'anthropic', override_params: { model: 'claude-3-haiku' } }] };
        // alone: the client sees the mapped failure
        const alone = await request(app({ allowCustomHost: true })).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(c.provider)).send({ model: 'gpt-4o', messages });
        assert.equal(alone.status, c.status, JSON.stringify(alone.body));
        assert.equal(alone.body.error.code, c.code);
        assert.equal(alone.body.error.type, c.errorType);
        assert.equal(alone.headers['x-portkey-last-used-option-index'], 'config');
        // in a chain: it fails over to anthropic
        openai.reset();
        c.setup();
        const chained = await request(app({ allowCustomHost: true })).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ model: 'gpt-4o', messages });
        assert.equal(chained.status, 200, `${c.code}: ${JSON.stringify(chained.body)}`);
        assert.equal(chained.headers['x-portkey-provider'], 'anthropic');
      }
    });

    test('finalError: last by default, first when set', async () => {
      openai.always({ kind: 'status', status: 503, body: { error: { message: 'openai down', type: 'server_error' } } });
      anthropic.always({ kind: 'status', status: 429 });
      const config = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'anthropic' }] });
      const last = await request(app()).post('/v1/chat/completions').set('x-portkey-config', config).send({ model: 'm', messages });
      assert.equal(last.status, 429);
      assert.equal(last.body.error.provider, 'anthropic');
      assert.equal(last.body.error.type, 'rate_limit_error');
      assert.equal(last.headers['x-portkey-attempts'], '2');
      const first = await request(app({ finalError: 'first' })).post('/v1/chat/completions').set('x-portkey-config', config).send({ model: 'm', messages });
      assert.equal(first.status, 503);
      assert.equal(first.body.error.message, 'openai down');
      assert.equal(first.body.error.provider, 'openai');
      assert.equal(first.headers['x-portkey-last-used-option-index'], 'config.targets[0]');
    });

    test('options.shouldFallback replaces the predicate and sees the outcome', async () => {
      const seen: unknown[] = [];
      openai.always({ kind: 'status', status: 400 });
      const res = await request(
        app({
          shouldFallback: (outcome, ctx) => {
            seen.push({ status: outcome.status, errorClass: outcome.errorClass, provider: ctx.provider, path: ctx.targetPath, attempt: ctx.attempt });
            return outcome.status === 400;
          },
        }),
      )
        .post('/v1/chat/completions')
        .set('x-portkey-config', JSON.stringify({ strategy: { mode: 'fallback', on_status_codes: [429] }, targets: [{ provider: 'openai' }, { provider: 'anthropic' }] }))
        .send({ model: 'm', messages });
      assert.equal(res.status, 200);
      assert.deepEqual(seen, [{ status: 400, errorClass: 'bad_request', provider: 'openai', path: 'config.targets[0]', attempt: 1 }]);
    });

    test('nested strategies report the nested path, and override_params merge parent then child', async () => {
      openai.always({ kind: 'status', status: 500 });
      const config = {
        strategy: { mode: 'fallback' },
        override_params: { temperature: 0.1, max_tokens: 20 },
        targets: [
          { provider: 'openai', override_params: { model: 'gpt-4o' } },
          {
            strategy: { mode: 'fallback' },
            override_params: { temperature: 0.5 },
            targets: [
              { provider: 'openai', override_params: { model: 'gpt-4o-mini' } },
              { provider: 'azure-openai', override_params: { max_tokens: 30 } },
            ],
          },
        ],
      };
      const res = await request(app()).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).send({ model: 'client-model', messages, temperature: 1 });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1].targets[1]');
      assert.equal(res.headers['x-portkey-attempts'], '3');
      assert.deepEqual(openai.received.map((r) => [r.body.model, r.body.temperature, r.body.max_tokens]), [
        ['gpt-4o', 0.1, 20],
        ['gpt-4o-mini', 0.5, 20],
      ]);
      assert.deepEqual([azure.received[0]!.body.model, azure.received[0]!.body.temperature, azure.received[0]!.body.max_tokens], ['client-model', 0.5, 30]);
    });

    test('loadbalance: weight 0 is never chosen; single uses its only target', async () => {
      const lb = JSON.stringify({ strategy: { mode: 'loadbalance' }, targets: [{ provider: 'openai', weight: 0 }, { provider: 'anthropic', weight: 1 }] });
      for (let i = 0; i < 10; i++) {
        const res = await request(app()).post('/v1/chat/completions').set('x-portkey-config', lb).send({ model: 'm', messages });
        assert.equal(res.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
      }
      assert.equal(openai.received.length, 0);
      assert.equal(anthropic.received.length, 10);
      const single = JSON.stringify({ strategy: { mode: 'single' }, targets: [{ provider: 'openai' }] });
      openai.script({ kind: 'status', status: 503 });
      const res = await request(app()).post('/v1/chat/completions').set('x-portkey-config', single).send({ model: 'm', messages });
      assert.equal(res.status, 503);
      assert.equal(openai.received.length, 1);
    });

    test('embeddings and completions skip targets whose adapter lacks the endpoint', async () => {
      const config = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'anthropic' }, { provider: 'openai' }] });
      const emb = await request(app()).post('/v1/embeddings').set('x-portkey-config', config).send({ model: 'text-embedding-3-small', input: 'hi' });
      assert.equal(emb.status, 200);
      assert.equal(emb.body.object, 'list');
      assert.equal(emb.headers['x-portkey-last-used-option-index'], 'config.targets[1]');
      assert.equal(emb.headers['x-portkey-attempts'], '1');
      assert.equal(anthropic.received.length, 0);
      assert.equal(openai.received[0]!.url, '/v1/embeddings');

      const legacy = await request(app()).post('/v1/complete').send({ config: JSON.parse(config), params: { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' } });
      assert.equal(legacy.status, 200);
      assert.equal(legacy.body.object, 'text_completion');
      assert.equal(openai.received[1]!.url, '/v1/completions');

      const embed = await request(app()).post('/v1/embed').send({ config: { provider: 'azure_openai' }, params: { model: 'emb', input: ['a', 'b'] } });
      assert.equal(embed.status, 200);
      assert.equal(azure.received[0]!.url, '/openai/deployments/gpt4o-deploy/embeddings?api-version=2024-10-21');

      const none = await request(app()).post('/v1/embeddings').set('x-portkey-provider', 'anthropic').send({ model: 'x', input: 'hi' });
      assert.equal(none.status, 400);
      assert.equal(none.body.error.code, 'unsupported_endpoint');
    });

    test('x-portkey-provider with a bearer key, and defaultConfig', async () => {
      const res = await request(app())
        .post('/v1/chat/completions')
        .set('x-portkey-provider', 'anthropic')
        .set('authorization', 'Bearer sk-ant-from-client')
        .send({ model: 'claude-3-haiku', messages });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config');
      assert.equal(anthropic.received[0]!.headers['x-api-key'], 'sk-ant-from-client');
      assert.equal(anthropic.received[0]!.headers.authorization, undefined);

      openai.always({ kind: 'status', status: 503 });
      const withDefault = await request(app({ defaultConfig: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { virtualKey: 'anthropic-virtual-key' }] } }))
        .post('/v1/chat/completions')
        .send({ model: 'm', messages });
      assert.equal(withDefault.status, 200);
      assert.equal(withDefault.headers['x-portkey-provider'], 'anthropic');
      assert.equal(anthropic.received[1]!.headers['x-api-key'], 'sk-ant-vk');
    });

    test('x-portkey-virtual-key (the portkey-ai SDK virtualKey option) is a single target', async () => {
      const res = await request(app()).post('/v1/chat/completions').set('x-portkey-virtual-key', 'anthropic-virtual-key').send({ model: 'claude-3-haiku', messages });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-provider'], 'anthropic');
      assert.equal(res.headers['x-portkey-last-used-option-index'], 'config');
      assert.equal(anthropic.received[0]!.headers['x-api-key'], 'sk-ant-vk');
      const unknown = await request(app()).post('/v1/chat/completions').set('x-portkey-virtual-key', 'nope-vk').send({ model: 'm', messages });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error.code, 'unknown_virtual_key');
    });

    test('saved configs by id, in the header and in the body, camelCase keys', async () => {
      const saved = app({
        configs: {
          'pc-fallback': { strategy: { mode: 'fallback', onStatusCodes: [503] }, targets: [{ virtualKey: 'openai-virtual-key' }, { virtualKey: 'azure-openai-virtual-key' }] },
        },
      });
      openai.always({ kind: 'status', status: 503 });
      const viaHeader = await request(saved).post('/v1/chat/completions').set('x-portkey-config', 'pc-fallback').send({ model: 'gpt-4o', messages });
      assert.equal(viaHeader.status, 200);
      assert.equal(viaHeader.headers['x-portkey-provider'], 'azure-openai');
      assert.equal(azure.received[0]!.url, '/openai/deployments/vk-deploy/chat/completions?api-version=2024-10-21');
      assert.equal(azure.received[0]!.headers['api-key'], 'azure-vk');
      const viaBody = await request(saved).post('/v1/chat/completions').send({ config: 'pc-fallback', model: 'gpt-4o', messages });
      assert.equal(viaBody.status, 200);
      assert.equal('config' in azure.received[1]!.body, false);
    });

    test('forward_headers forwards only the named client headers; client auth never', async () => {
      const config = { provider: 'openai', forward_headers: ['x-request-source'] };
      const res = await request(app())
        .post('/v1/chat/completions')
        .set('x-portkey-config', JSON.stringify(config))
        .set('x-request-source', 'billing-svc')
        .set('x-other', 'nope')
        .set('authorization', 'Bearer client-token')
        .send({ model: 'gpt-4o', messages });
      assert.equal(res.status, 200);
      const sent = openai.received[0]!.headers;
      assert.equal(sent['x-request-source'], 'billing-svc');
      assert.equal(sent['x-other'], undefined);
      assert.equal(sent.authorization, 'Bearer sk-openai-server');
      assert.equal(sent['x-portkey-config'], undefined);
    });

    test('the client trace id is echoed; a request timeout header bounds each attempt', async () => {
      openai.script({ kind: 'hang' });
      const started = Date.now();
      const res = await request(app())
        .post('/v1/chat/completions')
        .set('x-portkey-trace-id', 'trace-abc-123')
        .set('x-portkey-request-timeout', '80')
        .set('x-portkey-fallback', 'openai,anthropic')
        .send({ model: 'gpt-4o', messages });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-trace-id'], 'trace-abc-123');
      assert.equal(res.headers['x-portkey-provider'], 'anthropic');
      assert.ok(Date.now() - started >= 75, 'the hanging target was given its timeout');
      assert.equal(openai.received.length, 1);
    });

    test('headerPrefix renames the headers read and written', async () => {
      openai.always({ kind: 'status', status: 503 });
      const res = await request(app({ headerPrefix: 'x-gw-' }))
        .post('/v1/chat/completions')
        .set('x-gw-fallback', 'openai,anthropic')
        .set('x-gw-trace-id', 'gw-trace')
        .send({ model: 'm', messages });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-gw-provider'], 'anthropic');
      assert.equal(res.headers['x-gw-trace-id'], 'gw-trace');
      assert.equal(res.headers['x-gw-last-used-option-index'], 'config.targets[1]');
      assert.equal(res.headers['x-portkey-provider'], undefined);
    });
  });
}
