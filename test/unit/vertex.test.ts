import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createVertexAdapter, vertexAdapter } from '../../lib/providers/vertex/index.js';
import { builtinAdapters } from '../../lib/providers/registry.js';
import { ConfigError, InvalidUpstreamResponse, UpstreamStreamError } from '../../lib/errors.js';
import { checkProviderSettings } from '../../lib/config/settings.js';
import type { JsonObject, ParseContext, ProviderAdapter, ResolvedTarget, UnifiedRequest } from '../../lib/providers/types.js';
import { createApp } from '../helpers/create-app.js';
import { joinedContent, rawText, sseData } from '../helpers/sse.js';
import { startVertexFake, type GoogleFake } from '../helpers/conformance/fakes/google.js';

const signal = new AbortController().signal;
const hi = [{ role: 'user', content: 'hi' }];
const base = { vertex_project_id: 'my-project', vertex_region: 'us-central1' };

function target(settings: JsonObject = {}, overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'vertex-ai', apiKey: 'ya29.access-token', headers: {}, settings: { ...base, ...settings }, ...overrides };
}
const chatReq = (body: JsonObject, stream = false): UnifiedRequest => ({ endpoint: 'chat', body: { model: 'gemini-2.0-flash', messages: hi, ...body }, stream });
const ctx = (body: JsonObject = { model: 'gemini-2.0-flash', messages: hi }, endpoint: UnifiedRequest['endpoint'] = 'chat'): ParseContext => ({
  request: { endpoint, body, stream: false },
  target: target(),
  status: 200,
});

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** What the token endpoint saw of one request. */
interface TokenCall {
  readonly contentType: string | undefined;
  readonly form: URLSearchParams;
  readonly header: JsonObject;
  readonly claims: JsonObject;
  readonly verified: boolean;
}

