import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicAdapter } from '../../lib/providers/anthropic/index.js';
import { InvalidUpstreamResponse, RequestError, UpstreamStreamError } from '../../lib/errors.js';
import { checkProviderSettings } from '../../lib/config/settings.js';
import type {
  JsonObject,
  ParseContext,
  ResolvedTarget,
  StreamState,
  UnifiedChunk,
  UnifiedRequest,
} from '../../lib/providers/types.js';

function target(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'anthropic', apiKey: 'sk-ant-test', headers: {}, settings: {}, ...overrides };
}

/** A signal that never aborts: buildRequest needs one. */
const signal = new AbortController().signal;

function chatReq(body: JsonObject): UnifiedRequest {
  return { endpoint: 'chat', body, stream: body.stream === true };
}

/** The translated Anthropic body for an OpenAI chat body. */
async function build(body: JsonObject, t: ResolvedTarget = target()): Promise<JsonObject> {
  return (await anthropicAdapter.buildRequest(chatReq(body), t, signal)).body as JsonObject;
}

function ctx(body: JsonObject = { model: 'claude-x', messages: [] }): ParseContext {
  return { request: chatReq(body), target: target(), status: 200 };
}

const hi = [{ role: 'user', content: 'hi' }];

/** Checks the error is the 400 `invalid_parameter` RequestError naming `param`. */
function invalidParameter(param: string, message?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_parameter');
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(err.param, param);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  };
}

describe('anthropic adapter: identity', () => {
  test('name, endpoints and prefill support', () => {
    assert.equal(anthropicAdapter.name, 'anthropic');
    assert.deepEqual([...anthropicAdapter.endpoints], ['chat']);
    assert.equal(anthropicAdapter.endpoints.has('completion'), false);
    assert.equal(anthropicAdapter.endpoints.has('embedding'), false);
    assert.equal(anthropicAdapter.supportsPrefill, true);
    assert.equal(typeof anthropicAdapter.parseStreamEvent, 'function');
  });
});

describe('anthropic settings', () => {
  const check = (settings: Record<string, unknown>) =>
    checkProviderSettings(anthropicAdapter, 'anthropic', settings, 'config.targets[0]');

  test('accepts anthropic_version, and anthropic_beta as a string or an array of strings', () => {
    for (const settings of [
      { anthropic_version: '2023-06-01' },
      { anthropic_beta: 'prompt-caching-2024-07-31' },
      { anthropic_beta: ['a-2024', 'b-2025'] },
      { anthropic_version: '2023-06-01', anthropic_beta: [] },
      {},
    ]) {
      assert.deepEqual(check(settings), { ok: true, value: settings }, JSON.stringify(settings));
    }
  });

  test('refuses unknown keys, wrong types, CR/LF/NUL and over-long values, naming the path and never the value', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ anthropic_version: '2023-06-01', resource_name: 'acme' }, 'config.targets[0].resource_name', /is not a setting of provider "anthropic"/],
      [{ anthropic_version: 20230601 }, 'config.targets[0].anthropic_version', /must be a string/],
      [{ anthropic_version: '' }, 'config.targets[0].anthropic_version', /empty/],
      [{ anthropic_version: '2023\r\nX-Evil: yes' }, 'config.targets[0].anthropic_version', /CR, LF or NUL/],
      [{ anthropic_beta: 'beta-1\nX-Evil: yes' }, 'config.targets[0].anthropic_beta', /CR, LF or NUL/],
      [{ anthropic_beta: ['ok-beta', 'beta\0two'] }, 'config.targets[0].anthropic_beta[1]', /CR, LF or NUL/],
      [{ anthropic_beta: 7 }, 'config.targets[0].anthropic_beta', /string, array/],
      [{ anthropic_beta: ['ok-beta', 7] }, 'config.targets[0].anthropic_beta[1]', /must be a string/],
      [{ anthropic_version: 'v'.repeat(8193) }, 'config.targets[0].anthropic_version', /8192/],
    ];
    for (const [settings, path, rule] of cases) {
      const result = check(settings);
      assert.equal(result.ok, false, JSON.stringify(settings));
      if (result.ok) continue;
      assert.equal(result.problem.path, path);
      assert.match(result.problem.message, rule);
      assert.ok(!/X-Evil|beta\0two/.test(result.problem.message), 'value not echoed');
    }
  });
});

