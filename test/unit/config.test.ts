/**
 * Config normalisation and validation (lib/config/normalise.ts), plan building
 * (lib/config/resolve.ts) and config selection with its cache (lib/config/source.ts), driven by
 * a real Settings from parseOptions.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../lib/config/normalise.js';
import { buildPlan, hashConfig, type PlanSource } from '../../lib/config/resolve.js';
import { ConfigSelector } from '../../lib/config/source.js';
import { parseOptions, type Config, type RouterOptions, type Settings } from '../../lib/options.js';
import Joi from 'joi';
import { ConfigError, OptionsError } from '../../lib/errors.js';
import { settingString } from '../../lib/providers/settings.js';
import type { ProviderAdapter } from '../../lib/providers/types.js';
import type { Plan, PlanGroup, PlanNode, PlanTarget } from '../../lib/engine/plan.js';

const quiet = { warn: (): void => {}, error: (): void => {} };

function settingsOf(options: RouterOptions = {}): Settings {
  return parseOptions({ logger: quiet, ...options });
}

const baseSettings = (): Settings =>
  settingsOf({
    providers: {
      openai: { apiKey: 'sk-openai-server' },
      anthropic: { apiKey: 'sk-ant-server' },
    },
  });

const untrusted: PlanSource = { label: 'config', trusted: false };
const trusted: PlanSource = { label: 'config', trusted: true };

function plan(raw: unknown, settings: Settings = baseSettings(), source: PlanSource = untrusted): Plan {
  return buildPlan(validateConfig(raw), settings, source);
}

function asTarget(node: PlanNode | undefined): PlanTarget {
  assert.ok(node, 'node exists');
  assert.equal(node.kind, 'target', `${node.path} is a target`);
  return node as PlanTarget;
}

function asGroup(node: PlanNode | undefined): PlanGroup {
  assert.ok(node, 'node exists');
  assert.equal(node.kind, 'group', `${node.path} is a group`);
  return node as PlanGroup;
}

/** Leaves in order, depth first. */
function leaves(node: PlanNode): PlanTarget[] {
  return node.kind === 'target' ? [node] : node.children.flatMap(leaves);
}

/** Runs fn, expects a ConfigError, returns it. */
function configError(fn: () => unknown): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.status, 400);
  return caught;
}

describe('validateConfig: key spellings', () => {
  const camel = {
    strategy: { mode: 'fallback', onStatusCodes: [429, '5xx'], onErrors: ['timeout'], cbConfig: { failureThreshold: 3, cooldownMs: 1000 } },
    requestTimeout: 1500,
    streamIdleTimeout: 800,
    forwardHeaders: ['x-request-id'],
    targets: [
      { provider: 'openai', apiKey: 'sk-1', overrideParams: { model: 'gpt-4o' }, retry: { attempts: 2, onStatusCodes: [503], useRetryAfterHeader: false } },
      { virtualKey: 'vk-1', weight: 2, streamMode: 'buffered' },
      { provider: 'azure_openai', api_key: 'az', resourceName: 'acme', deploymentId: 'dep', apiVersion: '2024-10-21' },
    ],
  };
  const snake = {
    strategy: { mode: 'fallback', on_status_codes: [429, '5xx'], on_errors: ['timeout'], cb_config: { failure_threshold: 3, cooldown_ms: 1000 } },
    request_timeout: 1500,
    stream_idle_timeout: 800,
    forward_headers: ['x-request-id'],
    targets: [
      { provider: 'openai', api_key: 'sk-1', override_params: { model: 'gpt-4o' }, retry: { attempts: 2, on_status_codes: [503], use_retry_after_header: false } },
      { virtual_key: 'vk-1', weight: 2, stream_mode: 'buffered' },
      { provider: 'azure_openai', api_key: 'az', resource_name: 'acme', deployment_id: 'dep', api_version: '2024-10-21' },
    ],
  };

  test('camelCase and snake_case give the same normalised config', () => {
    assert.deepEqual(validateConfig(camel), validateConfig(snake));
    assert.deepEqual(validateConfig(snake), snake);
  });

  test('camelCase and snake_case give the same plan and the same configId', () => {
    const settings = settingsOf({
      providers: { openai: { apiKey: 'sk' } },
      virtualKeys: { 'vk-1': { provider: 'anthropic', apiKey: 'ant' } },
    });
    const a = plan(camel, settings);
    const b = plan(snake, settings);
    assert.deepEqual(a, b);
    assert.equal(a.configId, b.configId);
  });

  test('override_params content is not renamed', () => {
    const config = validateConfig({ provider: 'openai', overrideParams: { maxTokens: 5, top_p: 1, responseFormat: { jsonSchema: 1 } } });
    assert.deepEqual(config.override_params, { maxTokens: 5, top_p: 1, responseFormat: { jsonSchema: 1 } });
    const leaf = asTarget(plan({ provider: 'openai', overrideParams: { maxTokens: 5, top_p: 1 } }).root);
    assert.deepEqual(leaf.overrideParams, { maxTokens: 5, top_p: 1 });
  });

  test('both spellings of one key conflict', () => {
    const err = configError(() => validateConfig({ provider: 'openai', api_key: 'a', apiKey: 'b' }));
    assert.equal(err.code, 'invalid_config');
    assert.equal(err.param, 'config.api_key');
    assert.match(err.message, /api_key/);
    assert.match(err.message, /apiKey/);
    assert.ok(!err.message.includes('"a"') && !err.message.includes('"b"'), 'no key value echoed');

    const nested = configError(() =>
      validateConfig({
        strategy: { mode: 'fallback' },
        targets: [{ provider: 'openai' }, { provider: 'openai', override_params: { model: 'a' }, overrideParams: { model: 'b' } }],
      }),
    );
    assert.equal(nested.param, 'config.targets[1].override_params');

    const inStrategy = configError(() => validateConfig({ strategy: { mode: 'fallback', on_status_codes: [429], onStatusCodes: [500] }, targets: [{ provider: 'openai' }] }));
    assert.equal(inStrategy.param, 'config.strategy.on_status_codes');
  });

  test('an invalid value names the exact path and the rule', () => {
    const err = configError(() =>
      validateConfig({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'openai', retry: { attempts: 9 } }] }),
    );
    assert.equal(err.param, 'config.targets[1].retry.attempts');
    assert.equal(err.message, 'config.targets[1].retry.attempts must be less than or equal to 5');
  });
});

