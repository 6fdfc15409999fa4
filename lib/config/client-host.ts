/**
 * The rules for a host a request's config chooses (SPEC §10). A `custom_host` in a request config
 * is refused unless `allowCustomHost` is set or its origin is in `customHostAllowlist`; a
 * link-local or cloud-metadata address is refused even with `allowCustomHost`, unless
 * allowlisted. And a target whose host the client chose (a `custom_host`, or a setting that
 * picks the host such as Azure's `resource_name`) outside the allowlist gets nothing configured
 * on the server side: no key, no virtual key, no `headers`, no provider setting.
 */
import { ConfigError } from '../errors.js';
import type { ProviderSettings, Settings } from '../options.js';
import { HOST_SETTING, SECRET_SETTING } from '../providers/settings.js';
import { isMetadataOrLinkLocal, parseHttpUrl, settingOrigin } from './host.js';

/** Where a client chose the host of a target. */
export interface ClientHost {
  /** The field that chose it, e.g. `config.custom_host`, `config.targets[0].resource_name`. */
  readonly param: string;
  readonly kind: 'custom_host' | 'setting';
}

/**
 * Checks one `custom_host` of a config. Host configs (`trusted`) may name any parsable URL; a
 * request's may name an allowlisted origin, or, with `allowCustomHost`, any origin but a
 * link-local or metadata one. Throws ConfigError (400 `custom_host_not_allowed`, or
 * `invalid_config` for a URL the transport could not parse).
 */
export function checkCustomHost(url: string, param: string, settings: Settings, trusted: boolean): void {
  const parsed = parseHttpUrl(url);
  if (parsed === undefined) throw new ConfigError(`${param} must be a valid http or https URL`, param);
  if (trusted || settings.customHostAllowlist.has(parsed.origin)) return;
  if (isMetadataOrLinkLocal(parsed)) throw metadataRefused(param);
  if (settings.allowCustomHost) return;
  throw new ConfigError(
    `${param} "${parsed.origin}" is not allowed; the host must set allowCustomHost or list the origin in customHostAllowlist`,
    param,
    'custom_host_not_allowed',
  );
}

function metadataRefused(param: string): ConfigError {
  return new ConfigError(
    `${param} points at a link-local or cloud metadata address, which a request may not use (even with allowCustomHost) unless the host lists that origin in customHostAllowlist`,
    param,
    'custom_host_not_allowed',
  );
}

/**
 * Whether a request config chose the host of the target at `path`, outside the allowlist: its
 * `custom_host` (set at `customHostPath`, on the target or a parent), or one of its own settings
 * named like a host ({@link HOST_SETTING}). A host setting that names a link-local or metadata
 * address is refused here.
 */
export function clientChosenHost(
  provider: string,
  ownSettings: Readonly<Record<string, unknown>>,
  customHost: string | undefined,
  customHostPath: string,
  path: string,
  settings: Settings,
): ClientHost | undefined {
  if (customHost !== undefined) {
    const origin = parseHttpUrl(customHost)?.origin;
    if (origin === undefined || !settings.customHostAllowlist.has(origin)) return { param: customHostPath, kind: 'custom_host' };
  }
  for (const [key, value] of Object.entries(ownSettings)) {
    if (!HOST_SETTING.test(key)) continue;
    const param = `${path}.${key}`;
    if (typeof value === 'string') {
      const url = parseHttpUrl(value) ?? parseHttpUrl(`http://${value}`);
      if (url !== undefined && isMetadataOrLinkLocal(url) && !settings.customHostAllowlist.has(url.origin)) throw metadataRefused(param);
    }
    const origin = settingOrigin(provider, key, value);
    if (origin === undefined || !settings.customHostAllowlist.has(origin)) return { param, kind: 'setting' };
  }
  return undefined;
}

/** True when a setting's name says it holds a credential (`azure_ad_token`, `aws_secret_access_key`, ...). */
export function isSecretSetting(name: string): boolean {
  return SECRET_SETTING.test(name);
}

/**
 * Refuses (400 `host_not_allowed`, naming the field that chose the host) a target on a
 * client-chosen host that would need the server's credentials: one that names a virtual key,
 * or has no credential of its own (`api_key`, or a setting such as `azure_ad_token`) while the
 * server side holds one for it (a key, `headers`, a credential setting). A target with its own
 * credential, or for which the server holds none, is sent with the client's own values only.
 */
export function refuseServerCredentials(
  chosen: ClientHost,
  node: { readonly api_key?: string | undefined; readonly virtual_key?: string | undefined },
  ownSettings: Readonly<Record<string, unknown>>,
  base: ProviderSettings | undefined,
  path: string,
): void {
  const refuse = (message: string): never => {
    throw new ConfigError(message, chosen.param, 'host_not_allowed');
  };
  if (node.virtual_key !== undefined) {
    refuse(
      `${path}.virtual_key stands for the gateway's credentials, which are never sent to a host the request chose (${chosen.param}); give the target a provider and its own api_key, or have the host list that origin in customHostAllowlist`,
    );
  }
  const own = node.api_key !== undefined || Object.keys(ownSettings).some(isSecretSetting);
  if (own || base === undefined) return;
  const server =
    base.apiKey !== undefined || Object.keys(base.headers).length > 0 || Object.keys(base.settings).some(isSecretSetting);
  if (!server) return;
  if (chosen.kind === 'setting') {
    refuse(`${chosen.param} may only be set together with api_key: it would send the gateway's key to another host`);
  }
  refuse(
    `${path} uses a custom_host with the gateway's credentials; give it its own api_key, or have the host list that origin in customHostAllowlist`,
  );
}