describe('anthropic buildRequest: URL and headers', async () => {
  test('default URL', async () => {
    const r = await anthropicAdapter.buildRequest(chatReq({ model: 'm', messages: hi }), target(), signal);
    assert.equal(r.url, 'https://api.anthropic.com/v1/messages');
    assert.equal(r.method ?? 'POST', 'POST');
  });

  test('baseURL replaces the default, trailing slashes stripped', async () => {
    const url = async (baseURL: string) =>
      (await anthropicAdapter.buildRequest(chatReq({ model: 'm', messages: hi }), target({ baseURL }), signal)).url;
    assert.equal(await url('https://proxy.example.com/anthropic/v1'), 'https://proxy.example.com/anthropic/v1/messages');
    assert.equal(await url('https://proxy.example.com/v1/'), 'https://proxy.example.com/v1/messages');
    assert.equal(await url('https://proxy.example.com/v1///'), 'https://proxy.example.com/v1/messages');
  });

  test('x-api-key and default anthropic-version; no beta header by default', async () => {
    const { headers } = await anthropicAdapter.buildRequest(chatReq({ model: 'm', messages: hi }), target(), signal);
    assert.deepEqual(headers, { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' });
  });

  test('no x-api-key without an apiKey', async () => {
    const t: ResolvedTarget = { provider: 'anthropic', headers: {}, settings: {} };
    const { headers } = await anthropicAdapter.buildRequest(chatReq({ model: 'm', messages: hi }), t, signal);
    assert.equal('x-api-key' in headers, false);
    assert.equal(headers['anthropic-version'], '2023-06-01');
  });

  test('anthropic_version setting overrides the default', async () => {
    const t = target({ settings: { anthropic_version: '2024-01-01' } });
    const { headers } = await anthropicAdapter.buildRequest(chatReq({ model: 'm', messages: hi }), t, signal);
    assert.equal(headers['anthropic-version'], '2024-01-01');
  });

  test('anthropic_beta as string and as array', async () => {
    const one = await anthropicAdapter.buildRequest(
      chatReq({ model: 'm', messages: hi }),
      target({ settings: { anthropic_beta: 'prompt-caching-2024-07-31' } }),
      signal,
    );
    assert.equal(one.headers['anthropic-beta'], 'prompt-caching-2024-07-31');
    const many = await anthropicAdapter.buildRequest(
      chatReq({ model: 'm', messages: hi }),
      target({ settings: { anthropic_beta: ['a-2024', 'b-2025'] } }),
      signal,
    );
    assert.equal(many.headers['anthropic-beta'], 'a-2024,b-2025');
  });

  test('target headers are merged but cannot override x-api-key (any case)', async () => {
    const t = target({
      headers: { 'x-trace-id': 'abc', 'x-api-key': 'evil', 'X-Api-Key': 'evil2', 'anthropic-beta': 'client-beta' },
    });
    const { headers } = await anthropicAdapter.buildRequest(chatReq({ model: 'm', messages: hi }), t, signal);
    assert.equal(headers['x-trace-id'], 'abc');
    assert.equal(headers['x-api-key'], 'sk-ant-test');
    assert.equal('X-Api-Key' in headers, false);
    // Not set by settings, so a forwarded beta header passes through.
    assert.equal(headers['anthropic-beta'], 'client-beta');
  });

  test('does not mutate the request body', async () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
      tool_choice: 'auto',
      tools: [{ type: 'function', function: { name: 'f' } }],
    };
    const copy = structuredClone(body);
    await build(body);
    assert.deepEqual(body, copy);
  });
});