/** A node:http token endpoint on 127.0.0.1: checks the JWT bearer grant against `key`, answers as scripted. */
async function startTokenServer(key: KeyObject) {
  const calls: TokenCall[] = [];
  let answer: (n: number) => { status: number; body: unknown; delayMs?: number } = (n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 3600, token_type: 'Bearer' } });
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const form = new URLSearchParams(raw);
      const [h = '', c = '', s = ''] = (form.get('assertion') ?? '').split('.');
      const verified = verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url'));
      const json = (part: string): JsonObject => JSON.parse(Buffer.from(part, 'base64url').toString('utf8') || '{}') as JsonObject;
      calls.push({ contentType: req.headers['content-type'], form, header: json(h), claims: json(c), verified });
      const { status, body, delayMs } = answer(calls.length);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      }, delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    uri: `http://${host}/token`,
    calls,
    script(fn: typeof answer) {
      answer = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type TokenServer = Awaited<ReturnType<typeof startTokenServer>>;

const serviceAccount = (uri: string, extra: JsonObject = {}): JsonObject => ({
  type: 'service_account',
  project_id: 'my-project',
  private_key_id: 'kid-1',
  private_key: PEM,
  client_email: 'robot@my-project.iam.gserviceaccount.com',
  token_uri: uri,
  ...extra,
});

/** Builds with a service account and returns the bearer token sent. */
async function bearerOf(adapter: ProviderAdapter, settings: JsonObject, s: AbortSignal = signal): Promise<string> {
  const r = await adapter.buildRequest(chatReq({}), target(settings, { apiKey: undefined }), s);
  return r.headers.authorization!;
}

describe('vertex-ai adapter: identity, settings, registry', () => {
  test('name, endpoints, stream usage, credential settings; registered', () => {
    assert.equal(vertexAdapter.name, 'vertex-ai');
    assert.deepEqual([...vertexAdapter.endpoints].sort(), ['chat', 'embedding']);
    assert.equal(vertexAdapter.streamUsage, 'always');
    assert.equal(vertexAdapter.supportsPrefill, false);
    assert.deepEqual(vertexAdapter.credentialSettings, ['vertex_service_account_json', 'get_access_token']);
    assert.equal(builtinAdapters().get('vertex-ai'), vertexAdapter);
  });

  test('settings: accepted shapes, and refusals naming the setting without echoing the value', () => {
    const check = (settings: JsonObject) => checkProviderSettings(vertexAdapter, 'vertex-ai', settings, 'config.targets[0]');
    for (const ok of [
      base,
      { ...base, vertex_region: 'global' },
      { ...base, vertex_service_account_json: JSON.stringify(serviceAccount('https://oauth2.googleapis.com/token')) },
      { ...base, vertex_service_account_json: serviceAccount('https://oauth2.googleapis.com/token') },
      { ...base, get_access_token: () => 't' },
    ]) {
      assert.equal(check(ok).ok, true, JSON.stringify(ok));
    }
    const bad: Array<[JsonObject, string]> = [
      [{ vertex_region: 'evil.com/x' }, 'config.targets[0].vertex_region'],
      [{ vertex_region: 'US-CENTRAL1' }, 'config.targets[0].vertex_region'],
      [{ vertex_project_id: 'p\r\nX-Evil: 1' }, 'config.targets[0].vertex_project_id'],
      [{ vertex_project_id: 'a/b' }, 'config.targets[0].vertex_project_id'],
      // A config is JSON: a function can only come from server options.
      [{ get_access_token: 'ya29.token' }, 'config.targets[0].get_access_token'],
      [{ vertex_service_account_json: { client_email: 7 } }, 'config.targets[0].vertex_service_account_json'],
      [{ resource_name: 'x' }, 'config.targets[0].resource_name'],
    ];
    for (const [settings, path] of bad) {
      const result = check(settings);
      assert.equal(result.ok, false, JSON.stringify(settings));
      if (!result.ok) {
        assert.ok(result.problem.path.startsWith(path), `${result.problem.path} starts with ${path}`);
        assert.ok(!/X-Evil|ya29/.test(result.problem.message), 'value not echoed');
      }
    }
  });
});

describe('vertex-ai buildRequest: URL, body, headers', () => {
  const build = (body: JsonObject = {}, settings: JsonObject = {}, overrides: Partial<ResolvedTarget> = {}, stream = false) =>
    vertexAdapter.buildRequest(chatReq(body, stream), target(settings, overrides), signal);

  test('the regional host, the global host, a baseURL; project, region and model in the path; stream method', async () => {
    assert.equal(
      (await build()).url,
      'https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent',
    );
    assert.equal(
      (await build({ model: 'models/gemini-2.5-pro' }, { vertex_region: 'global' }, {}, true)).url,
      'https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    );
    assert.equal(
      (await build({}, {}, { baseURL: 'http://127.0.0.1:9/v1/' })).url,
      'http://127.0.0.1:9/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent',
    );
  });

  test('api_key is the OAuth access token, sent as Bearer; target headers go under ours', async () => {
    const r = await build({}, {}, { headers: { Authorization: 'Bearer evil', 'x-trace': '1' } });
    assert.deepEqual(r.headers, { 'x-trace': '1', authorization: 'Bearer ya29.access-token' });
  });

  test('the Gemini body without call ids (Vertex AI has no FunctionCall.id)', async () => {
    const r = await build({
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'q' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '{"ok":1}' },
      ],
      max_tokens: 5,
    });
    assert.deepEqual(r.body, {
      contents: [
        { role: 'user', parts: [{ text: 'q' }] },
        { role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'skip_thought_signature_validator' }] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { ok: 1 } } }] },
      ],
      systemInstruction: { parts: [{ text: 's' }] },
      generationConfig: { maxOutputTokens: 5 },
    });
  });

  test('a missing project or region is missing_provider_setting; a bad request is refused before any token is sought', async () => {
    for (const key of ['vertex_project_id', 'vertex_region']) {
      await assert.rejects(build({}, { [key]: undefined }), (err: unknown) => err instanceof ConfigError && err.code === 'missing_provider_setting' && err.param === key);
    }
    let called = 0;
    const settings = { get_access_token: () => `t${++called}` };
    await assert.rejects(build({ messages: [{ role: 'bot', content: 'x' }] }, settings, { apiKey: undefined }), (err: unknown) => (err as { param?: string }).param === 'messages[0].role');
    await assert.rejects(build({ model: '' }, settings, { apiKey: undefined }), (err: unknown) => (err as { param?: string }).param === 'model');
    assert.equal(called, 0);
  });

  test('embeddings are :predict with instances and outputDimensionality', async () => {
    const r = await vertexAdapter.buildRequest({ endpoint: 'embedding', body: { model: 'text-embedding-005', input: ['a', 'b'], dimensions: 64 }, stream: false }, target(), signal);
    assert.equal(r.url, 'https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-005:predict');
    assert.deepEqual(r.body, { instances: [{ content: 'a' }, { content: 'b' }], parameters: { outputDimensionality: 64 } });
    const one = await vertexAdapter.buildRequest({ endpoint: 'embedding', body: { model: 'm', input: 'x' }, stream: false }, target(), signal);
    assert.deepEqual(one.body, { instances: [{ content: 'x' }] });
    await assert.rejects(
      async () => vertexAdapter.buildRequest({ endpoint: 'embedding', body: { model: 'm', input: [1, 2] }, stream: false }, target(), signal),
      (err: unknown) => (err as { param?: string }).param === 'input',
    );
  });
});

