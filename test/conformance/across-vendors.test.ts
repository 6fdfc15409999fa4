/**
 * Fallback chains across vendors (issue #12): one router holding every provider of the
 * conformance table, each on its own fake, and chains that cross wire formats, JSON and streamed.
 * A conversation whose tool calls one provider made continues on another (ids and names carried
 * across), a stream fails over from a binary event stream to SSE, and the trace credits each
 * attempt to the provider that made it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import type { ProvidersOptions, Trace } from '../../lib/index.js';
import type { ConformanceFake } from '../helpers/conformance/types.js';
import { createApp } from '../helpers/create-app.js';
import { traceOf } from '../helpers/requests.js';
import { joinedContent, rawText, sseData } from '../helpers/sse.js';
import { loadTable, type Row } from './rows.js';

const table = loadTable();
const NEEDED = ['google', 'vertex-ai', 'bedrock', 'cohere', 'mistral-ai', 'anthropic', 'openai'] as const;
type Needed = (typeof NEEDED)[number];

describe('fallback chains across vendors', () => {
  const rows = new Map<string, Row>(table.rows.map((r) => [r.provider, r]));
  const fakes = new Map<Needed, ConformanceFake>();
  let app: ReturnType<typeof createApp>;

  before(async () => {
    for (const name of NEEDED) assert.ok(rows.has(name), `the conformance table has a ${name} row`);
    const providers: Record<string, unknown> = {};
    for (const name of NEEDED) {
      const row = rows.get(name)!;
      const fake = await row.start();
      fakes.set(name, fake);
      providers[name] = row.providerOptions(fake);
    }
    app = createApp({ providers: providers as ProvidersOptions });
  });
  after(async () => {
    await Promise.all([...fakes.values()].map((f) => f.close()));
  });

  const fake = (name: Needed): ConformanceFake => fakes.get(name)!;
  const target = (name: Needed) => ({ provider: name, override_params: { model: rows.get(name)!.model }, request_timeout: 2000 });
  const chain = (...names: Needed[]) => ({ strategy: { mode: 'fallback' }, targets: names.map(target) });
  const reset = (): void => {
    for (const f of fakes.values()) f.reset();
  };

  async function send(config: unknown, body: Record<string, unknown>) {
    const traceId = randomUUID();
    const req = request(app).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).set('x-portkey-trace-id', traceId).send(body);
    const res = body.stream === true ? await req.buffer(true).parse(rawText) : await req;
    const trace = (await traceOf(app, traceId)).body as Trace;
    return { res, trace };
  }
  const attempts = (t: Trace) => t.attempts.map((a) => [a.provider, a.status, a.errorClass ?? null, a.served]);

  test('Gemini 503, Bedrock 429, Cohere streams the answer: each failure in its own wire format, one clean stream', async () => {
    reset();
    fake('google').script({ kind: 'error', error: 'unavailable' });
    fake('bedrock').script({ kind: 'error', error: 'rate_limit' });
    fake('cohere').script({ kind: 'stream-text', pieces: ['Served', ' by', ' Cohere'], usage: { input: 4, output: 3 } });
    const { res, trace } = await send(chain('google', 'bedrock', 'cohere'), {
      model: 'any',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Hello?' }],
    });
    assert.equal(res.status, 200);
    const events = sseData(String(res.body));
    assert.equal(joinedContent(events), 'Served by Cohere');
    assert.equal(events.at(-1), '[DONE]');
    assert.deepEqual(events.filter((e) => e !== '[DONE]' && e.usage).map((e) => e.usage.total_tokens), [7]);
    assert.deepEqual(attempts(trace), [
      ['google', 503, 'server', false],
      ['bedrock', 429, 'rate_limit', false],
      ['cohere', 200, null, true],
    ]);
    assert.deepEqual([fake('google'), fake('bedrock'), fake('cohere')].map((f) => f.received.length), [1, 1, 1]);
  });

  test('Cohere 500 mid-chain, Bedrock streams over its binary event stream', async () => {
    reset();
    fake('cohere').script({ kind: 'error', error: 'server' });
    fake('bedrock').script({ kind: 'stream-text', pieces: ['Binary', ' frames', ' to SSE'] });
    const { res, trace } = await send(chain('cohere', 'bedrock'), { model: 'any', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(res.status, 200);
    assert.equal(joinedContent(sseData(String(res.body))), 'Binary frames to SSE');
    assert.deepEqual(attempts(trace), [
      ['cohere', 500, 'server', false],
      ['bedrock', 200, null, true],
    ]);
  });

  test("a conversation with OpenAI's tool calls continues on Mistral (ids rewritten), Gemini (names) and Bedrock (ids)", async () => {
    const history = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_Xy12_openai-style-id', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_Xy12_openai-style-id', content: '{"temp":21}' },
      { role: 'user', content: 'And tomorrow?' },
    ];
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    for (const [failing, serving] of [
      ['openai', 'mistral-ai'],
      ['mistral-ai', 'google'],
      ['google', 'bedrock'],
      ['bedrock', 'vertex-ai'],
      ['vertex-ai', 'anthropic'],
    ] as const) {
      reset();
      fake(failing).script({ kind: 'error', error: 'unavailable' });
      fake(serving).script({ kind: 'text', text: `Sunny, says ${serving}` });
      const { res, trace } = await send(chain(failing, serving), { model: 'any', messages: history, tools });
      assert.equal(res.status, 200, `${failing} -> ${serving}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.choices[0].message.content, `Sunny, says ${serving}`);
      assert.deepEqual(trace.attempts.map((a) => a.provider), [failing, serving]);
      const seen = fake(serving).decode();
      assert.equal(seen.system, 'Be brief.', serving);
      const call = seen.messages.find((m) => m.role === 'assistant')?.toolCalls?.[0];
      const result = seen.messages.find((m) => m.role === 'tool');
      assert.deepEqual([call?.name, call?.arguments], ['get_weather', { city: 'Paris' }], serving);
      assert.match(result?.text ?? '', /"temp":\s*21/, serving);
      if (rows.get(serving)!.supports.toolCallIds) assert.equal(result?.toolCallId, call?.id, `${serving}: the result answers the call it follows`);
      if (serving === 'mistral-ai') assert.match(call?.id ?? '', /^[A-Za-z0-9]{9}$/, "Mistral's own id form");
      if (rows.get(serving)!.supports.toolNames) assert.equal(result?.toolName, 'get_weather', serving);
      assert.equal(seen.messages.at(-1)?.text, 'And tomorrow?', serving);
    }
  });

  test('a tool call made by Gemini comes back in OpenAI form and is accepted by Anthropic on the next turn', async () => {
    reset();
    fake('google').script({ kind: 'tool', id: 'ignored-by-gemini', name: 'get_weather', arguments: { city: 'Lyon' } });
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const first = await send(target('google'), { model: 'any', tools, messages: [{ role: 'user', content: 'Weather in Lyon?' }] });
    assert.equal(first.res.status, 200, JSON.stringify(first.res.body));
    const message = first.res.body.choices[0].message;
    assert.equal(first.res.body.choices[0].finish_reason, 'tool_calls');
    const call = message.tool_calls[0];
    assert.match(call.id, /^\S+$/, 'an id the client can answer');
    fake('anthropic').script({ kind: 'text', text: 'Lyon: 18 degrees' });
    const second = await send(target('anthropic'), {
      model: 'any',
      tools,
      messages: [{ role: 'user', content: 'Weather in Lyon?' }, message, { role: 'tool', tool_call_id: call.id, content: '{"temp":18}' }],
    });
    assert.equal(second.res.status, 200, JSON.stringify(second.res.body));
    const seen = fake('anthropic').decode();
    const sent = seen.messages.find((m) => m.role === 'assistant')?.toolCalls?.[0];
    assert.deepEqual([sent?.id, sent?.name, sent?.arguments], [call.id, 'get_weather', { city: 'Lyon' }]);
    assert.equal(seen.messages.find((m) => m.role === 'tool')?.toolCallId, call.id);
  });
});