describe('buildPlan: paths', () => {
  test('legacy { mode, options } yields config.options[i]', () => {
    const p = plan({
      mode: 'fallback',
      options: [
        { provider: 'openai', apiKey: 'sk-client', override_params: { model: 'gpt-3.5-turbo' } },
        { provider: 'anthropic', api_key: 'ant-client', override_params: { model: 'claude-v1' } },
      ],
    });
    const root = asGroup(p.root);
    assert.equal(root.mode, 'fallback');
    assert.equal(root.path, 'config');
    assert.deepEqual(root.children.map((c) => c.path), ['config.options[0]', 'config.options[1]']);
    const [first, second] = root.children.map(asTarget);
    assert.equal(first!.target.provider, 'openai');
    assert.equal(first!.target.apiKey, 'sk-client');
    assert.deepEqual(first!.overrideParams, { model: 'gpt-3.5-turbo' });
    assert.equal(second!.target.provider, 'anthropic');
    assert.equal(second!.target.apiKey, 'ant-client');
  });

  test('legacy form validation errors use config.options[i] paths', () => {
    const err = configError(() => validateConfig({ mode: 'fallback', options: [{ provider: 'openai' }, { provider: 'openai', weight: -1 }] }));
    assert.equal(err.param, 'config.options[1].weight');
  });

  test('nested current form yields config.targets[0].targets[1]', () => {
    const p = plan({
      strategy: { mode: 'fallback' },
      targets: [
        { strategy: { mode: 'loadbalance' }, targets: [{ provider: 'openai' }, { provider: 'anthropic' }] },
        { provider: 'openai' },
      ],
    });
    const root = asGroup(p.root);
    const inner = asGroup(root.children[0]);
    assert.equal(inner.path, 'config.targets[0]');
    assert.equal(inner.mode, 'loadbalance');
    assert.deepEqual(inner.children.map((c) => c.path), ['config.targets[0].targets[0]', 'config.targets[0].targets[1]']);
    assert.equal(asTarget(inner.children[1]).target.provider, 'anthropic');
    assert.equal(root.children[1]!.path, 'config.targets[1]');
  });

  test('a single-target config has the path config', () => {
    const p = plan({ provider: 'openai' });
    assert.equal(asTarget(p.root).path, 'config');
  });
});

