/**
 * createFallbackRouter(options) validation: bad options throw OptionsError at construction with
 * a message naming the option path and what was expected; valid options construct; the start-up
 * warning; options are not mutated.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Joi from 'joi';
import { createFallbackRouter, OptionsError, type RouterOptions } from '../../lib/index.js';
import { parseOptions } from '../../lib/options.js';
import type { ProviderAdapter } from '../../lib/providers/types.js';

interface RecordingLogger {
  warn: (...args: unknown[]) => void;
  error: (...args: unknown[]) => void;
  warnings: unknown[][];
  errors: unknown[][];
}

function recordingLogger(): RecordingLogger {
  const logger: RecordingLogger = {
    warnings: [],
    errors: [],
    warn: (...args) => void logger.warnings.push(args),
    error: (...args) => void logger.errors.push(args),
  };
  return logger;
}

const quiet = { warn: (): void => {}, error: (): void => {} };

/** Asserts that the options throw an OptionsError whose message matches every pattern. */
function expectOptionsError(options: unknown, ...patterns: Array<RegExp | string>): OptionsError {
  let caught: unknown;
  try {
    const given = typeof options === 'object' && options !== null ? { logger: quiet, ...options } : options;
    createFallbackRouter(given as RouterOptions);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, 'createFallbackRouter should have thrown');
  assert.ok(caught instanceof OptionsError, `expected OptionsError, got ${String(caught)}`);
  assert.equal(caught.name, 'OptionsError');
  assert.equal(caught.code, 'invalid_options');
  for (const pattern of patterns) {
    if (typeof pattern === 'string') assert.ok(caught.message.includes(pattern), `message "${caught.message}" should include ${pattern}`);
    else assert.match(caught.message, pattern);
  }
  return caught;
}

const stubAdapter: ProviderAdapter = {
  name: 'mine',
  endpoints: new Set(['chat'] as const),
  buildRequest: () => ({ url: 'http://127.0.0.1:1/x', headers: {}, body: {} }),
  parseResponse: (body) => body as Record<string, unknown>,
  classifyError: () => ({ errorClass: 'server', message: 'x' }),
};

describe('createFallbackRouter: invalid options throw OptionsError', () => {
  test('providers is not an object', () => {
    expectOptionsError({ providers: 'openai' }, 'options.providers', /object/);
  });

  test('providers.openai.apiKey is a number', () => {
    expectOptionsError({ providers: { openai: { apiKey: 1234 } } }, 'options.providers.openai.apiKey', /string/);
  });

  test('providers.openai.baseURL is not a URL', () => {
    expectOptionsError({ providers: { openai: { baseURL: 'not a url' } } }, 'options.providers.openai.baseURL', /uri|url/i);
  });

  test('a provider name with no adapter lists the known ones', () => {
    const err = expectOptionsError({ providers: { nope: { apiKey: 'k' } } }, 'options.providers.nope', '"nope"');
    for (const known of ['openai', 'azure-openai', 'anthropic']) assert.ok(err.message.includes(known), `lists ${known}`);
  });

  test('a virtualKeys entry without provider', () => {
    expectOptionsError({ virtualKeys: { vk1: { apiKey: 'k' } } }, 'options.virtualKeys.vk1.provider', /required/);
  });

  test('a virtualKeys entry with an unknown provider', () => {
    expectOptionsError(
      { virtualKeys: { vk1: { provider: 'nope', apiKey: 'k' } } },
      'options.virtualKeys.vk1.provider',
      '"nope"',
      /openai/,
    );
  });

  test('an invalid saved config names options.configs.<id> and the rule', () => {
    expectOptionsError(
      { configs: { main: { provider: 'openai', api_key: 'k', retry: { attempts: 9 } } } },
      'options.configs.main.retry.attempts',
      /less than or equal to 5/,
    );
  });

  test('a saved config naming an unknown virtual key throws at construction', () => {
    expectOptionsError(
      { configs: { main: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'ghost-vk' }] } } },
      'options.configs.main',
      'ghost-vk',
      /virtual.?key/i,
    );
  });

  test('a defaultConfig naming an unknown provider throws at construction, naming options.defaultConfig', () => {
    expectOptionsError(
      { defaultConfig: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', api_key: 'k' }, { provider: 'nope', api_key: 'k' }] } },
      'options.defaultConfig',
      '"nope"',
    );
  });

  test('an invalid defaultConfig', () => {
    expectOptionsError(
      { defaultConfig: { strategy: { mode: 'roundrobin' }, targets: [{ provider: 'openai', api_key: 'k' }] } },
      'options.defaultConfig.strategy.mode',
      /fallback/,
    );
  });

  test("finalError 'middle'", () => {
    expectOptionsError({ finalError: 'middle' }, 'options.finalError', /last/, /first/);
  });

  test('shouldFallback that is not a function', () => {
    expectOptionsError({ shouldFallback: true }, 'options.shouldFallback', /function/);
  });

  test('defaults.requestTimeout 0', () => {
    expectOptionsError({ defaults: { requestTimeout: 0 } }, 'options.defaults.requestTimeout', /greater than or equal to 1/);
  });

  test('defaults.retry.attempts 6', () => {
    expectOptionsError({ defaults: { retry: { attempts: 6 } } }, 'options.defaults.retry.attempts', /less than or equal to 5/);
  });

  test("headerPrefix 'X-Bad' (must be lower-case and end with '-')", () => {
    expectOptionsError({ headerPrefix: 'X-Bad' }, 'options.headerPrefix', /lower-case/, /"-"/);
  });

  test("bodyLimit 'huge'", () => {
    expectOptionsError({ bodyLimit: 'huge' }, 'options.bodyLimit', /10mb/);
  });

  test('auth { apiKeys: [] }', () => {
    expectOptionsError({ auth: { apiKeys: [] } }, 'options.auth.apiKeys', /at least 1/);
  });

  test('auth given as a string', () => {
    expectOptionsError({ auth: 'secret' }, 'options.auth', /function|object|apiKeys/);
  });

  test('an unknown top-level option (typo `provider`)', () => {
    expectOptionsError({ provider: { openai: { apiKey: 'k' } } }, 'options.provider', /not allowed/);
  });

  test('a logger without warn', () => {
    expectOptionsError({ logger: { error: () => {} } }, 'options.logger.warn', /required/);
  });

  test('an adapters entry without buildRequest', () => {
    const { buildRequest: _omit, ...incomplete } = stubAdapter;
    expectOptionsError({ adapters: { mine: incomplete } }, 'options.adapters.mine.buildRequest', /required/);
  });

  test('a pricing entry without output', () => {
    expectOptionsError({ pricing: { 'openai/gpt-4o': { input: 2.5 } } }, 'options.pricing.openai/gpt-4o.output', /required/);
  });

  test('options that are not an object at all', () => {
    expectOptionsError(42, /options/);
  });
});

