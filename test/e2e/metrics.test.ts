/**
 * The metrics, read the way a dashboard reads them: a Prometheus scrape (GET /metrics through the
 * router, and the host's registry's `metrics()`), parsed from the text format by a small parser
 * below, and OpenTelemetry metrics collected by the SDK's MeterProvider registered globally.
 * Each scenario (a fallback, retries, a breaker opening and closing, a hedge, a stream) checks the
 * values and labels it must produce; the model label stays bounded; /metrics is behind auth and
 * absent without `route`; `telemetry: false` records nothing.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { metrics as otelMetrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import client from 'prom-client';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { EngineEvents } from '../../lib/engine/events.js';
import { attachMetrics } from '../../lib/observe/metrics.js';
import { LabelMaker } from '../../lib/observe/metrics-labels.js';
import { addingUp, MAX_PENDING } from '../../lib/observe/metrics-prom.js';
import { loadOptional } from '../../lib/observe/optional.js';
import { parseOptions } from '../../lib/options.js';
import { createApp } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

// ---------------------------------------------------------------- a tiny Prometheus text parser

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}
interface Scrape {
  readonly samples: Sample[];
  readonly types: Map<string, string>;
  readonly text: string;
}

/** Parses the Prometheus text exposition format (0.0.4): `# TYPE` lines and samples with escaped label values. */
function parseProm(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
    const name = line.slice(0, i);
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq).trim();
        assert.equal(line[eq + 1], '"', `label ${key} is quoted in: ${line}`);
        let value = '';
        let j = eq + 2;
        for (; line[j] !== '"'; j++) {
          if (line[j] === '\\') {
            j++;
            value += line[j] === 'n' ? '\n' : line[j];
          } else value += line[j];
        }
        labels[key] = value;
        i = j + 1;
        if (line[i] === ',') i++;
      }
      i++;
    }
    const [value] = line.slice(i).trim().split(' ');
    samples.push({ name, labels, value: value === '+Inf' ? Infinity : Number(value) });
  }
  return { samples, types, text };
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scrape.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

test('a counter adds up at most MAX_PENDING label sets between reads, then hands them over at once', () => {
  const incs: Array<[Record<string, string>, number]> = [];
  const flushers = new Set<() => void>();
  const counter = { inc: (labels: Record<string, string>, value: number) => void incs.push([labels, value]), [Symbol.for('express-llm-fallback.prom.flushers')]: flushers };
  const values = (labels: Record<string, string | undefined>): Record<string, string> => ({ model: labels.model ?? '' });
  const interned = Array.from({ length: MAX_PENDING + 1 }, (_, i) => ({ model: `m${i}` }));
  const cache = new Map(interned.map((l) => [l, values(l)]));
  const record = addingUp(counter, (l) => cache.get(l as { model: string })!);
  for (const labels of interned.slice(0, MAX_PENDING)) record(labels, 1);
  record(interned[0]!, 2);
  assert.equal(incs.length, 0, 'nothing handed over before a read while under the bound');
  record(interned[MAX_PENDING]!, 5);
  assert.equal(incs.length, MAX_PENDING, 'the bound reached: the waiting totals handed over');
  assert.deepEqual(incs[0], [{ model: 'm0' }, 3]);
  for (const flush of flushers) flush();
  assert.deepEqual(incs.at(-1), [{ model: `m${MAX_PENDING}` }, 5], 'a read hands over the rest');
  for (const flush of flushers) flush();
  assert.equal(incs.length, MAX_PENDING + 1, 'and nothing twice');
});

test('the parser reads escaped label values, +Inf and TYPE lines', () => {
  const s = parseProm('# HELP x_total a\n# TYPE x_total counter\nx_total{a="q\\"uote",b="back\\\\slash"} 3\nh_bucket{le="+Inf"} 2\n');
  assert.equal(s.types.get('x_total'), 'counter');
  assert.deepEqual(s.samples[0], { name: 'x_total', labels: { a: 'q"uote', b: 'back\\slash' }, value: 3 });
  assert.equal(valueOf(s, 'h_bucket', { le: '+Inf' }), 2);
});