describe('anthropic buildRequest: body', async () => {
  test('model passed through, max_tokens defaults to 4096', async () => {
    const b = await build({ model: 'claude-sonnet-4', messages: hi });
    assert.deepEqual(b, { model: 'claude-sonnet-4', max_tokens: 4096, messages: [{ role: 'user', content: 'hi' }] });
  });

  test('max_tokens from max_tokens, then max_completion_tokens', async () => {
    assert.equal((await build({ model: 'm', messages: hi, max_tokens: 100 })).max_tokens, 100);
    assert.equal((await build({ model: 'm', messages: hi, max_completion_tokens: 200 })).max_tokens, 200);
    assert.equal((await build({ model: 'm', messages: hi, max_tokens: 100, max_completion_tokens: 200 })).max_tokens, 100);
  });

  test('system and developer messages (anywhere) become the top-level system string', async () => {
    const b = await build({
      model: 'm',
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'hi' },
        { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Be kind.' }] },
        { role: 'assistant', content: 'hello' },
      ],
    });
    assert.equal(b.system, 'You are helpful.\nBe brief.\nBe kind.');
    assert.deepEqual(b.messages, [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ]);
  });

  test('no system key without system messages', async () => {
    assert.equal('system' in (await build({ model: 'm', messages: hi })), false);
  });

  test('consecutive same-role messages are merged into block arrays', async () => {
    const b = await build({
      model: 'm',
      messages: [
        { role: 'user', content: 'one' },
        { role: 'system', content: 'sys' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'a1' },
        { role: 'assistant', content: 'a2' },
        { role: 'user', content: 'three' },
      ],
    });
    assert.deepEqual(b.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'a1' },
          { type: 'text', text: 'a2' },
        ],
      },
      { role: 'user', content: 'three' },
    ]);
  });

  test('text parts become text blocks', async () => {
    const b = await build({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }] }] });
    assert.deepEqual(b.messages, [{ role: 'user', content: [{ type: 'text', text: 'look' }] }]);
  });

  test('images: base64 data URL and http(s) URL', async () => {
    const b = await build({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'compare' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    });
    assert.deepEqual(b.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'compare' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  test('an image URL that is neither base64 data nor http(s) is a 400 invalid_parameter', async () => {
    await assert.rejects(
      build({
        model: 'm',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }],
      }),
      invalidParameter('messages[0].content[0].image_url.url'),
    );
  });

  test('assistant tool_calls become tool_use blocks after the text', async () => {
    const b = await build({
      model: 'm',
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
      ],
    });
    assert.deepEqual(b.messages, [
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
        ],
      },
    ]);
  });

  test('assistant with null content and tool_calls has only tool_use blocks', async () => {
    const b = await build({
      model: 'm',
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        },
      ],
    });
    assert.deepEqual((b.messages as JsonObject[])[1], {
      role: 'assistant',
      content: [{ type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }],
    });
  });

  test('invalid tool-call arguments JSON is a 400 invalid_parameter naming the path', async () => {
    await assert.rejects(
      build({
        model: 'm',
        messages: [
          { role: 'user', content: 'q' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 't0', type: 'function', function: { name: 'f', arguments: '{}' } },
              { id: 't1', type: 'function', function: { name: 'g', arguments: '{not json' } },
            ],
          },
        ],
      }),
      invalidParameter(
        'messages[1].tool_calls[1].function.arguments',
        'messages[1].tool_calls[1].function.arguments is not valid JSON',
      ),
    );
  });

  test('tool messages become tool_result blocks; consecutive ones share one user message', async () => {
    const b = await build({
      model: 'm',
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } },
            { id: 't2', type: 'function', function: { name: 'g', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
        { role: 'tool', tool_call_id: 't2', content: [{ type: 'text', text: '12:00' }] },
        { role: 'user', content: 'thanks' },
      ],
    });
    const messages = b.messages as JsonObject[];
    assert.equal(messages.length, 3);
    assert.deepEqual(messages[2], {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1', content: 'sunny' },
        { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: '12:00' }] },
        { type: 'text', text: 'thanks' },
      ],
    });
  });

  test('a tool message without tool_call_id is a 400 invalid_parameter', async () => {
    await assert.rejects(
      build({ model: 'm', messages: [{ role: 'tool', content: 'x' }] }),
      invalidParameter('messages[0].tool_call_id'),
    );
  });

  test('stop as string and as array become stop_sequences', async () => {
    assert.deepEqual((await build({ model: 'm', messages: hi, stop: 'END' })).stop_sequences, ['END']);
    assert.deepEqual((await build({ model: 'm', messages: hi, stop: ['a', 'b'] })).stop_sequences, ['a', 'b']);
    assert.equal('stop_sequences' in (await build({ model: 'm', messages: hi })), false);
    assert.equal('stop' in (await build({ model: 'm', messages: hi, stop: 'END' })), false);
  });

  test('temperature, top_p, top_k, stream passed through; user becomes metadata.user_id', async () => {
    const b = await build({ model: 'm', messages: hi, temperature: 0.2, top_p: 0.9, top_k: 40, stream: true, user: 'u-1' });
    assert.equal(b.temperature, 0.2);
    assert.equal(b.top_p, 0.9);
    assert.equal(b.top_k, 40);
    assert.equal(b.stream, true);
    assert.deepEqual(b.metadata, { user_id: 'u-1' });
    assert.equal('user' in b, false);
    const plain = await build({ model: 'm', messages: hi });
    for (const key of ['temperature', 'top_p', 'top_k', 'stream', 'metadata']) assert.equal(key in plain, false, key);
  });

  test('OpenAI-only fields are not forwarded', async () => {
    const b = await build({
      model: 'm',
      messages: hi,
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      logprobs: true,
      top_logprobs: 3,
      response_format: { type: 'json_object' },
      seed: 7,
      stream_options: { include_usage: true },
      logit_bias: { '1': 2 },
      max_completion_tokens: 50,
    });
    assert.deepEqual(Object.keys(b).sort(), ['max_tokens', 'messages', 'model']);
  });

  test('tools become Anthropic tools with input_schema', async () => {
    const params = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const b = await build({
      model: 'm',
      messages: hi,
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: params } },
        { type: 'function', function: { name: 'ping' } },
      ],
    });
    assert.deepEqual(b.tools, [
      { name: 'get_weather', description: 'Weather', input_schema: params },
      { name: 'ping', input_schema: { type: 'object', properties: {} } },
    ]);
    assert.equal('tool_choice' in b, false);
  });

  test('tool_choice variants', async () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const choice = async (tool_choice: unknown) => (await build({ model: 'm', messages: hi, tools, tool_choice })).tool_choice;
    assert.deepEqual(await choice('auto'), { type: 'auto' });
    assert.deepEqual(await choice('required'), { type: 'any' });
    assert.deepEqual(await choice('none'), { type: 'none' });
    assert.deepEqual(await choice({ type: 'function', function: { name: 'f' } }), { type: 'tool', name: 'f' });
    await assert.rejects(choice('sometimes'), invalidParameter('tool_choice'));
  });

  test('parallel_tool_calls: false sets disable_parallel_tool_use', async () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    assert.deepEqual((await build({ model: 'm', messages: hi, tools, parallel_tool_calls: false })).tool_choice, {
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    assert.deepEqual(
      (await build({ model: 'm', messages: hi, tools, tool_choice: 'required', parallel_tool_calls: false })).tool_choice,
      { type: 'any', disable_parallel_tool_use: true },
    );
    assert.deepEqual(
      (await build({
        model: 'm',
        messages: hi,
        tools,
        tool_choice: { type: 'function', function: { name: 'f' } },
        parallel_tool_calls: false,
      })).tool_choice,
      { type: 'tool', name: 'f', disable_parallel_tool_use: true },
    );
    // true (OpenAI's default) changes nothing.
    assert.deepEqual((await build({ model: 'm', messages: hi, tools, tool_choice: 'auto', parallel_tool_calls: true })).tool_choice, {
      type: 'auto',
    });
    assert.equal('parallel_tool_calls' in (await build({ model: 'm', messages: hi, tools, parallel_tool_calls: true })), false);
  });

  test('missing or non-array messages is a 400 RequestError on messages', async () => {
    const cases: Array<[JsonObject, string]> = [
      [{ model: 'm' }, 'missing_parameter'],
      [{ model: 'm', messages: null }, 'missing_parameter'],
      [{ model: 'm', messages: 'hi' }, 'invalid_parameter'],
    ];
    for (const [body, code] of cases) {
      await assert.rejects(build(body), (err: unknown) => {
        assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
        assert.equal(err.status, 400);
        assert.equal(err.code, code);
        assert.equal(err.param, 'messages');
        assert.match(err.message, /messages is required/);
        return true;
      });
    }
  });

  test('an unsupported role is a 400 invalid_parameter', async () => {
    await assert.rejects(
      build({ model: 'm', messages: [{ role: 'function', name: 'f', content: 'x' }] }),
      invalidParameter('messages[0].role'),
    );
  });

  test('untranslatable content parts, tools and tool calls name the exact field', async () => {
    const user = (content: unknown) => ({ model: 'm', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content }] });
    await assert.rejects(build(user([{ type: 'input_audio', input_audio: {} }])), invalidParameter('messages[2].content[0].type'));
    await assert.rejects(build(user([{ type: 'text', text: 'ok' }, 'bare string'])), invalidParameter('messages[2].content[1]'));
    await assert.rejects(build(user([{ type: 'image_url', image_url: {} }])), invalidParameter('messages[2].content[0].image_url.url'));
    await assert.rejects(build(user(42)), invalidParameter('messages[2].content'));
    await assert.rejects(
      build({ model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y' } }] }, ...hi] }),
      invalidParameter('messages[0].content[0]'),
    );
    await assert.rejects(build({ model: 'm', messages: ['hi'] }), invalidParameter('messages[0]'));
    await assert.rejects(build({ model: 'm', messages: hi, tools: [{ type: 'function', function: { name: 7 } }] }), invalidParameter('tools[0].function.name'));
    await assert.rejects(build({ model: 'm', messages: hi, tools: [{ type: 'retrieval' }] }), invalidParameter('tools[0]'));
    await assert.rejects(build({ model: 'm', messages: hi, tools: {} }), invalidParameter('tools'));
    const call = (fn: unknown, id: unknown = 't1') => ({
      model: 'm',
      messages: [...hi, { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: fn }] }],
    });
    await assert.rejects(build(call({ name: 'f', arguments: '[1,2]' })), invalidParameter('messages[1].tool_calls[0].function.arguments'));
    await assert.rejects(build(call({ arguments: '{}' })), invalidParameter('messages[1].tool_calls[0].function.name'));
    await assert.rejects(build(call({ name: 'f' }, 5)), invalidParameter('messages[1].tool_calls[0].id'));
    await assert.rejects(build(call('f')), invalidParameter('messages[1].tool_calls[0]'));
  });
});

