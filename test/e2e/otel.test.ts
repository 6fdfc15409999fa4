/**
 * OpenTelemetry GenAI spans (lib/observe/otel*.ts) through the router against fake providers,
 * read from the SDK's in-memory exporter with a tracer provider and an AsyncLocalStorage context
 * manager registered globally in this process (and unregistered at the end): names, kinds,
 * parents and attributes against the GenAI semantic conventions, fallbacks, retries, breaker
 * skips, hedges, streams, trace context in (traceparent, the active span) and out
 * (`trace_context`), captureBodies, `telemetry: false`, and auto mode before and after a
 * provider is registered.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SamplingDecision, SimpleSpanProcessor, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import request from 'supertest';
import type { RouterOptions } from '../../lib/index.js';
import { loadOptional } from '../../lib/observe/optional.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { postThenHangUp, wait } from '../helpers/requests.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
const messages = [{ role: 'user', content: 'hi' }];

/** Registers the SDK globally (as a host's tracing setup does). */
function register(p: TracerProvider = provider): void {
  trace.setGlobalTracerProvider(p);
}

/** The spans of one request: its request span (by x-portkey-trace-id) and its children, in start order. */
async function spansOf(traceId: string, done: (attempts: ReadableSpan[]) => boolean = () => true): Promise<{ root: ReadableSpan; attempts: ReadableSpan[] }> {
  for (let i = 0; ; i++) {
    const all = exporter.getFinishedSpans();
    const root = all.find((s) => s.attributes['llm_fallback.trace_id'] === traceId);
    const attempts = root ? all.filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId) : [];
    attempts.sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    if (root && done(attempts)) return { root, attempts };
    if (i > 200) assert.fail(`no finished spans for ${traceId}: ${all.map((s) => s.name).join(', ')}`);
    await wait(10);
  }
}

