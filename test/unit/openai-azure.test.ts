/**
 * Unit tests of the OpenAI-format adapters (openai, azure-openai, the openai-compatible family)
 * and of the provider registry. No HTTP: buildRequest / parseResponse / classifyError /
 * parseStreamEvent are called directly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Joi from 'joi';
import { openaiAdapter } from '../../lib/providers/openai.js';
import { azureOpenAIAdapter } from '../../lib/providers/azure-openai.js';
import { openAICompatibleAdapter } from '../../lib/providers/openai-compatible.js';
import { builtinAdapters, canonicalProvider } from '../../lib/providers/registry.js';
import { ConfigError, InvalidUpstreamResponse, UpstreamStreamError } from '../../lib/errors.js';
import { checkProviderSettings } from '../../lib/config/settings.js';
import type {
  Endpoint,
  JsonObject,
  ParseContext,
  ProviderAdapter,
  ResolvedTarget,
  UnifiedRequest,
} from '../../lib/providers/types.js';

/** A signal that never aborts: buildRequest needs one. */
const signal = new AbortController().signal;

function openaiTarget(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'openai', apiKey: 'sk-openai-test', headers: {}, settings: {}, ...overrides };
}

function azureTarget(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    provider: 'azure-openai',
    apiKey: 'azure-key-test',
    headers: {},
    settings: { resource_name: 'acme' },
    ...overrides,
  };
}