describe('createFallbackRouter: valid options', () => {
  test('a full set of valid options constructs a router', () => {
    const router = createFallbackRouter({
      providers: {
        openai: { apiKey: 'sk-x', baseURL: 'http://127.0.0.1:9/v1', organization: 'org-1' },
        azure_openai: { apiKey: 'az', resourceName: 'acme', deploymentId: 'gpt4o', apiVersion: '2024-10-21' },
        anthropic: { apiKey: 'ant', headers: { 'x-extra': '1' } },
      },
      virtualKeys: { 'openai-vk': { provider: 'openai', apiKey: 'sk-vk' } },
      configs: {
        main: { strategy: { mode: 'fallback', on_status_codes: [429, '5xx'] }, targets: [{ virtual_key: 'openai-vk' }, { provider: 'anthropic' }] },
      },
      defaultConfig: { provider: 'openai' },
      adapters: { mine: stubAdapter },
      shouldFallback: () => true,
      finalError: 'first',
      defaults: { retry: { attempts: 2, onStatusCodes: [429] }, requestTimeout: 30_000, streamMode: 'buffered' },
      bodyLimit: '2mb',
      headerPrefix: 'x-gw-',
      auth: { apiKeys: ['gateway-key'] },
      logger: quiet,
      pricing: { 'openai/gpt-4o': { input: 2.5, output: 10 } },
      circuitBreaker: false,
      logs: { enabled: true, captureBodies: false, maxTraces: 10 },
    });
    assert.equal(typeof router, 'function');
    assert.equal(typeof router.use, 'function');
  });

  test('no options at all constructs a router', () => {
    assert.equal(typeof createFallbackRouter({ logger: quiet }), 'function');
  });
});

describe('createFallbackRouter: a gateway key read from an unset environment variable', () => {
  test('names the option and says the value is missing', () => {
    const unset = process.env.EXPRESS_LLM_FALLBACK_TEST_SURELY_UNSET;
    assert.throws(
      () => createFallbackRouter({ auth: { apiKeys: [unset!] }, logger: quiet }),
      (err: Error) => /options\.auth\.apiKeys\[0\] is missing \(undefined; an unset environment variable\?\)/.test(err.message) && !/sparse/.test(err.message),
    );
  });
});