describe('buildPlan: inheritance', () => {
  const config = {
    retry: { attempts: 2, on_status_codes: [503] },
    request_timeout: 1500,
    stream_idle_timeout: 700,
    stream_mode: 'buffered',
    stream_recovery: 'continue',
    forward_headers: ['X-Request-Id'],
    strategy: { mode: 'fallback' },
    targets: [
      { provider: 'openai' },
      {
        strategy: { mode: 'fallback' },
        request_timeout: 900,
        targets: [
          { provider: 'openai', retry: { attempts: 0 } },
          { provider: 'anthropic', forward_headers: ['x-user'], stream_mode: 'passthrough', stream_idle_timeout: 50, stream_recovery: 'none' },
        ],
      },
    ],
  };

  test('root settings flow down to every leaf', () => {
    const [a] = leaves(plan(config).root);
    assert.equal(a!.path, 'config.targets[0]');
    assert.equal(a!.retry.attempts, 2);
    assert.deepEqual(a!.retry.onStatusCodes, [503]);
    assert.equal(a!.requestTimeout, 1500);
    assert.equal(a!.streamIdleTimeout, 700);
    assert.equal(a!.streamMode, 'buffered');
    assert.equal(a!.streamRecovery, 'continue');
    assert.deepEqual(a!.forwardHeaders, ['x-request-id']);
  });

  test('a child that sets its own value wins, for itself and its children', () => {
    const [, b, c] = leaves(plan(config).root);
    assert.equal(b!.path, 'config.targets[1].targets[0]');
    assert.equal(b!.requestTimeout, 900, 'from the nested strategy');
    assert.equal(b!.retry.attempts, 0, 'own retry');
    assert.equal(b!.streamMode, 'buffered');
    assert.deepEqual(b!.forwardHeaders, ['x-request-id']);

    assert.equal(c!.path, 'config.targets[1].targets[1]');
    assert.equal(c!.requestTimeout, 900);
    assert.equal(c!.retry.attempts, 2, 'inherited from the root');
    assert.deepEqual(c!.forwardHeaders, ['x-user']);
    assert.equal(c!.streamMode, 'passthrough');
    assert.equal(c!.streamIdleTimeout, 50);
    assert.equal(c!.streamRecovery, 'none');
  });

  test('without config values, leaves get the router defaults', () => {
    const settings = settingsOf({
      providers: { openai: { apiKey: 'sk' } },
      defaults: { requestTimeout: 4321, streamIdleTimeout: 1234, streamMode: 'buffered', retry: { attempts: 3, onStatusCodes: [429] } },
    });
    const leaf = asTarget(plan({ provider: 'openai' }, settings).root);
    assert.equal(leaf.requestTimeout, 4321);
    assert.equal(leaf.streamIdleTimeout, 1234);
    assert.equal(leaf.streamMode, 'buffered');
    assert.equal(leaf.retry.attempts, 3);
    assert.deepEqual(leaf.retry.onStatusCodes, [429]);
    assert.deepEqual(leaf.forwardHeaders, []);
    assert.deepEqual(leaf.overrideParams, {});
  });

  test('custom_host flows down as the leaves\' baseURL (host config)', () => {
    const p = plan(
      {
        custom_host: 'http://10.0.0.5:8000/v1',
        strategy: { mode: 'fallback' },
        targets: [{ provider: 'openai' }, { provider: 'openai', custom_host: 'http://10.0.0.6:8000/v1' }],
      },
      baseSettings(),
      trusted,
    );
    const [a, b] = leaves(p.root);
    assert.equal(a!.target.baseURL, 'http://10.0.0.5:8000/v1');
    assert.equal(b!.target.baseURL, 'http://10.0.0.6:8000/v1');
  });

  test('override_params are shallow-merged, parent then child', () => {
    const p = plan({
      override_params: { model: 'root-model', temperature: 0.5, metadata: { a: 1 } },
      strategy: { mode: 'fallback' },
      targets: [
        { provider: 'openai' },
        {
          strategy: { mode: 'fallback' },
          override_params: { max_tokens: 10 },
          targets: [{ provider: 'openai', override_params: { model: 'leaf-model', metadata: { b: 2 } } }],
        },
      ],
    });
    const [a, b] = leaves(p.root);
    assert.deepEqual(a!.overrideParams, { model: 'root-model', temperature: 0.5, metadata: { a: 1 } });
    assert.deepEqual(b!.overrideParams, { model: 'leaf-model', temperature: 0.5, metadata: { b: 2 }, max_tokens: 10 });
  });

  test('weight defaults to 1', () => {
    const p = plan({
      strategy: { mode: 'loadbalance' },
      targets: [{ provider: 'openai' }, { provider: 'openai', weight: 3 }, { provider: 'anthropic', weight: 0 }],
    });
    assert.deepEqual(asGroup(p.root).children.map((c) => c.weight), [1, 3, 0]);
    assert.equal(p.root.weight, 1);
  });
});

