/**
 * The observability examples of the README run, as a reader would run them (`npx tsx
 * examples/<name>.ts`, against the local demo upstreams), and print what the README says.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runExample } from './examples-child.js';

describe('the observability examples run', () => {
  test('examples/otel.ts: the ConsoleSpanExporter prints two attempt spans and the request span of one fallback, in the caller\'s trace', { timeout: 90_000 }, async () => {
    // The SDK reads OTEL_* variables: a developer's sampler must not change what the example prints.
    const { code, output } = await runExample('examples/otel.ts', { OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, 60_000);
    assert.equal(code, 0, output);
    assert.match(output, /^HTTP 200 from azure-openai: Demo Azure OpenAI answering: "Say hello"$/m);
    // The exporter's own output: the attempt that failed, the one that served, the request with its fallback event.
    assert.equal(output.match(/^ {2}name: 'chat gpt-4o',$/gm)?.length, 3, output);
    assert.equal(output.match(/^ {2}traceId: '4bf92f3577b34da6a3ce929d0e0e4736',$/gm)?.length, 3, 'all three in the caller\'s trace');
    assert.match(output, /'gen_ai\.provider\.name': 'openai',\n[\s\S]*?'error\.type': 'rate_limit'\n {2}\},\n {2}status: \{ code: 2, message: '429 rate_limit \(rate_limit_exceeded\)' \}/);
    assert.match(output, /'gen_ai\.provider\.name': 'azure\.ai\.openai',[\s\S]*?'gen_ai\.usage\.input_tokens': 12,\n {4}'gen_ai\.usage\.output_tokens': 9,/);
    assert.match(output, /'gen_ai\.response\.finish_reasons': \[ 'stop' \]/);
    assert.match(output, /name: 'llm_fallback\.fallback',\n\s+attributes: \{\n\s+'llm_fallback\.fallback\.from': 'config\.targets\[0\]',\n\s+'llm_fallback\.fallback\.to': 'config\.targets\[1\]'/);
    assert.match(output, /'llm_fallback\.cost_usd': 0\.00012,/);
    // The request span's parent is the caller's span from its traceparent.
    assert.match(output, /parentSpanContext: \{\n\s+traceId: '4bf92f3577b34da6a3ce929d0e0e4736',\n\s+spanId: '00f067aa0ba902b7',\n\s+traceFlags: 1,\n\s+isRemote: true/);
    assert.match(output, /kind: 2,/, 'the attempts are CLIENT spans');
    assert.match(output, /kind: 0,/, 'the request span is INTERNAL');
  });
});
