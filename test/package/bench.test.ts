/**
 * `npm run bench` stays runnable: bench/stack.ts, bench/observe.ts and bench/observe-share.ts, each run end to end on the
 * built package (npm test builds it first) with a handful of requests. Nothing here is timed or
 * compared: the figures of so short a run mean nothing; what is checked is that each bench starts
 * its servers, loads them, and reports every figure and target it promises.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runExample } from '../e2e/examples-child.js';

const T = { timeout: 180_000 };
/** A bench is run as an example is (`node --import tsx` in the repository root), killed after this long. */
const BENCH_MS = 150_000;

describe('the benches run end to end', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('bench/stack.ts: every case loaded, every target reported, the JSON written', T, async () => {
    const json = path.join(dir, 'stack.json');
    const cases = ['floor', 'ceiling', 'router', 'router-fallback'];
    const { code, output } = await runExample('bench/stack.ts', {
      BENCH_ROUNDS: '1',
      BENCH_REQUESTS: '60',
      BENCH_STREAMS: '10',
      BENCH_SETTLE_S: '0',
      BENCH_CASES: cases.join(','),
      BENCH_JSON: json,
    }, BENCH_MS);
    assert.equal(code, 0, output);
    assert.match(output, /targets \(issue #15, item 2\)/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      rounds: Array<{ results: Record<string, { json32: { n: number; errors: number; rps: number } }> }>;
      memory: Record<string, { summaryMB: Record<string, number | null> }>;
      targets: Array<{ name: string; value: number | null; result: string }>;
    };
    assert.equal(report.rounds.length, 1);
    for (const name of cases) {
      const load = report.rounds[0]!.results[name]!.json32;
      assert.equal(load.errors, 0, `${name}: no request failed`);
      assert.ok(load.rps > 0, `${name} served`);
    }
    assert.equal(report.targets.length, 6);
    for (const t of report.targets) {
      assert.ok(typeof t.value === 'number' && Number.isFinite(t.value), `${t.name}: a number`);
      assert.ok(t.result === 'PASS' || t.result === 'MISS', t.name);
    }
    for (const kind of ['floor', 'ceiling', 'router']) {
      const m = report.memory[kind]!.summaryMB;
      for (const key of ['idleColdRssMB', 'idleRssMB', 'peakRssMB', 'after1sRssMB', 'settledRssMB']) assert.ok((m[key] ?? 0) > 0, `${kind} ${key}`);
    }
  });

  test('bench/observe.ts: the routers with observability off, on, and the libraries alone (floor), all loaded, the ratios printed', T, async () => {
    const { code, output } = await runExample('bench/observe.ts', { BENCH_ROUNDS: '1', BENCH_REQUESTS: '50', BENCH_HOST: 'instrumented' }, BENCH_MS);
    assert.equal(code, 0, output);
    assert.match(output, /median of the rounds' on\/off = \d+\.\d+/);
    assert.match(output, /router CPU per request: off \d+ µs, on \d+ µs, floor \d+ µs/);
    assert.match(output, /router main thread CPU per request: off \d+ µs, on \d+ µs, floor \d+ µs/);
    assert.match(output, /floor\/off = \d+\.\d+, on\/floor = \d+\.\d+/, 'the floor (the libraries alone) ran in the same rounds');
  });

  test('bench/observe-share.ts: off, floor and on in one process, the libraries\' and the router\'s shares printed', T, async () => {
    const { code, output } = await runExample('bench/observe-share.ts', { BENCH_BATCHES: '1', BENCH_REQUESTS: '20' }, BENCH_MS);
    assert.equal(code, 0, output);
    for (const kind of ['off', 'floor', 'on']) assert.match(output, new RegExp(`${kind} +process CPU per request \\d+ µs`));
    assert.match(output, /floor − off -?\d+\.\d µs \(the libraries\), on − floor -?\d+\.\d µs \(the router's own\)/);
  });

});