describe('buildPlan: providers and virtual keys', () => {
  const settings = (): Settings =>
    settingsOf({
      providers: {
        azure_openai: {
          apiKey: 'shared-azure-key',
          baseURL: 'http://127.0.0.1:1111',
          resourceName: 'shared-res',
          apiVersion: '2024-06-01',
          headers: { 'x-shared': 'yes', 'x-both': 'shared' },
        },
        openai: { apiKey: 'sk-openai-server', baseURL: 'http://127.0.0.1:3333/v1', organization: 'org-1' },
      },
      virtualKeys: {
        'azure-vk': {
          provider: 'azure_openai',
          apiKey: 'vk-azure-key',
          baseURL: 'http://127.0.0.1:2222',
          resourceName: 'vk-res',
          deploymentId: 'vk-deploy',
          headers: { 'x-both': 'vk' },
        },
        'azure-vk-min': { provider: 'azure-openai', apiKey: 'vk-min-key' },
      },
    });

  test("a virtual key's settings win over options.providers[provider]", () => {
    const leaf = asTarget(plan({ virtual_key: 'azure-vk' }, settings()).root);
    assert.equal(leaf.target.provider, 'azure-openai');
    assert.equal(leaf.target.apiKey, 'vk-azure-key');
    assert.equal(leaf.target.baseURL, 'http://127.0.0.1:2222');
    assert.equal(leaf.target.settings.resource_name, 'vk-res');
    assert.equal(leaf.target.settings.deployment_id, 'vk-deploy');
    assert.equal(leaf.target.settings.api_version, '2024-06-01', 'what the key does not set comes from options.providers');
    assert.deepEqual(leaf.target.headers, { 'x-shared': 'yes', 'x-both': 'vk' });
  });

  test('a virtual key that sets little falls back to options.providers[provider]', () => {
    const leaf = asTarget(plan({ virtualKey: 'azure-vk-min' }, settings()).root);
    assert.equal(leaf.target.provider, 'azure-openai');
    assert.equal(leaf.target.apiKey, 'vk-min-key');
    assert.equal(leaf.target.baseURL, 'http://127.0.0.1:1111');
    assert.equal(leaf.target.settings.resource_name, 'shared-res');
  });

  test('a provider target uses options.providers[provider]', () => {
    const leaf = asTarget(plan({ provider: 'openai' }, settings()).root);
    assert.equal(leaf.target.apiKey, 'sk-openai-server');
    assert.equal(leaf.target.baseURL, 'http://127.0.0.1:3333/v1');
    assert.equal(leaf.target.settings.organization, 'org-1');
  });

  test('a target api_key wins over the server key', () => {
    const leaf = asTarget(plan({ provider: 'openai', api_key: 'sk-client' }, settings()).root);
    assert.equal(leaf.target.apiKey, 'sk-client');
  });

  test('provider spelled azure_openai resolves to azure-openai', () => {
    const leaf = asTarget(plan({ provider: 'azure_openai' }, settings()).root);
    assert.equal(leaf.target.provider, 'azure-openai');
    assert.equal(leaf.target.apiKey, 'shared-azure-key');
    assert.equal(leaf.target.settings.resource_name, 'shared-res');
  });

  test('an unknown virtual key is a ConfigError naming it', () => {
    const err = configError(() => plan({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { virtual_key: 'ghost' }] }, settings()));
    assert.equal(err.code, 'unknown_virtual_key');
    assert.equal(err.param, 'config.targets[1].virtual_key');
    assert.match(err.message, /ghost/);
  });

  test('an unknown provider is a ConfigError naming it', () => {
    const err = configError(() => plan({ provider: 'nope' }, settings()));
    assert.equal(err.code, 'unknown_provider');
    assert.match(err.message, /"nope"/);
  });

  test('a target with no credentials is a ConfigError that never echoes a secret', () => {
    const err = configError(() => plan({ provider: 'anthropic' }, settings()));
    assert.equal(err.code, 'missing_credentials');
    assert.match(err.message, /anthropic/);
    for (const secret of ['shared-azure-key', 'vk-azure-key', 'sk-openai-server']) assert.ok(!err.message.includes(secret));
  });
});