describe('OpenTelemetry spans', () => {
  let primary: Fake;
  let second: Fake;
  let azure: Fake;
  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    [primary, second, azure] = await Promise.all([startFake('openai', 'primary'), startFake('openai', 'second'), startFake('azure', 'azure')]);
    await loadOptional('@opentelemetry/api'); // the routers' subscribers have the API from here on
  });
  after(async () => {
    trace.disable();
    context.disable();
    await Promise.all([primary.close(), second.close(), azure.close()]);
  });
  beforeEach(() => {
    primary.reset();
    second.reset();
    azure.reset();
    exporter.reset();
  });

  const options = (extra: Partial<RouterOptions> = {}): RouterOptions => ({
    virtualKeys: {
      primary: { provider: 'openai', apiKey: 'k1', baseURL: primary.baseURL },
      second: { provider: 'openai', apiKey: 'k2', baseURL: second.baseURL },
      azure: { provider: 'azure-openai', apiKey: 'k3', baseURL: azure.baseURL, deploymentId: 'gpt4o', apiVersion: '2024-10-21' },
    },
    ...extra,
  });
  const chain = (...targets: unknown[]) => ({ strategy: { mode: 'fallback' }, targets });
  const send = (app: ReturnType<typeof createApp>, config: unknown, traceId: string, body: Record<string, unknown> = {}) =>
    request(app).post('/v1/chat/completions').set('x-portkey-config', JSON.stringify(config)).set('x-portkey-trace-id', traceId).send({ model: 'gpt-4o', messages, ...body });

  test('auto mode: nothing is traced before a tracer provider is registered; after, the same router traces', async () => {
    const app = createApp(options());
    const before = `before-${randomUUID()}`;
    assert.equal((await send(app, { virtual_key: 'primary', trace_context: true }, before)).status, 200);
    assert.equal(primary.received[0]!.headers.traceparent, undefined, 'no span, so no traceparent upstream');
    register();
    const afterId = `after-${randomUUID()}`;
    assert.equal((await send(app, { virtual_key: 'primary', trace_context: true }, afterId)).status, 200);
    const { root, attempts } = await spansOf(afterId, (a) => a.length === 1);
    assert.equal(root.name, 'chat gpt-4o');
    assert.equal(attempts.length, 1);
    assert.match(String(primary.received[1]!.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(!exporter.getFinishedSpans().some((s) => s.attributes['llm_fallback.trace_id'] === before), 'the earlier request made no span');
  });

  test('a plain request: one INTERNAL request span, one CLIENT attempt span under it, named and attributed by the GenAI conventions', async () => {
    const app = createApp(options({ pricing: { 'gpt-4o': { input: 2.5, output: 10 } } }));
    const traceId = randomUUID();
    const res = await send(app, { virtual_key: 'primary' }, traceId);
    assert.equal(res.status, 200);
    const { root, attempts } = await spansOf(traceId, (a) => a.length === 1);
    assert.equal(attempts.length, 1);
    const [attempt] = attempts as [ReadableSpan];
    assert.equal(root.kind, SpanKind.INTERNAL);
    assert.equal(attempt.kind, SpanKind.CLIENT);
    assert.equal(attempt.name, 'chat gpt-4o');
    assert.equal(attempt.spanContext().traceId, root.spanContext().traceId);
    assert.deepEqual(
      { ...attempt.attributes },
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o',
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.response.id': 'chatcmpl-fake',
        'gen_ai.usage.input_tokens': 11,
        'gen_ai.usage.output_tokens': 7,
        'llm_fallback.target.path': 'config',
        'llm_fallback.target.provider': 'openai',
        'llm_fallback.retry': 0,
        'llm_fallback.status': 200,
        'llm_fallback.cost_usd': 0.0000975,
      },
    );
    assert.equal(attempt.status.code, SpanStatusCode.UNSET);
    assert.equal(root.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(root.attributes['gen_ai.provider.name'], 'openai');
    assert.match(String(root.attributes['llm_fallback.config_id']), /^cfg-/);
    assert.equal(root.attributes['llm_fallback.attempts'], 1);
    assert.equal(root.attributes['llm_fallback.usage.input_tokens'], 11);
    assert.equal(root.attributes['llm_fallback.status'], 200);
    assert.equal(root.attributes['gen_ai.usage.input_tokens'], undefined, 'tokens are counted once, on the attempt span');
    assert.equal(root.status.code, SpanStatusCode.UNSET);
    assert.equal(root.events.length, 0, 'no bodies without captureBodies');
  });

  test('completions and embeddings: the operations text_completion and embeddings, in the span names', async () => {
    const app = createApp(options());
    const completion = randomUUID();
    const c = await request(app).post('/v1/completions').set('x-portkey-config', JSON.stringify({ virtual_key: 'primary' })).set('x-portkey-trace-id', completion).send({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
    assert.equal(c.status, 200);
    const embedding = randomUUID();
    const e = await request(app).post('/v1/embeddings').set('x-portkey-config', JSON.stringify({ virtual_key: 'primary' })).set('x-portkey-trace-id', embedding).send({ model: 'text-embedding-3-small', input: 'hi' });
    assert.equal(e.status, 200);
    const cs = await spansOf(completion, (a) => a.length === 1);
    assert.deepEqual([cs.root.name, cs.attempts[0]!.name, cs.attempts[0]!.attributes['gen_ai.operation.name']], ['text_completion gpt-3.5-turbo-instruct', 'text_completion gpt-3.5-turbo-instruct', 'text_completion']);
    const es = await spansOf(embedding, (a) => a.length === 1);
    assert.deepEqual([es.root.name, es.attempts[0]!.attributes['gen_ai.operation.name'], es.attempts[0]!.attributes['gen_ai.usage.input_tokens']], ['embeddings text-embedding-3-small', 'embeddings', 3]);
  });

  test('a fallback: two attempt spans, the first ERROR with error.type, and a fallback event on the request span', async () => {
    const app = createApp(options());
    primary.script({ kind: 'status', status: 429 });
    const traceId = randomUUID();
    assert.equal((await send(app, chain({ virtual_key: 'primary' }, { virtual_key: 'azure' }), traceId)).status, 200);
    const { root, attempts } = await spansOf(traceId, (a) => a.length === 2);
    const [failed, served] = attempts as [ReadableSpan, ReadableSpan];
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.attributes['error.type'], 'rate_limit');
    assert.equal(failed.attributes['llm_fallback.status'], 429);
    assert.equal(failed.attributes['llm_fallback.target.path'], 'config.targets[0]');
    assert.equal(served.attributes['gen_ai.provider.name'], 'azure.ai.openai');
    assert.equal(served.attributes['gen_ai.response.model'], 'gpt-4o-2024-08-06');
    assert.equal(served.status.code, SpanStatusCode.UNSET);
    const fallback = root.events.find((e) => e.name === 'llm_fallback.fallback');
    assert.deepEqual(fallback?.attributes, {
      'llm_fallback.fallback.from': 'config.targets[0]',
      'llm_fallback.fallback.to': 'config.targets[1]',
      'llm_fallback.fallback.strategy_path': 'config',
      'llm_fallback.fallback.reason': 'rate_limit',
      'llm_fallback.status': 429,
      'llm_fallback.target.provider': 'openai',
      'llm_fallback.error.code': 'rate_limit_exceeded',
    });
    assert.equal(root.attributes['llm_fallback.fallbacks'], 1);
    assert.equal(root.attributes['llm_fallback.served_by'], 'config.targets[1]');
    assert.equal(root.attributes['gen_ai.provider.name'], 'azure.ai.openai');
  });

  test('retries: one attempt span per try, numbered', async () => {
    const app = createApp(options());
    primary.script({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const traceId = randomUUID();
    assert.equal((await send(app, { virtual_key: 'primary', retry: { attempts: 2, on_status_codes: [503] } }, traceId)).status, 200);
    const { root, attempts } = await spansOf(traceId, (a) => a.length === 3);
    assert.deepEqual(attempts.map((s) => [s.attributes['llm_fallback.retry'], s.attributes['llm_fallback.status'], s.status.code]), [
      [0, 503, SpanStatusCode.ERROR],
      [1, 503, SpanStatusCode.ERROR],
      [2, 200, SpanStatusCode.UNSET],
    ]);
    assert.equal(root.attributes['llm_fallback.retries'], 2);
  });

  test('a target skipped by its open breaker is an event on the request span, and listed in llm_fallback.breaker.skipped', async () => {
    const app = createApp(options({ circuitBreaker: { failureThreshold: 1, minimumRequests: 1, cooldownMs: 60_000 } }));
    primary.script({ kind: 'status', status: 503 });
    const config = chain({ virtual_key: 'primary' }, { virtual_key: 'second' });
    assert.equal((await send(app, config, randomUUID())).status, 200);
    const traceId = randomUUID();
    assert.equal((await send(app, config, traceId)).status, 200);
    const { root, attempts } = await spansOf(traceId, (a) => a.length === 1);
    assert.equal(attempts.length, 1, 'no span for the target that was not tried');
    assert.equal(attempts[0]!.attributes['llm_fallback.target.path'], 'config.targets[1]');
    const skipped = root.events.find((e) => e.name === 'llm_fallback.target_skipped');
    assert.deepEqual(skipped?.attributes, {
      'llm_fallback.target.path': 'config.targets[0]',
      'llm_fallback.target.provider': 'openai',
      'gen_ai.provider.name': 'openai',
      'llm_fallback.skip.reason': 'circuit_open',
    });
    assert.deepEqual(root.attributes['llm_fallback.breaker.skipped'], ['config.targets[0]']);
  });

  test('hedging: the hedge is marked, the slow attempt it beat ends UNSET as hedge_cancelled', async () => {
    const app = createApp(options());
    primary.script({ kind: 'ok', delayMs: 1000 });
    const traceId = randomUUID();
    const res = await send(app, { strategy: { mode: 'fallback', hedge_after_ms: 50 }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] }, traceId);
    assert.equal(res.status, 200);
    const { attempts } = await spansOf(traceId, (a) => a.length === 2);
    const [slow, hedge] = attempts as [ReadableSpan, ReadableSpan];
    assert.equal(slow.attributes['llm_fallback.hedge'], undefined);
    assert.equal(slow.attributes['llm_fallback.cancelled'], 'hedge_cancelled');
    assert.equal(slow.status.code, SpanStatusCode.UNSET);
    assert.equal(hedge.attributes['llm_fallback.hedge'], true);
    assert.equal(hedge.attributes['llm_fallback.target.path'], 'config.targets[1]');
    assert.deepEqual(hedge.attributes['gen_ai.response.finish_reasons'], ['stop']);
  });

  test('a stream: time to first chunk, usage and finish reasons on the attempt span, which ends with the stream', async () => {
    const app = createApp(options());
    primary.script({ kind: 'stream', intervalMs: 5 });
    const traceId = randomUUID();
    const res = await send(app, { virtual_key: 'primary' }, traceId, { stream: true });
    assert.equal(res.status, 200);
    assert.match(res.text, /\[DONE\]/);
    const { root, attempts } = await spansOf(traceId, (a) => a.length === 1);
    const attempt = attempts[0]!;
    assert.equal(attempt.attributes['gen_ai.request.stream'], true);
    assert.equal(typeof attempt.attributes['llm_fallback.ttft_ms'], 'number');
    assert.equal(attempt.attributes['gen_ai.response.time_to_first_chunk'], (attempt.attributes['llm_fallback.ttft_ms'] as number) / 1000);
    assert.equal(attempt.attributes['gen_ai.usage.input_tokens'], 11);
    assert.equal(attempt.attributes['gen_ai.usage.output_tokens'], 7);
    assert.deepEqual(attempt.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.deepEqual(root.attributes['gen_ai.response.finish_reasons'], ['stop']);
    const ttftMs = attempt.attributes['llm_fallback.ttft_ms'] as number;
    const durationMs = attempt.duration[0] * 1000 + attempt.duration[1] / 1e6;
    assert.ok(durationMs >= ttftMs, `the span (${durationMs} ms) covers the stream past its first content (${ttftMs} ms)`);
  });

  test('an incoming traceparent is the parent: same trace id, its span id as the parent; tracestate is kept', async () => {
    const app = createApp(options());
    const parentTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpan = '00f067aa0ba902b7';
    const traceId = randomUUID();
    const res = await send(app, { virtual_key: 'primary', trace_context: true }, traceId).set('traceparent', `00-${parentTrace}-${parentSpan}-01`).set('tracestate', 'vendor=abc');
    assert.equal(res.status, 200);
    const { root, attempts } = await spansOf(traceId, (a) => a.length === 1);
    assert.equal(root.spanContext().traceId, parentTrace);
    assert.equal(root.parentSpanContext?.spanId, parentSpan);
    assert.equal(attempts[0]!.spanContext().traceId, parentTrace);
    assert.equal(primary.received[0]!.headers.tracestate, 'vendor=abc');
  });

  test('without a traceparent, the span active in the handler (a host HTTP instrumentation\'s server span) is the parent', async () => {
    const app = createApp(options());
    const host = trace.getTracer('host');
    const wrapper = express();
    let serverSpan: ReturnType<typeof host.startSpan> | undefined;
    wrapper.use((req, res, next) => {
      serverSpan = host.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER });
      res.on('finish', () => serverSpan!.end());
      context.with(trace.setSpan(context.active(), serverSpan), next);
    });
    wrapper.use(app);
    const traceId = randomUUID();
    assert.equal((await send(wrapper as unknown as ReturnType<typeof createApp>, { virtual_key: 'primary' }, traceId)).status, 200);
    const { root } = await spansOf(traceId);
    assert.equal(root.spanContext().traceId, serverSpan!.spanContext().traceId);
    assert.equal(root.parentSpanContext?.spanId, serverSpan!.spanContext().spanId);
  });

  test('trace_context: true sends the attempt span as traceparent, over a forwarded client one; without it, none is sent', async () => {
    const app = createApp(options());
    const clientParent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const traceId = randomUUID();
    const config = chain({ virtual_key: 'primary', trace_context: true, forward_headers: ['traceparent'] }, { virtual_key: 'second' });
    primary.script({ kind: 'status', status: 500 });
    assert.equal((await send(app, config, traceId).set('traceparent', clientParent)).status, 200);
    const { attempts } = await spansOf(traceId, (a) => a.length === 2);
    const sent = String(primary.received[0]!.headers.traceparent);
    const sc = attempts[0]!.spanContext();
    assert.equal(sent, `00-${sc.traceId}-${sc.spanId}-01`, 'the attempt span, not the client header');
    assert.equal(sc.traceId, 'a'.repeat(32), 'in the client\'s trace');
    assert.equal(second.received[0]!.headers.traceparent, undefined, 'the second target did not opt in');
    assert.equal(second.received[0]!.headers.tracestate, undefined);
  });

  test('trace_context is inherited from a strategy node, in either spelling, and can be turned off below', async () => {
    const app = createApp(options());
    const config = { strategy: { mode: 'fallback' }, traceContext: true, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second', trace_context: false }] };
    primary.script({ kind: 'status', status: 500 });
    assert.equal((await send(app, config, randomUUID())).status, 200);
    assert.match(String(primary.received[0]!.headers.traceparent), /^00-/);
    assert.equal(second.received[0]!.headers.traceparent, undefined);
  });

  test('captureBodies: the prompt and the completion as the gen_ai.client.inference.operation.details event; off by default', async () => {
    const app = createApp(options({ telemetry: { captureBodies: true } }));
    const traceId = randomUUID();
    const body = { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }] };
    assert.equal((await send(app, { virtual_key: 'primary' }, traceId, body)).status, 200);
    const { root } = await spansOf(traceId);
    const details = root.events.find((e) => e.name === 'gen_ai.client.inference.operation.details');
    assert.ok(details, 'the event is there');
    assert.deepEqual(JSON.parse(String(details.attributes!['gen_ai.input.messages'])), [
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Say hello' }] },
    ]);
    assert.deepEqual(JSON.parse(String(details.attributes!['gen_ai.output.messages'])), [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from primary' }], finish_reason: 'stop' }]);
    assert.equal(details.attributes!['gen_ai.provider.name'], 'openai');

    const streamed = randomUUID();
    primary.script({ kind: 'stream' });
    assert.equal((await send(app, { virtual_key: 'primary' }, streamed, { stream: true })).status, 200);
    const s = await spansOf(streamed);
    const streamedDetails = s.root.events.find((e) => e.name === 'gen_ai.client.inference.operation.details');
    assert.deepEqual(JSON.parse(String(streamedDetails?.attributes!['gen_ai.output.messages'])), [{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from primary' }], finish_reason: 'stop' }]);

    const plain = createApp(options({ telemetry: { captureBodies: false } }));
    const off = randomUUID();
    assert.equal((await send(plain, { virtual_key: 'primary' }, off, body)).status, 200);
    const o = await spansOf(off);
    assert.equal(o.root.events.length, 0);
    assert.ok(!JSON.stringify(exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === o.root.spanContext().traceId).map((x) => x.attributes)).includes('Say hello'));
  });

  test('telemetry: false makes no span and sends no traceparent', async () => {
    const app = createApp(options({ telemetry: false }));
    const traceId = randomUUID();
    assert.equal((await send(app, { virtual_key: 'primary', trace_context: true }, traceId)).status, 200);
    await wait(50);
    assert.equal(exporter.getFinishedSpans().length, 0);
    assert.equal(primary.received[0]!.headers.traceparent, undefined);
  });

  test('a request refused before any attempt has an ERROR span with the error code as error.type', async () => {
    const app = createApp(options());
    const traceId = randomUUID();
    assert.equal((await send(app, { virtual_key: 'nope' }, traceId)).status, 400);
    const { root, attempts } = await spansOf(traceId);
    assert.equal(attempts.length, 0);
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.attributes['error.type'], 'unknown_virtual_key');
    assert.equal(root.attributes['llm_fallback.status'], 400);
  });

  test('a client that leaves mid-stream: the spans end, UNSET, marked client_disconnected', async () => {
    const app = createApp(options());
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      primary.script({ kind: 'stream', stallAfter: 1 });
      const traceId = randomUUID();
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await postThenHangUp(origin, '/v1/chat/completions', { 'x-portkey-config': JSON.stringify({ virtual_key: 'primary' }), 'x-portkey-trace-id': traceId }, { model: 'gpt-4o', messages, stream: true }, 300);
      const { root, attempts } = await spansOf(traceId, (a) => a.length === 1);
      assert.equal(root.attributes['llm_fallback.cancelled'], 'client_disconnected');
      assert.equal(root.status.code, SpanStatusCode.UNSET);
      assert.equal(attempts[0]!.attributes['llm_fallback.cancelled'], 'client_disconnected');
      assert.equal(attempts[0]!.status.code, SpanStatusCode.UNSET);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a host sampler that drops the request: no span exported, the answer and the upstream traceparent (not sampled) as usual', async () => {
    const clientTrace = 'c'.repeat(32);
    const samplers = [
      { name: 'AlwaysOff', sampler: new AlwaysOffSampler(), traceparent: undefined },
      { name: 'ParentBased, a client that is not sampled', sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), traceparent: `00-${clientTrace}-${'d'.repeat(16)}-00` },
    ];
    const app = createApp(options());
    trace.disable();
    try {
      for (const { name, sampler, traceparent } of samplers) {
        trace.disable();
        register(new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] }));
        primary.reset();
        second.reset();
        primary.script({ kind: 'status', status: 500 });
        const traceId = randomUUID();
        const req = send(app, chain({ virtual_key: 'primary', trace_context: true }, { virtual_key: 'second', trace_context: true }), traceId, { stream: false });
        const res = await (traceparent ? req.set('traceparent', traceparent) : req);
        assert.equal(res.status, 200, name);
        assert.equal(res.headers['x-portkey-attempts'], '2', name);
        const sent = [String(primary.received[0]!.headers.traceparent), String(second.received[0]!.headers.traceparent)];
        for (const tp of sent) assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, `${name}: the attempt's context goes upstream, marked not sampled`);
        if (traceparent) for (const tp of sent) assert.equal(tp.split('-')[1], clientTrace, `${name}: in the client's trace`);
        await wait(30);
        assert.ok(!exporter.getFinishedSpans().some((s) => s.attributes['llm_fallback.trace_id'] === traceId), `${name}: no span exported`);
      }
    } finally {
      trace.disable();
      register();
    }
  });

  test('a sampler that records only the attempt spans: they are described in full (finish reasons included), the request span is not exported', async () => {
    const clientsOnly: Sampler = {
      shouldSample: (_ctx, _traceId, _name, kind) => ({ decision: kind === SpanKind.CLIENT ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD }),
      toString: () => 'clients only',
    };
    const app = createApp(options());
    trace.disable();
    register(new BasicTracerProvider({ sampler: clientsOnly, spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    try {
      primary.script({ kind: 'status', status: 500 });
      const traceId = randomUUID();
      assert.equal((await send(app, chain({ virtual_key: 'primary' }, { virtual_key: 'second' }), traceId)).status, 200);
      let spans: ReadableSpan[] = [];
      for (let i = 0; i < 100 && spans.length < 2; i++) {
        await wait(10);
        spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT && s.attributes['llm_fallback.target.path'] !== undefined);
      }
      assert.ok(!exporter.getFinishedSpans().some((s) => s.attributes['llm_fallback.trace_id'] === traceId), 'no request span');
      const served = spans.find((s) => s.attributes['gen_ai.response.finish_reasons'] !== undefined);
      assert.ok(served, `an attempt span with its finish reasons among ${spans.length}`);
      assert.deepEqual(served.attributes['gen_ai.response.finish_reasons'], ['stop']);
      assert.ok(spans.some((s) => s.attributes['error.type'] !== undefined), 'the failed attempt is described too');
    } finally {
      trace.disable();
      register();
    }
  });

  test('a tracer that throws never fails a request: the answer is served and the failure is logged once', async () => {
    const logger = quietLogger();
    const app = createApp(options({ logger }));
    const broken: TracerProvider = {
      getTracer: () => {
        throw new Error('tracer boom');
      },
    };
    trace.disable();
    register(broken);
    try {
      for (let i = 0; i < 2; i++) assert.equal((await send(app, { virtual_key: 'primary', trace_context: true }, randomUUID())).status, 200);
      const failures = logger.lines.filter((l) => l.includes('OpenTelemetry tracing failed'));
      assert.equal(failures.length, 1);
      assert.match(failures[0]!, /tracer boom/);
      assert.ok(!logger.lines.some((l) => l.includes('subscriber failed')), 'every failure went through the one report');
    } finally {
      trace.disable();
      register();
    }
  });
});