describe('createFallbackRouter: start-up warning', () => {
  test('warns once through options.logger when it holds server-side keys and has no auth', () => {
    const logger = recordingLogger();
    createFallbackRouter({ providers: { openai: { apiKey: 'sk-server' } }, logger });
    assert.equal(logger.warnings.length, 1);
    const text = logger.warnings[0]!.map(String).join(' ');
    assert.match(text, /auth/);
    assert.ok(!text.includes('sk-server'), 'the warning never echoes the key');
  });

  test('a virtual key counts as a server-side key', () => {
    const logger = recordingLogger();
    createFallbackRouter({ virtualKeys: { vk: { provider: 'anthropic', apiKey: 'ant-server' } }, logger });
    assert.equal(logger.warnings.length, 1);
  });

  test('no warning when auth is set', () => {
    const withKeys = recordingLogger();
    createFallbackRouter({ providers: { openai: { apiKey: 'sk-server' } }, auth: { apiKeys: ['k'] }, logger: withKeys });
    assert.equal(withKeys.warnings.length, 0);
    const withFn = recordingLogger();
    createFallbackRouter({ providers: { openai: { apiKey: 'sk-server' } }, auth: () => true, logger: withFn });
    assert.equal(withFn.warnings.length, 0);
  });

  test('no warning when there are no server-side keys and the logs routes are off', () => {
    const logger = recordingLogger();
    createFallbackRouter({ providers: { openai: { baseURL: 'http://127.0.0.1:9/v1' } }, logs: { enabled: false }, logger });
    assert.equal(logger.warnings.length, 0);
  });

  test('the logs routes without auth are warned about once, even with no server-side keys', () => {
    const logger = recordingLogger();
    createFallbackRouter({ providers: { openai: { baseURL: 'http://127.0.0.1:9/v1' } }, logger });
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!.map(String).join(' '), /\/logs.*answer anyone.*options\.auth.*enabled: false/);
    const both = recordingLogger();
    createFallbackRouter({ providers: { openai: { apiKey: 'sk-server' } }, logger: both });
    assert.equal(both.warnings.length, 1, 'keys and logs in one line');
    assert.match(both.warnings[0]!.map(String).join(' '), /spend them.*\/logs/);
  });
});

describe('createFallbackRouter: options are not mutated', () => {
  function deepFreeze<T>(value: T): T {
    if (typeof value === 'object' && value !== null && !(value instanceof Set)) {
      for (const child of Object.values(value)) deepFreeze(child);
      Object.freeze(value);
    }
    return value;
  }

  test('the given options object is left as it was', () => {
    const shouldFallback = (): boolean => true;
    const options = {
      providers: {
        azure_openai: { apiKey: 'az', resourceName: 'acme', apiVersion: '2024-10-21', headers: { 'X-Extra': 'v' } },
        openai: { apiKey: 'sk-x' },
      },
      virtualKeys: { vk: { provider: 'azure_openai', apiKey: 'vk-key', deploymentId: 'dep' } },
      configs: {
        camel: {
          strategy: { mode: 'fallback', onStatusCodes: [429] },
          targets: [{ virtualKey: 'vk', overrideParams: { maxTokens: 5 } }, { provider: 'openai', requestTimeout: 100 }],
          retry: { attempts: 1, useRetryAfterHeader: false },
        },
      },
      defaultConfig: { provider: 'openai', overrideParams: { model: 'gpt-4o' } },
      defaults: { retry: { attempts: 1, onStatusCodes: [500] }, requestTimeout: 1000 },
      customHostAllowlist: ['http://10.0.0.5:8000/'],
      shouldFallback,
      auth: { apiKeys: ['gateway'] },
      logger: quiet,
    } satisfies RouterOptions;
    const snapshot = JSON.stringify(options);
    assert.doesNotThrow(() => createFallbackRouter(deepFreeze(options)));
    assert.equal(JSON.stringify(options), snapshot);
    assert.equal(options.shouldFallback, shouldFallback);
    // A second router from the same options behaves the same (nothing was consumed).
    assert.doesNotThrow(() => createFallbackRouter(options));
  });
});

