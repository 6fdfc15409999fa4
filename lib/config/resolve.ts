/**
 * Turns a validated config into a Plan: resolves providers, virtual keys and server-side
 * settings, applies inheritance and `override_params` merging, and enforces the security rules
 * on client-supplied hosts and keys (SPEC §10).
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { Inherited, Plan, PlanNode, RetryPolicy } from '../engine/plan.js';
import type { ProviderSettings, Settings } from '../options.js';
import { canonicalProvider } from '../providers/registry.js';
import type { ErrorClass, JsonObject, ResolvedTarget } from '../providers/types.js';
import { BREAKER_DEFAULTS, type BreakerConfig } from '../stores/breaker-store.js';
import { canonicalJson } from './canonical.js';
import { checkCustomHost, clientChosenHost, refuseServerCredentials } from './client-host.js';
import type { ConfigNode, ConfigStrategy } from './normalise.js';
import { quoteIfId } from './quote.js';
import { NODE_KEYS } from './schema.js';
import { checkProviderSettings } from './settings.js';

/** Client headers that are never forwarded upstream, whatever `forward_headers` says. */
const NEVER_FORWARDED = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'api-key',
  'x-api-key',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
]);

/** Where a config came from: request configs are untrusted, saved and default ones are the host's. */
export interface PlanSource {
  /** Name used in paths and error messages (`config`). */
  readonly label: string;
  /** True for configs from the host's options (may set custom hosts freely). */
  readonly trusted: boolean;
  /** Saved config id, when the config is a saved one. */
  readonly configId?: string;
}

/** A stable short id for an inline config (canonical JSON, built without recursion). */
export function hashConfig(config: unknown): string {
  return `cfg-${createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 12)}`;
}

/** Builds the plan of a validated config. Throws ConfigError naming the offending value. */
export function buildPlan(config: ConfigNode, settings: Settings, source: PlanSource): Plan {
  const d = settings.defaults;
  const rootInherited: Inherited = {
    retry: {
      attempts: d.retry.attempts,
      useRetryAfterHeader: d.retry.use_retry_after_header,
      ...(d.retry.on_status_codes ? { onStatusCodes: d.retry.on_status_codes } : {}),
    },
    requestTimeout: d.requestTimeout,
    streamIdleTimeout: d.streamIdleTimeout,
    streamMode: d.streamMode,
    streamRecovery: 'none',
    forwardHeaders: [],
    traceContext: false,
    overrideParams: {},
  };
  const root = buildNode(config, source.label, rootInherited, settings, source, true, settings.circuitBreaker);
  const total = config.total_timeout ?? d.totalTimeout;
  return {
    root,
    configId: source.configId ?? hashConfig(config),
    trusted: source.trusted,
    ...(total !== undefined ? { totalTimeout: total } : {}),
  };
}

function inherit(node: ConfigNode, parent: Inherited, path: string, settings: Settings, source: PlanSource): Inherited {
  const retry: RetryPolicy = node.retry
    ? {
        attempts: node.retry.attempts ?? parent.retry.attempts,
        useRetryAfterHeader: node.retry.use_retry_after_header ?? parent.retry.useRetryAfterHeader,
        ...((node.retry.on_status_codes ?? parent.retry.onStatusCodes)
          ? { onStatusCodes: node.retry.on_status_codes ?? parent.retry.onStatusCodes }
          : {}),
      }
    : parent.retry;
  const customHost = node.custom_host ?? parent.customHost;
  if (node.custom_host !== undefined) checkCustomHost(node.custom_host, `${path}.custom_host`, settings, source.trusted);
  const forward = node.forward_headers?.map((name) => name.toLowerCase());
  forward?.forEach((name, i) => {
    if (NEVER_FORWARDED.has(name) || name.startsWith(settings.headerPrefix)) {
      throw new ConfigError(`${path}.forward_headers[${i}] "${name}" may not be forwarded upstream`, `${path}.forward_headers[${i}]`);
    }
  });
  const inherited: Inherited = {
    retry,
    requestTimeout: node.request_timeout ?? parent.requestTimeout,
    streamIdleTimeout: node.stream_idle_timeout ?? parent.streamIdleTimeout,
    streamMode: node.stream_mode ?? parent.streamMode,
    streamRecovery: node.stream_recovery ?? parent.streamRecovery,
    ...(customHost !== undefined ? { customHost } : {}),
    forwardHeaders: forward ?? parent.forwardHeaders,
    traceContext: node.trace_context ?? parent.traceContext,
    overrideParams: node.override_params ? { ...parent.overrideParams, ...node.override_params } : parent.overrideParams,
  };
  const hostPath = node.custom_host !== undefined ? `${path}.custom_host` : customHostPaths.get(parent);
  if (hostPath !== undefined) customHostPaths.set(inherited, hostPath);
  return inherited;
}