describe('anthropic parseResponse', () => {
  const base = {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-20250514',
    stop_sequence: null,
  };

  test('text reply', () => {
    const before = Math.floor(Date.now() / 1000);
    const res = anthropicAdapter.parseResponse(
      {
        ...base,
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 'sig' },
          { type: 'text', text: 'Hello, ' },
          { type: 'text', text: 'world.' },
        ],
        stop_reason: 'end_turn',
        usage: { input_tokens: 10, output_tokens: 5 },
      },
      ctx(),
    );
    const created = res.created as number;
    assert.ok(created >= before && created <= Math.floor(Date.now() / 1000) + 1);
    assert.deepEqual(res, {
      id: 'msg_01',
      object: 'chat.completion',
      created,
      model: 'claude-sonnet-4-20250514',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello, world.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  });

  test('tool_use reply', () => {
    const res = anthropicAdapter.parseResponse(
      {
        ...base,
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris' } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 20, output_tokens: 8 },
      },
      ctx(),
    );
    const choice = (res.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.deepEqual(choice.message, {
      role: 'assistant',
      content: 'Checking.',
      tool_calls: [
        { id: 'toolu_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      ],
      refusal: null,
    });
  });

  test('tool_use only: content is null', () => {
    const res = anthropicAdapter.parseResponse(
      {
        ...base,
        content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 1, output_tokens: 1 },
      },
      ctx(),
    );
    const message = (res.choices as JsonObject[])[0]!.message as JsonObject;
    assert.equal(message.content, null);
    assert.equal((message.tool_calls as JsonObject[]).length, 1);
  });

  test('no tool_calls key when there are none', () => {
    const res = anthropicAdapter.parseResponse(
      { ...base, content: [], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 0 } },
      ctx(),
    );
    const message = (res.choices as JsonObject[])[0]!.message as JsonObject;
    assert.equal('tool_calls' in message, false);
    assert.equal(message.content, null);
  });

  test('finish_reason mapping', () => {
    const cases: Array<[unknown, string]> = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
      ['pause_turn', 'stop'],
      ['something_new', 'stop'],
      [null, 'stop'],
    ];
    for (const [stop_reason, expected] of cases) {
      const res = anthropicAdapter.parseResponse(
        { ...base, content: [{ type: 'text', text: 'x' }], stop_reason, usage: { input_tokens: 1, output_tokens: 1 } },
        ctx(),
      );
      assert.equal((res.choices as JsonObject[])[0]!.finish_reason, expected, String(stop_reason));
    }
  });

  test('cache tokens count as prompt tokens', () => {
    const res = anthropicAdapter.parseResponse(
      {
        ...base,
        content: [{ type: 'text', text: 'x' }],
        stop_reason: 'max_tokens',
        usage: { input_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 7 },
      },
      ctx(),
    );
    assert.deepEqual(res.usage, { prompt_tokens: 1105, completion_tokens: 7, total_tokens: 1112 });
    assert.equal((res.choices as JsonObject[])[0]!.finish_reason, 'length');
  });

  test('malformed bodies throw InvalidUpstreamResponse', () => {
    const bad: unknown[] = [
      null,
      'not json',
      42,
      [],
      { ...base, content: undefined },
      { ...base, type: 'error', content: [] },
      { ...base, type: undefined, content: [] },
      { ...base, content: 'text' },
    ];
    for (const body of bad) {
      assert.throws(() => anthropicAdapter.parseResponse(body, ctx()), InvalidUpstreamResponse, JSON.stringify(body));
    }
  });
});

