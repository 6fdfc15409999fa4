/**
 * The Mistral adapter (`mistral-ai`): its request rewrite (renamed and refused fields, tool call
 * ids in Mistral's nine-character format), its replies and stream chunks (its own finish reasons
 * and content arrays), and its error bodies, each shaped as Mistral's API reference documents
 * them. No HTTP: buildRequest / parseResponse / parseStreamEvent / classifyError are called directly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidUpstreamResponse, RequestError, UpstreamStreamError } from '../../lib/errors.js';
import { MISTRAL_BRIDGE_TURN, classifyMistralError, mistralAdapter, mistralToolCallIds, transformMistralBody } from '../../lib/providers/mistral.js';
import { builtinAdapters, canonicalProvider } from '../../lib/providers/registry.js';
import type { Endpoint, JsonObject, ParseContext, ResolvedTarget, StreamState, UnifiedRequest } from '../../lib/providers/types.js';

const MISTRAL_ID = /^[A-Za-z0-9]{9}$/;

function target(overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider: 'mistral-ai', apiKey: 'mistral-test-key', headers: {}, settings: {}, ...overrides };
}

function request(body: JsonObject, endpoint: Endpoint = 'chat'): UnifiedRequest {
  return { endpoint, body, stream: body.stream === true };
}

/** The body Mistral would receive for an OpenAI body. */
function sent(body: JsonObject, endpoint: Endpoint = 'chat'): JsonObject {
  return mistralAdapter.buildRequest(request(body, endpoint), target()).body as JsonObject;
}

function ctx(body: JsonObject = { model: 'mistral-large-latest', messages: [] }, endpoint: Endpoint = 'chat'): ParseContext {
  return { request: request(body, endpoint), target: target(), status: 200 };
}

/** Checks the error is the 400 `invalid_parameter` RequestError naming `param`. */
function invalidParameter(param: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_parameter');
    assert.equal(err.param, param);
    return true;
  };
}

/** An assistant turn that called `ids`, then one tool result per id. */
function toolHistory(ids: readonly string[]): JsonObject[] {
  return [
    { role: 'user', content: 'weather?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: ids.map((id) => ({ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })),
    },
    ...ids.map((id) => ({ role: 'tool', tool_call_id: id, content: `result for ${id}` })),
  ];
}

function callIds(body: JsonObject): { calls: string[]; results: string[] } {
  const messages = body.messages as JsonObject[];
  const assistant = messages.find((m) => m.role === 'assistant' && Array.isArray(m.tool_calls))!;
  const calls = (assistant.tool_calls as JsonObject[]).map((c) => c.id as string);
  const results = messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id as string);
  return { calls, results };
}

describe('mistral adapter: identity and registry', () => {
  test('name, endpoints, stream usage, and the registry entry under its spellings', () => {
    assert.equal(mistralAdapter.name, 'mistral-ai');
    assert.deepEqual([...mistralAdapter.endpoints].sort(), ['chat', 'embedding']);
    assert.equal(mistralAdapter.streamUsage, 'always');
    assert.equal(builtinAdapters().get('mistral-ai'), mistralAdapter);
    assert.equal(canonicalProvider('Mistral'), 'mistral-ai');
  });

  test('URL, default and replaced base, and the bearer key', () => {
    const chat = mistralAdapter.buildRequest(request({ model: 'm', messages: [] }), target());
    assert.equal(chat.url, 'https://api.mistral.ai/v1/chat/completions');
    assert.equal(chat.headers.authorization, 'Bearer mistral-test-key');
    const embed = mistralAdapter.buildRequest(request({ model: 'mistral-embed', input: 'x' }, 'embedding'), target({ baseURL: 'http://127.0.0.1:9/v1/' }));
    assert.equal(embed.url, 'http://127.0.0.1:9/v1/embeddings');
  });
});

