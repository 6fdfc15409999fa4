/**
 * Usage is recorded for every stream (issue 11, item 1): the router asks an upstream that
 * reports usage only on request (OpenAI, Azure, ...) for it, waits for Anthropic's, and the
 * client's stream carries usage only when the client asked for it.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { RouterOptions } from '../../lib/index.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { sendChat, traceOf } from '../helpers/requests.js';
import { rawText, sseData } from '../helpers/sse.js';

const T = { timeout: 10_000 };

describe('usage on every stream', () => {
  let oai: Fake;
  let ant: Fake;
  let compat: Fake;
  before(async () => {
    [oai, ant, compat] = await Promise.all([startFake('openai', 'oai'), startFake('anthropic', 'ant'), startFake('openai', 'compat')]);
  });
  after(async () => {
    await Promise.all([oai.close(), ant.close(), compat.close()]);
  });
  beforeEach(() => {
    for (const f of [oai, ant, compat]) f.reset();
  });
  const options = (): RouterOptions => ({
    virtualKeys: {
      oai: { provider: 'openai', apiKey: 'k1', baseURL: oai.baseURL },
      ant: { provider: 'anthropic', apiKey: 'k2', baseURL: ant.baseURL },
      compat: { provider: 'openai-compatible', apiKey: 'k3', baseURL: compat.baseURL },
    },
  });
  const stream = async (vk: string, traceId: string, body: Record<string, unknown> = {}) => {
    const app = createApp(options());
    const res = await sendChat(app, { virtual_key: vk, override_params: { model: vk === 'ant' ? 'claude' : 'gpt-4o' } }, { stream: true, ...body }, traceId).buffer(true).parse(rawText);
    assert.equal(res.status, 200);
    const events = sseData(res.body);
    assert.equal(events.at(-1), '[DONE]');
    const trace = (await traceOf(app, traceId)).body;
    return { text: String(res.body), events: events.filter((e) => e !== '[DONE]'), trace };
  };

  test('OpenAI, client did not ask: the router asks, records the usage, and the client stream has none of it', T, async () => {
    oai.script({ kind: 'stream' });
    const { text, events, trace } = await stream('oai', 'u-1');
    assert.deepEqual(oai.received[0]!.body.stream_options, { include_usage: true }, 'asked upstream');
    assert.ok(!text.includes('usage'), text);
    assert.ok(events.every((e) => Array.isArray(e.choices) && e.choices.length > 0), 'no usage-only chunk');
    assert.deepEqual(trace.attempts[0].usage, { promptTokens: 11, completionTokens: 7, totalTokens: 18 });
  });

  test('OpenAI, client asked: the client gets its usage chunk, the upstream body is what the client sent', T, async () => {
    oai.script({ kind: 'stream' });
    const { events, trace } = await stream('oai', 'u-2', { stream_options: { include_usage: true } });
    assert.deepEqual(oai.received[0]!.body.stream_options, { include_usage: true });
    assert.deepEqual(events.at(-1).usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    assert.deepEqual(trace.attempts[0].usage, { promptTokens: 11, completionTokens: 7, totalTokens: 18 });
  });

  test('Anthropic, client did not ask: usage recorded from its own events, none in the client stream', T, async () => {
    ant.script({ kind: 'stream' });
    const { text, trace } = await stream('ant', 'u-3');
    assert.equal(ant.received[0]!.body.stream_options, undefined);
    assert.ok(!text.includes('usage'), text);
    assert.deepEqual(trace.attempts[0].usage, { promptTokens: 11, completionTokens: 7, totalTokens: 18 });
  });

  test('an OpenAI-compatible server of unknown make is not sent stream_options it did not ask for', T, async () => {
    compat.script({ kind: 'stream' });
    await stream('compat', 'u-4');
    assert.equal(compat.received[0]!.body.stream_options, undefined);
  });
});