describe('anthropic classifyError', () => {
  const err = (type: string, message = 'boom') => ({ type: 'error', error: { type, message }, request_id: 'req_1' });

  test('Anthropic error shape keeps message, code and type', () => {
    assert.deepEqual(anthropicAdapter.classifyError(429, err('rate_limit_error', 'Slow down'), {}), {
      errorClass: 'rate_limit',
      message: 'Slow down',
      code: 'rate_limit_error',
      type: 'rate_limit_error',
    });
  });

  test('classes by status and by error type', () => {
    const cases: Array<[number, unknown, string]> = [
      [429, err('rate_limit_error'), 'rate_limit'],
      [400, err('rate_limit_error'), 'rate_limit'],
      [429, 'Too Many Requests', 'rate_limit'],
      [401, err('authentication_error'), 'auth'],
      [403, err('permission_error'), 'auth'],
      [400, err('authentication_error'), 'auth'],
      [403, '', 'auth'],
      [404, err('not_found_error'), 'not_found'],
      [404, 'Not Found', 'not_found'],
      [408, 'Request Timeout', 'timeout'],
      [413, err('request_too_large'), 'bad_request'],
      [413, '<html>too large</html>', 'bad_request'],
      [500, err('api_error'), 'server'],
      [529, err('overloaded_error'), 'server'],
      [503, 'Service Unavailable', 'server'],
      [200, err('overloaded_error'), 'server'],
      [400, err('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'), 'context_length_exceeded'],
      [400, err('invalid_request_error', 'Input exceeds the model context window'), 'context_length_exceeded'],
      [400, err('invalid_request_error', 'The CONTEXT is Too Long'), 'context_length_exceeded'],
      [400, err('invalid_request_error', 'messages: field required'), 'bad_request'],
      [422, err('invalid_request_error', 'bad'), 'bad_request'],
      [402, err('billing_error', 'no credit'), 'bad_request'],
    ];
    for (const [status, body, expected] of cases) {
      assert.equal(anthropicAdapter.classifyError(status, body, {}).errorClass, expected, `${status} ${JSON.stringify(body)}`);
    }
  });

  test('non-Anthropic bodies: truncated text or a generic message, no code/type', () => {
    const text = anthropicAdapter.classifyError(502, '  Bad Gateway  ', {});
    assert.deepEqual(text, { errorClass: 'server', message: 'Bad Gateway' });

    const long = anthropicAdapter.classifyError(500, 'x'.repeat(2000), {});
    assert.ok(long.message.startsWith('x'.repeat(500)));
    assert.ok(long.message.length <= 501);

    assert.deepEqual(anthropicAdapter.classifyError(503, '', {}), {
      errorClass: 'server',
      message: 'Anthropic returned HTTP 503',
    });
    assert.deepEqual(anthropicAdapter.classifyError(400, { foo: 'bar' }, {}), {
      errorClass: 'bad_request',
      message: 'Anthropic returned HTTP 400',
    });
    assert.deepEqual(anthropicAdapter.classifyError(500, null, {}), {
      errorClass: 'server',
      message: 'Anthropic returned HTTP 500',
    });
  });

  test('a JSON error body passed as a string is still understood', () => {
    const res = anthropicAdapter.classifyError(529, JSON.stringify(err('overloaded_error', 'Overloaded')), {});
    assert.deepEqual(res, { errorClass: 'server', message: 'Overloaded', code: 'overloaded_error', type: 'overloaded_error' });
  });
});