describe('buildPlan: configId', () => {
  test("a saved config's plan has configId = its id", () => {
    const settings = settingsOf({ providers: { openai: { apiKey: 'sk' } }, configs: { 'pc-main': { provider: 'openai' } } });
    const config = settings.configs.get('pc-main');
    assert.ok(config);
    assert.equal(buildPlan(config, settings, { label: 'config', trusted: true, configId: 'pc-main' }).configId, 'pc-main');
    const selector = new ConfigSelector(settings);
    assert.equal(selector.select({ 'x-portkey-config': 'pc-main' }, undefined).plan.configId, 'pc-main');
    assert.equal(selector.select({}, 'pc-main').plan.configId, 'pc-main');
  });

  test("an inline config's configId is stable for the same config and differs for another", () => {
    const a = { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'anthropic' }] };
    const b = { strategy: { mode: 'fallback' }, targets: [{ provider: 'anthropic' }, { provider: 'openai' }] };
    const idA1 = plan(a).configId;
    const idA2 = plan(structuredClone(a), baseSettings()).configId;
    const idB = plan(b).configId;
    assert.match(idA1, /^cfg-[0-9a-f]+$/);
    assert.equal(idA1, idA2);
    assert.notEqual(idA1, idB);
    assert.equal(idA1, hashConfig(validateConfig(a)));
    assert.equal(hashConfig(validateConfig(a)), hashConfig(validateConfig(structuredClone(a))));
    assert.notEqual(hashConfig(validateConfig(a)), hashConfig(validateConfig(b)));
  });
});

describe('ConfigSelector: precedence', () => {
  const settings = (): Settings =>
    settingsOf({
      providers: {
        openai: { apiKey: 'sk-openai' },
        anthropic: { apiKey: 'sk-ant' },
        groq: { apiKey: 'gsk' },
        'mistral-ai': { apiKey: 'mistral' },
      },
      configs: { saved: { provider: 'anthropic', override_params: { model: 'saved-model' } } },
      defaultConfig: { provider: 'mistral-ai' },
    });
  const providers = (p: Plan): string[] => leaves(p.root).map((leaf) => leaf.target.provider);

  const headerConfig = { 'x-portkey-config': JSON.stringify({ provider: 'openai' }) };
  const bodyConfig = { provider: 'anthropic' };
  const fallbackHeader = { 'x-portkey-fallback': 'groq, ollama' };
  const providerHeader = { 'x-portkey-provider': 'deepseek', authorization: 'Bearer ds-client-key' };

  test('header config beats body config', () => {
    const selected = new ConfigSelector(settings()).select(headerConfig, bodyConfig);
    assert.equal(selected.source, 'header-config');
    assert.deepEqual(providers(selected.plan), ['openai']);
  });

  test('a header naming a saved config beats body config', () => {
    const selected = new ConfigSelector(settings()).select({ 'x-portkey-config': 'saved' }, { provider: 'openai' });
    assert.equal(selected.plan.configId, 'saved');
    assert.deepEqual(providers(selected.plan), ['anthropic']);
  });

  test('body config beats the fallback header', () => {
    const selected = new ConfigSelector(settings()).select(fallbackHeader, bodyConfig);
    assert.equal(selected.source, 'body-config');
    assert.deepEqual(providers(selected.plan), ['anthropic']);
  });

  test('fallback header beats the provider header', () => {
    const selected = new ConfigSelector(settings()).select({ ...fallbackHeader, ...providerHeader }, undefined);
    assert.equal(selected.source, 'header-fallback');
    assert.deepEqual(providers(selected.plan), ['groq', 'ollama']);
    assert.deepEqual(leaves(selected.plan.root).map((l) => l.path), ['config.targets[0]', 'config.targets[1]']);
    assert.equal(asGroup(selected.plan.root).mode, 'fallback');
  });

  test('provider header beats defaultConfig, with the bearer key as the target key', () => {
    const selected = new ConfigSelector(settings()).select(providerHeader, undefined);
    assert.equal(selected.source, 'header-provider');
    const leaf = asTarget(selected.plan.root);
    assert.equal(leaf.target.provider, 'deepseek');
    assert.equal(leaf.target.apiKey, 'ds-client-key');
  });

  test('defaultConfig when nothing else is given', () => {
    const selected = new ConfigSelector(settings()).select({ 'content-type': 'application/json' }, undefined);
    assert.equal(selected.source, 'default');
    assert.deepEqual(providers(selected.plan), ['mistral-ai']);
  });

  test('nothing at all: a 400 naming all five ways', () => {
    const noDefault = settingsOf({ providers: { openai: { apiKey: 'sk' } } });
    const err = configError(() => new ConfigSelector(noDefault).select({}, undefined));
    assert.equal(err.code, 'missing_config');
    for (const way of ['x-portkey-config', '"config"', 'x-portkey-fallback', 'x-portkey-provider', 'defaultConfig']) {
      assert.ok(err.message.includes(way), `message names ${way}`);
    }
  });

  test('headerPrefix renames the headers read', () => {
    const s = settingsOf({ providers: { openai: { apiKey: 'sk' }, anthropic: { apiKey: 'a' } }, headerPrefix: 'x-gw-' });
    const selector = new ConfigSelector(s);
    const selected = selector.select({ 'x-gw-config': JSON.stringify({ provider: 'anthropic' }), 'x-portkey-config': JSON.stringify({ provider: 'openai' }) }, undefined);
    assert.deepEqual(providers(selected.plan), ['anthropic']);
  });
});