const chatBody = (): JsonObject => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
const completionBody = (): JsonObject => ({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
const embeddingBody = (): JsonObject => ({ model: 'text-embedding-3-small', input: 'hello' });

function req(endpoint: Endpoint, body?: JsonObject): UnifiedRequest {
  const b = body ?? (endpoint === 'chat' ? chatBody() : endpoint === 'completion' ? completionBody() : embeddingBody());
  return { endpoint, body: b, stream: b.stream === true };
}

function ctx(endpoint: Endpoint, target: ResolvedTarget = openaiTarget()): ParseContext {
  return { request: req(endpoint), target, status: 200 };
}

/** Header lookup that ignores case, returning every value found. */
function headerValues(headers: Record<string, string>, name: string): string[] {
  return Object.entries(headers)
    .filter(([key]) => key.toLowerCase() === name.toLowerCase())
    .map(([, value]) => value);
}

const chatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
};
const textCompletion = {
  id: 'cmpl-1',
  object: 'text_completion',
  created: 1700000000,
  model: 'gpt-3.5-turbo-instruct',
  choices: [{ index: 0, text: 'Hi', finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
};
const embeddingList = {
  object: 'list',
  data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }],
  model: 'text-embedding-3-small',
  usage: { prompt_tokens: 1, total_tokens: 1 },
};

describe('openai adapter: URLs', () => {
  test('default base for each endpoint', async () => {
    assert.equal((await openaiAdapter.buildRequest(req('chat'), openaiTarget(), signal)).url, 'https://api.openai.com/v1/chat/completions');
    assert.equal((await openaiAdapter.buildRequest(req('completion'), openaiTarget(), signal)).url, 'https://api.openai.com/v1/completions');
    assert.equal((await openaiAdapter.buildRequest(req('embedding'), openaiTarget(), signal)).url, 'https://api.openai.com/v1/embeddings');
  });

  test('baseURL replaces the default; a trailing slash is not doubled', async () => {
    const t = openaiTarget({ baseURL: 'http://127.0.0.1:8080/v1/' });
    assert.equal((await openaiAdapter.buildRequest(req('chat'), t, signal)).url, 'http://127.0.0.1:8080/v1/chat/completions');
    assert.equal((await openaiAdapter.buildRequest(req('completion'), t, signal)).url, 'http://127.0.0.1:8080/v1/completions');
    assert.equal((await openaiAdapter.buildRequest(req('embedding'), t, signal)).url, 'http://127.0.0.1:8080/v1/embeddings');
    const noSlash = openaiTarget({ baseURL: 'https://proxy.example.com/openai/v1' });
    assert.equal((await openaiAdapter.buildRequest(req('chat'), noSlash, signal)).url, 'https://proxy.example.com/openai/v1/chat/completions');
  });

  test('method is POST and the adapter serves all three endpoints', async () => {
    const r = await openaiAdapter.buildRequest(req('chat'), openaiTarget(), signal);
    assert.equal(r.method ?? 'POST', 'POST');
    assert.deepEqual([...openaiAdapter.endpoints].sort(), ['chat', 'completion', 'embedding']);
    assert.equal(openaiAdapter.name, 'openai');
  });
});

describe('openai adapter: headers and body', () => {
  test('authorization: Bearer <apiKey>, and no api-key header', async () => {
    const { headers } = await openaiAdapter.buildRequest(req('chat'), openaiTarget(), signal);
    assert.equal(headers.authorization, 'Bearer sk-openai-test');
    assert.deepEqual(headerValues(headers, 'api-key'), []);
  });

  test('no authorization header without an apiKey', async () => {
    const t: ResolvedTarget = { provider: 'openai', headers: {}, settings: {} };
    const { headers } = await openaiAdapter.buildRequest(req('chat'), t, signal);
    assert.deepEqual(headerValues(headers, 'authorization'), []);
  });

  test('organization and project settings become OpenAI-Organization / OpenAI-Project', async () => {
    const plain = await openaiAdapter.buildRequest(req('chat'), openaiTarget({ settings: { organization: 'org-1', project: 'proj-1' } }), signal);
    assert.equal(plain.headers['openai-organization'], 'org-1');
    assert.equal(plain.headers['openai-project'], 'proj-1');
    const prefixed = await openaiAdapter.buildRequest(
      req('chat'),
      openaiTarget({ settings: { openai_organization: 'org-2', openai_project: 'proj-2' } }),
      signal,
    );
    assert.equal(prefixed.headers['openai-organization'], 'org-2');
    assert.equal(prefixed.headers['openai-project'], 'proj-2');
  });

  test('no organization / project headers when not set', async () => {
    const { headers } = await openaiAdapter.buildRequest(req('chat'), openaiTarget(), signal);
    assert.deepEqual(headerValues(headers, 'openai-organization'), []);
    assert.deepEqual(headerValues(headers, 'openai-project'), []);
  });

  test('target.headers are merged in but cannot replace the auth header', async () => {
    const t = openaiTarget({ headers: { 'x-custom': 'yes', authorization: 'Bearer someone-else' } });
    const { headers } = await openaiAdapter.buildRequest(req('chat'), t, signal);
    assert.equal(headers['x-custom'], 'yes');
    assert.deepEqual(headerValues(headers, 'authorization'), ['Bearer sk-openai-test']);
  });

  test('the body is passed through unchanged, and the request body is not mutated', async () => {
    const body: JsonObject = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      response_format: { type: 'json_object' },
      some_vendor_field: { nested: [1, 2] },
    };
    const snapshot = structuredClone(body);
    const r = await openaiAdapter.buildRequest(req('chat', body), openaiTarget(), signal);
    assert.deepEqual(r.body, snapshot);
    assert.deepEqual(body, snapshot);
    const e = await openaiAdapter.buildRequest(req('embedding', { model: 'e', input: ['a', 'b'], dimensions: 8 }), openaiTarget(), signal);
    assert.deepEqual(e.body, { model: 'e', input: ['a', 'b'], dimensions: 8 });
  });
});

