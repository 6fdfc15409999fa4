/**
 * The packed package, as a user installs it: `npm pack` (prepack runs the tsup build), the tarball
 * extracted into `.pack-test/<variant>/node_modules/express-llm-fallback`, then loaded from
 * `require` and `import` in an Express 5 and an Express 4 host, and type-checked for a TS consumer
 * (ESM and CJS) against the matching Express types. The tarball's contents are checked too: the
 * files a user expects (LICENSE, README.md, CHANGELOG.md), the package.json metadata, and source
 * maps (none, or maps whose sources are in the tarball).
 *
 * The consumer scripts run on the Node running this test, or on the binary named by
 * PACK_TEST_NODE (test/package/node-versions.sh sets it to the lowest version `engines` allows,
 * which cannot run this TypeScript test itself).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const execFileP = promisify(execFile);

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PACK_TEST = path.join(ROOT, '.pack-test');
const ROOT_MODULES = path.join(ROOT, 'node_modules');
const TSC = path.join(ROOT_MODULES, '.bin', 'tsc');
const PKG = 'express-llm-fallback';
const SERVER_KEY = 'sk-pack-test-server';
/** The Node binary the consumer scripts run on. */
const CONSUMER_NODE = process.env.PACK_TEST_NODE || process.execPath;
const EXPECTED_KEYWORDS = ['express', 'llm', 'fallback', 'openai', 'anthropic', 'azure-openai', 'gemini', 'vertex-ai', 'bedrock', 'cohere', 'mistral', 'portkey', 'gateway', 'circuit-breaker', 'retry'];
const REPO_URL = 'git+https://github.com/express-llm-fallback/express-llm-fallback.git';

interface Variant {
  readonly name: 'express5' | 'express4';
  readonly major: number;
  readonly dir: string;
}

const VARIANTS: readonly Variant[] = [
  { name: 'express5', major: 5, dir: path.join(PACK_TEST, 'express5') },
  { name: 'express4', major: 4, dir: path.join(PACK_TEST, 'express4') },
];

/** What a consumer script prints as its last stdout line. */
interface ConsumerReport {
  status: number;
  provider: string | null;
  lastUsed: string | null;
  body: { model?: string; choices?: Array<{ message?: { content?: string } }> };
  hostExpress: string;
  packageExpress: string;
  entry: string;
  node: string;
}

/** The body shared by both consumer scripts (CJS and ESM differ only in how they load modules). */
const CONSUMER_BODY = `
const app = express();
app.get('/host-route', (_req, res) => { res.json({ host: true }); });
app.use('/v1', createFallbackRouter({
  providers: { openai: { apiKey: ${JSON.stringify(SERVER_KEY)}, baseURL: process.env.FAKE_OPENAI_URL } },
  logger: { warn() {}, error: (...a) => console.error(...a) },
}));
const server = app.listen(0, '127.0.0.1');
server.on('listening', async () => {
  try {
    const base = 'http://127.0.0.1:' + server.address().port;
    const res = await fetch(base + '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-fallback': 'openai' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi from the packed package' }] }),
    });
    const body = await res.json();
    const host = await (await fetch(base + '/host-route')).json();
    if (host.host !== true) throw new Error('host route broken: ' + JSON.stringify(host));
    console.log(JSON.stringify({
      status: res.status,
      provider: res.headers.get('x-portkey-provider'),
      lastUsed: res.headers.get('x-portkey-last-used-option-index'),
      body,
      hostExpress: require('express/package.json').version,
      packageExpress: require(require.resolve('express/package.json', { paths: [path.dirname(pkgEntry)] })).version,
      entry: pkgEntry,
      node: process.version,
    }));
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
`;

const CONSUMER_CJS = `'use strict';
const path = require('node:path');
const { createFallbackRouter } = require('${PKG}');
const express = require('express');
const pkgEntry = require.resolve('${PKG}');
${CONSUMER_BODY}`;