// ---------------------------------------------------------------- the router against fakes

const KEY = 'gw-key';
const messages = [{ role: 'user', content: 'hi' }];
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
type App = ReturnType<typeof createApp>;

/** GET /metrics with the gateway key, parsed. */
async function scrape(app: App): Promise<Scrape> {
  const res = await request(app).get('/v1/metrics').set('x-portkey-api-key', KEY);
  assert.equal(res.status, 200, res.text);
  return parseProm(res.text);
}

/** Scrapes until `ready` holds (the events of a stream's end arrive just after its last byte). */
async function scrapeUntil(app: App, ready: (s: Scrape) => boolean): Promise<Scrape> {
  let s = await scrape(app);
  for (let i = 0; i < 100 && !ready(s); i++) {
    await wait(20);
    s = await scrape(app);
  }
  return s;
}

describe('Prometheus metrics', () => {
  let a: Fake;
  let b: Fake;
  let az: Fake;
  before(async () => {
    [a, b, az] = await Promise.all([startFake('openai', 'a'), startFake('openai', 'b'), startFake('azure', 'az')]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), az.close()]);
  });
  beforeEach(() => {
    for (const f of [a, b, az]) f.reset();
  });

  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    auth: { apiKeys: [KEY] },
    virtualKeys: {
      a: { provider: 'openai', apiKey: 'ka', baseURL: a.baseURL },
      b: { provider: 'openai', apiKey: 'kb', baseURL: b.baseURL },
      az: { provider: 'azure-openai', apiKey: 'kz', baseURL: az.baseURL, deploymentId: 'gpt4o' },
    },
    configs: {
      chain: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'az' }] },
      retried: { virtual_key: 'a', retry: { attempts: 2, on_status_codes: [503] } },
      guarded: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] },
      hedged: { strategy: { mode: 'fallback', hedge_after_ms: 50 }, targets: [{ virtual_key: 'a' }, { virtual_key: 'b' }] },
    },
    pricing: { 'gpt-4o': { input: 2.5, output: 10 } },
    metrics: { route: true, modelLabels: ['gpt-4o'] },
    ...extra,
  });
  const send = (app: App, config: string, model = 'gpt-4o', body: Record<string, unknown> = {}) =>
    request(app).post('/v1/chat/completions').set('x-portkey-api-key', KEY).set('x-portkey-config', config).send({ model, messages, ...body });

  test('a fallback: requests, attempts by outcome, the fallback, tokens, cost and latencies, in the text format', async () => {
    const app = createApp(options());
    a.script({ kind: 'status', status: 429 });
    const res = await send(app, 'chain');
    assert.equal(res.status, 200);
    const raw = await request(app).get('/v1/metrics').set('x-portkey-api-key', KEY);
    assert.equal(raw.status, 200);
    assert.match(raw.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
    const s = parseProm(raw.text);
    assert.equal(s.types.get('llm_fallback_requests_total'), 'counter');
    assert.equal(s.types.get('llm_fallback_request_duration_seconds'), 'histogram');
    assert.equal(s.types.get('llm_fallback_breaker_state'), 'gauge');
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { endpoint: 'chat', status: '200', config_id: 'chain' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', model: 'gpt-4o', outcome: 'failure', reason: 'rate_limit' }), 1);
    // Azure served `gpt-4o-2024-08-06` for `gpt-4o`: the label is the listed model asked for.
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'azure-openai', model: 'gpt-4o', outcome: 'success', reason: '' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_fallbacks_total', { provider: 'openai', reason: 'rate_limit' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_tokens_total', { provider: 'azure-openai', model: 'gpt-4o', type: 'input' }), 11);
    assert.equal(valueOf(s, 'llm_fallback_tokens_total', { provider: 'azure-openai', model: 'gpt-4o', type: 'output' }), 7);
    const cost = valueOf(s, 'llm_fallback_cost_usd_total', { provider: 'azure-openai', model: 'gpt-4o' });
    assert.ok(Math.abs(cost - (11 * 2.5 + 7 * 10) / 1e6) < 1e-12, `cost ${cost}`);
    assert.equal(valueOf(s, 'llm_fallback_unpriced_attempts_total'), 0);
    assert.equal(valueOf(s, 'llm_fallback_request_duration_seconds_count', { endpoint: 'chat', config_id: 'chain' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_request_duration_seconds_bucket', { endpoint: 'chat', config_id: 'chain', le: '+Inf' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempt_duration_seconds_count', { provider: 'openai', outcome: 'failure' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempt_duration_seconds_count', { provider: 'azure-openai', outcome: 'success' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_retries_total'), 0);
    assert.equal(valueOf(s, 'llm_fallback_time_to_first_token_seconds_count'), 0, 'no stream, no ttft');
  });

  test('retries by provider; an unpriced model is counted as unpriced, not as cost', async () => {
    const app = createApp(options({ pricing: {} }));
    a.script({ kind: 'status', status: 503 });
    assert.equal((await send(app, 'retried')).status, 200);
    const s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_retries_total', { provider: 'openai' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', outcome: 'failure', reason: 'server' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', outcome: 'success' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_fallbacks_total'), 0);
    assert.equal(valueOf(s, 'llm_fallback_unpriced_attempts_total', { provider: 'openai', model: 'gpt-4o' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_cost_usd_total'), 0);
  });

  test('a breaker opening, skipping, probing and closing: the state gauge and the transitions', async () => {
    const app = createApp(options({ circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 100 } }));
    a.script({ kind: 'status', status: 503 });
    assert.equal((await send(app, 'guarded')).status, 200);
    let s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_breaker_transitions_total', { provider: 'openai', to: 'open' }), 1);
    const open = s.samples.filter((x) => x.name === 'llm_fallback_breaker_state');
    assert.equal(open.length, 1, 'one target changed state');
    assert.deepEqual({ ...open[0]!.labels, target: 'x' }, { provider: 'openai', model: 'gpt-4o', endpoint: 'chat', target: 'x' });
    assert.match(open[0]!.labels.target!, /^[0-9a-f]{10}$/, 'the target is the short account hash, never a key');
    assert.equal(open[0]!.value, 2);
    assert.equal((await send(app, 'guarded')).status, 200);
    s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', outcome: 'skipped', reason: 'circuit_open' }), 1);
    await wait(150);
    assert.equal((await send(app, 'guarded')).headers['x-portkey-last-used-option-index'], 'config.targets[0]', 'the probe served');
    s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_breaker_transitions_total', { provider: 'openai', to: 'half_open' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_breaker_transitions_total', { provider: 'openai', to: 'closed' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_breaker_state', { provider: 'openai' }), 0, 'closed again');
  });

  test('a hedge started and won; the slow attempt it beat is cancelled', async () => {
    const app = createApp(options());
    a.script({ kind: 'ok', delayMs: 400 });
    const res = await send(app, 'hedged');
    assert.equal(res.status, 200);
    assert.equal(res.body.choices[0].message.content, 'Hello from b');
    const s = await scrapeUntil(app, (x) => valueOf(x, 'llm_fallback_attempts_total', { outcome: 'cancelled' }) > 0);
    assert.equal(valueOf(s, 'llm_fallback_hedges_started_total', { config_id: 'hedged' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_hedges_won_total', { config_id: 'hedged' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', outcome: 'cancelled', reason: 'hedge_cancelled' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', outcome: 'success' }), 1);
  });

  test('a hedge that loses to the first target is started, not won', async () => {
    const app = createApp(options());
    a.script({ kind: 'ok', delayMs: 120 });
    b.script({ kind: 'ok', delayMs: 600 });
    assert.equal((await send(app, 'hedged')).body.choices[0].message.content, 'Hello from a');
    const s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_hedges_started_total'), 1);
    assert.equal(valueOf(s, 'llm_fallback_hedges_won_total'), 0);
  });

  test('a stream: time to first token, its attempt and its request', async () => {
    const app = createApp(options());
    a.script({ kind: 'stream', pieces: ['Hel', 'lo'], firstDelayMs: 30 });
    const res = await send(app, 'chain', 'gpt-4o', { stream: true });
    assert.equal(res.status, 200);
    assert.match(res.text, /\[DONE\]/);
    const s = await scrapeUntil(app, (x) => valueOf(x, 'llm_fallback_requests_total') > 0);
    assert.equal(valueOf(s, 'llm_fallback_time_to_first_token_seconds_count', { provider: 'openai', model: 'gpt-4o' }), 1);
    const ttft = valueOf(s, 'llm_fallback_time_to_first_token_seconds_sum', { provider: 'openai', model: 'gpt-4o' });
    assert.ok(ttft > 0 && ttft < 30, `ttft ${ttft} s`);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', outcome: 'success' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { status: '200', config_id: 'chain' }), 1);
  });

  test('the model label is bounded: an unlisted model is `other`, and its name is in no series', async () => {
    const app = createApp(options({ circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 60_000 } }));
    a.script({ kind: 'status', status: 503 });
    const secret = 'client-chosen-model-7f3a';
    assert.equal((await send(app, 'guarded', secret)).status, 200);
    const s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_attempts_total', { provider: 'openai', model: 'other', outcome: 'failure' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_breaker_state', { model: 'other' }), 2);
    assert.ok(!s.text.includes(secret), 'the client-chosen model name is not a label value');
    const all = createApp(options({ metrics: { route: true, modelLabels: 'all' } }));
    assert.equal((await send(all, 'guarded', secret)).status, 200);
    assert.equal(valueOf(await scrape(all), 'llm_fallback_attempts_total', { model: secret, outcome: 'success' }), 1, "modelLabels: 'all' labels it as it came");
  });

  test('config ids: a saved one as is, a request’s own config as `header` or `inline`, refused ones as `invalid`; never a hash', async () => {
    const app = createApp(options());
    const inline = { virtual_key: 'b' };
    await request(app).post('/v1/chat/completions').set('x-portkey-api-key', KEY).send({ model: 'gpt-4o', messages, config: inline }).expect(200);
    await request(app).post('/v1/chat/completions').set('x-portkey-api-key', KEY).set('x-portkey-config', 'no-such-config').send({ model: 'gpt-4o', messages }).expect(400);
    await send(app, 'chain').expect(200);
    await send(app, JSON.stringify(inline)).expect(200);
    const s = await scrape(app);
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { config_id: 'header', status: '200' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { config_id: 'inline', status: '200' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { config_id: 'invalid', status: '400' }), 1);
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { config_id: 'chain', status: '200' }), 1);
    assert.equal(s.samples.filter((x) => x.name === 'llm_fallback_requests_total').length, 4, 'no hash of a config is a label');
    // Every source of a request's own config.
    const labels = new LabelMaker({ adapters: new Map(), configs: new Map([['chain', {} as never]]), observe: { telemetry: { enabled: false, captureBodies: false } } });
    assert.deepEqual(
      [labels.config('chain', 'header-config'), labels.config('3f9a', 'header-config'), labels.config('3f9a', 'header-fallback'), labels.config('3f9a', 'body-config'), labels.config('default', 'default')],
      ['chain', 'header', 'header', 'inline', 'default'],
    );
  });

  test('GET /metrics is behind auth, and absent (404) without route; the host registry holds the metrics', async () => {
    const app = createApp(options());
    assert.equal((await request(app).get('/v1/metrics')).status, 401);
    assert.equal((await request(app).get('/v1/metrics').set('x-portkey-api-key', 'wrong')).status, 401);
    assert.equal((await request(app).post('/v1/metrics').set('x-portkey-api-key', KEY)).status, 405);
    const registry = new client.Registry();
    const hosted = createApp(options({ metrics: { registry } }));
    assert.equal((await request(hosted).get('/v1/metrics').set('x-portkey-api-key', KEY)).status, 404);
    assert.equal((await send(hosted, 'chain')).status, 200);
    const s = parseProm(await registry.metrics());
    assert.equal(valueOf(s, 'llm_fallback_requests_total', { config_id: 'chain', status: '200' }), 1);
  });

  test('two routers on one registry (reused, not "already registered") count into the same series; a prefix renames', async () => {
    const registry = new client.Registry();
    const first = createApp(options({ metrics: { registry, prefix: 'gw_' } }));
    const second = createApp(options({ metrics: { registry, prefix: 'gw_' } }));
    await send(first, 'chain').expect(200);
    await send(second, 'chain').expect(200);
    const s = parseProm(await registry.metrics());
    assert.equal(valueOf(s, 'gw_requests_total', { config_id: 'chain' }), 2);
    assert.equal(valueOf(s, 'llm_fallback_requests_total'), 0);
    // A metric of our name that is something else is left alone, with a warning.
    const clash = new client.Registry();
    new client.Gauge({ name: 'llm_fallback_requests_total', help: 'not ours', registers: [clash] });
    const warned: string[] = [];
    const logger = { warn: (m: unknown) => void warned.push(String(m)), error: () => undefined };
    await send(createApp(options({ metrics: { registry: clash }, logger })), 'chain').expect(200);
    const c = parseProm(await clash.metrics());
    assert.equal(c.types.get('llm_fallback_requests_total'), 'gauge');
    assert.equal(valueOf(c, 'llm_fallback_attempts_total', { outcome: 'success' }), 1, 'the others are recorded');
    assert.ok(warned.some((w) => w.includes('llm_fallback_requests_total')), warned.join('\n'));
  });

  test('counters added up between reads: each read has every request once, a second read adds nothing, and a counter made by the host is counted into at once', async () => {
    const registry = new client.Registry();
    const app = createApp(options({ metrics: { registry } }));
    const requests = async (): Promise<number> => valueOf(parseProm(await registry.metrics()), 'llm_fallback_requests_total', { config_id: 'chain' });
    await send(app, 'chain').expect(200);
    await send(app, 'chain').expect(200);
    assert.equal(await requests(), 2);
    assert.equal(await requests(), 2, 'a read without requests between adds nothing');
    await send(app, 'chain').expect(200);
    // Read through the metric itself (not the registry's text): the totals are handed over too.
    const metric = registry.getSingleMetric('llm_fallback_requests_total') as client.Counter;
    assert.equal((await metric.get()).values.find((v) => v.labels.config_id === 'chain')?.value, 3);
    assert.equal(await requests(), 3);
    const tokens = valueOf(parseProm(await registry.metrics()), 'llm_fallback_tokens_total', { type: 'input' });
    assert.ok(tokens > 0, 'tokens counted');

    // A counter of our name and labels that the host made itself has no flushers of ours: each add goes to it at once.
    const host = new client.Registry();
    const theirs = new client.Counter({ name: 'llm_fallback_requests_total', help: 'the host made this', labelNames: ['endpoint', 'status', 'config_id'], registers: [host] });
    await send(createApp(options({ metrics: { registry: host } })), 'chain').expect(200);
    assert.equal((await theirs.get()).values.find((v) => v.labels.config_id === 'chain')?.value, 1);
    assert.equal(valueOf(parseProm(await host.metrics()), 'llm_fallback_attempts_total', { outcome: 'success' }), 1, 'ours beside it are added up and read');
  });
});