describe('azure-openai adapter: URLs', () => {
  test('default api-version 2024-10-21 and resource host', async () => {
    const r = await azureOpenAIAdapter.buildRequest(req('chat'), azureTarget({ settings: { resource_name: 'acme', deployment_id: 'gpt4o' } }), signal);
    assert.equal(r.url, 'https://acme.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21');
  });

  test('api_version setting is used', async () => {
    const r = await azureOpenAIAdapter.buildRequest(
      req('chat'),
      azureTarget({ settings: { resource_name: 'acme', deployment_id: 'gpt4o', api_version: '2025-01-01-preview' } }),
      signal,
    );
    assert.equal(r.url, 'https://acme.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2025-01-01-preview');
  });

  test('deployment defaults to the request model', async () => {
    const r = await azureOpenAIAdapter.buildRequest(req('chat', { model: 'my-deploy', messages: [] }), azureTarget(), signal);
    assert.equal(r.url, 'https://acme.openai.azure.com/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21');
  });

  test('completion and embedding paths', async () => {
    const t = azureTarget({ settings: { resource_name: 'acme', deployment_id: 'dep' } });
    assert.equal(
      (await azureOpenAIAdapter.buildRequest(req('completion'), t, signal)).url,
      'https://acme.openai.azure.com/openai/deployments/dep/completions?api-version=2024-10-21',
    );
    assert.equal(
      (await azureOpenAIAdapter.buildRequest(req('embedding'), t, signal)).url,
      'https://acme.openai.azure.com/openai/deployments/dep/embeddings?api-version=2024-10-21',
    );
  });

  test('baseURL replaces the resource host (trailing slash not doubled)', async () => {
    const r = await azureOpenAIAdapter.buildRequest(
      req('chat'),
      azureTarget({ baseURL: 'http://127.0.0.1:9000/', settings: { deployment_id: 'dep', api_version: '2024-06-01' } }),
      signal,
    );
    assert.equal(r.url, 'http://127.0.0.1:9000/openai/deployments/dep/chat/completions?api-version=2024-06-01');
  });

  test('missing resource_name (and no baseURL) is a ConfigError missing_provider_setting', async () => {
    await assert.rejects(
      async () => azureOpenAIAdapter.buildRequest(req('chat'), azureTarget({ settings: { deployment_id: 'dep' } }), signal),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'missing_provider_setting');
        assert.equal(err.status, 400);
        assert.match(err.message, /resource_name/);
        return true;
      },
    );
  });
});

describe('azure-openai adapter: headers and body', () => {
  test('api-key header and no authorization header', async () => {
    const { headers } = await azureOpenAIAdapter.buildRequest(req('chat'), azureTarget(), signal);
    assert.equal(headers['api-key'], 'azure-key-test');
    assert.deepEqual(headerValues(headers, 'authorization'), []);
  });

  test('azure_ad_token becomes Authorization: Bearer', async () => {
    const t: ResolvedTarget = {
      provider: 'azure-openai',
      headers: {},
      settings: { resource_name: 'acme', azure_ad_token: 'eyJ.token' },
    };
    const { headers } = await azureOpenAIAdapter.buildRequest(req('chat'), t, signal);
    assert.deepEqual(headerValues(headers, 'authorization'), ['Bearer eyJ.token']);
    assert.deepEqual(headerValues(headers, 'api-key'), []);
    // A token already written "Bearer ..." is not doubled.
    const prefixed = await azureOpenAIAdapter.buildRequest(req('chat'), { ...t, settings: { resource_name: 'acme', azure_ad_token: 'Bearer eyJ.token' } }, signal);
    assert.deepEqual(headerValues(prefixed.headers, 'authorization'), ['Bearer eyJ.token']);
  });

  test('target.headers are merged in but cannot replace api-key', async () => {
    const { headers } = await azureOpenAIAdapter.buildRequest(
      req('chat'),
      azureTarget({ headers: { 'x-ms-client': 'c1', 'api-key': 'stolen' } }),
      signal,
    );
    assert.equal(headers['x-ms-client'], 'c1');
    assert.deepEqual(headerValues(headers, 'api-key'), ['azure-key-test']);
  });

  test('the body is passed through unchanged', async () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 7, seed: 3 };
    const r = await azureOpenAIAdapter.buildRequest(req('chat', body), azureTarget(), signal);
    assert.deepEqual(r.body, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 7, seed: 3 });
  });
});

