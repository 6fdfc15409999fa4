/**
 * examples/pino.ts runs as the README says (`npx tsx examples/pino.ts`): its pino JSON lines show
 * a retry and a fallback (info), a breaker opening and two requests giving up (warn) and a refused
 * config (info), each request line with its trace id and config id, and no key; it exits 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExample } from './examples-child.js';

interface PinoLine {
  readonly level: number;
  readonly msg: string;
  readonly traceId?: string;
  readonly configId?: string;
  readonly [field: string]: unknown;
}

test('examples/pino.ts: every router line is pino JSON at the right level, with the trace id and config id', async () => {
  const { code, output } = await runExample('examples/pino.ts');
  assert.equal(code, 0, output);
  assert.match(output, /demo-fallback: HTTP 200/);
  assert.match(output, /demo-give-up: HTTP 429/);
  assert.match(output, /demo-refused: HTTP 400/);
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PinoLine);
  const summary = lines.map((l) => [l.level, l.traceId ?? l.breaker, l.configId, l.msg.replace(/^express-llm-fallback: /, '').replace(/ in \d+ ms/, ' in N ms')]);
  assert.deepEqual(summary, [
    [30, 'demo-fallback', 'openai-then-azure', 'retrying openai in N ms after 429 rate_limit (retry 1 of 1)'],
    [30, 'demo-fallback', 'openai-then-azure', 'falling back from openai (429 rate_limit) to azure-openai (config.targets[1])'],
    [40, lines[2]!.breaker, undefined, 'circuit breaker opened for openai gpt-4o (chat); the target is skipped until its cooldown ends'],
    [40, 'demo-give-up', 'openai-only', 'giving up after 1 attempt (openai 429); the client gets 429'],
    [40, 'demo-open', 'openai-only', 'giving up after 1 attempt (openai skipped (circuit_open), openai 429); the client gets 429'],
    [30, 'demo-refused', undefined, 'request refused before any attempt (400 invalid_config)'],
  ]);
  assert.match(String(lines[2]!.breaker), /^openai\|gpt-4o\|chat\|[0-9a-f]{10}$/);
  assert.equal(lines[0]!.retryAfter, false);
  assert.equal(typeof lines[0]!.waitMs, 'number');
  assert.deepEqual(lines[3]!.statuses, [429]);
  assert.equal(lines[5]!.code, 'invalid_config');
  for (const key of ['demo-openai-key', 'demo-azure-key', 'demo-gateway-key']) assert.ok(!output.includes(key), `${key} is in the output`);
});
