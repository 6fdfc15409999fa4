/**
 * Error identity across the two builds: one process loads dist/index.cjs (require) and
 * dist/index.js (import), as a host that imports the router while a custom adapter requires the
 * errors. `instanceof` must hold across the copies, and an error thrown by an adapter from one
 * copy must be answered as such by a router from the other.
 *
 * dist/ is built by `npm test` (`npm run build`) before the tests run.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { startFake, type Fake } from '../helpers/fake-providers.js';

type Pkg = typeof import('../../lib/index.js');
type ProviderAdapter = import('../../lib/index.js').ProviderAdapter;

const T = { timeout: 10_000 };
const DIST = path.resolve(fileURLToPath(new URL('../../dist', import.meta.url)));
const CJS_ENTRY = path.join(DIST, 'index.cjs');
const ESM_ENTRY = path.join(DIST, 'index.js');

/** The error classes, by name; each must be exported from both copies. */
const ERROR_NAMES = ['FallbackRouterError', 'ConfigError', 'RequestError', 'OptionsError', 'InvalidUpstreamResponse', 'UpstreamStreamError'] as const;
type ErrorName = (typeof ERROR_NAMES)[number];
type Ctor = new (...args: any[]) => Error;

describe('error classes across the CJS and ESM builds', () => {
  let cjs: Pkg;
  let esm: Pkg;

  before(async () => {
    for (const entry of [CJS_ENTRY, ESM_ENTRY]) {
      if (!existsSync(entry)) {
        throw new Error(`${path.relative(process.cwd(), entry)} is missing: run \`npm run build\` first (\`npm test\` does it)`);
      }
    }
    cjs = createRequire(import.meta.url)(CJS_ENTRY) as Pkg;
    esm = (await import(pathToFileURL(ESM_ENTRY).href)) as Pkg;
    assert.notEqual(cjs.ConfigError, esm.ConfigError, 'two distinct copies were loaded');
  });

  /** A class of one copy, failing with a clear message when it is not exported. */
  const cls = (pkg: Pkg, name: ErrorName, copy: string): Ctor => {
    const ctor = (pkg as unknown as Record<string, unknown>)[name];
    assert.equal(typeof ctor, 'function', `${name} is not exported from the ${copy} build (lib/index.ts)`);
    return ctor as Ctor;
  };

  /** One instance of each class, built with its own constructor's arguments. */
  const make = (pkg: Pkg, name: ErrorName, copy: string, cause?: unknown): Error => {
    const C = cls(pkg, name, copy);
    const o = cause === undefined ? undefined : { cause };
    switch (name) {
      case 'FallbackRouterError':
        return new C('base', 418, 'teapot', 'server_error', null, o);
      case 'ConfigError':
        return new C('bad config', 'config.targets[0]', 'invalid_config', o);
      case 'RequestError':
        return new C('bad part', 400, 'invalid_parameter', 'invalid_request_error', 'messages[0].content[0]', o);
      case 'OptionsError':
        return new C('bad options', o);
      case 'InvalidUpstreamResponse':
        return new C('bad upstream', o);
      case 'UpstreamStreamError':
        return new C('overloaded', 529, 'server', 'overloaded_error', o);
    }
  };
  const EXPECTED_CODE: Record<Exclude<ErrorName, 'UpstreamStreamError'>, string> = {
    FallbackRouterError: 'teapot',
    ConfigError: 'invalid_config',
    RequestError: 'invalid_parameter',
    OptionsError: 'invalid_options',
    InvalidUpstreamResponse: 'invalid_upstream_response',
  };
  /** The class's own brand and the ones above it. */
  const IS_A: Record<ErrorName, readonly ErrorName[]> = {
    FallbackRouterError: ['FallbackRouterError'],
    ConfigError: ['ConfigError', 'FallbackRouterError'],
    RequestError: ['RequestError', 'FallbackRouterError'],
    OptionsError: ['OptionsError'],
    InvalidUpstreamResponse: ['InvalidUpstreamResponse'],
    UpstreamStreamError: ['UpstreamStreamError'],
  };

  test('ConfigError: instanceof holds both ways, for itself and FallbackRouterError', T, () => {
    const fromCjs = new cjs.ConfigError('x');
    const fromEsm = new esm.ConfigError('x');
    assert.ok(fromCjs instanceof esm.ConfigError, 'cjs ConfigError instanceof esm.ConfigError');
    assert.ok(fromCjs instanceof esm.FallbackRouterError, 'cjs ConfigError instanceof esm.FallbackRouterError');
    assert.ok(fromEsm instanceof cjs.ConfigError, 'esm ConfigError instanceof cjs.ConfigError');
    assert.ok(fromEsm instanceof cjs.FallbackRouterError, 'esm ConfigError instanceof cjs.FallbackRouterError');
    assert.ok(fromCjs instanceof Error && fromEsm instanceof Error);
    assert.ok(!(new cjs.RequestError('r', 400, 'invalid_parameter') instanceof esm.ConfigError), 'a RequestError is not a ConfigError');
    assert.ok(!(new esm.RequestError('r', 400, 'invalid_parameter') instanceof cjs.ConfigError), 'a RequestError is not a ConfigError');
    assert.ok(!(new Error('plain') instanceof esm.FallbackRouterError), 'a plain Error is not branded');
    assert.ok(!({ name: 'ConfigError', code: 'invalid_config' } instanceof esm.ConfigError), 'a look-alike object is not a ConfigError');
  });

  for (const name of ERROR_NAMES) {
    test(`${name}: instanceof across the copies, and nothing else`, T, () => {
      for (const [from, to, fromName, toName] of [
        [cjs, esm, 'cjs', 'esm'],
        [esm, cjs, 'esm', 'cjs'],
        [esm, esm, 'esm', 'esm'],
      ] as const) {
        const err = make(from, name, fromName);
        for (const other of ERROR_NAMES) {
          if (other === 'UpstreamStreamError' && typeof (to as unknown as Record<string, unknown>)[other] !== 'function') continue; // reported by its own test
          const expected = IS_A[name].includes(other);
          assert.equal(err instanceof cls(to, other, toName), expected, `${fromName} ${name} instanceof ${toName}.${other} should be ${expected}`);
        }
        assert.ok(err instanceof Error, `${fromName} ${name} instanceof Error`);
        if (name === 'OptionsError') assert.ok(err instanceof TypeError, 'OptionsError is a TypeError');
      }
    });

    test(`${name}: keeps code, name, message and cause`, T, () => {
      for (const [pkg, copy] of [
        [cjs, 'cjs'],
        [esm, 'esm'],
      ] as const) {
        const cause = new Error('root cause');
        const err = make(pkg, name, copy, cause) as Error & { code?: string; upstreamCode?: string; status?: number; errorClass?: string };
        assert.equal(err.name, name, `${copy} name`);
        if (name === 'UpstreamStreamError') {
          // Its documented fields: the provider's code, the status and error class it counts as.
          assert.equal(err.upstreamCode, 'overloaded_error', `${copy} upstreamCode`);
          assert.equal(err.status, 529, `${copy} status`);
          assert.equal(err.errorClass, 'server', `${copy} errorClass`);
        } else {
          assert.equal(err.code, EXPECTED_CODE[name], `${copy} code`);
        }
        assert.ok(err.message.length > 0, `${copy} message`);
        assert.equal(err.cause, cause, `${copy} cause`);
        assert.ok(String(err).startsWith(`${name}: `), `${copy} toString: ${String(err)}`);
        const without = make(pkg, name, copy);
        assert.equal(without.cause, undefined, `${copy}: no cause unless given`);
      }
    });
  }

  test('the documented ConfigError signature: (message, param, code, { cause })', T, () => {
    const cause = new Error('root');
    const err = new esm.ConfigError('x', 'p', 'invalid_config', { cause });
    assert.equal(err.message, 'x');
    assert.equal(err.param, 'p');
    assert.equal(err.code, 'invalid_config');
    assert.equal(err.name, 'ConfigError');
    assert.equal(err.status, 400);
    assert.equal(err.cause, cause);
    assert.ok(err instanceof cjs.ConfigError);
  });

  describe('an ESM router answers errors thrown with the CJS copy', () => {
    let upstream: Fake;
    before(async () => {
      upstream = await startFake('openai');
    });
    after(() => upstream.close());

    const quiet = { warn: () => undefined, error: () => undefined };
    /** An app with an ESM router and one custom adapter (requiring no key), served at /v1. */
    const app = (adapter: Partial<ProviderAdapter>) => {
      const host = express();
      host.use(
        '/v1',
        esm.createFallbackRouter({
          logger: quiet,
          adapters: {
            custom: {
              name: 'custom',
              endpoints: new Set(['chat'] as const),
              requiresApiKey: false,
              buildRequest: (req, target) => ({ url: `${target.baseURL}/chat/completions`, headers: {}, body: req.body }),
              parseResponse: (body) => body as never,
              classifyError: (status) => ({ errorClass: status >= 500 ? 'server' : 'bad_request', message: `custom ${status}` }),
              ...adapter,
            },
          },
          providers: { custom: { baseURL: upstream.baseURL } },
        }),
      );
      return host;
    };
    const post = (host: express.Express) =>
      request(host)
        .post('/v1/chat/completions')
        .set('x-portkey-provider', 'custom')
        .send({ model: 'm', messages: [{ role: 'user', content: [{ type: 'weird' }] }] });

    for (const mode of ['throws', 'rejects'] as const) {
      test(`buildRequest ${mode} the CJS RequestError: 400 with its param and code`, T, async () => {
        upstream.reset();
        const bad = () => new cjs.RequestError('bad part', 400, 'invalid_parameter', 'invalid_request_error', 'messages[0].content[0]');
        const res = await post(
          app({
            buildRequest:
              mode === 'throws'
                ? () => {
                    throw bad();
                  }
                : async () => {
                    throw bad();
                  },
          }),
        );
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'invalid_parameter');
        assert.equal(res.body.error.param, 'messages[0].content[0]');
        assert.equal(res.body.error.type, 'invalid_request_error');
        assert.match(res.body.error.message, /bad part/);
        assert.equal(upstream.received.length, 0, 'nothing was sent upstream');
      });
    }

    test('parseResponse throws the CJS InvalidUpstreamResponse: 502 invalid_upstream_response with its message', T, async () => {
      upstream.reset();
      const res = await post(
        app({
          parseResponse: () => {
            throw new cjs.InvalidUpstreamResponse('custom says no');
          },
        }),
      );
      assert.equal(res.status, 502, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'invalid_upstream_response');
      assert.match(res.body.error.message, /custom says no/);
      assert.equal(upstream.received.length, 1);
    });
  });
});