describe('parseResponse', () => {
  for (const adapter of [openaiAdapter, azureOpenAIAdapter] as ProviderAdapter[]) {
    test(`${adapter.name}: accepts valid chat, completion and embedding bodies`, () => {
      assert.deepEqual(adapter.parseResponse(structuredClone(chatCompletion), ctx('chat')), chatCompletion);
      assert.deepEqual(adapter.parseResponse(structuredClone(textCompletion), ctx('completion')), textCompletion);
      assert.deepEqual(adapter.parseResponse(structuredClone(embeddingList), ctx('embedding')), embeddingList);
    });

    test(`${adapter.name}: throws InvalidUpstreamResponse for bodies of the wrong shape`, () => {
      assert.throws(() => adapter.parseResponse(null, ctx('chat')), InvalidUpstreamResponse);
      assert.throws(() => adapter.parseResponse('<html>oops</html>', ctx('chat')), InvalidUpstreamResponse);
      assert.throws(() => adapter.parseResponse([chatCompletion], ctx('chat')), InvalidUpstreamResponse);
      assert.throws(() => adapter.parseResponse({ id: 'x', object: 'chat.completion' }, ctx('chat')), InvalidUpstreamResponse);
      assert.throws(() => adapter.parseResponse({ id: 'x', object: 'text_completion' }, ctx('completion')), InvalidUpstreamResponse);
      assert.throws(() => adapter.parseResponse({ object: 'list', model: 'e' }, ctx('embedding')), InvalidUpstreamResponse);
      assert.throws(
        () => adapter.parseResponse(null, ctx('chat')),
        (err: unknown) => err instanceof InvalidUpstreamResponse && err.code === 'invalid_upstream_response',
      );
    });
  }
});

describe('classifyError', () => {
  const cases: Array<[number, string]> = [
    [429, 'rate_limit'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'not_found'],
    [500, 'server'],
    [503, 'server'],
    [400, 'bad_request'],
  ];
  for (const [status, errorClass] of cases) {
    test(`status ${status} -> ${errorClass}, upstream message and code kept`, () => {
      const body = { error: { message: `upstream says ${status}`, type: 'some_type', code: `code_${status}`, param: 'p' } };
      const c = openaiAdapter.classifyError(status, body, {});
      assert.equal(c.errorClass, errorClass);
      assert.equal(c.message, `upstream says ${status}`);
      assert.equal(c.code, `code_${status}`);
      assert.equal(c.type, 'some_type');
      assert.equal(c.param, 'p');
    });
  }

  test('400 with code context_length_exceeded', () => {
    const c = openaiAdapter.classifyError(400, {
      error: { message: 'Too long', type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' },
    }, {});
    assert.equal(c.errorClass, 'context_length_exceeded');
    assert.equal(c.code, 'context_length_exceeded');
  });

  test('400 whose message says "This model\'s maximum context length is ..."', () => {
    const message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
    const c = openaiAdapter.classifyError(400, { error: { message, type: 'invalid_request_error', code: null } }, {});
    assert.equal(c.errorClass, 'context_length_exceeded');
    assert.equal(c.message, message);
  });

  test('Azure content filter', () => {
    const c = azureOpenAIAdapter.classifyError(400, {
      error: {
        code: 'content_filter',
        message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        param: 'prompt',
        status: 400,
        innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { hate: { filtered: true, severity: 'high' } } },
      },
    }, {});
    assert.equal(c.errorClass, 'content_filter');
    assert.equal(c.code, 'content_filter');
    assert.match(c.message, /filtered/);
  });

  test('Azure 429 keeps rate_limit and the upstream message', () => {
    const c = azureOpenAIAdapter.classifyError(429, {
      error: { code: '429', message: 'Requests to the ChatCompletions_Create Operation have exceeded the rate limit.' },
    }, {});
    assert.equal(c.errorClass, 'rate_limit');
    assert.match(c.message, /exceeded the rate limit/);
  });

  test('non-JSON string body: message kept', () => {
    const c = openaiAdapter.classifyError(502, '  Bad Gateway from nginx  ', {});
    assert.equal(c.errorClass, 'server');
    assert.equal(c.message, 'Bad Gateway from nginx');
  });

  test('non-JSON string body longer than 500 characters is truncated', () => {
    const text = 'x'.repeat(450) + 'y'.repeat(300);
    const c = openaiAdapter.classifyError(500, text, {});
    assert.ok(c.message.startsWith(text.slice(0, 500)), 'keeps the first 500 characters');
    assert.ok(!c.message.includes(text.slice(0, 501)), 'drops what comes after 500 characters');
    assert.ok(c.message.length <= 503, `message is ${c.message.length} characters long`);
  });

  test('empty body: a message naming the provider and status', () => {
    const c = openaiAdapter.classifyError(503, '', {});
    assert.equal(c.errorClass, 'server');
    assert.match(c.message, /openai/);
    assert.match(c.message, /503/);
  });

  test('{ error: "text" } form', () => {
    const c = openaiAdapter.classifyError(401, { error: 'Invalid API key' }, {});
    assert.equal(c.errorClass, 'auth');
    assert.equal(c.message, 'Invalid API key');
  });

  test('{ message: "text" } form', () => {
    const c = openaiAdapter.classifyError(500, { message: 'model crashed' }, {});
    assert.equal(c.errorClass, 'server');
    assert.equal(c.message, 'model crashed');
  });
});