describe('mistral request: renamed and dropped fields', () => {
  test('seed -> random_seed, max_completion_tokens -> max_tokens, required -> any, developer -> system', () => {
    const body = sent({
      model: 'mistral-large-latest',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      seed: 42,
      max_completion_tokens: 100,
      max_tokens: 7,
      tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    });
    assert.equal(body.random_seed, 42);
    assert.equal('seed' in body, false);
    assert.equal(body.max_tokens, 100, 'the newer OpenAI name wins');
    assert.equal('max_completion_tokens' in body, false);
    assert.equal(body.tool_choice, 'any');
    assert.deepEqual((body.messages as JsonObject[])[0], { role: 'system', content: 'be brief' });
  });

  test("Mistral's own fields pass through: safe_prompt, random_seed (over seed), prediction, metadata", () => {
    const body = sent({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      safe_prompt: true,
      random_seed: 1,
      seed: 2,
      prediction: { type: 'content', content: 'x' },
      metadata: { team: 'a' },
      max_tokens: 5,
    });
    assert.equal(body.safe_prompt, true);
    assert.equal(body.random_seed, 1);
    assert.deepEqual(body.prediction, { type: 'content', content: 'x' });
    assert.deepEqual(body.metadata, { team: 'a' });
    assert.equal(body.max_tokens, 5);
  });

  test('other tool_choice values are left as they are', () => {
    for (const choice of ['auto', 'none', 'any', { type: 'function', function: { name: 'f' } }]) {
      assert.deepEqual(sent({ model: 'm', messages: [], tool_choice: choice }).tool_choice, choice);
    }
  });

  test('OpenAI-only fields Mistral refuses are dropped, at the top and in messages', () => {
    const body = sent({
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      store: true,
      logit_bias: { '1': 2 },
      user: 'u1',
      service_tier: 'auto',
      logprobs: true,
      top_logprobs: 2,
      modalities: ['text'],
      messages: [
        { role: 'user', name: 'ann', content: 'hi' },
        { role: 'assistant', content: 'hello', refusal: null, annotations: [] },
        { role: 'tool', name: 'f', tool_call_id: 'abcDEF123', content: 'r' },
      ],
    });
    for (const key of ['stream_options', 'store', 'logit_bias', 'user', 'service_tier', 'logprobs', 'top_logprobs', 'modalities']) {
      assert.equal(key in body, false, key);
    }
    assert.equal(body.stream, true);
    assert.deepEqual(body.messages, [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'tool', name: 'f', tool_call_id: 'abcDEF123', content: 'r' },
    ]);
  });

  test('a user or system message right after a tool result gets an assistant turn before it', () => {
    const messages = [...toolHistory(['abcDEF123']), { role: 'user', content: 'and tomorrow?' }, { role: 'assistant', content: 'Sunny.' }, { role: 'user', content: 'thanks' }];
    const roles = (sent({ model: 'm', messages }).messages as JsonObject[]).map((m) => m.role);
    assert.deepEqual(roles, ['user', 'assistant', 'tool', 'assistant', 'user', 'assistant', 'user']);
    const bridged = (sent({ model: 'm', messages }).messages as JsonObject[])[3]!;
    assert.deepEqual(bridged, MISTRAL_BRIDGE_TURN);
    const developer = (sent({ model: 'm', messages: [...toolHistory(['abcDEF123']), { role: 'developer', content: 'x' }] }).messages as JsonObject[]).map((m) => m.role);
    assert.deepEqual(developer, ['user', 'assistant', 'tool', 'assistant', 'system']);
    const toolsInRow = (sent({ model: 'm', messages: toolHistory(['abcDEF123', 'Z9y8X7w6V']) }).messages as JsonObject[]).map((m) => m.role);
    assert.deepEqual(toolsInRow, ['user', 'assistant', 'tool', 'tool'], 'tool after tool, and a last tool result, need no bridge');
  });

  test('function tools get the parameters Mistral requires; given ones are kept', () => {
    const params = { type: 'object', properties: { city: { type: 'string' } } };
    const body = sent({
      model: 'm',
      messages: [],
      tools: [
        { type: 'function', function: { name: 'now' } },
        { type: 'function', function: { name: 'weather', description: 'w', parameters: params, strict: true } },
      ],
    });
    assert.deepEqual(body.tools, [
      { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
      { type: 'function', function: { name: 'weather', description: 'w', parameters: params, strict: true } },
    ]);
  });

  test('embeddings: dimensions -> output_dimension, user dropped, input and encoding_format kept', () => {
    const body = sent({ model: 'mistral-embed', input: ['a', 'b'], dimensions: 256, user: 'u', encoding_format: 'float' }, 'embedding');
    assert.deepEqual(body, { model: 'mistral-embed', input: ['a', 'b'], output_dimension: 256, encoding_format: 'float' });
  });

  test('never mutates the client body', () => {
    const original: JsonObject = {
      model: 'm',
      seed: 3,
      stream_options: { include_usage: true },
      messages: [...toolHistory(['call_1']), { role: 'developer', content: 'x' }],
    };
    const copy = structuredClone(original);
    sent(original);
    assert.deepEqual(original, copy);
  });

  test('bad input is refused naming the field', () => {
    const cases: Array<[JsonObject, string]> = [
      [{ model: 'm', messages: [], seed: 'abc' }, 'seed'],
      [{ model: 'm', messages: [], max_completion_tokens: '100' }, 'max_completion_tokens'],
      [{ model: 'm', messages: ['hi'] }, 'messages[0]'],
      [{ model: 'm', messages: [{ role: 'assistant', tool_calls: {} }] }, 'messages[0].tool_calls'],
      [{ model: 'm', messages: [{ role: 'assistant', tool_calls: ['x'] }] }, 'messages[0].tool_calls[0]'],
      [{ model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 12, function: { name: 'f' } }] }] }, 'messages[0].tool_calls[0].id'],
      [{ model: 'm', messages: [{ role: 'tool', tool_call_id: { id: 'x' }, content: 'r' }] }, 'messages[0].tool_call_id'],
    ];
    for (const [body, param] of cases) assert.throws(() => sent(body), invalidParameter(param), param);
    assert.throws(() => sent({ model: 'mistral-embed', input: 'x', dimensions: 'big' }, 'embedding'), invalidParameter('dimensions'));
    assert.throws(
      () => sent({ model: 'm' }),
      (err: unknown) => err instanceof RequestError && err.code === 'missing_parameter' && err.param === 'messages',
    );
  });
});

