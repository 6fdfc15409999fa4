/**
 * Price lookup (issue 11): dated snapshots and variants priced by their base model (longest
 * prefix at a boundary), provider/model before model, provider prefixes stripped, the requested
 * model as a fallback, a function instead of a table, one cached lookup per (provider, model);
 * the unpriced state (never a false $0), `totals.unpricedAttempts`, and one bounded warning per
 * unpriced model through the logger.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttemptRecord } from '../../lib/engine/outcome.js';
import { parseOptions } from '../../lib/options.js';
import { OptionsError } from '../../lib/errors.js';
import { MAX_TRACE_ATTEMPTS } from '../../lib/trace/bounds.js';
import { createPriceLookup, normalisePricing, strippedNames, type Price, type PricingFunction } from '../../lib/trace/pricing.js';
import { attemptPricing, buildTrace, createTraceRecorder, type TraceAttemptInput, type TraceInput } from '../../lib/trace/recorder.js';
import { quietLogger } from '../helpers/create-app.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });
const price = (input: number, output = input): Price => ({ input, output });
const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function input(attempts: TraceAttemptInput[], over: Partial<TraceInput> = {}): TraceInput {
  return { traceId: 't-1', configId: 'c', endpoint: 'chat', stream: false, startedAt: T0, status: 200, attempts, ...over };
}
function answered(provider: string, model: string | undefined, u = usage(1_000_000, 0), over: Partial<TraceAttemptInput> = {}): TraceAttemptInput {
  return { path: 'config', provider, ...(model !== undefined ? { model } : {}), status: 200, retry: 0, startedAt: T0, latencyMs: 1, usage: u, ...over };
}

describe('table lookup: snapshots, variants, boundaries', () => {
  const table = {
    'gpt-4o': price(2.5, 10),
    'gpt-4o-mini': price(0.15, 0.6),
    'gpt-4': price(30, 60),
    'claude-3-5-sonnet': price(3, 15),
    llama3: price(0.1),
    'gemini-1.5-pro': price(1.25, 5),
  };
  const lookup = createPriceLookup(table);
  const of = (model: string, provider = 'openai') => lookup.priceOf(provider, model);

  test('a key prices its exact model and its dated snapshots', () => {
    assert.deepEqual(of('gpt-4o'), price(2.5, 10));
    assert.deepEqual(of('gpt-4o-2024-08-06'), price(2.5, 10));
    assert.deepEqual(of('gpt-4o-2024-05-13'), price(2.5, 10));
    assert.deepEqual(of('claude-3-5-sonnet-20240620', 'anthropic'), price(3, 15));
  });

  test('the longest matching prefix wins', () => {
    assert.deepEqual(of('gpt-4o-mini-2024-07-18'), price(0.15, 0.6));
    assert.deepEqual(of('gpt-4o-mini'), price(0.15, 0.6));
    assert.deepEqual(of('gpt-4-0613'), price(30, 60));
    assert.deepEqual(of('gpt-4-turbo-2024-04-09'), price(30, 60), 'a variant without its own key takes its family\'s price');
  });

  test('a prefix ends at a -, :, @ or . boundary: gpt-4 prices neither gpt-4o nor gpt-4.1', () => {
    assert.deepEqual(of('gpt-4o'), price(2.5, 10), 'not gpt-4');
    assert.equal(createPriceLookup({ 'gpt-4': price(30) }).priceOf('openai', 'gpt-4o'), undefined);
    assert.equal(createPriceLookup({ 'gpt-4': price(30) }).priceOf('openai', 'gpt-4.1'), undefined, 'a dot inside a version number is no boundary');
    assert.equal(createPriceLookup({ 'gemini-1': price(1) }).priceOf('google', 'gemini-1.5-pro'), undefined);
    assert.equal(of('gpt-4omni'), undefined);
    assert.deepEqual(of('llama3:8b', 'ollama'), price(0.1), '`:` (a tag)');
    assert.deepEqual(of('claude-3-5-sonnet@20240620', 'vertex-ai'), price(3, 15), '`@` (Vertex AI)');
    assert.deepEqual(createPriceLookup({ 'nova-pro': price(0.8, 3.2) }).priceOf('bedrock', 'nova-pro.v2'), price(0.8, 3.2), '`.` before a letter');
    assert.deepEqual(of('gemini-1.5-pro-002', 'google'), price(1.25, 5));
  });

  test('keys and names are compared without case; an unknown model has no price', () => {
    assert.deepEqual(createPriceLookup({ 'GPT-4o': price(2.5, 10) }).priceOf('OpenAI', 'gpt-4o-2024-08-06'), price(2.5, 10));
    assert.deepEqual(of('GPT-4O-2024-08-06'), price(2.5, 10));
    assert.equal(of('mistral-large-latest'), undefined);
    assert.equal(of(''), undefined);
    assert.equal(lookup.priceOf('openai', undefined), undefined);
    assert.equal(of(`gpt-4o-${'x'.repeat(400)}`), undefined, 'a name longer than any model is not looked up');
  });
});

describe('provider/model keys, aliases, provider prefixes', () => {
  test('provider/model before model at the same length; aliases normalised', () => {
    const lookup = createPriceLookup({ 'gpt-4o': price(2.5), 'azure_openai/gpt-4o': price(5), 'Azure-OpenAI/gpt-4o-mini': price(0.2) });
    assert.deepEqual(lookup.priceOf('azure-openai', 'gpt-4o-2024-08-06'), price(5));
    assert.deepEqual(lookup.priceOf('azure_openai', 'gpt-4o'), price(5), 'the provider is normalised on both sides');
    assert.deepEqual(lookup.priceOf('openai', 'gpt-4o-2024-08-06'), price(2.5));
    assert.deepEqual(lookup.priceOf('azure-openai', 'gpt-4o-mini-2024-07-18'), price(0.2));
  });

  test('a longer model key wins over a shorter provider/model prefix (a variant is never priced as its family)', () => {
    const lookup = createPriceLookup({ 'azure-openai/gpt-4o': price(5), 'gpt-4o-mini': price(0.15) });
    assert.deepEqual(lookup.priceOf('azure-openai', 'gpt-4o-mini-2024-07-18'), price(0.15));
    assert.deepEqual(lookup.priceOf('azure-openai', 'gpt-4o-2024-08-06'), price(5));
  });

  test('normalisePricing: lower case, canonical provider; a key already in normal form wins', () => {
    const m = normalisePricing({ 'azure_openai/gpt-4o': price(1), 'azure-openai/gpt-4o': price(2), 'GPT-4o': price(3) });
    assert.deepEqual([...m.entries()].sort(), [['azure-openai/gpt-4o', price(2)], ['gpt-4o', price(3)]]);
  });

  test('strippedNames: one provider prefix at a time', () => {
    assert.deepEqual(strippedNames('openai/gpt-4o'), ['gpt-4o']);
    assert.deepEqual(strippedNames('models/gemini-1.5-pro'), ['gemini-1.5-pro']);
    assert.deepEqual(strippedNames('us.anthropic.claude-3-5-sonnet-20240620-v1:0'), ['anthropic.claude-3-5-sonnet-20240620-v1:0', 'claude-3-5-sonnet-20240620-v1:0']);
    assert.deepEqual(strippedNames('accounts/fireworks/models/llama-v3p1-70b'), ['fireworks/models/llama-v3p1-70b', 'models/llama-v3p1-70b', 'llama-v3p1-70b']);
    assert.deepEqual(strippedNames('gpt-4.1'), [], 'a version number is no prefix');
    assert.deepEqual(strippedNames('gpt-4o-2024-08-06'), []);
  });

  test('provider prefixes on the model name are stripped when nothing matches as is', () => {
    const lookup = createPriceLookup({
      'gpt-4o': price(2.5, 10),
      'gemini-1.5-pro': price(1.25, 5),
      'claude-3-5-sonnet': price(3, 15),
      'anthropic/claude-3-opus': price(15, 75),
    });
    assert.deepEqual(lookup.priceOf('openrouter', 'openai/gpt-4o'), price(2.5, 10));
    assert.deepEqual(lookup.priceOf('openrouter', 'openai/gpt-4o-2024-08-06'), price(2.5, 10));
    assert.deepEqual(lookup.priceOf('google', 'models/gemini-1.5-pro-002'), price(1.25, 5));
    assert.deepEqual(lookup.priceOf('bedrock', 'us.anthropic.claude-3-5-sonnet-20240620-v1:0'), price(3, 15));
    assert.deepEqual(lookup.priceOf('bedrock', 'anthropic.claude-3-5-sonnet-20241022-v2:0'), price(3, 15));
    assert.deepEqual(lookup.priceOf('openrouter', 'anthropic/claude-3-opus'), price(15, 75), 'as is first: a provider/model key read as the model');
  });

  test('a match as is wins over a match after stripping', () => {
    const lookup = createPriceLookup({ 'openrouter/openai/gpt-4o': price(9), 'gpt-4o': price(2.5) });
    assert.deepEqual(lookup.priceOf('openrouter', 'openai/gpt-4o-2024-08-06'), price(9));
    assert.deepEqual(lookup.priceOf('together-ai', 'openai/gpt-4o'), price(2.5));
  });
});

describe('the requested model as a fallback', () => {
  const lookup = createPriceLookup({ 'gpt-4o': price(2.5, 10), 'my-deployment': price(7) });

  test('the served model first; when it has no price, the one asked for', () => {
    assert.deepEqual(lookup.priceOf('azure-openai', 'gpt-4o-2024-08-06', 'my-deployment'), price(2.5, 10), 'served wins');
    assert.deepEqual(lookup.priceOf('openai', 'chatgpt-4o-latest', 'gpt-4o'), price(2.5, 10), 'no price for the served model');
    assert.deepEqual(lookup.priceOf('openai', undefined, 'gpt-4o'), price(2.5, 10), 'no served model');
    assert.equal(lookup.priceOf('openai', 'chatgpt-4o-latest', 'nope'), undefined);
  });

  test('attemptPricing reads requestedModel from the trace input', () => {
    const r = attemptPricing(answered('openai', 'chatgpt-4o-latest', usage(1_000_000, 1_000_000), { requestedModel: 'gpt-4o' }), lookup);
    assert.deepEqual(r, { costUsd: 12.5 });
  });
});

describe('a pricing function', () => {
  test('is called with the canonical provider and the model as served; its answer is cached per (provider, model)', () => {
    const calls: string[] = [];
    const fn: PricingFunction = (provider, model) => {
      calls.push(`${provider} ${model}`);
      return model.startsWith('gpt-4o') ? price(2.5, 10) : undefined;
    };
    const lookup = createPriceLookup(fn);
    assert.equal(lookup.configured, true);
    assert.deepEqual(lookup.priceOf('azure_openai', 'gpt-4o-2024-08-06'), price(2.5, 10));
    assert.deepEqual(lookup.priceOf('azure-openai', 'gpt-4o-2024-08-06'), price(2.5, 10));
    assert.equal(lookup.priceOf('openai', 'o1'), undefined);
    assert.equal(lookup.priceOf('openai', 'o1'), undefined);
    assert.deepEqual(calls, ['azure-openai gpt-4o-2024-08-06', 'openai o1'], 'once per (provider, model), a miss too');
  });

  test('then with the model without its provider prefixes, then the requested model', () => {
    const calls: string[] = [];
    const lookup = createPriceLookup((provider, model) => {
      calls.push(model);
      return model === 'gpt-4o' ? price(2.5, 10) : undefined;
    });
    assert.deepEqual(lookup.priceOf('openrouter', 'openai/gpt-4o'), price(2.5, 10));
    assert.deepEqual(lookup.priceOf('openai', 'chatgpt-4o-latest', 'gpt-4o'), price(2.5, 10));
    assert.deepEqual(calls, ['openai/gpt-4o', 'gpt-4o', 'chatgpt-4o-latest', 'gpt-4o']);
  });

  test('a function that throws or answers nonsense gives no price, and the warning says why', () => {
    const logger = quietLogger();
    const lookup = createPriceLookup(
      (_p, model) => {
        if (model === 'boom') throw new Error('price service down');
        if (model === 'nan') return { input: Number.NaN, output: 1 };
        if (model === 'neg') return { input: -1, output: 1 };
        if (model === 'str') return '2.5' as unknown as Price;
        return undefined;
      },
      { logger },
    );
    for (const m of ['boom', 'nan', 'neg', 'str']) {
      assert.equal(lookup.priceOf('openai', m), undefined, m);
      lookup.noteUnpriced('openai', m);
    }
    assert.equal(logger.lines.length, 4);
    assert.match(logger.lines[0]!, /no price for openai\/boom in options\.pricing \(options\.pricing threw: price service down\); its cost is unknown in traces/);
    for (const line of logger.lines.slice(1)) assert.match(line, /options\.pricing returned no \{ input, output \}/);
  });
});

describe('the lookup cache is bounded', () => {
  test('past maxCached, the oldest (provider, model) is forgotten and asked again', () => {
    const calls: string[] = [];
    const lookup = createPriceLookup(
      (_p, m) => {
        calls.push(m);
        return price(1);
      },
      { maxCached: 2 },
    );
    lookup.priceOf('p', 'a');
    lookup.priceOf('p', 'b');
    lookup.priceOf('p', 'a');
    lookup.priceOf('p', 'c'); // forgets a
    lookup.priceOf('p', 'b');
    lookup.priceOf('p', 'a');
    assert.deepEqual(calls, ['a', 'b', 'c', 'a']);
  });
});

describe('the unpriced state: never a false $0', () => {
  const prices = createPriceLookup({ 'gpt-4o': price(2.5, 10) });

  test('tokens and a price: costUsd; tokens and no price: unpriced, no costUsd', () => {
    assert.deepEqual(attemptPricing(answered('openai', 'gpt-4o-2024-08-06', usage(1000, 100)), prices), { costUsd: 0.0035 });
    assert.deepEqual(attemptPricing(answered('groq', 'llama-3.1-70b', usage(1000, 100)), prices), { unpriced: true });
  });

  test('billed nothing stays 0: reported 0 tokens, or a failure without usage', () => {
    assert.deepEqual(attemptPricing(answered('groq', 'llama-3.1-70b', usage(0, 0)), prices), { costUsd: 0 });
    const failed = { path: 'config', provider: 'groq', model: 'x', status: 503, errorClass: 'server', retry: 0, startedAt: T0, latencyMs: 1 };
    assert.deepEqual(attemptPricing(failed, prices), { costUsd: 0 });
    assert.deepEqual(attemptPricing({ ...failed, status: 499, errorClass: 'network', code: 'hedge_cancelled' } as AttemptRecord, prices), { costUsd: 0 });
  });

  test('a stream that sent content, then broke without usage, was billed: unknown, not 0', () => {
    const broken: TraceAttemptInput = { path: 'config', provider: 'openai', model: 'gpt-4o', status: 502, errorClass: 'network', code: 'stream_interrupted', retry: 0, startedAt: T0, latencyMs: 90, ttftMs: 40 };
    assert.deepEqual(attemptPricing(broken, prices), { unpriced: true, note: 'the provider reported no usage: cost unknown' });
    assert.deepEqual(attemptPricing({ ...broken, usage: usage(1000, 100) }, prices), { costUsd: 0.0035 }, 'with the usage it reported, priced');
  });

  test('an answer without any usage is unknown, not 0 (a note says why); a skipped target has no cost', () => {
    const { usage: _u, ...noUsage } = answered('openai', 'gpt-4o');
    assert.deepEqual(attemptPricing(noUsage, prices), { unpriced: true, note: 'the provider reported no usage: cost unknown' });
    const skipped: TraceAttemptInput = { path: 'config', provider: 'openai', retry: 0, startedAt: T0, latencyMs: 0, skipped: 'circuit_open' };
    assert.deepEqual(attemptPricing(skipped, prices), {});
  });

  test('trace: unpriced rows, totals.unpricedAttempts, totals.costUsd the sum of the priced ones', () => {
    const attempts: TraceAttemptInput[] = [
      { path: 'config.targets[0]', provider: 'openai', model: 'gpt-4o', status: 503, errorClass: 'server', retry: 0, startedAt: T0, latencyMs: 1 },
      { ...answered('groq', 'llama-3.1-70b', usage(100, 100)), path: 'config.targets[1]', status: 500, errorClass: 'server' },
      { path: 'config.targets[2]', provider: 'anthropic', retry: 0, startedAt: T0, latencyMs: 0, skipped: 'circuit_open' },
      { ...answered('openai', 'gpt-4o-2024-08-06', usage(1000, 100)), path: 'config.targets[3]' },
    ];
    const t = buildTrace(input(attempts, { outcome: { kind: 'success', ok: true, status: 200, body: {}, provider: 'openai', path: 'config.targets[3]', retries: 0 } }), prices);
    assert.deepEqual(
      t.attempts.map((a) => [a.path, a.costUsd, a.unpriced]),
      [
        ['config.targets[0]', 0, undefined],
        ['config.targets[1]', undefined, true],
        ['config.targets[2]', undefined, undefined],
        ['config.targets[3]', 0.0035, undefined],
      ],
    );
    assert.equal(t.totals.unpricedAttempts, 1);
    assert.equal(t.totals.costUsd, 0.0035, 'a lower bound: the unpriced attempt is left out');
    assert.equal(t.totals.attempts, 3);
  });

  test('no pricing at all: billed attempts are unpriced too (the total is 0 and says it is a lower bound)', () => {
    const t = buildTrace(input([answered('openai', 'gpt-4o', usage(10, 10))]), createPriceLookup({}));
    assert.equal(t.attempts[0]!.unpriced, true);
    assert.equal(t.attempts[0]!.costUsd, undefined);
    assert.deepEqual({ costUsd: t.totals.costUsd, unpricedAttempts: t.totals.unpricedAttempts }, { costUsd: 0, unpricedAttempts: 1 });
  });

  test('omitted rows are counted in unpricedAttempts too', () => {
    const n = MAX_TRACE_ATTEMPTS + 20;
    const attempts = Array.from({ length: n }, (_, i) => ({ ...answered('groq', i % 2 ? 'gpt-4o' : 'llama-3', usage(1, 0)), retry: i }));
    const t = buildTrace(input(attempts), prices);
    assert.ok(t.attemptsOmitted! > 0);
    assert.equal(t.totals.unpricedAttempts, n / 2);
    assert.equal(t.totals.attempts, n);
  });

  test('a Map from normalisePricing still works (looked up the same way, without warnings)', () => {
    const t = buildTrace(input([answered('azure-openai', 'gpt-4o-2024-08-06', usage(1_000_000, 0))]), normalisePricing({ 'gpt-4o': price(2.5, 10) }));
    assert.equal(t.attempts[0]!.costUsd, 2.5);
    assert.equal(t.totals.unpricedAttempts, 0);
  });
});

describe('warnings: one per unpriced provider/model, bounded, only with a pricing option', () => {
  test('one line per provider/model, naming it and the requested model', () => {
    const logger = quietLogger();
    const lookup = createPriceLookup({ 'gpt-4o': price(2.5, 10) }, { logger });
    const trace = (model: string, provider = 'openai', requestedModel?: string) =>
      buildTrace(input([answered(provider, model, usage(5, 5), requestedModel ? { requestedModel } : {})]), lookup);
    trace('o1-2024-12-17');
    trace('o1-2024-12-17');
    trace('o1-2024-12-17', 'azure-openai');
    trace('gpt-4o-2024-08-06'); // priced: no warning
    trace('chatgpt-latest', 'openai', 'o1');
    assert.deepEqual(logger.lines, [
      'express-llm-fallback: no price for openai/o1-2024-12-17 in options.pricing; its cost is unknown in traces',
      'express-llm-fallback: no price for azure-openai/o1-2024-12-17 in options.pricing; its cost is unknown in traces',
      'express-llm-fallback: no price for openai/chatgpt-latest (requested as o1) in options.pricing; its cost is unknown in traces',
    ]);
  });

  test('at most maxWarnings models, then one line, then silence', () => {
    const logger = quietLogger();
    const lookup = createPriceLookup({ 'gpt-4o': price(1) }, { logger, maxWarnings: 3 });
    for (let i = 0; i < 10; i++) lookup.noteUnpriced('openai', `m-${i}`);
    assert.equal(logger.lines.length, 4);
    assert.match(logger.lines[3]!, /^express-llm-fallback: 3 models have no price in options\.pricing; further ones are not reported/);
  });

  test('the default bound is 100 models', () => {
    const logger = quietLogger();
    const lookup = createPriceLookup({ 'gpt-4o': price(1) }, { logger });
    for (let i = 0; i < 250; i++) lookup.noteUnpriced('openai', `m-${i}`);
    assert.equal(logger.lines.length, 101);
  });

  test('no warning without a pricing option (or with an empty table)', () => {
    const logger = quietLogger();
    for (const source of [undefined, {}]) {
      const lookup = createPriceLookup(source, { logger });
      assert.equal(lookup.configured, false);
      buildTrace(input([answered('openai', 'gpt-4o', usage(5, 5))]), lookup);
    }
    assert.deepEqual(logger.lines, []);
  });

  test('control characters in a model name never reach the log line; a logger that throws is ignored', () => {
    const logger = quietLogger();
    createPriceLookup({ a: price(1) }, { logger }).noteUnpriced('openai', 'evil\nINFO: forged line\u001b[31m');
    assert.equal(logger.lines.length, 1);
    assert.doesNotMatch(logger.lines[0]!, /[\n\u001b]/);
    const throwing = createPriceLookup({ a: price(1) }, { logger: { warn: () => { throw new Error('logger down'); } } });
    assert.doesNotThrow(() => buildTrace(input([answered('openai', 'x', usage(1, 1))]), throwing));
  });

  test('the recorder: one lookup per router, warnings through its logger', async () => {
    const logger = quietLogger();
    const seen: number[] = [];
    const recorder = createTraceRecorder({ pricing: { 'gpt-4o': price(2.5, 10) }, logger, onTrace: (t) => void seen.push(t.totals.unpricedAttempts) });
    recorder.finish(input([answered('openai', 'o3-mini', usage(5, 5))]));
    recorder.finish(input([answered('openai', 'o3-mini', usage(5, 5))]));
    recorder.finish(input([answered('openai', 'gpt-4o-2024-08-06', usage(5, 5))]));
    await immediate();
    assert.deepEqual(seen, [1, 1, 0]);
    assert.deepEqual(logger.lines, ['express-llm-fallback: no price for openai/o3-mini in options.pricing; its cost is unknown in traces']);
    // Another router warns on its own.
    const other = quietLogger();
    createTraceRecorder({ pricing: (_p, m) => (m === 'x' ? price(1) : undefined), logger: other }).finish(input([answered('openai', 'o3-mini', usage(5, 5))]));
    assert.equal(other.lines.length, 1);
  });
});

describe('options.pricing', () => {
  test('a function is kept as it is; a table is copied', () => {
    const fn: PricingFunction = () => undefined;
    assert.equal(parseOptions({ pricing: fn }).pricing, fn);
    const table = { 'gpt-4o': price(2.5, 10) };
    const s = parseOptions({ pricing: table });
    assert.deepEqual(s.pricing, table);
    assert.notEqual(s.pricing, table);
  });

  test('anything else is an OptionsError naming the option', () => {
    for (const [pricing, message] of [
      ['gpt-4o', /options\.pricing must be a table of prices or a function/],
      [{ 'gpt-4o': 2.5 }, /options\.pricing\.gpt-4o must be an object with input and output/],
      [{ 'gpt-4o': { input: 2.5, output: Infinity } }, /options\.pricing\.gpt-4o\.output/],
      [{ '': price(1) }, /options\.pricing/],
    ] as const) {
      assert.throws(() => parseOptions({ pricing: pricing as never }), (err: unknown) => err instanceof OptionsError && message.test(err.message), String(message));
    }
  });
});