describe('parseStreamEvent', () => {
  const parse = openaiAdapter.parseStreamEvent!;

  test('a chunk is returned as it is', () => {
    const chunk = {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o',
      choices: [{ index: 0, delta: { content: 'He' }, finish_reason: null }],
    };
    assert.deepEqual(parse({ data: JSON.stringify(chunk) }, {}, ctx('chat')), [chunk]);
  });

  test('[DONE] yields no chunk', () => {
    assert.deepEqual(parse({ data: '[DONE]' }, {}, ctx('chat')), []);
  });

  test('malformed JSON throws InvalidUpstreamResponse', () => {
    assert.throws(() => parse({ data: '{"id": "x", ' }, {}, ctx('chat')), InvalidUpstreamResponse);
  });

  test('an error event throws an Error named UpstreamStreamError carrying the message', () => {
    assert.throws(
      () => parse({ data: JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } }) }, {}, ctx('chat')),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(err instanceof UpstreamStreamError);
        assert.equal(err.name, 'UpstreamStreamError');
        assert.equal(err.message, 'The server had an error');
        assert.equal(err.status, 500);
        assert.equal(err.errorClass, 'server');
        assert.equal(err.upstreamCode, undefined);
        return true;
      },
    );
  });

  test("an error event's code (string or number) is kept as upstreamCode; no message gives a generic one", () => {
    const thrown = (error: unknown): UpstreamStreamError => {
      try {
        parse({ data: JSON.stringify({ error }) }, {}, ctx('chat'));
      } catch (err) {
        assert.ok(err instanceof UpstreamStreamError);
        return err;
      }
      return assert.fail('should have thrown');
    };
    assert.equal(thrown({ message: 'x', code: 'rate_limit_exceeded' }).upstreamCode, 'rate_limit_exceeded');
    assert.equal(thrown({ message: 'x', code: 503 }).upstreamCode, '503');
    const bare = thrown({});
    assert.equal(bare.message, 'upstream stream error');
    assert.equal(bare.status, 500);
    assert.equal(bare.errorClass, 'server');
  });

  test('azure-openai uses the same stream parsing', () => {
    assert.deepEqual(azureOpenAIAdapter.parseStreamEvent!({ data: '[DONE]' }, {}, ctx('chat', azureTarget())), []);
  });
});