describe('ConfigSelector: cache', () => {
  test('the same header text returns the same Plan object', () => {
    const selector = new ConfigSelector(baseSettings());
    const text = JSON.stringify({ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'anthropic' }] });
    const first = selector.select({ 'x-portkey-config': text }, undefined).plan;
    const second = selector.select({ 'x-portkey-config': text }, undefined).plan;
    assert.equal(first, second);
    const other = selector.select({ 'x-portkey-config': JSON.stringify({ provider: 'openai' }) }, undefined).plan;
    assert.notEqual(other, first);
  });

  test('the same body config returns the same Plan object', () => {
    const selector = new ConfigSelector(baseSettings());
    const first = selector.select({}, { provider: 'openai', override_params: { model: 'm' } }).plan;
    const second = selector.select({}, { provider: 'openai', override_params: { model: 'm' } }).plan;
    assert.equal(first, second);
  });

  test("an invalid config's error is cached too", () => {
    const selector = new ConfigSelector(baseSettings());
    const text = JSON.stringify({ provider: 'openai', retry: { attempts: 9 } });
    const first = configError(() => selector.select({ 'x-portkey-config': text }, undefined));
    const second = configError(() => selector.select({ 'x-portkey-config': text }, undefined));
    assert.equal(first.param, 'config.retry.attempts');
    assert.equal(second, first, 'the same error object: not validated again');
  });

  test('invalid JSON in the header is a 400', () => {
    const selector = new ConfigSelector(baseSettings());
    const err = configError(() => selector.select({ 'x-portkey-config': '{"provider": ' }, undefined));
    assert.equal(err.code, 'invalid_config_json');
  });

  test('an unknown saved config id is a 400 naming it', () => {
    const selector = new ConfigSelector(baseSettings());
    const err = configError(() => selector.select({ 'x-portkey-config': 'pc-missing' }, undefined));
    assert.equal(err.code, 'unknown_config');
    assert.match(err.message, /pc-missing/);
  });
});

