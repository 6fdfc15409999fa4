/**
 * How a value a client or a host wrote is named in an error message. Messages reach the client,
 * the trace store (which every gateway key can read) and the logs, so a value that may be a
 * secret (a key pasted where a config id, a virtual key or a provider name goes) is never quoted:
 * only its length is given.
 */

/** Prefixes of common key formats (`sk-`, `pk_`, `api-`, `bearer-`, ...). */
const KEY_PREFIX = /^(sk|pk|rk|key|api|bearer|token|secret)[-_]/i;

/**
 * True when `value` looks like an identifier (a config id, a provider name, a virtual key id),
 * not like a secret: at most 40 characters of letters, digits and `_ . : -`, no known key prefix
 * and no run of 20 or more letters and digits (the body of a random key).
 */
export function looksLikeId(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$/.test(value) && !KEY_PREFIX.test(value) && !/[A-Za-z0-9]{20,}/.test(value);
}

/**
 * Names a value that should have been an identifier: `"pc-main"` when it looks like one, else
 * `(a value of 51 characters)`.
 */
export function quoteIfId(value: string): string {
  return looksLikeId(value) ? `"${value}"` : `(a value of ${value.length} characters)`;
}

/**
 * A key as one segment of a path in a message: the key itself when it looks like a name (up to
 * 100 letters, digits and `_ . : / @ + -`, for model names such as `openai/gpt-4o`; no `sk-`,
 * `pk-`, `rk-` prefix; no run of 20 letters and digits), else `<a name of 51 characters>` (a
 * host that put a key where a provider name goes). Looser than {@link looksLikeId}: setting
 * names such as `api_version` and `token_limit` stay readable.
 */
export function keySegment(key: string): string {
  const nameLike = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,99}$/.test(key) && !/^(sk|pk|rk)[-_]/i.test(key) && !/[A-Za-z0-9]{20,}/.test(key);
  return nameLike ? key : `<a name of ${key.length} characters>`;
}