// ---------------------------------------------------------------- OpenTelemetry

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Our metrics (the `express-llm-fallback` scope) from one collection. */
async function collect(reader: TestReader): Promise<MetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'express-llm-fallback').flatMap((s) => s.metrics);
}
const points = (data: MetricData[], name: string): Array<DataPoint<number | Histogram>> =>
  (data.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as Array<DataPoint<number | Histogram>>;

describe('OpenTelemetry metrics', () => {
  let a: Fake;
  let az: Fake;
  let reader: TestReader;
  before(async () => {
    [a, az] = await Promise.all([startFake('openai', 'a'), startFake('azure', 'az')]);
  });
  after(async () => {
    await Promise.all([a.close(), az.close()]);
  });
  beforeEach(() => {
    a.reset();
    az.reset();
    reader = new TestReader();
  });
  afterEach(() => {
    otelMetrics.disable();
  });
  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    virtualKeys: {
      a: { provider: 'openai', apiKey: 'ka', baseURL: a.baseURL },
      az: { provider: 'azure-openai', apiKey: 'kz', baseURL: az.baseURL, deploymentId: 'gpt4o' },
    },
    configs: { chain: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'a' }, { virtual_key: 'az' }] } },
    circuitBreaker: { failureThreshold: 2, minimumRequests: 2, cooldownMs: 60_000 },
    ...extra,
  });
  const send = (app: App) => request(app).post('/v1/chat/completions').set('x-portkey-config', 'chain').send({ model: 'gpt-4o', messages });

  test('GenAI names and attributes during fallbacks, and the breaker gauge (auto: a provider registered after the router)', async () => {
    const app = createApp(options());
    a.always({ kind: 'status', status: 503 });
    assert.equal((await send(app)).status, 200, 'a request before any provider is registered: not recorded');
    otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    assert.equal((await send(app)).status, 200, 'the second failure opens the breaker');
    assert.equal((await send(app)).status, 200, 'the open target is skipped');
    const data = await collect(reader);
    const durations = points(data, 'gen_ai.client.operation.duration');
    const failed = durations.find((p) => p.attributes['gen_ai.provider.name'] === 'openai');
    assert.ok(failed, JSON.stringify(durations.map((p) => p.attributes)));
    assert.equal(failed.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(failed.attributes['gen_ai.request.model'], 'other', 'no modelLabels: every model is other');
    assert.equal(failed.attributes['error.type'], 'server');
    assert.equal((failed.value as Histogram).count, 1, 'the skipped target has no duration');
    const served = durations.find((p) => p.attributes['gen_ai.provider.name'] === 'azure.ai.openai')!;
    assert.equal(served.attributes['error.type'], undefined);
    assert.equal((served.value as Histogram).count, 2, 'only the requests after the provider was registered');
    assert.equal(data.find((m) => m.descriptor.name === 'gen_ai.client.operation.duration')!.descriptor.unit, 's');
    const tokens = points(data, 'gen_ai.client.token.usage');
    const input = tokens.find((p) => p.attributes['gen_ai.token.type'] === 'input')!;
    assert.equal((input.value as Histogram).sum, 22);
    assert.equal(input.attributes['gen_ai.provider.name'], 'azure.ai.openai');
    const requests = points(data, 'llm_fallback.requests');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.value, 2);
    assert.deepEqual(requests[0]!.attributes, { 'gen_ai.operation.name': 'chat', 'http.response.status_code': 200, 'llm_fallback.config_id': 'chain' });
    const fallbacks = points(data, 'llm_fallback.fallbacks');
    assert.deepEqual(fallbacks.map((p) => [p.value, p.attributes['gen_ai.provider.name'], p.attributes['error.type']]), [[1, 'openai', 'server']]);
    const state = points(data, 'llm_fallback.breaker.state');
    assert.equal(state.length, 1);
    assert.equal(state[0]!.value, 2);
    assert.equal(state[0]!.attributes['gen_ai.provider.name'], 'openai');
    const transitions = points(data, 'llm_fallback.breaker.transitions');
    assert.deepEqual(transitions.map((p) => [p.value, p.attributes['llm_fallback.breaker.state']]), [[1, 'open']]);
    const skipped = points(data, 'llm_fallback.attempts').find((p) => p.attributes['llm_fallback.outcome'] === 'skipped')!;
    assert.equal(skipped.attributes['llm_fallback.reason'], 'circuit_open');
    assert.equal(skipped.attributes['error.type'], undefined, 'a skipped target is no error');
  });

  test('a stream: time to first chunk and its operation duration, with the GenAI attributes', async () => {
    otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    a.script({ kind: 'stream', pieces: ['Hel', 'lo'], firstDelayMs: 20 });
    const res = await request(createApp(options())).post('/v1/chat/completions').set('x-portkey-config', 'chain').send({ model: 'gpt-4o', messages, stream: true });
    assert.match(res.text, /\[DONE\]/);
    let data = await collect(reader);
    for (let i = 0; i < 50 && points(data, 'llm_fallback.requests').length === 0; i++) {
      await wait(20);
      data = await collect(reader);
    }
    const ttft = points(data, 'gen_ai.client.operation.time_to_first_chunk');
    assert.equal(ttft.length, 1);
    assert.deepEqual(ttft[0]!.attributes, { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'other', 'gen_ai.operation.name': 'chat' });
    assert.equal((ttft[0]!.value as Histogram).count, 1);
    const duration = points(data, 'gen_ai.client.operation.duration');
    assert.equal(duration[0]?.attributes['gen_ai.operation.name'], 'chat', 'the stream attempt ended before its request');
  });

  test('with Prometheus too, both sinks record the same request; telemetry: false records none', async () => {
    otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const registry = new client.Registry();
    assert.equal((await send(createApp(options({ metrics: { registry } })))).status, 200);
    assert.equal(points(await collect(reader), 'llm_fallback.requests')[0]?.value, 1);
    assert.equal(valueOf(parseProm(await registry.metrics()), 'llm_fallback_requests_total'), 1);

    const off = new TestReader();
    otelMetrics.disable();
    otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [off] }));
    assert.equal((await send(createApp(options({ telemetry: false })))).status, 200);
    assert.deepEqual(await collect(off), []);
  });
});

