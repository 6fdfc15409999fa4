/**
 * The static `Config` and provider option types (lib/config/types.ts) against what the router
 * accepts at run time:
 *
 * - type level: test/types/config-typos.ts compiles (`tsc --noEmit`), so every `@ts-expect-error`
 *   in it is used: each typo and wrong type it lists is a compile error; with the directives
 *   removed, each such line has an error that says what the directive says, and no other line has
 *   one;
 * - drift: the keys (and the kinds of their values, and enum values) of the types' shapes equal
 *   those of the joi schemas (`describe()` of the target, strategy, retry and cb_config schemas and
 *   of each built-in adapter's `settings`), and every camelCase spelling the types derive is one
 *   the router accepts;
 * - start-up: an unknown provider option key throws an OptionsError naming its path.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Description } from 'joi';
import { createFallbackRouter, ERROR_CLASSES, OptionsError, type Config, type RouterOptions } from '../../lib/index.js';
import { validateConfig } from '../../lib/config/normalise.js';
import { breakerSchema, NODE_KEYS, retrySchema, targetSchema } from '../../lib/config/schema.js';
import { BUILTIN_PROVIDER_NAMES } from '../../lib/config/provider-options.js';
import {
  CB_CONFIG_SHAPE,
  CONFIG_NODE_SHAPE,
  RETRY_SHAPE,
  STRATEGY_SHAPE,
  TARGET_SETTINGS_SHAPE,
  type FieldKind,
} from '../../lib/config/types.js';
import { parseOptions } from '../../lib/options.js';
import { builtinAdapters, canonicalProvider } from '../../lib/providers/registry.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');
const TYPOS = path.join(ROOT, 'test', 'types', 'config-typos.ts');
const quiet = { warn() {}, error() {} };

/** A shape: each key with the kind of its value, or an enum's values. */
type Shape = Readonly<Record<string, FieldKind | readonly string[]>>;