describe('provider settings: declared by each adapter', () => {
  test('each built-in adapter takes its own settings from a config target, into target.settings', () => {
    const p = plan({
      strategy: { mode: 'fallback' },
      targets: [
        { provider: 'openai', organization: 'org-1', project: 'proj-1' },
        { provider: 'openai', openaiOrganization: 'org-2', openai_project: 'proj-2' },
        { provider: 'azure_openai', api_key: 'az', resourceName: 'acme', deployment_id: 'dep', api_version: '2024-10-21' },
        { provider: 'azure-openai', azure_ad_token: 'eyJ.token', resource_name: 'acme', api_key: 'az' },
        { provider: 'anthropic', anthropic_version: '2023-06-01', anthropicBeta: ['a-2024', 'b-2025'] },
        { provider: 'anthropic', anthropic_beta: 'prompt-caching-2024-07-31' },
      ],
    });
    assert.deepEqual(
      leaves(p.root).map((leaf) => leaf.target.settings),
      [
        { organization: 'org-1', project: 'proj-1' },
        { openai_organization: 'org-2', openai_project: 'proj-2' },
        { resource_name: 'acme', deployment_id: 'dep', api_version: '2024-10-21' },
        { azure_ad_token: 'eyJ.token', resource_name: 'acme' },
        { anthropic_version: '2023-06-01', anthropic_beta: ['a-2024', 'b-2025'] },
        { anthropic_beta: 'prompt-caching-2024-07-31' },
      ],
    );
  });

  test('a setting the provider does not declare is a 400 naming its path', () => {
    const cases: Array<[unknown, string, string]> = [
      [{ strategy: { mode: 'fallback' }, targets: [{ provider: 'openai', foo: 1 }] }, 'config.targets[0].foo', 'openai'],
      [{ provider: 'openai', resourceName: 'acme', api_key: 'k' }, 'config.resource_name', 'openai'],
      [{ provider: 'anthropic', api_version: '2024-10-21' }, 'config.api_version', 'anthropic'],
      [{ provider: 'azure-openai', api_key: 'k', anthropic_version: '2023-06-01' }, 'config.anthropic_version', 'azure-openai'],
      // An adapter without a settings schema takes none.
      [{ provider: 'groq', api_key: 'k', organization: 'org-1' }, 'config.organization', 'groq'],
    ];
    for (const [config, path, provider] of cases) {
      const err = configError(() => plan(config));
      assert.equal(err.code, 'invalid_config');
      assert.equal(err.param, path);
      assert.equal(err.message, `${path} is not a setting of provider "${provider}"`);
    }
  });

  test("a virtual key target's settings are checked against the key's provider", () => {
    const settings = settingsOf({ virtualKeys: { 'ant-vk': { provider: 'anthropic', apiKey: 'ant' } } });
    const err = configError(() => plan({ strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'ant-vk', organization: 'o' }] }, settings));
    assert.equal(err.message, 'config.targets[0].organization is not a setting of provider "anthropic"');
    const leaf = asTarget(plan({ virtual_key: 'ant-vk', anthropic_version: '2024-01-01' }, settings).root);
    assert.deepEqual(leaf.target.settings, { anthropic_version: '2024-01-01' });
  });

  test('a bad setting value is a 400 naming the path and the rule', () => {
    const cases: Array<[unknown, string, string]> = [
      [
        { strategy: { mode: 'fallback' }, targets: [{ provider: 'azure-openai', api_key: 'k', resource_name: 'acme', api_version: 20241021 }] },
        'config.targets[0].api_version',
        'config.targets[0].api_version must be a string',
      ],
      [
        { provider: 'azure-openai', api_key: 'k', resource_name: 'evil.example.com/x' },
        'config.resource_name',
        'config.resource_name must match the Azure resource name pattern',
      ],
      [{ provider: 'openai', organization: '' }, 'config.organization', 'config.organization is not allowed to be empty'],
      [
        { provider: 'anthropic', anthropic_beta: ['ok', 42] },
        'config.anthropic_beta[1]',
        'config.anthropic_beta[1] must be a string',
      ],
      [
        { provider: 'anthropic', anthropic_version: 'v'.repeat(8193) },
        'config.anthropic_version',
        'config.anthropic_version length must be less than or equal to 8192 characters long',
      ],
    ];
    for (const [config, path, message] of cases) {
      const err = configError(() => plan(config));
      assert.equal(err.code, 'invalid_config');
      assert.equal(err.param, path);
      assert.equal(err.message, message);
    }
  });

  test('CR, LF or NUL in a setting is a 400 that never echoes the value', () => {
    const selector = new ConfigSelector(baseSettings());
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ provider: 'anthropic', anthropic_version: '2023-06-01\r\nX-Injected: secret-value-1' }, 'config.anthropic_version'],
      [{ provider: 'anthropic', anthropicBeta: ['fine', 'beta\nX-Injected: secret-value-2'] }, 'config.anthropic_beta[1]'],
      [{ provider: 'openai', organization: 'org\0secret-value-3' }, 'config.organization'],
      [{ provider: 'azure-openai', api_key: 'k', resource_name: 'acme', azure_ad_token: 'tok\rsecret-value-4' }, 'config.azure_ad_token'],
    ];
    for (const [config, path] of cases) {
      const err = configError(() => selector.select({ 'x-portkey-config': JSON.stringify(config) }, undefined));
      assert.equal(err.param, path);
      assert.match(err.message, /CR, LF or NUL/);
      assert.ok(!/secret-value|X-Injected|[\r\n\0]/.test(err.message), `no value echoed: ${JSON.stringify(err.message)}`);
    }
  });

  test('settings on a strategy node belong on a target', () => {
    for (const key of ['resource_name', 'anthropic_version', 'foo', 'api_key']) {
      const err = configError(() =>
        plan({ strategy: { mode: 'fallback' }, [key]: 'x', targets: [{ provider: 'openai' }] }),
      );
      assert.equal(err.param, `config.${key}`);
      assert.equal(err.message, `config.${key} belongs on a target with a provider, not on a strategy`);
    }
  });

  test('keys that cannot be setting names are refused by the schema', () => {
    const err = configError(() => validateConfig({ provider: 'openai', 'x-header': 'v' }));
    assert.equal(err.param, 'config.x-header');
    assert.match(err.message, /is not allowed/);
  });

  test("a client's resource_name still needs its own api_key; a host config's does not", () => {
    const settings = settingsOf({ providers: { azure_openai: { apiKey: 'server-azure-key', resourceName: 'server-res' } } });
    const err = configError(() => plan({ provider: 'azure-openai', resource_name: 'attacker' }, settings));
    assert.equal(err.code, 'host_not_allowed');
    assert.equal(err.param, 'config.resource_name');
    const own = asTarget(plan({ provider: 'azure-openai', resource_name: 'mine', api_key: 'client-key' }, settings).root);
    assert.equal(own.target.settings.resource_name, 'mine');
    const host = asTarget(plan({ provider: 'azure-openai', resource_name: 'other' }, settings, trusted).root);
    assert.equal(host.target.apiKey, 'server-azure-key');
    assert.equal(host.target.settings.resource_name, 'other');
  });
});