describe('vertex-ai parse: replies, streams, errors, embeddings', () => {
  test('a reply and a stream event as the google adapter reads them, named vertex-ai', () => {
    const out = vertexAdapter.parseResponse({ candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 1, totalTokenCount: 3 }, createTime: '2025-01-01T00:00:00Z' }, ctx());
    assert.equal((out.choices as JsonObject[])[0]!.finish_reason, 'stop');
    assert.deepEqual(out.usage, { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 });
    assert.throws(() => vertexAdapter.parseResponse({ promptFeedback: { blockReason: 'BLOCKLIST' } }, ctx()), (err: unknown) => err instanceof UpstreamStreamError && /^vertex-ai: the prompt was blocked: BLOCKLIST$/.test(err.message));
    assert.throws(() => vertexAdapter.parseResponse({}, ctx()), (err: unknown) => err instanceof InvalidUpstreamResponse && /vertex-ai/.test(err.message));
    const chunks = vertexAdapter.parseStreamEvent!({ data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }) }, { includeUsage: true }, ctx());
    assert.equal(chunks.length, 4);
  });

  test("errors: Vertex AI's google.rpc bodies", () => {
    const c = vertexAdapter.classifyError(429, { error: { code: 429, message: 'Resource exhausted. Please try again later.', status: 'RESOURCE_EXHAUSTED' } }, {});
    assert.deepEqual(c, { errorClass: 'rate_limit', message: 'Resource exhausted. Please try again later.', code: 'RESOURCE_EXHAUSTED' });
    assert.equal(vertexAdapter.classifyError(401, { error: { code: 401, message: 'x', status: 'UNAUTHENTICATED' } }, {}).errorClass, 'auth');
    assert.equal(vertexAdapter.classifyError(502, '', {}).message, 'vertex-ai returned HTTP 502');
  });

  test('predict replies: values per prediction, token counts summed as usage', () => {
    const out = vertexAdapter.parseResponse(
      { predictions: [{ embeddings: { values: [0.1], statistics: { truncated: false, token_count: 3 } } }, { embeddings: { values: [0.2], statistics: { token_count: 4 } } }], metadata: { billableCharacterCount: 9 } },
      ctx({ model: 'text-embedding-005', input: ['a', 'b'] }, 'embedding'),
    );
    assert.deepEqual(out, {
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.1] },
        { object: 'embedding', index: 1, embedding: [0.2] },
      ],
      model: 'text-embedding-005',
      usage: { prompt_tokens: 7, completion_tokens: 0, total_tokens: 7 },
    });
    for (const body of [{}, { predictions: [{}] }, { predictions: [{ embeddings: { values: [1] } }] }]) {
      assert.throws(() => vertexAdapter.parseResponse(body, ctx({ model: 'm', input: ['a', 'b'] }, 'embedding')), InvalidUpstreamResponse);
    }
  });
});