describe('registry', () => {
  test('canonicalProvider spellings', () => {
    assert.equal(canonicalProvider('azure_openai'), 'azure-openai');
    assert.equal(canonicalProvider('azure-openai'), 'azure-openai');
    assert.equal(canonicalProvider('Gemini'), 'google');
    assert.equal(canonicalProvider('OpenAI'), 'openai');
    assert.equal(canonicalProvider(' anthropic '), 'anthropic');
  });

  test('builtinAdapters holds the expected adapters', () => {
    const adapters = builtinAdapters();
    for (const name of ['openai', 'azure-openai', 'anthropic', 'groq', 'ollama', 'openai-compatible']) {
      const adapter = adapters.get(name);
      assert.ok(adapter, `${name} is registered`);
      assert.equal(adapter.name, name);
    }
  });

  test('groq and ollama default URLs', async () => {
    const adapters = builtinAdapters();
    const groq = adapters.get('groq')!;
    assert.equal(
      (await groq.buildRequest(req('chat'), { provider: 'groq', apiKey: 'gsk', headers: {}, settings: {} }, signal)).url,
      'https://api.groq.com/openai/v1/chat/completions',
    );
    const ollama = adapters.get('ollama')!;
    assert.equal(ollama.requiresApiKey, false);
    const r = await ollama.buildRequest(req('chat'), { provider: 'ollama', headers: {}, settings: {} }, signal);
    assert.equal(r.url, 'http://127.0.0.1:11434/v1/chat/completions');
    assert.deepEqual(headerValues(r.headers, 'authorization'), []);
  });

  test('openai-compatible without a baseURL throws ConfigError; with one it builds the URL', async () => {
    const adapter = builtinAdapters().get('openai-compatible')!;
    await assert.rejects(
      async () => adapter.buildRequest(req('chat'), { provider: 'openai-compatible', headers: {}, settings: {} }, signal),
      (err: unknown) => err instanceof ConfigError && err.status === 400 && /baseURL/.test(err.message),
    );
    const r = await adapter.buildRequest(
      req('embedding'),
      { provider: 'openai-compatible', baseURL: 'http://127.0.0.1:8000/v1/', apiKey: 'local', headers: {}, settings: {} },
      signal,
    );
    assert.equal(r.url, 'http://127.0.0.1:8000/v1/embeddings');
    assert.equal(r.headers.authorization, 'Bearer local');
  });

  test('openAICompatibleAdapter honours its endpoint list and custom auth header', async () => {
    const adapter = openAICompatibleAdapter({
      name: 'acme',
      defaultBaseURL: 'https://llm.acme.test/v1',
      endpoints: ['chat'],
      authHeaders: (key) => ({ 'x-acme-key': key }),
    });
    assert.deepEqual([...adapter.endpoints], ['chat']);
    const r = await adapter.buildRequest(req('chat'), { provider: 'acme', apiKey: 'k1', headers: {}, settings: {} }, signal);
    assert.equal(r.url, 'https://llm.acme.test/v1/chat/completions');
    assert.deepEqual(r.headers, { 'x-acme-key': 'k1' });
  });
});