describe('mistral request: tool call ids', () => {
  test('valid ids (nine letters or digits) are left alone', () => {
    const body = sent({ model: 'm', messages: toolHistory(['abcDEF123', 'Z9y8X7w6V']) });
    assert.deepEqual(callIds(body), { calls: ['abcDEF123', 'Z9y8X7w6V'], results: ['abcDEF123', 'Z9y8X7w6V'] });
  });

  test('other ids are rewritten to valid ones, the same on the call and on its result', () => {
    const originals = ['call_abc123', 'toolu_01A09q90qw90lq917835lq9', 'abcDEF12', 'abcDEF1234', 'tool-call-1', ''];
    const { calls, results } = callIds(sent({ model: 'm', messages: toolHistory(originals) }));
    for (const id of calls) assert.match(id, MISTRAL_ID);
    assert.deepEqual(results, calls, 'each tool result keeps pointing at its call');
    assert.equal(new Set(calls).size, originals.length, 'different originals get different ids');
  });

  test('deterministic: the same original gives the same id in every request', () => {
    const a = callIds(sent({ model: 'm', messages: toolHistory(['call_abc123', 'call_def456']) }));
    const b = callIds(sent({ model: 'm', messages: [{ role: 'system', content: 'x' }, ...toolHistory(['call_abc123'])] }));
    assert.equal(a.calls[0], b.calls[0]);
    assert.notEqual(a.calls[0], a.calls[1]);
  });

  test('a tool result that comes before its call, or without one, maps the same way', () => {
    const mapId = mistralToolCallIds([]);
    const messages: JsonObject[] = [
      { role: 'tool', tool_call_id: 'orphan_result', content: 'r' },
      ...toolHistory(['orphan_result']),
    ];
    const body = sent({ model: 'm', messages });
    const first = (body.messages as JsonObject[])[0]!.tool_call_id;
    assert.equal(first, mapId('orphan_result'));
    assert.deepEqual(callIds(body), { calls: [first as string], results: [first as string, first as string] });
  });

  test('never collides with a valid id the request already holds, nor between rewritten ones', () => {
    const natural = mistralToolCallIds([])('call_abc123');
    const { calls, results } = callIds(sent({ model: 'm', messages: toolHistory([natural, 'call_abc123']) }));
    assert.equal(calls[0], natural, 'the valid id is untouched');
    assert.match(calls[1]!, MISTRAL_ID);
    assert.notEqual(calls[1], natural, 'the rewritten id steps around it');
    assert.deepEqual(results, calls);

    const many = Array.from({ length: 5000 }, (_, k) => `call_${k}`);
    const mapId = mistralToolCallIds([]);
    const mapped = many.map(mapId);
    assert.equal(new Set(mapped).size, many.length);
    assert.deepEqual(many.map(mapId), mapped, 'asked again, the same answers');
  });
});

