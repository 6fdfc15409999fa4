/**
 * Building blocks for adapters' `settings` schemas (`ProviderAdapter.settings`), and how the
 * router reads a setting's name.
 *
 * Provider settings end up in upstream headers and URLs, so every string one holds must be
 * header-safe: no control character but tab (CR, LF and NUL would inject headers; the others
 * would be dropped or refused on the way out), and of a bounded length.
 */
import Joi from 'joi';

/** Longest string a provider setting may hold. */
export const MAX_SETTING_LENGTH = 8192;

/** C0 control characters except horizontal tab, and DEL. */
export const CONTROL_CHARACTERS = /[\x00-\x08\x0a-\x1f\x7f]/;

/** True when `value` holds a character {@link headerSafe} refuses. */
export function hasControlCharacter(value: string): boolean {
  return CONTROL_CHARACTERS.test(value);
}

/**
 * A string that may end up in an upstream header: at most 8192 characters, no control
 * character but tab (no CR, LF or NUL, nor U+0001-U+001F or DEL). Refused, never stripped.
 */
export const headerSafe = Joi.string()
  .max(MAX_SETTING_LENGTH)
  .pattern(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, { name: 'header-safe (no CR, LF or NUL, nor other control characters)' });

/** A non-empty header-safe string: the usual type of a provider setting. */
export const settingString = headerSafe.min(1);

/**
 * Names of settings that choose the upstream host (Azure's `resource_name`; any `*_host`,
 * `*_url`, `*_endpoint`, `*_domain`). A request config that sets one chooses where the request
 * goes, so nothing of the server's is sent with it unless the origin is allowlisted (SPEC §10).
 * An adapter whose setting picks a host freely should give it such a name.
 */
export const HOST_SETTING = /^(resource_name|host|hostname|url|base_url|endpoint|domain)$|_(host|hostname|url|endpoint|domain)$/;

/**
 * Names of settings that hold a credential (Azure's `azure_ad_token`, `aws_secret_access_key`,
 * a service account, ...): their values are never quoted, and one a request config sets counts
 * as the target's own credential.
 */
export const SECRET_SETTING = /key|token|secret|password|credential|service_account/i;
