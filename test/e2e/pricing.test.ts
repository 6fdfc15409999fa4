/**
 * Costs end to end (issue 11): real Express apps and fake providers. The Azure fake answers
 * `gpt-4o-2024-08-06` whatever was asked, as Azure does; with the README's `pricing: { 'gpt-4o':
 * ... }` its attempts are priced. An attempt without a price is `unpriced` in the trace and in
 * GET /logs (never a false $0), `totals.unpricedAttempts` counts it, and the logger names its
 * provider/model once. A function works in place of the table.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import request from 'supertest';
import type { RouterOptions, Trace } from '../../lib/index.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const messages = [{ role: 'user', content: 'Say hello' }];
/** The fakes answer with 11 prompt and 7 completion tokens. */
const COST_GPT4O = (11 * 2.5 + 7 * 10) / 1e6;
const README_PRICING = { 'gpt-4o': { input: 2.5, output: 10 } };
const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12;
const noPriceLines = (lines: string[]): string[] => lines.filter((l) => l.includes('no price for') || l.includes('further ones are not reported'));

describe('pricing end to end', () => {
  let openai: Fake;
  let azure: Fake;
  let anthropic: Fake;
  before(async () => {
    [openai, azure, anthropic] = await Promise.all([startFake('openai'), startFake('azure'), startFake('anthropic')]);
  });
  after(async () => {
    await Promise.all([openai.close(), azure.close(), anthropic.close()]);
  });
  beforeEach(() => {
    openai.reset();
    azure.reset();
    anthropic.reset();
  });

  const app = (extra: Partial<RouterOptions> = {}) => {
    const logger = quietLogger();
    const a = createApp({
      providers: {
        openai: { apiKey: 'sk-openai', baseURL: openai.baseURL },
        azure_openai: { apiKey: 'azure-key', baseURL: azure.baseURL, deploymentId: 'gpt4o-deploy' },
        anthropic: { apiKey: 'sk-ant', baseURL: anthropic.baseURL },
      },
      auth: { apiKeys: ['gw'] },
      logger,
      ...extra,
    });
    return { a, logger };
  };
  const chat = (a: ReturnType<typeof createApp>, config: unknown, body: Record<string, unknown> = { model: 'gpt-4o', messages }) =>
    request(a).post('/v1/chat/completions').set('x-portkey-api-key', 'gw').set('x-portkey-config', JSON.stringify(config)).send(body);
  const traceOf = async (a: ReturnType<typeof createApp>, traceId: string): Promise<Trace> => {
    const res = await request(a).get(`/v1/logs/${encodeURIComponent(traceId)}`).set('x-portkey-api-key', 'gw');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Trace;
  };

  test("the README's pricing: { 'gpt-4o' } prices Azure's gpt-4o-2024-08-06", async () => {
    const { a, logger } = app({ pricing: README_PRICING });
    const res = await chat(a, { provider: 'azure-openai' });
    assert.equal(res.status, 200);
    assert.equal(res.body.model, 'gpt-4o-2024-08-06');
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    const [attempt] = trace.attempts;
    assert.equal(attempt!.model, 'gpt-4o-2024-08-06');
    assert.ok(close(attempt!.costUsd!, COST_GPT4O), String(attempt!.costUsd));
    assert.equal(attempt!.unpriced, undefined);
    assert.ok(close(trace.totals.costUsd, COST_GPT4O));
    assert.equal(trace.totals.unpricedAttempts, 0);
    assert.deepEqual(noPriceLines(logger.lines), []);
  });

  test('no price: the attempt is unpriced, the total counts it, the logger names the model once', async () => {
    const { a, logger } = app({ pricing: { 'claude-3-5-sonnet': { input: 3, output: 15 } } });
    openai.always({ kind: 'status', status: 503 });
    const config = { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'azure-openai' }] };
    const first = await chat(a, config);
    const second = await chat(a, config);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const trace = await traceOf(a, first.headers['x-portkey-trace-id']!);
    assert.deepEqual(
      trace.attempts.map((x) => [x.provider, x.model, x.status, x.costUsd, x.unpriced]),
      [
        ['openai', 'gpt-4o', 503, 0, undefined], // failed: billed nothing
        ['azure-openai', 'gpt-4o-2024-08-06', 200, undefined, true],
      ],
    );
    assert.equal(trace.totals.costUsd, 0);
    assert.equal(trace.totals.unpricedAttempts, 1, 'the $0 total is a lower bound, and says so');
    // The list route carries the same fields.
    const list = await request(a).get('/v1/logs?limit=1').set('x-portkey-api-key', 'gw');
    assert.equal(list.body.data[0].totals.unpricedAttempts, 1);
    assert.deepEqual(noPriceLines(logger.lines), [
      'express-llm-fallback: no price for azure-openai/gpt-4o-2024-08-06 (requested as gpt-4o) in options.pricing; its cost is unknown in traces',
    ]);
  });

  test('the served model has no price: the model the attempt asked for prices it', async () => {
    const { a, logger } = app({ pricing: { 'my-deployment-model': { input: 1_000_000, output: 0 } } });
    const res = await chat(a, { provider: 'azure-openai', override_params: { model: 'my-deployment-model' } });
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    const attempt = trace.attempts[0]!;
    assert.equal(attempt.model, 'gpt-4o-2024-08-06', 'the model that served');
    assert.equal(attempt.unpriced, undefined);
    assert.equal(attempt.costUsd, attempt.usage!.promptTokens, 'priced at the requested model: $1 a prompt token');
    assert.deepEqual(noPriceLines(logger.lines), []);
  });

  test('without a pricing option: unpriced in the trace, no warning', async () => {
    const { a, logger } = app();
    const res = await chat(a, { provider: 'azure-openai' });
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.equal(trace.attempts[0]!.unpriced, true);
    assert.equal(trace.attempts[0]!.costUsd, undefined);
    assert.deepEqual([trace.totals.costUsd, trace.totals.unpricedAttempts], [0, 1]);
    assert.deepEqual(noPriceLines(logger.lines), []);
  });

  test('a function: called with the canonical provider and the served model, once per pair', async () => {
    const calls: string[] = [];
    const { a, logger } = app({
      pricing: (provider, model) => {
        calls.push(`${provider} ${model}`);
        return model.startsWith('gpt-4o') ? { input: 2.5, output: 10 } : undefined;
      },
    });
    for (let i = 0; i < 3; i++) {
      const res = await chat(a, { provider: 'azure_openai' });
      const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
      assert.ok(close(trace.totals.costUsd, COST_GPT4O));
    }
    assert.deepEqual(calls, ['azure-openai gpt-4o-2024-08-06']);
    assert.deepEqual(noPriceLines(logger.lines), []);
  });

  test('a provider prefix on the served model (an OpenRouter-style answer) is stripped', async () => {
    const { a } = app({ pricing: README_PRICING });
    openai.script({
      kind: 'ok',
      body: {
        id: 'gen-1',
        object: 'chat.completion',
        created: 1_700_000_000,
        model: 'openai/gpt-4o-2024-08-06',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
      },
    });
    const res = await chat(a, { provider: 'openai' }, { model: 'openai/gpt-4o', messages });
    assert.equal(res.status, 200);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    assert.equal(trace.attempts[0]!.model, 'openai/gpt-4o-2024-08-06');
    assert.ok(close(trace.attempts[0]!.costUsd!, COST_GPT4O));
  });

  test('a stream of a dated Anthropic model is priced by its provider/model family key', async () => {
    const { a } = app({ pricing: { 'anthropic/claude-3-5-sonnet': { input: 3, output: 15 }, 'claude-3-5-sonnet': { input: 99, output: 99 } } });
    anthropic.script({ kind: 'stream' });
    const res = await chat(a, { provider: 'anthropic' }, { model: 'claude-3-5-sonnet-20240620', messages, max_tokens: 50, stream: true });
    assert.equal(res.status, 200);
    assert.match(res.text, /data: \[DONE\]/);
    const trace = await traceOf(a, res.headers['x-portkey-trace-id']!);
    const attempt = trace.attempts[0]!;
    assert.ok(attempt.usage && attempt.usage.promptTokens > 0, JSON.stringify(attempt));
    const expected = (attempt.usage.promptTokens * 3 + attempt.usage.completionTokens * 15) / 1e6;
    assert.ok(close(attempt.costUsd!, expected), `${attempt.costUsd} vs ${expected}`);
    assert.equal(trace.totals.unpricedAttempts, 0);
  });
});