describe('anthropic parseStreamEvent', () => {
  const parse = (type: string, data: unknown, state: StreamState, raw?: string): UnifiedChunk[] =>
    anthropicAdapter.parseStreamEvent!({ event: type, data: raw ?? JSON.stringify(data) }, state, ctx());

  const messageStart = {
    type: 'message_start',
    message: {
      id: 'msg_s1',
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'claude-sonnet-4-20250514',
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 25, cache_read_input_tokens: 100, output_tokens: 1 },
    },
  };

  test('full sequence: text, tool_use with input_json_delta, message_delta, message_stop with usage', () => {
    const state: StreamState = { includeUsage: true };
    const all: UnifiedChunk[] = [];
    const step = (type: string, data: unknown) => {
      const out = parse(type, data, state);
      all.push(...out);
      return out;
    };

    const start = step('message_start', messageStart);
    assert.equal(start.length, 1);
    const first = start[0]!;
    assert.equal(first.id, 'msg_s1');
    assert.equal(first.object, 'chat.completion.chunk');
    assert.equal(first.model, 'claude-sonnet-4-20250514');
    assert.equal(typeof first.created, 'number');
    assert.deepEqual(first.choices, [
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]);

    assert.deepEqual(step('ping', { type: 'ping' }), []);
    assert.deepEqual(step('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), []);
    const t1 = step('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } });
    assert.deepEqual((t1[0]!.choices as JsonObject[])[0], { index: 0, delta: { content: 'Hello' }, logprobs: null, finish_reason: null });
    const t2 = step('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } });
    assert.deepEqual(((t2[0]!.choices as JsonObject[])[0]!).delta, { content: ' there' });
    assert.deepEqual(step('content_block_stop', { type: 'content_block_stop', index: 0 }), []);

    const toolStart = step('content_block_start', {
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'toolu_s', name: 'get_weather', input: {} },
    });
    assert.deepEqual(((toolStart[0]!.choices as JsonObject[])[0]!).delta, {
      tool_calls: [{ index: 0, id: 'toolu_s', type: 'function', function: { name: 'get_weather', arguments: '' } }],
    });
    const j1 = step('content_block_delta', {
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json: '{"city":' },
    });
    assert.deepEqual(((j1[0]!.choices as JsonObject[])[0]!).delta, {
      tool_calls: [{ index: 0, function: { arguments: '{"city":' } }],
    });
    step('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } });
    assert.deepEqual(step('content_block_stop', { type: 'content_block_stop', index: 1 }), []);

    // A second tool gets tool index 1.
    const tool2 = step('content_block_start', {
      type: 'content_block_start',
      index: 2,
      content_block: { type: 'tool_use', id: 'toolu_t', name: 'get_time', input: {} },
    });
    const tool2Delta = ((tool2[0]!.choices as JsonObject[])[0]!).delta as JsonObject;
    assert.equal((tool2Delta.tool_calls as JsonObject[])[0]!.index, 1);
    const j2 = step('content_block_delta', {
      type: 'content_block_delta',
      index: 2,
      delta: { type: 'input_json_delta', partial_json: '{}' },
    });
    assert.deepEqual(((j2[0]!.choices as JsonObject[])[0]!).delta, { tool_calls: [{ index: 1, function: { arguments: '{}' } }] });

    const md = step('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 42 },
    });
    assert.deepEqual(md[0]!.choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }]);

    const stop = step('message_stop', { type: 'message_stop' });
    assert.equal(stop.length, 1);
    assert.deepEqual(stop[0], {
      id: 'msg_s1',
      object: 'chat.completion.chunk',
      created: first.created,
      model: 'claude-sonnet-4-20250514',
      choices: [],
      usage: { prompt_tokens: 125, completion_tokens: 42, total_tokens: 167 },
    });

    // Every chunk carries the same id/model/created.
    for (const c of all) {
      assert.equal(c.id, 'msg_s1');
      assert.equal(c.model, 'claude-sonnet-4-20250514');
      assert.equal(c.created, first.created);
    }
    const text = all
      .map((c) => ((c.choices as JsonObject[])[0]?.delta as JsonObject | undefined)?.content)
      .filter((s) => typeof s === 'string')
      .join('');
    assert.equal(text, 'Hello there');
  });

  test('message_delta maps stop reasons; message_stop emits nothing without includeUsage', () => {
    const state: StreamState = {};
    parse('message_start', messageStart, state);
    const md = parse('message_delta', { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 3 } }, state);
    assert.equal(((md[0]!.choices as JsonObject[])[0]!).finish_reason, 'length');
    assert.equal(state.completionTokens, 3);
    assert.deepEqual(parse('message_stop', { type: 'message_stop' }, state), []);
  });

  test('thinking deltas are ignored', () => {
    const state: StreamState = {};
    parse('message_start', messageStart, state);
    assert.deepEqual(
      parse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }, state),
      [],
    );
    assert.deepEqual(
      parse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } }, state),
      [],
    );
  });

  test('error events throw UpstreamStreamError with status and errorClass', () => {
    const cases: Array<[string, number, string]> = [
      ['overloaded_error', 529, 'server'],
      ['rate_limit_error', 429, 'rate_limit'],
      ['api_error', 500, 'server'],
    ];
    for (const [type, status, errorClass] of cases) {
      assert.throws(
        () => parse('error', { type: 'error', error: { type, message: `msg ${type}` } }, {}),
        (e: unknown) => {
          const err = e as Error & { status?: number; errorClass?: string };
          return (
            err instanceof Error &&
            err instanceof UpstreamStreamError &&
            err.name === 'UpstreamStreamError' &&
            err.message === `msg ${type}` &&
            err.status === status &&
            err.errorClass === errorClass &&
            err.upstreamCode === type
          );
        },
        type,
      );
    }
  });

  test('an error event without a type is a 500 server UpstreamStreamError with a generic message', () => {
    assert.throws(
      () => parse('error', { type: 'error', error: {} }, {}),
      (err: unknown) =>
        err instanceof UpstreamStreamError &&
        err.status === 500 &&
        err.errorClass === 'server' &&
        err.upstreamCode === undefined &&
        err.message === 'anthropic stream error',
    );
  });

  test('malformed data throws InvalidUpstreamResponse', () => {
    assert.throws(() => parse('content_block_delta', null, {}, '{"type": "content_block_delta", '), InvalidUpstreamResponse);
    assert.throws(() => parse('ping', null, {}, 'not json'), InvalidUpstreamResponse);
    assert.throws(() => parse('ping', null, {}, '"a string"'), InvalidUpstreamResponse);
  });
});
