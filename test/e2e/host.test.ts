/** The router inside a host app: any mount path, a host that parsed the body, the host's own routes. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { createFallbackRouter } from '../../lib/index.js';
import { EXPRESS_VERSIONS, createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const messages = [{ role: 'user', content: 'hi' }];

for (const { name: version, express } of EXPRESS_VERSIONS) {
  describe(`host integration (${version})`, () => {
    let openai: Fake;
    before(async () => {
      openai = await startFake('openai');
    });
    after(() => openai.close());
    const options = () => ({ providers: { openai: { apiKey: 'sk-server', baseURL: openai.baseURL } } });

    test('a host that already ran express.json(): the parsed body is used and config stripped', async () => {
      openai.reset();
      const app = createApp(options(), { express, hostJson: true });
      const res = await request(app)
        .post('/v1/chat/completions')
        .send({ model: 'gpt-4o', messages, config: { provider: 'openai' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-portkey-provider'], 'openai');
      assert.deepEqual(openai.received[0]!.body, { model: 'gpt-4o', messages });
    });

    test('a host that parsed the body as text or raw: the router parses it itself', async () => {
      for (const parser of [express.text({ type: '*/*' }), express.raw({ type: '*/*' })]) {
        openai.reset();
        const host = express();
        host.use(parser);
        host.use('/v1', createFallbackRouter({ ...options(), logger: quietLogger() }) as never);
        const ok = await request(host)
          .post('/v1/chat/completions')
          .set('content-type', 'application/json')
          .set('x-portkey-provider', 'openai')
          .send(JSON.stringify({ model: 'gpt-4o', messages }));
        assert.equal(ok.status, 200);
        assert.deepEqual(openai.received[0]!.body, { model: 'gpt-4o', messages });
        const bad = await request(host).post('/v1/chat/completions').set('content-type', 'application/json').send('{"model":');
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.code, 'invalid_json');
      }
    });

    test('the host keeps its own routes, before and after the mount', async () => {
      const app = createApp(options(), { express });
      const get = await request(app).get('/host-route');
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, { host: true });
      const post = await request(app).post('/v2/host-post').send({});
      assert.deepEqual(post.body, { hostPost: true });
    });

    test('mounted at a deeper path, and at the root where unknown paths pass on to the host', async () => {
      openai.reset();
      const deep = createApp(options(), { express, mount: '/api/llm/v1' });
      const res = await request(deep).post('/api/llm/v1/chat/completions').set('x-portkey-provider', 'openai').send({ model: 'gpt-4o', messages });
      assert.equal(res.status, 200);
      const unknown = await request(deep).post('/api/llm/v1/nope').send({});
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');

      const host = express();
      host.use(createFallbackRouter({ ...options(), logger: quietLogger() }) as never);
      host.get('/after-router', (_req, r) => {
        r.json({ after: true });
      });
      const atRoot = await request(host).post('/chat/completions').set('x-portkey-provider', 'openai').send({ model: 'gpt-4o', messages });
      assert.equal(atRoot.status, 200);
      const passed = await request(host).get('/after-router');
      assert.equal(passed.status, 200);
      assert.deepEqual(passed.body, { after: true });
    });

    test('two routers with different options in one app do not share state', async () => {
      openai.reset();
      const host = express();
      host.use('/a', createFallbackRouter({ ...options(), headerPrefix: 'x-a-', logger: quietLogger() }) as never);
      host.use('/b', createFallbackRouter({ ...options(), logger: quietLogger() }) as never);
      const a = await request(host).post('/a/chat/completions').set('x-a-provider', 'openai').send({ model: 'm', messages });
      const b = await request(host).post('/b/chat/completions').set('x-portkey-provider', 'openai').send({ model: 'm', messages });
      assert.equal(a.status, 200);
      assert.equal(a.headers['x-a-provider'], 'openai');
      assert.equal(b.status, 200);
      assert.equal(b.headers['x-portkey-provider'], 'openai');
      const crossed = await request(host).post('/a/chat/completions').set('x-portkey-provider', 'openai').send({ model: 'm', messages });
      assert.equal(crossed.status, 400);
      assert.equal(crossed.body.error.code, 'missing_config');
    });
  });
}