describe('provider settings: a custom adapter with its own settings schema', () => {
  const regional: ProviderAdapter = {
    name: 'regional',
    endpoints: new Set(['chat'] as const),
    requiresApiKey: false,
    settings: Joi.object({
      region: Joi.string().valid('eu', 'us').required(),
      project_id: settingString,
      tier: Joi.string().valid('standard', 'gold').default('standard'),
    }),
    buildRequest: (req, target) => ({
      url: `https://${String(target.settings.region)}.regional.test/v1/chat`,
      headers: { 'x-project': String(target.settings.project_id), 'x-tier': String(target.settings.tier) },
      body: req.body,
    }),
    parseResponse: (body) => body as Record<string, unknown>,
    classifyError: () => ({ errorClass: 'server', message: 'x' }),
  };
  const settings = (): Settings =>
    settingsOf({
      adapters: { regional },
      providers: { regional: { region: 'eu', projectId: 'p-1' } },
      virtualKeys: { 'regional-us': { provider: 'regional', region: 'us', project_id: 'p-vk' } },
    });

  test('options.providers settings (camelCase renamed) reach target.settings, joi defaults applied', () => {
    const leaf = asTarget(plan({ provider: 'regional' }, settings()).root);
    assert.deepEqual(leaf.target.settings, { region: 'eu', project_id: 'p-1', tier: 'standard' });
  });

  test("a config target's settings win over options.providers, through ConfigSelector", async () => {
    const selector = new ConfigSelector(settings());
    const config = { strategy: { mode: 'fallback' }, targets: [{ provider: 'regional', region: 'us', tier: 'gold' }] };
    const leaf = asTarget(leaves(selector.select({ 'x-portkey-config': JSON.stringify(config) }, undefined).plan.root)[0]);
    assert.deepEqual(leaf.target.settings, { region: 'us', project_id: 'p-1', tier: 'gold' });
    const upstream = await regional.buildRequest({ endpoint: 'chat', body: { model: 'm' }, stream: false }, leaf.target, new AbortController().signal);
    assert.equal(upstream.url, 'https://us.regional.test/v1/chat');
    assert.deepEqual(upstream.headers, { 'x-project': 'p-1', 'x-tier': 'gold' });
  });

  test("a virtual key's settings reach the target", () => {
    const leaf = asTarget(plan({ virtual_key: 'regional-us' }, settings()).root);
    assert.deepEqual(leaf.target.settings, { region: 'us', project_id: 'p-vk', tier: 'standard' });
  });

  test('its schema refuses unknown keys and bad values, and requires what it requires', () => {
    const s = settings();
    assert.equal(
      configError(() => plan({ provider: 'regional', regoin: 'us' }, s)).message,
      'config.regoin is not a setting of provider "regional"',
    );
    const bad = configError(() => plan({ strategy: { mode: 'fallback' }, targets: [{ provider: 'regional', region: 'mars' }] }, s));
    assert.equal(bad.param, 'config.targets[0].region');
    assert.equal(bad.message, 'config.targets[0].region must be one of [eu, us]');
    const none = settingsOf({ adapters: { regional } });
    const missing = configError(() => plan({ provider: 'regional' }, none));
    assert.equal(missing.param, 'config.region');
    assert.equal(missing.message, 'config.region is required');
  });

  test('a saved config with a setting the provider does not take fails at construction, naming the option', () => {
    // A custom adapter's settings are declared through Config's Extra; color is not one of them.
    type RegionalSettings = { region: 'eu' | 'us'; project_id?: string; tier?: 'standard' | 'gold' };
    // @ts-expect-error color is not a setting of the regional adapter
    const main: Config<RegionalSettings> = { provider: 'regional', region: 'eu', color: 'red' };
    const s = settingsOf({ adapters: { regional }, configs: { main } });
    assert.throws(
      () => new ConfigSelector(s),
      (err: unknown) =>
        err instanceof OptionsError && err.message === 'createFallbackRouter: options.configs.main.color is not a setting of provider "regional"',
    );
  });
});