describe('vertex-ai credentials: get_access_token', () => {
  const build = (fn: unknown) => vertexAdapter.buildRequest(chatReq({}), target({ get_access_token: fn }, { apiKey: undefined }), signal);

  test('a sync or async function gives the Bearer token; api_key wins over it', async () => {
    assert.equal((await build(() => 'sync-token')).headers.authorization, 'Bearer sync-token');
    assert.equal((await build(async () => 'Bearer async-token')).headers.authorization, 'Bearer async-token');
    let called = false;
    const r = await vertexAdapter.buildRequest(chatReq({}), target({ get_access_token: () => ((called = true), 'x') }), signal);
    assert.equal(r.headers.authorization, 'Bearer ya29.access-token');
    assert.equal(called, false);
  });

  test('one that throws, rejects, or gives no usable token is a 401 auth failure that quotes nothing', async () => {
    const cases: unknown[] = [
      () => {
        throw new Error('secret-detail');
      },
      async () => Promise.reject(new Error('secret-detail')),
      () => 42,
      () => '',
      async () => undefined,
      () => 'tok\r\nX-Evil: 1',
    ];
    for (const fn of cases) {
      await assert.rejects(build(fn), (err: unknown) => {
        assert.ok(err instanceof UpstreamStreamError, String(err));
        assert.equal(err.status, 401);
        assert.equal(err.errorClass, 'auth');
        assert.ok(!/secret-detail|X-Evil/.test(err.message));
        return true;
      });
    }
  });

  test('no credential at all is missing_provider_setting', async () => {
    await assert.rejects(
      vertexAdapter.buildRequest(chatReq({}), target({}, { apiKey: undefined }), signal),
      (err: unknown) => err instanceof ConfigError && err.code === 'missing_provider_setting',
    );
  });
});

