/**
 * examples/prometheus.ts runs as the README says (`npx tsx examples/prometheus.ts`): one fallback
 * through the local demo upstreams, then GET /v1/metrics printed, and exits 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExample } from './examples-child.js';

test('examples/prometheus.ts: a fallback, then the scrape shows its requests, attempts, fallback, tokens and cost; 401 without the key', async () => {
  const { code, output } = await runExample('examples/prometheus.ts');
  assert.equal(code, 0, output);
  assert.match(output, /HTTP 200 from azure-openai after 2 attempts/);
  assert.match(output, /GET \/v1\/metrics: HTTP 200, text\/plain; version=0\.0\.4/);
  const lines = new Set(output.split('\n'));
  for (const expected of [
    'llm_fallback_requests_total{endpoint="chat",status="200",config_id="openai-then-azure"} 1',
    'llm_fallback_attempts_total{provider="openai",model="gpt-4o",outcome="failure",reason="rate_limit"} 1',
    'llm_fallback_attempts_total{provider="azure-openai",model="gpt-4o",outcome="success",reason=""} 1',
    'llm_fallback_fallbacks_total{provider="openai",reason="rate_limit"} 1',
    'llm_fallback_tokens_total{provider="azure-openai",model="gpt-4o",type="input"} 12',
    'llm_fallback_tokens_total{provider="azure-openai",model="gpt-4o",type="output"} 9',
    // (12 * 2.5 + 9 * 10) / 1e6 USD
    'llm_fallback_cost_usd_total{provider="azure-openai",model="gpt-4o"} 0.00012',
    'llm_fallback_request_duration_seconds_count{endpoint="chat",config_id="openai-then-azure"} 1',
  ]) {
    assert.ok(lines.has(expected), `missing: ${expected}\n${output}`);
  }
  assert.ok(!output.includes('_bucket{'), 'the buckets are left out');
  assert.match(output, /GET \/v1\/metrics without the gateway key: HTTP 401/);
});