/** Where the `custom_host` a node inherits was set (`config.custom_host`, ...), for messages. */
const customHostPaths = new WeakMap<Inherited, string>();

function buildNode(
  node: ConfigNode,
  path: string,
  parent: Inherited,
  settings: Settings,
  source: PlanSource,
  isRoot: boolean,
  breaker: BreakerConfig | undefined,
): PlanNode {
  if (!isRoot && node.total_timeout !== undefined) {
    throw new ConfigError(`${path}.total_timeout is only allowed at the root of the config`, `${path}.total_timeout`);
  }
  const inherited = inherit(node, parent, path, settings, source);
  const weight = node.weight ?? 1;
  const containerKey = node.targets ? 'targets' : node.options ? 'options' : undefined;
  if (containerKey !== undefined) {
    const children = (node.targets ?? node.options)!;
    const strategy = node.strategy ?? (node.mode ? { mode: node.mode } : undefined);
    if (!strategy) {
      const key = containerKey === 'targets' ? 'strategy' : 'mode';
      throw new ConfigError(
        `${path}.${key} is required when ${path}.${containerKey} is given (e.g. {"mode":"fallback"})`,
        `${path}.${key}`,
      );
    }
    for (const [key, value] of Object.entries(node)) {
      if (value !== undefined && (key === 'api_key' || !NODE_KEYS.has(key))) {
        throw new ConfigError(`${path}.${key} belongs on a target with a provider, not on a strategy`, `${path}.${key}`);
      }
    }
    return {
      kind: 'group',
      path,
      weight,
      mode: strategy.mode,
      ...(strategy.on_status_codes ? { onStatusCodes: strategy.on_status_codes } : {}),
      ...(strategy.on_errors ? { onErrors: strategy.on_errors as ErrorClass[] } : {}),
      ...(strategy.hedge_after_ms !== undefined ? { hedgeAfterMs: strategy.hedge_after_ms } : {}),
      children: children.map((child, i) =>
        buildNode(child, `${path}.${containerKey}[${i}]`, inherited, settings, source, false, breakerOf(strategy.cb_config, breaker, source)),
      ),
    };
  }
  if (node.strategy !== undefined || node.mode !== undefined) {
    throw new ConfigError(`${path}.strategy needs ${path}.targets to choose from`, `${path}.targets`);
  }
  const target = resolveTarget(node, path, inherited, settings, source);
  const supportsPrefill = node.supports_prefill ?? settings.adapters.get(target.provider)?.supportsPrefill;
  return {
    kind: 'target',
    path,
    weight,
    ...inherited,
    target,
    ...(supportsPrefill !== undefined ? { supportsPrefill } : {}),
    ...(breaker ? { breaker } : {}),
  };
}

/**
 * A strategy's cb_config over the breaker it inherits (or the defaults); none when neither is
 * set. A cb_config a request brought gets a scope of its own: its breakers count and open only
 * for the requests that carry the same cb_config, never for the host's other clients.
 */
function breakerOf(cb: ConfigStrategy['cb_config'], inherited: BreakerConfig | undefined, source: PlanSource): BreakerConfig | undefined {
  if (!cb) return inherited;
  const base = inherited ?? BREAKER_DEFAULTS;
  return {
    failureThreshold: cb.failure_threshold ?? base.failureThreshold,
    minimumRequests: cb.minimum_requests ?? base.minimumRequests,
    windowMs: cb.window_ms ?? base.windowMs,
    cooldownMs: cb.cooldown_ms ?? base.cooldownMs,
    ...(source.trusted ? {} : { scope: hashConfig(cb) }),
  };
}