const CONSUMER_MJS = `import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createFallbackRouter } from '${PKG}';
const require = createRequire(import.meta.url);
const pkgEntry = fileURLToPath(import.meta.resolve('${PKG}'));
${CONSUMER_BODY}`;

/** ESM TypeScript consumer: resolves the package's `import` types (dist/index.d.ts). */
const CONSUMER_TS = `import express from 'express';
import { createFallbackRouter, type RouterOptions, type AttemptOutcome } from '${PKG}';
import { createRedisStores } from '${PKG}/redis';

const shouldFallback = (o: AttemptOutcome): boolean => o.status === 429;
const router = createFallbackRouter({ providers: { openai: { apiKey: 'x' } }, shouldFallback: (o) => o.status === 429 });
const options: RouterOptions = { finalError: 'first', shouldFallback, virtualKeys: { vk: { provider: 'anthropic', apiKey: 'y' } } };
const app = express();
app.use('/v1', router);
app.use('/v2', createFallbackRouter(options));
// @ts-expect-error finalError is 'last' | 'first'
createFallbackRouter({ finalError: 'middle' });
// @ts-expect-error shouldFallback must return a boolean-compatible function of an outcome
createFallbackRouter({ shouldFallback: 42 });
// The Redis stores of the subpath entry are what the main entry's options take.
const stores = createRedisStores({ sendCommand: async (...args: string[]) => args.length });
app.use('/v3', createFallbackRouter({ breakerStore: stores.breaker, traceStore: stores.traces }));
// @ts-expect-error sendCommand is required
createRedisStores({ prefix: 'x:' });
export { app };
`;

/** CommonJS TypeScript consumer: resolves the package's `require` types (dist/index.d.cts). */
const CONSUMER_CTS = `import express = require('express');
import { createFallbackRouter } from '${PKG}';
import { createRedisStores } from '${PKG}/redis';
import type { RouterOptions } from '${PKG}';

const router = createFallbackRouter({ providers: { openai: { apiKey: 'x' } }, shouldFallback: (o) => o.status === 429 });
const options: RouterOptions = { finalError: 'last' };
const app = express();
app.use('/v1', router);
app.use('/v2', createFallbackRouter(options));
// @ts-expect-error finalError is 'last' | 'first'
createFallbackRouter({ finalError: 'middle' });
const stores = createRedisStores({ sendCommand: async (...args: string[]) => args.length });
app.use('/v3', createFallbackRouter({ breakerStore: stores.breaker, traceStore: stores.traces }));
export = app;
`;

/**
 * The variant's own @types come first (for Express 4: the v4 types, as a real Express 4 install
 * hoists them), then the repository's, for @types/node.
 */
function tsconfig(variant: Variant): string {
  return JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        module: 'node16',
        moduleResolution: 'node16',
        target: 'ES2022',
        lib: ['ES2023'],
        types: ['node'],
        typeRoots: [path.join(variant.dir, 'node_modules', '@types'), path.join(ROOT_MODULES, '@types')],
        esModuleInterop: true,
        noEmit: true,
      },
      files: ['consumer.ts', 'consumer.cts'],
    },
    null,
    2,
  );
}

async function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileP(file, args, { cwd, env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 });
}

/** Runs a command; on failure, the assertion message carries its output. */
async function runOk(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, cwd, env);
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    assert.fail(`${path.basename(file)} ${args.join(' ')} failed (exit ${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`);
  }
}