describe('vertex-ai credentials: a service account', () => {
  let server: TokenServer;
  let adapter: ProviderAdapter;
  let clock: number;

  before(async () => {
    server = await startTokenServer(publicKey);
  });
  after(() => server.close());
  beforeEach(() => {
    server.calls.length = 0;
    server.script((n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 3600, token_type: 'Bearer' } }));
    clock = Date.UTC(2025, 0, 1);
    adapter = createVertexAdapter({ tokenHosts: [server.host], now: () => clock });
  });

  test('a JWT bearer grant signed RS256 with the key, with the documented claims, form-encoded; the token sent as Bearer', async () => {
    assert.equal(await bearerOf(adapter, { vertex_service_account_json: JSON.stringify(serviceAccount(server.uri)) }), 'Bearer token-1');
    const call = server.calls[0]!;
    assert.equal(call.contentType, 'application/x-www-form-urlencoded');
    assert.equal(call.form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    assert.equal(call.verified, true, 'the signature verifies with the public key');
    assert.deepEqual(call.header, { alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    const iat = Math.floor(clock / 1000);
    assert.deepEqual(call.claims, {
      iss: 'robot@my-project.iam.gserviceaccount.com',
      sub: 'robot@my-project.iam.gserviceaccount.com',
      aud: server.uri,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      iat,
      exp: iat + 3600,
    });
  });

  test('cached: two builds, one fetch; 60 s before expiry a new fetch; another key of the same account is its own entry', async () => {
    const settings = { vertex_service_account_json: serviceAccount(server.uri) };
    assert.equal(await bearerOf(adapter, settings), 'Bearer token-1');
    assert.equal(await bearerOf(adapter, settings), 'Bearer token-1');
    assert.equal(server.calls.length, 1);
    clock += (3600 - 61) * 1000;
    assert.equal(await bearerOf(adapter, settings), 'Bearer token-1');
    clock += 2000;
    assert.equal(await bearerOf(adapter, settings), 'Bearer token-2');
    assert.equal(server.calls.length, 2);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.equal(await bearerOf(adapter, { vertex_service_account_json: serviceAccount(server.uri, { private_key: other }) }), 'Bearer token-3');
    // Another adapter has its own cache.
    assert.equal(await bearerOf(createVertexAdapter({ tokenHosts: [server.host], now: () => clock }), settings), 'Bearer token-4');
  });

  test('single flight: concurrent builds share one fetch; one that gives up does not abandon it for the others', async () => {
    server.script((n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 3600 }, delayMs: 150 }));
    const settings = { vertex_service_account_json: serviceAccount(server.uri) };
    const leaving = new AbortController();
    const first = bearerOf(adapter, settings, leaving.signal);
    const others = Promise.all([bearerOf(adapter, settings), bearerOf(adapter, settings)]);
    setTimeout(() => leaving.abort(new Error('client left')), 20);
    await assert.rejects(first, /client left/);
    assert.deepEqual(await others, ['Bearer token-1', 'Bearer token-1']);
    assert.equal(server.calls.length, 1);
  });

  test('a refused fetch is a 401 auth failure with the reason and no secret, and is not cached', async () => {
    server.script((n) => (n === 1 ? { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } } : { status: 200, body: { access_token: 'fresh', expires_in: 3600 } }));
    const settings = { vertex_service_account_json: serviceAccount(server.uri) };
    await assert.rejects(bearerOf(adapter, settings), (err: unknown) => {
      assert.ok(err instanceof UpstreamStreamError);
      assert.equal(err.status, 401);
      assert.equal(err.errorClass, 'auth');
      assert.match(err.message, /HTTP 400, invalid_grant: Invalid JWT Signature\./);
      assert.ok(!err.message.includes('PRIVATE KEY') && !err.message.includes(server.calls[0]!.form.get('assertion')!));
      return true;
    });
    assert.equal(await bearerOf(adapter, settings), 'Bearer fresh');
    assert.equal(server.calls.length, 2);
  });

  test('an endpoint that echoes the assertion, fails with 5xx, or answers without a token', async () => {
    const settings = { vertex_service_account_json: serviceAccount(server.uri) };
    server.script(() => ({ status: 401, body: { error: 'unauthorized_client', error_description: 'bad' } }));
    await assert.rejects(bearerOf(adapter, settings), (err: unknown) => err instanceof UpstreamStreamError && err.status === 401);
    server.script(() => ({ status: 503, body: 'down' }));
    await assert.rejects(bearerOf(adapter, settings), (err: unknown) => err instanceof UpstreamStreamError && err.status === 502 && err.errorClass === 'server');
    server.script(() => ({ status: 200, body: { token_type: 'Bearer' } }));
    await assert.rejects(bearerOf(adapter, settings), (err: unknown) => err instanceof UpstreamStreamError && err.status === 502 && err.errorClass === 'invalid_response');
    server.script(() => ({ status: 200, body: 'not json' }));
    await assert.rejects(bearerOf(adapter, settings), (err: unknown) => err instanceof UpstreamStreamError && err.errorClass === 'invalid_response');
  });

  test('an unreachable endpoint is a 502 network failure', async () => {
    const closed = await startTokenServer(publicKey);
    await closed.close();
    const a = createVertexAdapter({ tokenHosts: [closed.host] });
    await assert.rejects(bearerOf(a, { vertex_service_account_json: serviceAccount(closed.uri) }), (err: unknown) => {
      assert.ok(err instanceof UpstreamStreamError);
      assert.equal(err.status, 502);
      assert.equal(err.errorClass, 'network');
      return true;
    });
  });

  test('token_uri must be https on *.googleapis.com unless allowed; nothing is fetched otherwise', async () => {
    for (const uri of [
      'https://evil.example.com/token',
      'http://oauth2.googleapis.com/token',
      'https://oauth2.googleapis.com.evil.com/token',
      'https://oauth2.googleapis.com:8443/token',
      'https://user:pw@oauth2.googleapis.com/token',
      server.uri,
      'not a url',
    ]) {
      await assert.rejects(bearerOf(vertexAdapter, { vertex_service_account_json: serviceAccount(uri) }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, uri);
        assert.equal(err.code, 'host_not_allowed');
        assert.equal(err.param, 'vertex_service_account_json.token_uri');
        return true;
      });
    }
    assert.equal(server.calls.length, 0);
  });

  test('a malformed service account is a ConfigError naming the field, never quoting the key', async () => {
    const cases: Array<[unknown, string]> = [
      ['{not json', 'vertex_service_account_json'],
      ['[1]', 'vertex_service_account_json'],
      [serviceAccount(server.uri, { client_email: undefined }), 'vertex_service_account_json.client_email'],
      [serviceAccount(server.uri, { private_key: '' }), 'vertex_service_account_json.private_key'],
      [serviceAccount(server.uri, { private_key: '-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n' }), 'vertex_service_account_json.private_key'],
    ];
    for (const [value, param] of cases) {
      await assert.rejects(bearerOf(adapter, { vertex_service_account_json: value }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.param, param);
        assert.ok(!err.message.includes('secret-bytes') && !err.message.includes('BEGIN'));
        return true;
      });
    }
    assert.equal(server.calls.length, 0);
  });
});

