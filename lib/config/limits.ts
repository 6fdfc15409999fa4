/**
 * The limits on one config (SPEC §10: one request's work is bounded), and the checks over a
 * config's whole value that normalise.ts runs before joi sees it. Each check walks with an
 * explicit stack, so no input can overflow the call stack.
 */
import { ConfigError } from '../errors.js';
import { looksLikeId } from './quote.js';

/** The deepest nesting of targets a config may have (strategy within strategy). */
export const MAX_CONFIG_DEPTH = 8;

/**
 * The most targets (leaves: the targets that name a provider or a virtual key) one config may
 * hold, counted across every level of nesting.
 */
export const MAX_CONFIG_TARGETS = 100;

/**
 * The deepest nesting of objects and arrays in a config's whole value, `override_params`
 * included (the config object itself is level 1).
 */
export const MAX_CONFIG_VALUE_DEPTH = 32;

/**
 * Names that can never be config keys, at any level of a config and in either spelling
 * (`toString` / `to_string`): they are the members of every object (`constructor`,
 * `__proto__`, `toString`, ...) plus `prototype`, and as keys they only ever serve to confuse.
 */
export const RESERVED_KEYS: ReadonlySet<string> = (() => {
  const names = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
  const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return new Set([...names, ...names.map(toSnake)]);
})();

/** The path of a child in a message: `[i]`, `.key`, or `.<a key of N characters>` for a key that may be a secret. */
function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return `${path}.${looksLikeId(key) || /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(key) ? key : `<a key of ${key.length} characters>`}`;
}

/**
 * Refuses a config value nested deeper than {@link MAX_CONFIG_VALUE_DEPTH} or holding a
 * `__proto__` key anywhere (in `override_params` too), naming the path. Iterative.
 */
export function checkConfigValue(root: unknown, label: string): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: label, depth: 1 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_CONFIG_VALUE_DEPTH) {
      throw new ConfigError(
        `${path} is nested more than ${MAX_CONFIG_VALUE_DEPTH} levels deep; a config (override_params included) may nest objects and arrays at most ${MAX_CONFIG_VALUE_DEPTH} levels`,
        path,
      );
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: childPath(path, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (key === '__proto__') throw reservedKey(path, key);
      stack.push({ value: (value as Record<string, unknown>)[key], path: childPath(path, key), depth: depth + 1 });
    }
  }
}

/** The error for a config key in {@link RESERVED_KEYS}. */
export function reservedKey(path: string, key: string): ConfigError {
  const at = `${path}.${key}`;
  return new ConfigError(`${at} is not allowed: "${key}" is a reserved name and cannot be a config key`, at);
}

/**
 * Counts the targets of one config as normalise.ts meets them; the one past
 * {@link MAX_CONFIG_TARGETS} is refused (400 `config_too_large`) naming the limit.
 */
export class TargetCounter {
  private count = 0;

  constructor(private readonly label: string) {}

  /** Counts the leaf at `path`. */
  leaf(path: string): void {
    this.count += 1;
    if (this.count > MAX_CONFIG_TARGETS) {
      throw new ConfigError(
        `${this.label} holds more than ${MAX_CONFIG_TARGETS} targets (counted across every level of nesting; the next one is ${path}); a config may hold at most ${MAX_CONFIG_TARGETS}`,
        this.label,
        'config_too_large',
      );
    }
  }
}
