/**
 * Unit tests of the OpenAI-format adapters (openai, azure-openai, the openai-compatible family)
 * and of the provider registry. No HTTP: buildRequest / parseResponse / classifyError /
 * parseStreamEvent are called directly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openaiAdapter } from '../../lib/providers/openai.js';
import { azureOpenAIAdapter } from '../../lib/providers/azure-openai.js';
import { openAICompatibleAdapter } from '../../lib/providers/openai-compatible.js';
import { builtinAdapters, canonicalProvider } from '../../lib/providers/registry.js';
import { ConfigError, InvalidUpstreamResponse } from '../../lib/errors.js';
import type {
  Endpoint,
  JsonObject,
  ParseContext,
  ProviderAdapter,
  ResolvedTarget,
  UnifiedRequest,
} from '../../lib/providers/types.js';

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
  test('default base for each endpoint', () => {
    assert.equal(openaiAdapter.buildRequest(req('chat'), openaiTarget()).url, 'https://api.openai.com/v1/chat/completions');
    assert.equal(openaiAdapter.buildRequest(req('completion'), openaiTarget()).url, 'https://api.openai.com/v1/completions');
    assert.equal(openaiAdapter.buildRequest(req('embedding'), openaiTarget()).url, 'https://api.openai.com/v1/embeddings');
  });

  test('baseURL replaces the default; a trailing slash is not doubled', () => {
    const t = openaiTarget({ baseURL: 'http://127.0.0.1:8080/v1/' });
    assert.equal(openaiAdapter.buildRequest(req('chat'), t).url, 'http://127.0.0.1:8080/v1/chat/completions');
    assert.equal(openaiAdapter.buildRequest(req('completion'), t).url, 'http://127.0.0.1:8080/v1/completions');
    assert.equal(openaiAdapter.buildRequest(req('embedding'), t).url, 'http://127.0.0.1:8080/v1/embeddings');
    const noSlash = openaiTarget({ baseURL: 'https://proxy.example.com/openai/v1' });
    assert.equal(openaiAdapter.buildRequest(req('chat'), noSlash).url, 'https://proxy.example.com/openai/v1/chat/completions');
  });

  test('method is POST and the adapter serves all three endpoints', () => {
    const r = openaiAdapter.buildRequest(req('chat'), openaiTarget());
    assert.equal(r.method ?? 'POST', 'POST');
    assert.deepEqual([...openaiAdapter.endpoints].sort(), ['chat', 'completion', 'embedding']);
    assert.equal(openaiAdapter.name, 'openai');
  });
});

describe('openai adapter: headers and body', () => {
  test('authorization: Bearer <apiKey>, and no api-key header', () => {
    const { headers } = openaiAdapter.buildRequest(req('chat'), openaiTarget());
    assert.equal(headers.authorization, 'Bearer sk-openai-test');
    assert.deepEqual(headerValues(headers, 'api-key'), []);
  });

  test('no authorization header without an apiKey', () => {
    const t: ResolvedTarget = { provider: 'openai', headers: {}, settings: {} };
    const { headers } = openaiAdapter.buildRequest(req('chat'), t);
    assert.deepEqual(headerValues(headers, 'authorization'), []);
  });

  test('organization and project settings become OpenAI-Organization / OpenAI-Project', () => {
    const plain = openaiAdapter.buildRequest(req('chat'), openaiTarget({ settings: { organization: 'org-1', project: 'proj-1' } }));
    assert.equal(plain.headers['openai-organization'], 'org-1');
    assert.equal(plain.headers['openai-project'], 'proj-1');
    const prefixed = openaiAdapter.buildRequest(
      req('chat'),
      openaiTarget({ settings: { openai_organization: 'org-2', openai_project: 'proj-2' } }),
    );
    assert.equal(prefixed.headers['openai-organization'], 'org-2');
    assert.equal(prefixed.headers['openai-project'], 'proj-2');
  });

  test('no organization / project headers when not set', () => {
    const { headers } = openaiAdapter.buildRequest(req('chat'), openaiTarget());
    assert.deepEqual(headerValues(headers, 'openai-organization'), []);
    assert.deepEqual(headerValues(headers, 'openai-project'), []);
  });

  test('target.headers are merged in but cannot replace the auth header', () => {
    const t = openaiTarget({ headers: { 'x-custom': 'yes', authorization: 'Bearer someone-else' } });
    const { headers } = openaiAdapter.buildRequest(req('chat'), t);
    assert.equal(headers['x-custom'], 'yes');
    assert.deepEqual(headerValues(headers, 'authorization'), ['Bearer sk-openai-test']);
  });

  test('the body is passed through unchanged, and the request body is not mutated', () => {
    const body: JsonObject = {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      response_format: { type: 'json_object' },
      some_vendor_field: { nested: [1, 2] },
    };
    const snapshot = structuredClone(body);
    const r = openaiAdapter.buildRequest(req('chat', body), openaiTarget());
    assert.deepEqual(r.body, snapshot);
    assert.deepEqual(body, snapshot);
    const e = openaiAdapter.buildRequest(req('embedding', { model: 'e', input: ['a', 'b'], dimensions: 8 }), openaiTarget());
    assert.deepEqual(e.body, { model: 'e', input: ['a', 'b'], dimensions: 8 });
  });
});

describe('azure-openai adapter: URLs', () => {
  test('default api-version 2024-10-21 and resource host', () => {
    const r = azureOpenAIAdapter.buildRequest(req('chat'), azureTarget({ settings: { resource_name: 'acme', deployment_id: 'gpt4o' } }));
    assert.equal(r.url, 'https://acme.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21');
  });

  test('api_version setting is used', () => {
    const r = azureOpenAIAdapter.buildRequest(
      req('chat'),
      azureTarget({ settings: { resource_name: 'acme', deployment_id: 'gpt4o', api_version: '2025-01-01-preview' } }),
    );
    assert.equal(r.url, 'https://acme.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2025-01-01-preview');
  });

  test('deployment defaults to the request model', () => {
    const r = azureOpenAIAdapter.buildRequest(req('chat', { model: 'my-deploy', messages: [] }), azureTarget());
    assert.equal(r.url, 'https://acme.openai.azure.com/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21');
  });

  test('completion and embedding paths', () => {
    const t = azureTarget({ settings: { resource_name: 'acme', deployment_id: 'dep' } });
    assert.equal(
      azureOpenAIAdapter.buildRequest(req('completion'), t).url,
      'https://acme.openai.azure.com/openai/deployments/dep/completions?api-version=2024-10-21',
    );
    assert.equal(
      azureOpenAIAdapter.buildRequest(req('embedding'), t).url,
      'https://acme.openai.azure.com/openai/deployments/dep/embeddings?api-version=2024-10-21',
    );
  });

  test('baseURL replaces the resource host (trailing slash not doubled)', () => {
    const r = azureOpenAIAdapter.buildRequest(
      req('chat'),
      azureTarget({ baseURL: 'http://127.0.0.1:9000/', settings: { deployment_id: 'dep', api_version: '2024-06-01' } }),
    );
    assert.equal(r.url, 'http://127.0.0.1:9000/openai/deployments/dep/chat/completions?api-version=2024-06-01');
  });

  test('missing resource_name (and no baseURL) is a ConfigError missing_provider_setting', () => {
    assert.throws(
      () => azureOpenAIAdapter.buildRequest(req('chat'), azureTarget({ settings: { deployment_id: 'dep' } })),
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
  test('api-key header and no authorization header', () => {
    const { headers } = azureOpenAIAdapter.buildRequest(req('chat'), azureTarget());
    assert.equal(headers['api-key'], 'azure-key-test');
    assert.deepEqual(headerValues(headers, 'authorization'), []);
  });

  test('azure_ad_token becomes Authorization: Bearer', () => {
    const t: ResolvedTarget = {
      provider: 'azure-openai',
      headers: {},
      settings: { resource_name: 'acme', azure_ad_token: 'eyJ.token' },
    };
    const { headers } = azureOpenAIAdapter.buildRequest(req('chat'), t);
    assert.deepEqual(headerValues(headers, 'authorization'), ['Bearer eyJ.token']);
    assert.deepEqual(headerValues(headers, 'api-key'), []);
    // A token already written "Bearer ..." is not doubled.
    const prefixed = azureOpenAIAdapter.buildRequest(req('chat'), { ...t, settings: { resource_name: 'acme', azure_ad_token: 'Bearer eyJ.token' } });
    assert.deepEqual(headerValues(prefixed.headers, 'authorization'), ['Bearer eyJ.token']);
  });

  test('target.headers are merged in but cannot replace api-key', () => {
    const { headers } = azureOpenAIAdapter.buildRequest(
      req('chat'),
      azureTarget({ headers: { 'x-ms-client': 'c1', 'api-key': 'stolen' } }),
    );
    assert.equal(headers['x-ms-client'], 'c1');
    assert.deepEqual(headerValues(headers, 'api-key'), ['azure-key-test']);
  });

  test('the body is passed through unchanged', () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 7, seed: 3 };
    const r = azureOpenAIAdapter.buildRequest(req('chat', body), azureTarget());
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
      const c = openaiAdapter.classifyError(status, body);
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
    });
    assert.equal(c.errorClass, 'context_length_exceeded');
    assert.equal(c.code, 'context_length_exceeded');
  });

  test('400 whose message says "This model\'s maximum context length is ..."', () => {
    const message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
    const c = openaiAdapter.classifyError(400, { error: { message, type: 'invalid_request_error', code: null } });
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
    });
    assert.equal(c.errorClass, 'content_filter');
    assert.equal(c.code, 'content_filter');
    assert.match(c.message, /filtered/);
  });

  test('Azure 429 keeps rate_limit and the upstream message', () => {
    const c = azureOpenAIAdapter.classifyError(429, {
      error: { code: '429', message: 'Requests to the ChatCompletions_Create Operation have exceeded the rate limit.' },
    });
    assert.equal(c.errorClass, 'rate_limit');
    assert.match(c.message, /exceeded the rate limit/);
  });

  test('non-JSON string body: message kept', () => {
    const c = openaiAdapter.classifyError(502, '  Bad Gateway from nginx  ');
    assert.equal(c.errorClass, 'server');
    assert.equal(c.message, 'Bad Gateway from nginx');
  });

  test('non-JSON string body longer than 500 characters is truncated', () => {
    const text = 'x'.repeat(450) + 'y'.repeat(300);
    const c = openaiAdapter.classifyError(500, text);
    assert.ok(c.message.startsWith(text.slice(0, 500)), 'keeps the first 500 characters');
    assert.ok(!c.message.includes(text.slice(0, 501)), 'drops what comes after 500 characters');
    assert.ok(c.message.length <= 503, `message is ${c.message.length} characters long`);
  });

  test('empty body: a message naming the provider and status', () => {
    const c = openaiAdapter.classifyError(503, '');
    assert.equal(c.errorClass, 'server');
    assert.match(c.message, /openai/);
    assert.match(c.message, /503/);
  });

  test('{ error: "text" } form', () => {
    const c = openaiAdapter.classifyError(401, { error: 'Invalid API key' });
    assert.equal(c.errorClass, 'auth');
    assert.equal(c.message, 'Invalid API key');
  });

  test('{ message: "text" } form', () => {
    const c = openaiAdapter.classifyError(500, { message: 'model crashed' });
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
        assert.equal(err.name, 'UpstreamStreamError');
        assert.equal(err.message, 'The server had an error');
        return true;
      },
    );
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

  test('groq and ollama default URLs', () => {
    const adapters = builtinAdapters();
    const groq = adapters.get('groq')!;
    assert.equal(
      groq.buildRequest(req('chat'), { provider: 'groq', apiKey: 'gsk', headers: {}, settings: {} }).url,
      'https://api.groq.com/openai/v1/chat/completions',
    );
    const ollama = adapters.get('ollama')!;
    assert.equal(ollama.requiresApiKey, false);
    const r = ollama.buildRequest(req('chat'), { provider: 'ollama', headers: {}, settings: {} });
    assert.equal(r.url, 'http://127.0.0.1:11434/v1/chat/completions');
    assert.deepEqual(headerValues(r.headers, 'authorization'), []);
  });

  test('openai-compatible without a baseURL throws ConfigError; with one it builds the URL', () => {
    const adapter = builtinAdapters().get('openai-compatible')!;
    assert.throws(
      () => adapter.buildRequest(req('chat'), { provider: 'openai-compatible', headers: {}, settings: {} }),
      (err: unknown) => err instanceof ConfigError && err.status === 400 && /baseURL/.test(err.message),
    );
    const r = adapter.buildRequest(req('embedding'), {
      provider: 'openai-compatible',
      baseURL: 'http://127.0.0.1:8000/v1/',
      apiKey: 'local',
      headers: {},
      settings: {},
    });
    assert.equal(r.url, 'http://127.0.0.1:8000/v1/embeddings');
    assert.equal(r.headers.authorization, 'Bearer local');
  });

  test('openAICompatibleAdapter honours its endpoint list and custom auth header', () => {
    const adapter = openAICompatibleAdapter({
      name: 'acme',
      defaultBaseURL: 'https://llm.acme.test/v1',
      endpoints: ['chat'],
      authHeaders: (key) => ({ 'x-acme-key': key }),
    });
    assert.deepEqual([...adapter.endpoints], ['chat']);
    const r = adapter.buildRequest(req('chat'), { provider: 'acme', apiKey: 'k1', headers: {}, settings: {} });
    assert.equal(r.url, 'https://llm.acme.test/v1/chat/completions');
    assert.deepEqual(r.headers, { 'x-acme-key': 'k1' });
  });
});
