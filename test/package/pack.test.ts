/**
 * The packed package, as a user installs it: `npm pack` (prepack runs the tsup build), the tarball
 * extracted into `.pack-test/<variant>/node_modules/express-llm-fallback`, then loaded from
 * `require` and `import` in an Express 5 and an Express 4 host, and type-checked for a TS consumer
 * (ESM and CJS) against the matching Express types.
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
export { app };
`;

/** CommonJS TypeScript consumer: resolves the package's `require` types (dist/index.d.cts). */
const CONSUMER_CTS = `import express = require('express');
import { createFallbackRouter } from '${PKG}';
import type { RouterOptions } from '${PKG}';

const router = createFallbackRouter({ providers: { openai: { apiKey: 'x' } }, shouldFallback: (o) => o.status === 429 });
const options: RouterOptions = { finalError: 'last' };
const app = express();
app.use('/v1', router);
app.use('/v2', createFallbackRouter(options));
// @ts-expect-error finalError is 'last' | 'first'
createFallbackRouter({ finalError: 'middle' });
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

describe('the packed package', () => {
  let packDir: string;
  let tarball: string;
  let entries: string[];
  let fake: Fake;

  before(
    async () => {
      fake = await startFake('openai', 'pack-fake');
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
    for (const file of ['package/package.json', 'package/dist/index.js', 'package/dist/index.cjs', 'package/dist/index.d.ts', 'package/dist/index.d.cts']) {
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

  test('the extracted package.json exports map import and require to the right files', async () => {
    const pkg = JSON.parse(await readFile(path.join(VARIANTS[0]!.dir, 'node_modules', PKG, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, Record<string, Record<string, string>>>;
      peerDependencies?: Record<string, string>;
    };
    assert.equal(pkg.name, PKG);
    assert.deepEqual(pkg.exports['.']?.import, { types: './dist/index.d.ts', default: './dist/index.js' });
    assert.deepEqual(pkg.exports['.']?.require, { types: './dist/index.d.cts', default: './dist/index.cjs' });
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

      for (const script of ['consumer.cjs', 'consumer.mjs'] as const) {
        test(`${script}: loads, serves a request through the fake provider, on Express ${variant.major}`, { timeout: 120_000 }, async () => {
          const before = fake.received.length;
          const { stdout, stderr } = await runOk(process.execPath, [script], variant.dir, { FAKE_OPENAI_URL: fake.baseURL });
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