describe('mistral replies and stream chunks', () => {
  const reply = (choice: JsonObject): JsonObject => ({
    id: 'cmpl-1',
    object: 'chat.completion',
    created: 1759500534,
    model: 'mistral-large-latest',
    choices: [{ index: 0, ...choice }],
    usage: { prompt_tokens: 24, completion_tokens: 27, total_tokens: 51 },
  });

  test('an OpenAI-shaped reply passes, with Mistral tool call ids kept', () => {
    const body = reply({
      message: { role: 'assistant', content: '', tool_calls: [{ id: 'D681PevKs', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      finish_reason: 'tool_calls',
    });
    const out = mistralAdapter.parseResponse(structuredClone(body), ctx());
    assert.deepEqual(out, body);
  });

  test('model_length is length; a content array (reasoning models) is its text', () => {
    const out = mistralAdapter.parseResponse(
      reply({
        message: { role: 'assistant', content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'hmm' }] }, { type: 'text', text: 'Paris' }] },
        finish_reason: 'model_length',
      }),
      ctx(),
    );
    const choice = (out.choices as JsonObject[])[0]!;
    assert.equal(choice.finish_reason, 'length');
    assert.equal((choice.message as JsonObject).content, 'Paris');
  });

  test('finish_reason error is a 500 server failure; a body without choices is invalid', () => {
    assert.throws(
      () => mistralAdapter.parseResponse(reply({ message: { role: 'assistant', content: 'x' }, finish_reason: 'error' }), ctx()),
      (err: unknown) => err instanceof UpstreamStreamError && err.status === 500 && err.errorClass === 'server',
    );
    assert.throws(() => mistralAdapter.parseResponse({ id: 'x' }, ctx()), InvalidUpstreamResponse);
  });

  test('an embedding list passes as it is', () => {
    const body = { id: 'e', object: 'list', data: [{ object: 'embedding', embedding: [0.1], index: 0 }], model: 'mistral-embed', usage: { prompt_tokens: 2, total_tokens: 2, completion_tokens: 0 } };
    assert.deepEqual(mistralAdapter.parseResponse(structuredClone(body), ctx({ model: 'mistral-embed', input: 'x' }, 'embedding')), body);
  });

  test('stream: chunks pass; the usage on the last one becomes a usage chunk; content arrays and model_length are mapped', () => {
    const state: StreamState = { includeUsage: true };
    const parse = (data: JsonObject | string) =>
      mistralAdapter.parseStreamEvent!({ data: typeof data === 'string' ? data : JSON.stringify(data) }, state, ctx({ model: 'm', messages: [], stream: true }));
    const head = { id: 'cmpl-2', object: 'chat.completion.chunk', created: 1702637377, model: 'mistral-small' };
    assert.deepEqual(parse({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }), [
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    ]);
    const [thinking] = parse({ ...head, choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'It' }] }, finish_reason: null }] });
    assert.equal(((thinking!.choices as JsonObject[])[0]!.delta as JsonObject).content, 'It');
    const usage = { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 };
    const last = { ...head, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'model_length' }], usage };
    // Mistral's usage rides on the finish chunk; OpenAI's comes after it, in a chunk of its own.
    assert.deepEqual(parse(last), [
      { ...head, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'length' }] },
      { ...head, choices: [], usage },
    ]);
    state.includeUsage = false;
    assert.deepEqual(parse(last), [{ ...head, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'length' }] }], 'no usage unless asked');
    state.includeUsage = true;
    assert.deepEqual(parse('[DONE]'), []);
    assert.throws(() => parse({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'error' }] }), UpstreamStreamError);
    assert.throws(() => parse('{not json'), InvalidUpstreamResponse);
  });
});