describe('vertex-ai through the router (the conformance fake of Vertex AI)', () => {
  let fake: GoogleFake;
  let tokens: TokenServer;
  before(async () => {
    [fake, tokens] = await Promise.all([startVertexFake({ project: 'my-project', region: 'us-central1', accessToken: 'token-1' }), startTokenServer(publicKey)]);
  });
  after(async () => {
    await Promise.all([fake.close(), tokens.close()]);
  });
  beforeEach(() => {
    fake.reset();
    tokens.calls.length = 0;
  });

  const config = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'vertex-ai' }] });

  test('a chat with getAccessToken from the server options', async () => {
    const app = createApp({
      providers: { 'vertex-ai': { baseURL: fake.baseURL, vertexProjectId: 'my-project', vertexRegion: 'us-central1', getAccessToken: async () => 'token-1' } },
    });
    const res = await request(app).post('/v1/chat/completions').set('x-portkey-config', config).send({ model: 'gemini-2.0-flash', messages: hi });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.choices[0].message.content, 'Hello from Vertex AI');
    assert.equal(fake.decode().credential, 'token-1');
    assert.equal(fake.decode().model, 'gemini-2.0-flash');
  });

  test('a stream with a service account: one token fetch for two requests, usage reported', async () => {
    const app = createApp({
      adapters: { 'vertex-ai': createVertexAdapter({ tokenHosts: [tokens.host] }) },
      providers: { 'vertex-ai': { baseURL: fake.baseURL, vertexProjectId: 'my-project', vertexRegion: 'us-central1', vertexServiceAccountJson: JSON.stringify(serviceAccount(tokens.uri)) } },
    });
    fake.script({ kind: 'stream-text', pieces: ['Hel', 'lo'], usage: { input: 3, output: 2 } });
    const res = await request(app)
      .post('/v1/chat/completions')
      .set('x-portkey-config', config)
      .send({ model: 'gemini-2.0-flash', messages: hi, stream: true, stream_options: { include_usage: true } })
      .buffer(true)
      .parse(rawText);
    assert.equal(res.status, 200);
    const events = sseData(res.body as string);
    assert.equal(joinedContent(events), 'Hello');
    assert.deepEqual(events.find((e) => e !== '[DONE]' && e.usage)?.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    const again = await request(app).post('/v1/chat/completions').set('x-portkey-config', config).send({ model: 'gemini-2.0-flash', messages: hi });
    assert.equal(again.status, 200);
    assert.equal(tokens.calls.length, 1);
  });
});
