/**
 * The shape of lib/: no import cycles between files (value imports; `import type` is erased at
 * build time and cannot form a runtime cycle), and no file so long that it surely holds two
 * things. Run in `npm test` so a change that tangles the engine again fails at once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib');
/** Past this a file is split; ARCHITECTURE.md says ~300, a page template may run longer. */
const MAX_LINES = 400;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The lib files a file imports at run time (relative specifiers, type-only imports left out). */
function valueImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  const statement = /^\s*(?:import|export)\s+(type\s+)?([\s\S]*?)\s*from\s*['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) {
    if (m[1]) continue;
    const clause = m[2]!.trim();
    const braces = /^\{([\s\S]*)\}$/.exec(clause);
    if (braces && braces[1]!.split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))) continue;
    out.push(path.resolve(path.dirname(file), m[3]!.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every cycle found by a depth-first walk, each as a list of files. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('the shape of lib/', () => {
  const files = sources(LIB);
  const graph = new Map(files.map((f) => [f, valueImports(f)]));

  test('the walk sees the engine and its imports', () => {
    const run = path.join(LIB, 'engine/run.ts');
    assert.ok(graph.has(run));
    assert.ok(graph.get(run)!.includes(path.join(LIB, 'engine/strategies/index.ts')));
  });

  test('finds a cycle when there is one', () => {
    assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), [['a', 'b', 'c', 'a']]);
  });

  test('no import cycles between files', () => {
    const rel = (f: string): string => path.relative(LIB, f);
    assert.deepEqual(cycles(graph).map((c) => c.map(rel).join(' -> ')), []);
  });

  test(`no file over ${MAX_LINES} lines`, () => {
    const long = files.filter((f) => fs.readFileSync(f, 'utf8').split('\n').length > MAX_LINES).map((f) => path.relative(LIB, f));
    assert.deepEqual(long, []);
  });
});