function resolveTarget(
  node: ConfigNode,
  path: string,
  inherited: Inherited,
  settings: Settings,
  source: PlanSource,
): ResolvedTarget {
  let base: ProviderSettings | undefined;
  let provider: string;
  if (node.virtual_key !== undefined) {
    const vk = settings.virtualKeys.get(node.virtual_key);
    if (!vk) {
      // A client may have pasted a real key here: it is named only when it looks like an id.
      throw new ConfigError(`${path}.virtual_key ${quoteIfId(node.virtual_key)} is not a known virtual key`, `${path}.virtual_key`, 'unknown_virtual_key');
    }
    provider = vk.provider;
    const shared = settings.providers.get(provider);
    base = {
      provider,
      headers: { ...shared?.headers, ...vk.headers },
      settings: { ...shared?.settings, ...vk.settings },
      ...((vk.apiKey ?? shared?.apiKey) !== undefined ? { apiKey: (vk.apiKey ?? shared?.apiKey)! } : {}),
      ...((vk.baseURL ?? shared?.baseURL) !== undefined ? { baseURL: (vk.baseURL ?? shared?.baseURL)! } : {}),
    };
  } else if (node.provider !== undefined) {
    provider = canonicalProvider(node.provider);
    if (!settings.adapters.has(provider)) {
      throw new ConfigError(
        `${path}.provider ${quoteIfId(node.provider)} is not supported; supported providers: ${[...settings.adapters.keys()].join(', ')}`,
        `${path}.provider`,
        'unknown_provider',
      );
    }
    base = settings.providers.get(provider);
  } else {
    throw new ConfigError(`${path} needs a provider or a virtual_key`, path, 'missing_provider');
  }

  if (node.api_key !== undefined && !source.trusted && !settings.allowClientKeys) {
    throw new ConfigError(`${path}.api_key is not accepted by this gateway (allowClientKeys is false)`, `${path}.api_key`, 'client_keys_not_allowed');
  }
  // Every key that is not the config's own is a setting of the target's provider.
  const ownSettings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (value !== undefined && !NODE_KEYS.has(key)) ownSettings[key] = value;
  }
  const adapter = settings.adapters.get(provider)!;
  const chosen = source.trusted
    ? undefined
    : clientChosenHost(provider, ownSettings, inherited.customHost, customHostPaths.get(inherited) ?? `${path}.custom_host`, path, settings);
  if (chosen !== undefined) {
    // The client chose the host: nothing configured on the server side goes there (SPEC §10),
    // only what the config itself set. The server's baseURL stays unless custom_host replaces it.
    refuseServerCredentials(chosen, node, ownSettings, base, path);
    base = {
      provider,
      headers: {},
      settings: {},
      ...(inherited.customHost === undefined && base?.baseURL !== undefined ? { baseURL: base.baseURL } : {}),
    };
  }
  const apiKey = node.api_key ?? base?.apiKey;
  const checked = checkProviderSettings(adapter, provider, { ...base?.settings, ...ownSettings }, path);
  if (!checked.ok) throw new ConfigError(checked.problem.message, checked.problem.path);
  const targetSettings = checked.value;
  const credentialSettings = adapter.credentialSettings ?? [];
  if (apiKey === undefined && adapter.requiresApiKey !== false && !credentialSettings.some((name) => targetSettings[name] !== undefined)) {
    const alternatives = credentialSettings.length > 0 ? ` (or one of the settings ${credentialSettings.join(', ')})` : '';
    throw new ConfigError(
      `${path} (provider "${provider}") has no credentials: give it an api_key${alternatives}, a virtual_key, or set options.providers["${provider}"].apiKey on the server`,
      path,
      'missing_credentials',
    );
  }
  const baseURL = inherited.customHost ?? base?.baseURL;
  return {
    provider,
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(baseURL !== undefined ? { baseURL } : {}),
    headers: { ...base?.headers },
    settings: targetSettings as JsonObject,
  };
}