interface TscError {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** Runs tsc over a tsconfig; resolves with its exit code and its errors (message chains joined). */
async function tsc(project: string): Promise<{ code: number; errors: TscError[]; output: string }> {
  let code = 0;
  let output = '';
  try {
    const { stdout, stderr } = await execFileP(TSC, ['--noEmit', '--pretty', 'false', '-p', project], {
      cwd: ROOT,
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    output = stdout + stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    code = typeof e.code === 'number' ? e.code : 1;
    output = (e.stdout ?? '') + (e.stderr ?? '');
  }
  const errors: { file: string; line: number; text: string }[] = [];
  for (const line of output.split('\n')) {
    const head = /^(.*)\((\d+),\d+\): error (TS\d+: .*)$/.exec(line);
    if (head) errors.push({ file: head[1]!, line: Number(head[2]), text: head[3]! });
    else if (line.startsWith(' ') && errors.length > 0) errors[errors.length - 1]!.text += `\n${line.trim()}`;
  }
  return { code, errors, output };
}

describe('Config types: typos and wrong types are compile errors', () => {
  test('test/types/config-typos.ts compiles: every @ts-expect-error is needed, every valid case is accepted', { timeout: 240_000 }, async () => {
    const source = await readFile(TYPOS, 'utf8');
    const directives = [...source.split('\n').entries()]
      .map(([i, line]) => ({ line: i + 2, expect: /^\s*\/\/ @ts-expect-error (.+)$/.exec(line)?.[1]?.trim() }))
      .filter((d): d is { line: number; expect: string } => d.expect !== undefined);
    assert.ok(directives.length >= 30, `expected the typo cases, found ${directives.length}`);
    for (const name of ['stratgy', "'string' is not assignable", "'string' is not assignable to type 'number'", 'apiKye', 'providerz', '"fallbak"']) {
      assert.ok(directives.some((d) => d.expect === name), `a case for ${name}`);
    }

    // The same file with the directives removed (line numbers kept), beside a tsconfig of its own.
    const dir = await mkdtemp(path.join(tmpdir(), 'config-types-'));
    try {
      const stripped = source
        .replace(/^(\s*)\/\/ @ts-expect-error /gm, '$1// expected: ')
        .replace("from '../../lib/index.js'", `from ${JSON.stringify(path.join(ROOT, 'lib', 'index.js'))}`);
      await writeFile(path.join(dir, 'stripped.ts'), stripped);
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      await writeFile(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          extends: path.join(ROOT, 'tsconfig.json'),
          compilerOptions: { typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
          include: [],
          files: [path.join(dir, 'stripped.ts')],
        }),
      );
      const [asIs, withoutDirectives] = await Promise.all([tsc(path.join(ROOT, 'test', 'types', 'tsconfig.json')), tsc(path.join(dir, 'tsconfig.json'))]);

      assert.equal(asIs.code, 0, `tsc over test/types failed:\n${asIs.output}`);

      const inFile = (e: TscError): boolean => path.basename(e.file) === 'stripped.ts';
      const byLine = new Map<number, string[]>();
      for (const e of withoutDirectives.errors.filter(inFile)) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e.text]);
      for (const { line, expect } of directives) {
        const found = byLine.get(line);
        assert.ok(found, `line ${line} (${expect}) is no compile error`);
        assert.ok(found.some((text) => text.includes(expect)), `line ${line}: no error mentions ${expect}:\n${found.join('\n')}`);
      }
      const expected = new Set(directives.map((d) => d.line));
      const stray = withoutDirectives.errors.filter((e) => !inFile(e) || !expected.has(e.line));
      assert.deepEqual(stray, [], 'errors on lines that are valid cases');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The joi description of an object schema's keys. */
function keysOf(description: Description): Record<string, Description> {
  assert.equal(description.type, 'object');
  return (description.keys ?? {}) as Record<string, Description>;
}

/** Checks one level: the same keys, each of the same kind (and the same values for an enum). */
function assertSameShape(where: string, shape: Shape, schemaKeys: Record<string, Description>): void {
  assert.deepEqual(Object.keys(shape).sort(), Object.keys(schemaKeys).sort(), `${where}: the type's keys and the joi schema's keys differ`);
  for (const [key, kind] of Object.entries(shape)) {
    const d = schemaKeys[key]!;
    const only = (d.flags as { only?: boolean } | undefined)?.only === true;
    if (typeof kind === 'string') {
      assert.equal(d.type, kind, `${where}.${key}: the type says ${kind}, joi ${d.type}`);
      assert.ok(!only, `${where}.${key}: joi allows only some values; the type should list them`);
    } else {
      assert.equal(d.type, 'string', `${where}.${key}: an enum of strings`);
      assert.ok(only, `${where}.${key}: the type lists values, joi allows any ${d.type}`);
      assert.deepEqual([...(d.allow as string[])].sort(), [...kind].sort(), `${where}.${key}: the values differ`);
    }
  }
}

const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** What the type-level SnakeToCamel does. */
const toCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** A value of the kind joi accepts for a setting (every built-in setting takes a plain name). */
function sampleSetting(kind: FieldKind | readonly string[], key = ''): unknown {
  if (typeof kind !== 'string') return kind[0];
  if (kind === 'function') return () => 'abc';
  if (key.endsWith('region')) return 'us-east-1';
  if (kind === 'string' || kind === 'alternatives') return 'abc';
  throw new Error(`no sample for a setting of kind ${kind}`);
}

describe('Config types: no drift from the joi schemas', () => {
  const target = targetSchema.describe();
  const nodeKeys = keysOf(target);

  test('a config node: the same keys as joi, of the same kinds and values', () => {
    assertSameShape('config', CONFIG_NODE_SHAPE, nodeKeys);
    assert.deepEqual([...NODE_KEYS].sort(), Object.keys(CONFIG_NODE_SHAPE).sort());
    // targets and options hold config nodes again (joi: links to the target schema).
    for (const key of ['targets', 'options'] as const) {
      const items = nodeKeys[key]!.items as Description[];
      assert.equal(items.length, 1);
      assert.equal(items[0]!.type, 'link', `${key} items`);
    }
  });

  test('retry, strategy and strategy.cb_config: the same keys, kinds and values', () => {
    assertSameShape('config.retry', RETRY_SHAPE, keysOf(nodeKeys.retry!));
    assertSameShape('config.retry', RETRY_SHAPE, keysOf(retrySchema.describe()));
    const strategy = keysOf(nodeKeys.strategy!);
    assertSameShape('config.strategy', STRATEGY_SHAPE, strategy);
    assertSameShape('config.strategy.cb_config', CB_CONFIG_SHAPE, keysOf(strategy.cb_config!));
    assertSameShape('config.strategy.cb_config', CB_CONFIG_SHAPE, keysOf(breakerSchema.describe()));
    assert.equal((strategy.mode!.flags as { presence?: string }).presence, 'required', 'strategy.mode is required, as in StrategyFields');
    const onErrors = (strategy.on_errors!.items as Description[])[0]!;
    assert.deepEqual([...(onErrors.allow as string[])].sort(), [...ERROR_CLASSES].sort(), 'on_errors: ErrorClass');
  });

  test("every built-in adapter's settings: the same keys and kinds as the provider's settings type", () => {
    const adapters = builtinAdapters();
    const names = Object.keys(BUILTIN_PROVIDER_NAMES) as (keyof typeof BUILTIN_PROVIDER_NAMES)[];
    for (const [name, adapter] of adapters) {
      assert.ok(names.includes(name as never), `${name} is in BuiltinSettingsByName`);
      const shape: Shape = BUILTIN_PROVIDER_NAMES[name as keyof typeof BUILTIN_PROVIDER_NAMES];
      assertSameShape(`settings of ${name}`, shape, adapter.settings ? keysOf(adapter.settings.describe()) : {});
    }
    // Every alias names a built-in adapter and takes its settings.
    for (const name of names) {
      const canonical = canonicalProvider(name);
      assert.ok(adapters.has(canonical), `${name} names a built-in adapter`);
      assert.deepEqual(BUILTIN_PROVIDER_NAMES[name], BUILTIN_PROVIDER_NAMES[canonical as keyof typeof BUILTIN_PROVIDER_NAMES], `${name} takes ${canonical}'s settings`);
    }
    // A target may carry the settings of every built-in adapter, and no setting is a node key.
    const all = new Set([...adapters.values()].flatMap((a) => (a.settings ? Object.keys(keysOf(a.settings.describe())) : [])));
    assert.deepEqual(Object.keys(TARGET_SETTINGS_SHAPE).sort(), [...all].sort());
    for (const key of all) assert.ok(!NODE_KEYS.has(key), `${key} is a setting, not a node key`);
  });

  test('every camelCase spelling the types derive is accepted by the router, and renamed to its snake_case key', () => {
    const shapes: Shape[] = [CONFIG_NODE_SHAPE, RETRY_SHAPE, STRATEGY_SHAPE, CB_CONFIG_SHAPE, TARGET_SETTINGS_SHAPE];
    for (const key of shapes.flatMap((s) => Object.keys(s))) assert.equal(toSnake(toCamel(key)), key, key);

    // One config with every key camelCased (typed as a Config: the spellings type-check too).
    const camel: Config = {
      strategy: {
        mode: 'fallback',
        onStatusCodes: [429],
        onErrors: ['server'],
        cbConfig: { failureThreshold: 1, minimumRequests: 1, windowMs: 1000, cooldownMs: 1000 },
        hedgeAfterMs: 100,
      },
      retry: { attempts: 1, onStatusCodes: ['5xx'], useRetryAfterHeader: false },
      overrideParams: { maxTokens: 1 },
      weight: 1,
      requestTimeout: 1000,
      streamIdleTimeout: 1000,
      totalTimeout: 1000,
      streamMode: 'buffered',
      streamRecovery: 'continue',
      supportsPrefill: true,
      customHost: 'http://10.0.0.5:8000/v1',
      forwardHeaders: ['x-request-id'],
      traceContext: true,
      targets: [
        { provider: 'openai', apiKey: 'k', openaiOrganization: 'o', openaiProject: 'p', organization: 'o', project: 'p' },
        { provider: 'azure-openai', resourceName: 'acme', deploymentId: 'd', apiVersion: 'v', azureAdToken: 't' },
        { provider: 'anthropic', anthropicVersion: 'v', anthropicBeta: ['b'] },
        { provider: 'vertex-ai', vertexProjectId: 'p', vertexRegion: 'us-central1', vertexServiceAccountJson: '{}', getAccessToken: () => 't' },
        { provider: 'bedrock', awsRegion: 'us-east-1', awsAccessKeyId: 'a', awsSecretAccessKey: 's', awsSessionToken: 't', getCredentials: () => ({ accessKeyId: 'a', secretAccessKey: 's' }) },
        { virtualKey: 'vk' },
        { mode: 'single', options: [{ provider: 'openai' }] },
      ],
    };
    const node = validateConfig(camel);
    const seen = new Set<string>();
    const collect = (value: Record<string, unknown>): void => {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'override_params') {
          assert.deepEqual(child, { maxTokens: 1 }, 'override_params pass untouched');
          seen.add(key);
          continue;
        }
        seen.add(key);
        if (Array.isArray(child)) child.forEach((c) => typeof c === 'object' && c !== null && collect(c as Record<string, unknown>));
        else if (typeof child === 'object' && child !== null) collect(child as Record<string, unknown>);
      }
    };
    collect(node);
    const every = shapes.flatMap((s) => Object.keys(s));
    assert.deepEqual([...seen].sort(), [...new Set(every)].sort(), 'every key, renamed to snake_case');
  });

  test('options.providers: every built-in name takes its settings camelCased (and snake_cased)', () => {
    for (const [name, shape] of Object.entries(BUILTIN_PROVIDER_NAMES) as [string, Shape][]) {
      for (const spell of [toCamel, (k: string) => k]) {
        const entry: Record<string, unknown> = { apiKey: 'k' };
        for (const [key, kind] of Object.entries(shape)) entry[spell(key)] = sampleSetting(kind, key);
        const settings = parseOptions({ logger: quiet, providers: { [name]: entry } });
        const parsed = settings.providers.get(canonicalProvider(name));
        assert.ok(parsed, name);
        assert.deepEqual(Object.keys(parsed.settings).sort(), Object.keys(shape).sort(), name);
      }
    }
  });
});

describe('provider options: unknown keys are refused at start-up, naming the option', () => {
  test('providers.openai.apiKye', () => {
    assert.throws(
      // @ts-expect-error apiKye is no option of openai
      () => createFallbackRouter({ providers: { openai: { apiKye: 'x' } }, logger: quiet }),
      (err: unknown) =>
        err instanceof OptionsError &&
        err.code === 'invalid_options' &&
        err.message === 'createFallbackRouter: options.providers.openai.apiKye is not a setting of provider "openai"',
    );
  });

  test('a virtual key, a custom adapter and a built-in alias name the option as the host spelt it', () => {
    const cases: Array<[RouterOptions, string]> = [
      // A virtual key's provider may be any string (a custom adapter's), so this is caught at start-up only.
      [{ virtualKeys: { vk: { provider: 'openai', apiKye: 'x' } } }, 'options.virtualKeys.vk.apiKye is not a setting of provider "openai"'],
      // @ts-expect-error apiVersoin is no option of azure-openai
      [{ providers: { azure_openai: { apiKey: 'k', apiVersoin: '2024-10-21' } } }, 'options.providers.azure_openai.apiVersoin is not a setting of provider "azure-openai"'],
      [
        { adapters: { mine: { ...builtinAdapters().get('openai-compatible')!, name: 'mine' } }, providers: { mine: { apiKye: 'x' } } },
        'options.providers.mine.apiKye is not a setting of provider "mine" (provider "mine" takes no settings)',
      ],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => createFallbackRouter({ logger: quiet, ...options }),
        (err: unknown) => err instanceof OptionsError && err.message === `createFallbackRouter: ${message}`,
        message,
      );
    }
  });
});