describe('mistral errors', () => {
  test("the documented body {object:'error', message, type, param, code}", () => {
    const body = { object: 'error', message: 'Invalid model: mistral-huge', type: 'invalid_request_error', param: 'model', code: 'unknown_model' };
    assert.deepEqual(classifyMistralError(400, body), {
      errorClass: 'bad_request',
      message: 'Invalid model: mistral-huge',
      code: 'unknown_model',
      type: 'invalid_request_error',
      param: 'model',
    });
    assert.deepEqual(mistralAdapter.classifyError(400, body, {}), classifyMistralError(400, body));
  });

  test('a 422 {detail:[{loc, msg, type}]}: the first entry, its loc as the param', () => {
    const body = {
      detail: [
        { type: 'missing', loc: ['body', 'messages', 0, 'content'], msg: 'Field required', input: {} },
        { type: 'extra_forbidden', loc: ['body', 'foo'], msg: 'Extra inputs are not permitted' },
      ],
    };
    const out = classifyMistralError(422, body);
    assert.equal(out.errorClass, 'bad_request');
    assert.equal(out.param, 'messages[0].content');
    assert.equal(out.code, 'missing');
    assert.equal(out.message, 'messages[0].content: Field required (and 1 more)');
  });

  test('a 422 wrapped in an error object (stream_options refused)', () => {
    const body = {
      object: 'error',
      message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'stream_options', 'include_usage'], msg: 'Extra inputs are not permitted', input: true }] },
      type: 'invalid_request_error',
      param: null,
      code: null,
    };
    const out = classifyMistralError(422, body);
    assert.equal(out.param, 'stream_options.include_usage');
    assert.equal(out.code, 'extra_forbidden');
    assert.equal(out.message, 'stream_options.include_usage: Extra inputs are not permitted');
  });

  test('statuses and messages to classes', () => {
    const cases: Array<[number, unknown, string]> = [
      [401, { message: 'Unauthorized', request_id: 'r1' }, 'auth'],
      [403, { object: 'error', message: 'forbidden', type: 'invalid_request_error', param: null, code: null }, 'auth'],
      [404, { object: 'error', message: 'Model not found', type: 'invalid_request_error', param: null, code: '1500' }, 'not_found'],
      [429, { object: 'error', message: 'Requests rate limit exceeded', type: 'rate_limit_error', param: null, code: null }, 'rate_limit'],
      [500, 'upstream connect error', 'server'],
      [503, { detail: 'Service unavailable' }, 'server'],
      [400, { object: 'error', message: 'Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length', type: 'invalid_request_error', param: null, code: '3051' }, 'context_length_exceeded'],
      [400, { error: { message: "This model's maximum context length is 32768 tokens", type: 'invalid_request_error', code: 'context_length_exceeded' } }, 'context_length_exceeded'],
      [400, { object: 'error', message: 'Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.', type: 'invalid_function_call', param: null, code: '3280' }, 'bad_request'],
      [403, { error: { message: 'Content blocked by guardrail', status: 403 }, guardrails: { results: { moderation_llm_v2: { violated: true, action: 'block' } } } }, 'content_filter'],
      [403, { object: 'Error', message: 'Request blocked due to error in guardrail evaluation and block_on_error is set to True.', type: 'invalid_request_error', code: 3201, guardrails: [] }, 'server'],
    ];
    for (const [status, body, errorClass] of cases) assert.equal(classifyMistralError(status, body).errorClass, errorClass, JSON.stringify(body));
    assert.equal(classifyMistralError(503, { detail: 'Service unavailable' }).message, 'Service unavailable');
    assert.equal(classifyMistralError(502, '').message, 'mistral-ai returned HTTP 502');
    assert.equal(classifyMistralError(400, { object: 'error', message: 'x', type: 't', param: null, code: '3280' }).code, '3280');
    assert.equal(classifyMistralError(403, { object: 'Error', message: 'blocked', code: 3201 }).code, '3201', 'a numeric code as text');
  });
});

describe('mistral transformMistralBody', () => {
  test('is the spec hook: what buildRequest sends', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], seed: 1 };
    assert.deepEqual(transformMistralBody(body, request(body)), sent(body));
  });
});