function lastLine(stdout: string): string {
  const lines = stdout.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** `[major, minor, patch]` of `v20.3.0` or `20.3.0`. */
function versionParts(version: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version);
  assert.ok(m, `not a plain version: ${version}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * The alternatives of `engines.node`, which must be caret ranges `^X.Y.Z` joined by `||` (what
 * node-versions.sh reads to pick the Node versions it tests on).
 */
function engineAlternatives(range: string): Array<[number, number, number]> {
  return range.split('||').map((alt) => {
    const m = /^\^(\d+\.\d+\.\d+)$/.exec(alt.trim());
    assert.ok(m, `engines.node alternative "${alt.trim()}" is not of the form ^X.Y.Z (node-versions.sh reads these)`);
    return versionParts(m[1]!);
  });
}

/** True when `version` satisfies one of the caret alternatives (major > 0). */
function satisfiesEngines(version: string, range: string): boolean {
  const [major, minor, patch] = versionParts(version);
  return engineAlternatives(range).some(([M, m, p]) => major === M && (minor > m || (minor === m && patch >= p)));
}

/** The `sources` of a source map, as tarball entries (`package/...`), relative to the map's own entry. */
function mapSourceEntries(mapEntry: string, map: { sources?: unknown; sourceRoot?: unknown }): string[] {
  assert.ok(Array.isArray(map.sources), `${mapEntry} has a sources array`);
  const root = typeof map.sourceRoot === 'string' ? map.sourceRoot : '';
  return map.sources.map((source: unknown) => {
    assert.equal(typeof source, 'string', `${mapEntry}: every source is a string`);
    assert.ok(!/^[a-z][a-z0-9+.-]*:/i.test(root + String(source)), `${mapEntry}: source ${String(source)} is a URL, not a file in the tarball`);
    return path.posix.normalize(path.posix.join(path.posix.dirname(mapEntry), root, String(source)));
  });
}

describe('the packed package', () => {
  let packDir: string;
  let tarball: string;
  let entries: string[];
  let fake: Fake;
  /** `process.version` of CONSUMER_NODE. */
  let consumerVersion: string;
  /** Node before 20.6 resolves `import.meta.resolve` (consumer.mjs) only behind a flag. */
  let consumerFlags: string[];

  before(
    async () => {
      fake = await startFake('openai', 'pack-fake');
      consumerVersion = (await runOk(CONSUMER_NODE, ['-p', 'process.version'], ROOT)).stdout.trim();
      const [major, minor] = versionParts(consumerVersion);
      consumerFlags = major < 20 || (major === 20 && minor < 6) ? ['--experimental-import-meta-resolve'] : [];
      packDir = await mkdtemp(path.join(tmpdir(), 'elf-pack-'));
      await runOk('npm', ['pack', '--pack-destination', packDir, '--silent'], ROOT);
      const tgz = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
      assert.equal(tgz.length, 1, `one tarball expected in ${packDir}: ${tgz.join(', ')}`);
      tarball = path.join(packDir, tgz[0]!);
      entries = (await runOk('tar', ['-tzf', tarball], ROOT)).stdout.split('\n').filter((line) => line !== '');

      for (const variant of VARIANTS) {
        // Only .pack-test (git-ignored) is cleaned.
        await rm(variant.dir, { recursive: true, force: true });
        const pkgDir = path.join(variant.dir, 'node_modules', PKG);
        await mkdir(pkgDir, { recursive: true });
        await runOk('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], ROOT);
        if (variant.name === 'express4') {
          await symlink(path.join(ROOT_MODULES, 'express4'), path.join(variant.dir, 'node_modules', 'express'), 'dir');
          await mkdir(path.join(variant.dir, 'node_modules', '@types'), { recursive: true });
          await symlink(path.join(ROOT_MODULES, '@types', 'express4'), path.join(variant.dir, 'node_modules', '@types', 'express'), 'dir');
          // @types/express4 says `/// <reference types="express-serve-static-core" />`, which TS
          // resolves through typeRoots first: give it the v4 core its own dependencies hold, as a
          // real Express 4 install would have hoisted (not the repository's v5 core).
          await symlink(
            path.join(ROOT_MODULES, '@types', 'express4', 'node_modules', '@types', 'express-serve-static-core'),
            path.join(variant.dir, 'node_modules', '@types', 'express-serve-static-core'),
            'dir',
          );
        }
        await writeFile(path.join(variant.dir, 'package.json'), JSON.stringify({ name: `pack-test-${variant.name}`, private: true, type: 'module' }, null, 2));
        await writeFile(path.join(variant.dir, 'consumer.cjs'), CONSUMER_CJS);
        await writeFile(path.join(variant.dir, 'consumer.mjs'), CONSUMER_MJS);
        await writeFile(path.join(variant.dir, 'consumer.ts'), CONSUMER_TS);
        await writeFile(path.join(variant.dir, 'consumer.cts'), CONSUMER_CTS);
        await writeFile(path.join(variant.dir, 'tsconfig.json'), tsconfig(variant));
      }
    },
    { timeout: 120_000 },
  );

  after(async () => {
    await fake?.close();
    if (packDir) await rm(packDir, { recursive: true, force: true });
  });

  test('the tarball holds the built entries and type declarations, and no sources or tests', () => {
    const redis = ['package/dist/redis.js', 'package/dist/redis.cjs', 'package/dist/redis.d.ts', 'package/dist/redis.d.cts'];
    for (const file of ['package/package.json', 'package/dist/index.js', 'package/dist/index.cjs', 'package/dist/index.d.ts', 'package/dist/index.d.cts', ...redis]) {
      assert.ok(entries.includes(file), `${file} is in the tarball (entries: ${entries.join(', ')})`);
    }
    const unwanted = entries.filter((e) => /^package\/(lib|test|node_modules|\.pack-test)\//.test(e));
    assert.deepEqual(unwanted, [], 'no lib/, test/ or node_modules/ files are packed');
    assert.deepEqual(
      entries.filter((e) => e.endsWith('.ts') && !e.endsWith('.d.ts') && !e.endsWith('.d.cts')),
      [],
      'no TypeScript sources are packed',
    );
  });

  test('the tarball holds LICENSE, README.md and CHANGELOG.md, with a changelog entry for this version', async () => {
    for (const file of ['package/LICENSE', 'package/README.md', 'package/CHANGELOG.md']) {
      assert.ok(entries.includes(file), `${file} is in the tarball (entries: ${entries.join(', ')})`);
    }
    const pkgDir = path.join(VARIANTS[0]!.dir, 'node_modules', PKG);
    const license = await readFile(path.join(pkgDir, 'LICENSE'), 'utf8');
    assert.match(license, /^MIT License\n/);
    assert.match(license, /^Copyright \(c\) \d{4} the express-llm-fallback authors$/m);
    const { version } = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
    const changelog = await readFile(path.join(pkgDir, 'CHANGELOG.md'), 'utf8');
    assert.match(changelog, /^## \[Unreleased\]$/m, 'CHANGELOG.md has an [Unreleased] section (Keep a Changelog)');
    const escaped = version.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(changelog, new RegExp(`^## \\[${escaped}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'), `CHANGELOG.md has a dated section for ${version}`);
  });

  test('source maps: none is packed, or every map\'s sources are files in the tarball', async () => {
    const pkgDir = path.join(VARIANTS[0]!.dir, 'node_modules', PKG);
    const packed = new Set(entries);
    const maps = new Map<string, { sources?: unknown; sourceRoot?: unknown }>();
    for (const entry of entries.filter((e) => e.endsWith('.map'))) {
      maps.set(entry, JSON.parse(await readFile(path.join(pkgDir, entry.slice('package/'.length)), 'utf8')));
    }
    // Every sourceMappingURL comment names a packed map (or carries one inline).
    for (const entry of entries.filter((e) => /\.(c|m)?js$/.test(e))) {
      const code = await readFile(path.join(pkgDir, entry.slice('package/'.length)), 'utf8');
      for (const [, url] of code.matchAll(/^\/\/[#@] sourceMappingURL=(\S+)\s*$/gm)) {
        const inline = /^data:application\/json[^,]*?;base64,(.*)$/.exec(url!);
        if (inline) {
          maps.set(`${entry} (inline map)`, JSON.parse(Buffer.from(inline[1]!, 'base64').toString('utf8')));
          continue;
        }
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(entry), decodeURIComponent(url!)));
        assert.ok(packed.has(target), `${entry} points at ${url}, which is not in the tarball`);
      }
    }
    for (const [entry, map] of maps) {
      const mapEntry = entry.replace(/ \(inline map\)$/, '');
      for (const source of mapSourceEntries(mapEntry, map)) {
        assert.ok(packed.has(source), `${entry} names the source ${source}, which is not in the tarball`);
      }
    }
  });

  test('the extracted package.json has the metadata a registry page shows, and engines covers the Node under test', async () => {
    const pkg = JSON.parse(await readFile(path.join(VARIANTS[0]!.dir, 'node_modules', PKG, 'package.json'), 'utf8')) as Record<string, unknown> & {
      engines?: { node?: string };
    };
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.author, 'express-llm-fallback authors');
    assert.deepEqual(pkg.repository, { type: 'git', url: REPO_URL });
    assert.equal(pkg.homepage, 'https://github.com/express-llm-fallback/express-llm-fallback#readme');
    assert.deepEqual(pkg.bugs, { url: 'https://github.com/express-llm-fallback/express-llm-fallback/issues' });
    assert.deepEqual(pkg.keywords, EXPECTED_KEYWORDS);
    const range = pkg.engines?.node;
    assert.equal(typeof range, 'string', 'engines.node is set');
    // The lowest version allowed has AbortSignal.any (Node 20.3).
    const lowest = engineAlternatives(range!).sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])[0]!;
    assert.deepEqual(lowest, [20, 3, 0], 'the lowest version engines.node allows is 20.3.0 (AbortSignal.any)');
    assert.ok(satisfiesEngines(process.version, range!), `the test runner's Node ${process.version} is within engines.node ${range}`);
    assert.ok(satisfiesEngines(consumerVersion, range!), `the consumers' Node ${consumerVersion} is within engines.node ${range}`);
  });

  test('the extracted package.json exports map import and require to the right files', async () => {
    const pkg = JSON.parse(await readFile(path.join(VARIANTS[0]!.dir, 'node_modules', PKG, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, Record<string, Record<string, string>>>;
      peerDependencies?: Record<string, string>;
    };
    assert.equal(pkg.name, PKG);
    assert.deepEqual(pkg.exports['.']?.import, { types: './dist/index.d.ts', default: './dist/index.js' });
    assert.deepEqual(pkg.exports['.']?.require, { types: './dist/index.d.cts', default: './dist/index.cjs' });
    assert.deepEqual(pkg.exports['./redis']?.import, { types: './dist/redis.d.ts', default: './dist/redis.js' });
    assert.deepEqual(pkg.exports['./redis']?.require, { types: './dist/redis.d.cts', default: './dist/redis.cjs' });
    assert.ok(pkg.peerDependencies?.express, 'express is a peer dependency');
  });

  for (const variant of VARIANTS) {
    describe(`in an Express ${variant.major} host (${variant.name})`, () => {
      test('require.resolve from the consumer dir gives the extracted dist/index.cjs, and express resolves to the intended major', async () => {
        const req = createRequire(path.join(variant.dir, 'consumer.cjs'));
        const entry = req.resolve(PKG);
        assert.equal(entry, path.join(variant.dir, 'node_modules', PKG, 'dist', 'index.cjs'));
        const expressPkg = JSON.parse(await readFile(req.resolve('express/package.json'), 'utf8')) as { version: string };
        assert.equal(Number(expressPkg.version.split('.')[0]), variant.major);
        // The package's own `express` is the host's copy (a peer dependency, not bundled).
        const fromPkg = createRequire(entry).resolve('express');
        assert.equal(await realpath(fromPkg), await realpath(req.resolve('express')));
      });

      test(`${PKG}/redis loads from require and import, and its stores are accepted by the router`, { timeout: 60_000 }, async () => {
        const body = `const stores = createRedisStores({ sendCommand: async () => 'OK' }); createFallbackRouter({ breakerStore: stores.breaker, traceStore: stores.traces }); console.log(typeof createRedisStores, stores.breaker.constructor.name);`;
        const cjs = `const { createRedisStores } = require('${PKG}/redis'); const { createFallbackRouter } = require('${PKG}'); ${body}`;
        const mjs = `import { createRedisStores } from '${PKG}/redis'; import { createFallbackRouter } from '${PKG}'; ${body}`;
        for (const [args, source] of [[['-e'], cjs], [['--input-type=module', '-e'], mjs]] as const) {
          const { stdout } = await runOk(CONSUMER_NODE, [...consumerFlags, ...args, source], variant.dir);
          assert.equal(lastLine(stdout), 'function RedisBreakerStore');
        }
      });

      for (const script of ['consumer.cjs', 'consumer.mjs'] as const) {
        test(`${script}: loads, serves a request through the fake provider, on Express ${variant.major}`, { timeout: 120_000 }, async () => {
          const before = fake.received.length;
          const { stdout, stderr } = await runOk(CONSUMER_NODE, [...consumerFlags, script], variant.dir, { FAKE_OPENAI_URL: fake.baseURL });
          let report: ConsumerReport;
          try {
            report = JSON.parse(lastLine(stdout)) as ConsumerReport;
          } catch {
            assert.fail(`${script} printed no JSON report:\n${stdout}\n${stderr}`);
          }
          assert.equal(report.status, 200, JSON.stringify(report.body));
          assert.equal(report.provider, 'openai');
          assert.equal(report.lastUsed, 'config.targets[0]');
          assert.equal(report.body.choices?.[0]?.message?.content, 'Hello from pack-fake');
          assert.equal(report.body.model, 'gpt-4o-mini');
          assert.equal(Number(report.hostExpress.split('.')[0]), variant.major, `host express ${report.hostExpress}`);
          assert.equal(Number(report.packageExpress.split('.')[0]), variant.major, `package's express ${report.packageExpress}`);
          const expectedEntry = script === 'consumer.cjs' ? 'index.cjs' : 'index.js';
          assert.equal(report.entry, path.join(variant.dir, 'node_modules', PKG, 'dist', expectedEntry));
          assert.equal(report.node, consumerVersion, `the consumer ran on ${CONSUMER_NODE}`);

          assert.equal(fake.received.length, before + 1, 'the fake provider got exactly one request');
          const rec = fake.received[fake.received.length - 1]!;
          assert.equal(rec.url, '/v1/chat/completions');
          assert.equal(rec.headers.authorization, `Bearer ${SERVER_KEY}`);
          assert.deepEqual(rec.body.messages, [{ role: 'user', content: 'hi from the packed package' }]);
        });
      }

      test(`type-checks an ESM (.ts) and a CJS (.cts) consumer against Express ${variant.major} types`, { timeout: 120_000 }, async () => {
        // The Express types the consumer sees are the intended major.
        const typesPkg = JSON.parse(
          await readFile(path.join(variant.name === 'express4' ? variant.dir : ROOT, 'node_modules', '@types', 'express', 'package.json'), 'utf8'),
        ) as { version: string };
        assert.equal(Number(typesPkg.version.split('.')[0]), variant.major);

        const { stdout } = await runOk(TSC, ['--noEmit', '-p', path.join(variant.dir, 'tsconfig.json'), '--listFiles'], variant.dir);
        const files = stdout.split('\n').map((f) => f.trim());
        assert.ok(
          files.some((f) => f.endsWith(`node_modules/${PKG}/dist/index.d.ts`)),
          'consumer.ts read the package\'s ESM declarations',
        );
        assert.ok(
          files.some((f) => f.endsWith(`node_modules/${PKG}/dist/index.d.cts`)),
          'consumer.cts read the package\'s CJS declarations',
        );
        const expressTypes = files.filter((f) => /@types\/express(4|-serve-static-core)?\/index\.d\.ts$/.test(f));
        assert.ok(expressTypes.length > 0, 'Express types were read');
        for (const f of expressTypes) {
          const real = await realpath(f);
          const version = (JSON.parse(await readFile(path.join(path.dirname(real), 'package.json'), 'utf8')) as { version: string }).version;
          assert.equal(Number(version.split('.')[0]), variant.major, `Express ${variant.major} types expected, read ${real} (${version})`);
        }
      });
    });
  }
});