describe('adapter settings schemas', () => {
  const check = (adapter: ProviderAdapter, settings: Record<string, unknown>) =>
    checkProviderSettings(adapter, adapter.name, settings, 'config.targets[0]');

  /** Asserts the settings are refused, naming `path` and never quoting the value. */
  function refused(adapter: ProviderAdapter, settings: Record<string, unknown>, path: string, rule: RegExp): void {
    const result = check(adapter, settings);
    assert.equal(result.ok, false, JSON.stringify(settings));
    if (result.ok) return;
    assert.equal(result.problem.path, path);
    assert.ok(result.problem.message.startsWith(`${path} `), result.problem.message);
    assert.match(result.problem.message, rule);
    for (const value of Object.values(settings)) {
      if (typeof value === 'string' && value.length > 3) assert.ok(!result.problem.message.includes(value), 'value not echoed');
    }
  }

  test('openai accepts openai_organization, openai_project, organization and project', () => {
    assert.ok(openaiAdapter.settings, 'openai declares settings');
    const all = { openai_organization: 'org-1', openai_project: 'proj-1', organization: 'org-2', project: 'proj-2' };
    assert.deepEqual(check(openaiAdapter, all), { ok: true, value: all });
    assert.deepEqual(check(openaiAdapter, {}), { ok: true, value: {} });
  });

  test('openai refuses unknown keys, non-strings, empty strings, CR/LF/NUL and over-long values', () => {
    refused(openaiAdapter, { resource_name: 'acme' }, 'config.targets[0].resource_name', /is not a setting of provider "openai"/);
    refused(openaiAdapter, { organization: 42 }, 'config.targets[0].organization', /must be a string/);
    refused(openaiAdapter, { project: '' }, 'config.targets[0].project', /empty/);
    refused(openaiAdapter, { openai_organization: 'org\r\nX-Evil: 1' }, 'config.targets[0].openai_organization', /CR, LF or NUL/);
    refused(openaiAdapter, { openai_project: 'p\0roj' }, 'config.targets[0].openai_project', /CR, LF or NUL/);
    refused(openaiAdapter, { organization: 'o'.repeat(8193) }, 'config.targets[0].organization', /8192/);
    assert.equal(check(openaiAdapter, { organization: 'o'.repeat(8192) }).ok, true);
  });

  test('azure-openai accepts resource_name, deployment_id, api_version and azure_ad_token', () => {
    assert.ok(azureOpenAIAdapter.settings, 'azure-openai declares settings');
    const all = { resource_name: 'acme-eu-1', deployment_id: 'gpt-4o', api_version: '2025-01-01-preview', azure_ad_token: 'eyJ.tok' };
    assert.deepEqual(check(azureOpenAIAdapter, all), { ok: true, value: all });
  });

  test('azure-openai refuses a resource_name that is not a resource name, and bad strings', () => {
    refused(azureOpenAIAdapter, { resource_name: 'evil.example.com/x' }, 'config.targets[0].resource_name', /Azure resource name/);
    refused(azureOpenAIAdapter, { resource_name: '-acme' }, 'config.targets[0].resource_name', /Azure resource name/);
    refused(azureOpenAIAdapter, { resource_name: 'a'.repeat(129) }, 'config.targets[0].resource_name', /128/);
    refused(azureOpenAIAdapter, { api_version: 20241021 }, 'config.targets[0].api_version', /must be a string/);
    refused(azureOpenAIAdapter, { deployment_id: 'dep\nX: 1' }, 'config.targets[0].deployment_id', /CR, LF or NUL/);
    refused(azureOpenAIAdapter, { azure_ad_token: 'tok\r\nX: 1' }, 'config.targets[0].azure_ad_token', /CR, LF or NUL/);
    refused(azureOpenAIAdapter, { organization: 'org-1' }, 'config.targets[0].organization', /is not a setting of provider "azure-openai"/);
  });

  test('openai-compatible adapters take no settings unless their spec declares some', () => {
    const groq = builtinAdapters().get('groq')!;
    assert.equal(groq.settings, undefined);
    refused(groq, { organization: 'org-1' }, 'config.targets[0].organization', /is not a setting of provider "groq"/);
    assert.deepEqual(check(groq, {}), { ok: true, value: {} });
  });

  test("openAICompatibleAdapter's settings schema becomes the adapter's; its settings reach settingHeaders", async () => {
    const adapter = openAICompatibleAdapter({
      name: 'acme',
      defaultBaseURL: 'https://llm.acme.test/v1',
      settings: Joi.object({ acme_region: Joi.string().valid('eu', 'us').required() }),
      settingHeaders: (settings) => ({ 'x-acme-region': String(settings.acme_region) }),
    });
    assert.deepEqual(check(adapter, { acme_region: 'eu' }), { ok: true, value: { acme_region: 'eu' } });
    refused(adapter, { acme_region: 'mars' }, 'config.targets[0].acme_region', /must be one of \[eu, us\]/);
    refused(adapter, {}, 'config.targets[0].acme_region', /is required/);
    const r = await adapter.buildRequest(req('chat'), { provider: 'acme', apiKey: 'k', headers: {}, settings: { acme_region: 'eu' } }, signal);
    assert.equal(r.headers['x-acme-region'], 'eu');
  });
});
