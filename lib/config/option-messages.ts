/**
 * The messages of broken router options (OptionsError). A host may put a key in the wrong field
 * (`providers: { 'sk-live-…': {...} }`, `virtualKeys: { x: { provider: 'sk-live-…' } }`), and the
 * error lands in logs and crash reports: no message quotes the value of a secret-bearing option
 * (apiKey, headers, auth.apiKeys, a setting named like a key, token, secret or password), and a
 * key that is no identifier is named by its length.
 */
import type { ValidationErrorItem } from 'joi';
import { SECRET_SETTING } from '../providers/settings.js';
import { keySegment } from './quote.js';

/** A joi path as the options are written, each key that may be a secret replaced by its length. */
export function optionPath(parts: ReadonlyArray<string | number>): string {
  return parts.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc === '' ? keySegment(part) : `${acc}.${keySegment(part)}`),
    '',
  );
}

/** `options.<path> <rule>` for one joi detail, the path's keys masked as {@link optionPath} does. */
export function describeOptionDetail(detail: ValidationErrorItem | undefined, fallback: string): string {
  if (detail === undefined) return `options.${fallback}`;
  const label = String(detail.context?.label ?? '');
  if (detail.path.length === 0 || !detail.message.startsWith(label)) return `options.${detail.message}`;
  return `options.${optionPath(detail.path)}${detail.message.slice(label.length)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every value of a secret-bearing option (at least 4 characters): each provider's and virtual
 * key's `apiKey`, `headers` values and settings named like a credential, and `auth.apiKeys`.
 */
export function secretOptionValues(options: unknown): string[] {
  const out: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 4) out.push(value);
    else if (Array.isArray(value)) value.forEach(add);
  };
  if (!isRecord(options)) return out;
  for (const group of [options.providers, options.virtualKeys]) {
    if (!isRecord(group)) continue;
    for (const entry of Object.values(group)) {
      if (!isRecord(entry)) continue;
      for (const [key, value] of Object.entries(entry)) {
        if (key === 'headers' && isRecord(value)) Object.values(value).forEach(add);
        else if (key === 'apiKey' || SECRET_SETTING.test(key)) add(value);
      }
    }
  }
  if (isRecord(options.auth)) add(options.auth.apiKeys);
  return out;
}

/** `text` with every secret option value replaced by `[redacted]` (longest first). */
export function redactOptionSecrets(text: string, options: unknown): string {
  let out = text;
  for (const secret of secretOptionValues(options).sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  return out;
}
