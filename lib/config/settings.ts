/**
 * Provider settings are declared by each adapter (`ProviderAdapter.settings`, a joi object
 * schema over snake_case names). This checks the settings a config target, an
 * `options.providers` entry or a virtual key gives against its provider's schema, and says what
 * is wrong without ever quoting a value (a setting may be a token).
 */
import type { ValidationErrorItem } from 'joi';
import { OptionsError } from '../errors.js';
import type { ProviderOptions, ProviderSettings, VirtualKeyOptions } from '../options.js';
import { hasControlCharacter } from '../providers/settings.js';
import type { ProviderAdapter } from '../providers/types.js';
import { parseHttpUrl } from './host.js';
import { RESERVED_KEYS } from './limits.js';
import { keySegment } from './quote.js';
import { NO_VALUE_MESSAGES } from './schema.js';

/** What is wrong with a set of settings: the path to name and a whole sentence. */
export interface SettingsProblem {
  /** The offending setting's path, e.g. `config.targets[0].api_version`. */
  readonly path: string;
  /** e.g. `config.targets[0].api_version must be a string`. */
  readonly message: string;
}

/** The result of {@link checkProviderSettings}. */
export type SettingsCheck =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly problem: SettingsProblem };

/** Rules broken by a setting that is absent: another source of the target may still give it. */
const ABSENCE_RULES = new Set(['any.required', 'object.missing', 'object.with', 'object.and']);

/**
 * Checks `settings` (snake_case keys) against the adapter's `settings` schema; an adapter
 * without one takes no settings.
 *
 * @param provider the canonical provider name, for messages
 * @param where    the path of the object holding the settings (`config.targets[0]`,
 *                 `options.providers.openai`)
 * @param keyName  how the host spelt a snake_case key (options accept camelCase)
 * @param partial  true for one source of a target's settings (an `options.providers` entry, a
 *                 virtual key): a required setting may come from another, so its absence is
 *                 left for the resolved target
 * @returns the validated settings (joi defaults applied), or the first problem: an unknown key
 *          before a bad value
 */
export function checkProviderSettings(
  adapter: ProviderAdapter,
  provider: string,
  settings: Readonly<Record<string, unknown>>,
  where: string,
  keyName: (key: string) => string = (key) => key,
  { partial = false }: { partial?: boolean } = {},
): SettingsCheck {
  const unknownSetting = (key: string): SettingsCheck => {
    const path = `${where}.${keyName(key)}`;
    return { ok: false, problem: { path, message: `${path} is not a setting of provider "${provider}"` } };
  };
  const schema = adapter.settings;
  if (schema === undefined) {
    const [key] = Object.keys(settings);
    return key === undefined ? { ok: true, value: {} } : unknownSetting(key);
  }
  const { error, value } = schema.validate(settings, {
    abortEarly: false,
    convert: false,
    errors: { wrap: { label: false } },
    messages: NO_VALUE_MESSAGES,
  });
  if (!error) return { ok: true, value: value as Record<string, unknown> };
  const details = partial ? error.details.filter((d) => !ABSENCE_RULES.has(d.type)) : error.details;
  if (details.length === 0) return { ok: true, value: { ...settings } };
  const unknown = details.find((d) => d.type === 'object.unknown' && d.path.length === 1);
  if (unknown) return unknownSetting(String(unknown.path[0]));
  const detail = details[0];
  const [top, ...rest] = detail?.path ?? [];
  if (detail === undefined || top === undefined) {
    // A rule over the whole object (e.g. `.xor()`) names no single setting.
    return { ok: false, problem: { path: where, message: detail ? `${where} ${rule(detail)}` : `${where} is not valid` } };
  }
  const path = rest.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${part}`),
    `${where}.${keyName(String(top))}`,
  );
  return { ok: false, problem: { path, message: `${path} ${rule(detail)}` } };
}

/** The rule a detail broke, without its label; never a message that quotes the value. */
function rule(detail: ValidationErrorItem): string {
  const label = String(detail.context?.label ?? '');
  const text = detail.message.startsWith(label) ? detail.message.slice(label.length).trim() : detail.message;
  const value: unknown = detail.context?.value;
  // Built-in messages never quote the value (NO_VALUE_MESSAGES); a custom schema's own may.
  if (text === '' || (typeof value === 'string' && value.length >= 4 && text.includes(value))) return 'is not valid';
  return text;
}

const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * One `options.providers` / `options.virtualKeys` entry as ProviderSettings: every key but
 * apiKey, baseURL, headers and provider is a setting, renamed to snake_case and checked against
 * the provider's adapter. Throws OptionsError naming the option (`where` is the entry's path,
 * e.g. `options.providers.openai`) with the key as the host spelt it (a key that may be a secret
 * is named by its length), never quoting a value. `apiKey` and `headers` values with a control
 * character (other than tab) are refused, not stripped; `baseURL` must be a URL the transport
 * can parse.
 */
export function parseProviderOptions(
  provider: string,
  adapter: ProviderAdapter,
  raw: ProviderOptions,
  where: string,
): ProviderSettings {
  const { apiKey, baseURL, headers, provider: _p, ...rest } = raw as VirtualKeyOptions;
  const fail = (message: string): never => {
    throw new OptionsError(`createFallbackRouter: ${message}`);
  };
  if (typeof apiKey === 'string' && hasControlCharacter(apiKey)) {
    fail(`${where}.apiKey holds a control character (CR, LF, NUL or another but tab), which cannot go in a header`);
  }
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === 'string' && hasControlCharacter(value)) {
      fail(`${where}.headers.${keySegment(name)} holds a control character (CR, LF, NUL or another but tab), which cannot go in a header`);
    }
  }
  if (typeof baseURL === 'string' && parseHttpUrl(baseURL) === undefined) {
    fail(`${where}.baseURL must be a valid http or https URL`);
  }
  const settings: Record<string, unknown> = {};
  const spelling = new Map<string, string>();
  for (const [key, value] of Object.entries(rest)) {
    const snake = toSnake(key);
    if (RESERVED_KEYS.has(key) || RESERVED_KEYS.has(snake)) {
      fail(`${where}.${keySegment(key)} is not allowed: "${key}" is a reserved name and cannot be a setting`);
    }
    const first = spelling.get(snake);
    if (first !== undefined) fail(`${where} sets both ${keySegment(first)} and ${keySegment(key)}; use one of them`);
    spelling.set(snake, key);
    settings[snake] = value;
  }
  const checked = checkProviderSettings(adapter, provider, settings, where, (snake) => keySegment(spelling.get(snake) ?? snake), {
    partial: true,
  });
  if (!checked.ok) {
    const none = adapter.settings ? '' : ` (provider "${provider}" takes no settings)`;
    throw new OptionsError(`createFallbackRouter: ${checked.problem.message}${none}`);
  }
  // The raw settings are kept: joi defaults are applied once, on the resolved target.
  const out: ProviderSettings = { provider, headers: { ...(headers ?? {}) }, settings };
  if (apiKey !== undefined) out.apiKey = apiKey;
  if (baseURL !== undefined) out.baseURL = baseURL;
  return out;
}