describe('parseOptions: provider settings are checked against the adapter', () => {
  /** parseOptions must throw an OptionsError whose message is exactly `message`. */
  function refused(options: RouterOptions, message: string): OptionsError {
    let caught: unknown;
    try {
      parseOptions({ logger: quiet, ...options });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof OptionsError, `expected OptionsError, got ${String(caught)}`);
    assert.equal(caught.code, 'invalid_options');
    assert.equal(caught.message, message);
    return caught;
  }

  test('an unknown setting names the option as the host spelt it', () => {
    refused(
      // @ts-expect-error fooBar is no setting of openai
      { providers: { openai: { apiKey: 'k', fooBar: 1 } } },
      'createFallbackRouter: options.providers.openai.fooBar is not a setting of provider "openai"',
    );
    refused(
      // @ts-expect-error anthropicVersion is no setting of azure-openai
      { providers: { azure_openai: { apiKey: 'k', anthropicVersion: '2023-06-01' } } },
      'createFallbackRouter: options.providers.azure_openai.anthropicVersion is not a setting of provider "azure-openai"',
    );
    refused(
      { virtualKeys: { vk1: { provider: 'anthropic', apiKey: 'k', resource_name: 'acme' } } },
      'createFallbackRouter: options.virtualKeys.vk1.resource_name is not a setting of provider "anthropic"',
    );
    refused(
      // @ts-expect-error groq takes no settings
      { providers: { groq: { apiKey: 'k', organization: 'org-1' } } },
      'createFallbackRouter: options.providers.groq.organization is not a setting of provider "groq" (provider "groq" takes no settings)',
    );
  });

  test('a bad value names the option and the rule, never the value', () => {
    refused(
      { providers: { azure_openai: { apiKey: 'k', apiVersion: 20241021 as unknown as string } } },
      'createFallbackRouter: options.providers.azure_openai.apiVersion must be a string',
    );
    refused(
      { virtualKeys: { vk1: { provider: 'azure-openai', apiKey: 'k', resourceName: 'evil.example.com/x' } } },
      'createFallbackRouter: options.virtualKeys.vk1.resourceName must match the Azure resource name pattern',
    );
    const err = refused(
      { providers: { anthropic: { apiKey: 'k', anthropicBeta: ['ok-beta', 'beta\r\nX-Injected: secret-value'] } } },
      'createFallbackRouter: options.providers.anthropic.anthropicBeta[1] must match the header-safe (no CR, LF or NUL, nor other control characters) pattern',
    );
    assert.ok(!err.message.includes('secret-value'));
    refused(
      { providers: { openai: { apiKey: 'k', organization: 'o'.repeat(8193) } } },
      'createFallbackRouter: options.providers.openai.organization length must be less than or equal to 8192 characters long',
    );
  });

  test('the same setting spelt twice is refused', () => {
    refused(
      { providers: { azure_openai: { apiKey: 'k', apiVersion: '2024-10-21', api_version: '2024-06-01' } } },
      'createFallbackRouter: options.providers.azure_openai sets both apiVersion and api_version; use one of them',
    );
  });

  test('valid settings, camelCase or snake_case, are kept in snake_case', () => {
    const settings = parseOptions({
      logger: quiet,
      providers: {
        openai: { apiKey: 'k', organization: 'org-1', openaiProject: 'proj-1' },
        azure_openai: { apiKey: 'k', resourceName: 'acme', deployment_id: 'dep', apiVersion: '2024-10-21', azureAdToken: 'eyJ' },
        anthropic: { apiKey: 'k', anthropicVersion: '2023-06-01', anthropic_beta: ['a', 'b'] },
      },
      virtualKeys: { vk: { provider: 'anthropic', apiKey: 'k', anthropicBeta: 'c' } },
    });
    assert.deepEqual(settings.providers.get('openai')!.settings, { organization: 'org-1', openai_project: 'proj-1' });
    assert.deepEqual(settings.providers.get('azure-openai')!.settings, {
      resource_name: 'acme',
      deployment_id: 'dep',
      api_version: '2024-10-21',
      azure_ad_token: 'eyJ',
    });
    assert.deepEqual(settings.providers.get('anthropic')!.settings, { anthropic_version: '2023-06-01', anthropic_beta: ['a', 'b'] });
    assert.deepEqual(settings.virtualKeys.get('vk')!.settings, { anthropic_beta: 'c' });
  });

  test("a custom adapter's settings schema is used for its options.providers entry and virtual keys", () => {
    const regional: ProviderAdapter = {
      ...stubAdapter,
      name: 'regional',
      settings: Joi.object({ region: Joi.string().valid('eu', 'us').required(), project_id: Joi.string() }),
    };
    // A required setting may come from the config target: an entry without it is fine.
    const ok = parseOptions({ logger: quiet, adapters: { regional }, providers: { regional: { projectId: 'p-1' } } });
    assert.deepEqual(ok.providers.get('regional')!.settings, { project_id: 'p-1' });
    refused(
      { adapters: { regional }, providers: { regional: { region: 'mars' } } },
      'createFallbackRouter: options.providers.regional.region must be one of [eu, us]',
    );
    refused(
      { adapters: { regional }, virtualKeys: { r: { provider: 'regional', zone: 'a' } } },
      'createFallbackRouter: options.virtualKeys.r.zone is not a setting of provider "regional"',
    );
    // stubAdapter declares no settings: it takes none.
    refused(
      { adapters: { mine: stubAdapter }, providers: { mine: { region: 'eu' } } },
      'createFallbackRouter: options.providers.mine.region is not a setting of provider "mine" (provider "mine" takes no settings)',
    );
  });

  test("an adapter's settings must be a joi object schema", () => {
    let caught: unknown;
    try {
      parseOptions({ logger: quiet, adapters: { mine: { ...stubAdapter, settings: { region: 'string' } as never } } });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof OptionsError);
    assert.match(caught.message, /options\.adapters\.mine\.settings/);
  });
});