describe('free when off', () => {
  const NAMES = ['request:start', 'attempt:start', 'attempt:end', 'fallback', 'hedge', 'breaker:state', 'stream:commit', 'stream:end', 'request:end'] as const;
  const subscribed = async (options: RouterOptions): Promise<string[]> => {
    const events = new EngineEvents();
    attachMetrics(events, parseOptions(options));
    await loadOptional('@opentelemetry/api');
    await new Promise((resolve) => setImmediate(resolve));
    return NAMES.filter((n) => events.has(n));
  };
  afterEach(() => otelMetrics.disable());

  test('telemetry: false without metrics subscribes to nothing; metrics subscribe to what they count', async () => {
    assert.deepEqual(await subscribed({ telemetry: false }), []);
    assert.deepEqual(await subscribed({ telemetry: false, metrics: { registry: new client.Registry() } }), ['request:start', 'attempt:end', 'fallback', 'hedge', 'breaker:state', 'request:end']);
  });

  test('OpenTelemetry alone: per-request listeners only while a MeterProvider is registered', async () => {
    const events = new EngineEvents();
    attachMetrics(events, parseOptions({}));
    await loadOptional('@opentelemetry/api');
    await new Promise((resolve) => setImmediate(resolve));
    const start = { requestId: 'r', traceId: 't', configId: 'default', endpoint: 'chat' as const, stream: false, startedAt: Date.now() };
    events.emit('request:start', start);
    assert.deepEqual(NAMES.filter((n) => events.has(n)), ['request:start', 'breaker:state'], 'no provider: one check per request, nothing else');
    otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [new TestReader()] }));
    events.emit('request:start', start);
    assert.ok(events.has('attempt:end') && events.has('request:end'), 'a provider: the metrics listen');
    otelMetrics.disable();
    events.emit('request:start', start);
    assert.equal(events.has('attempt:end'), false, 'the provider gone: detached again');
  });
});
