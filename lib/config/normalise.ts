/**
 * Normalises a request config to snake_case keys and validates it with joi.
 *
 * Only the config's own keys are renamed (target, strategy, retry and cb_config levels): the
 * contents of `override_params` are request parameters and pass untouched.
 */
import { ConfigError } from '../errors.js';
import { MAX_CONFIG_DEPTH, RESERVED_KEYS, TargetCounter, checkConfigValue, reservedKey } from './limits.js';
import { NO_VALUE_MESSAGES, targetSchema } from './schema.js';

export { MAX_CONFIG_DEPTH, MAX_CONFIG_TARGETS, MAX_CONFIG_VALUE_DEPTH } from './limits.js';

/** A validated config node in snake_case (the current or the legacy form). */
export interface ConfigNode {
  provider?: string;
  api_key?: string;
  virtual_key?: string;
  override_params?: Record<string, unknown>;
  weight?: number;
  retry?: { attempts?: number; on_status_codes?: Array<number | string>; use_retry_after_header?: boolean };
  request_timeout?: number;
  stream_idle_timeout?: number;
  total_timeout?: number;
  stream_mode?: 'passthrough' | 'buffered';
  stream_recovery?: 'none' | 'continue';
  supports_prefill?: boolean;
  custom_host?: string;
  forward_headers?: string[];
  trace_context?: boolean;
  strategy?: ConfigStrategy;
  mode?: ConfigStrategy['mode'];
  targets?: ConfigNode[];
  options?: ConfigNode[];
  [setting: string]: unknown;
}

export interface ConfigStrategy {
  mode: 'fallback' | 'loadbalance' | 'single';
  on_status_codes?: Array<number | string>;
  on_errors?: string[];
  cb_config?: { failure_threshold?: number; minimum_requests?: number; window_ms?: number; cooldown_ms?: number };
  hedge_after_ms?: number;
}

const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Renames the keys of one level; `nested` says how to treat the value under a renamed key. */
function renameLevel(
  value: unknown,
  path: string,
  nested: (key: string, child: unknown, childPath: string) => unknown,
): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  for (const [key, child] of Object.entries(value)) {
    // `baseURL`-style acronyms are not config keys; a plain lower-casing rule is enough here.
    const snake = toSnake(key);
    // Before any use as a key: `constructor`, `__proto__`, `toString`, ... are no config's keys.
    if (RESERVED_KEYS.has(key) || RESERVED_KEYS.has(snake)) throw reservedKey(path, key);
    const first = origin.get(snake);
    if (first !== undefined) {
      throw new ConfigError(
        `${path} sets both ${first} and ${key}; use one of them`,
        `${path}.${snake}`,
      );
    }
    origin.set(snake, key);
    out[snake] = nested(snake, child, `${path}.${snake}`);
  }
  return out;
}

function normaliseTarget(value: unknown, path: string, depth: number, counter: TargetCounter): unknown {
  if (depth > MAX_CONFIG_DEPTH) {
    throw new ConfigError(`${path} nests targets deeper than ${MAX_CONFIG_DEPTH} levels`, path);
  }
  if (isPlainObject(value) && !Array.isArray(value.targets) && !Array.isArray(value.options)) counter.leaf(path);
  return renameLevel(value, path, (key, child, childPath) => {
    if (key === 'targets' || key === 'options') {
      return Array.isArray(child)
        ? child.map((item, i) => normaliseTarget(item, `${childPath}[${i}]`, depth + 1, counter))
        : child;
    }
    if (key === 'strategy') {
      return renameLevel(child, childPath, (k, v, p) =>
        k === 'cb_config' ? renameLevel(v, p, (_k, leaf) => leaf) : v,
      );
    }
    if (key === 'retry') return renameLevel(child, childPath, (_k, leaf) => leaf);
    return child;
  });
}

/**
 * Normalises and validates a config. `label` names it in error messages (`config`, or
 * `configs.<id>` for saved configs). Throws ConfigError naming the exact path and rule, or the
 * limit passed (limits.ts: target depth, target count, value depth, reserved keys).
 */
export function validateConfig(raw: unknown, label = 'config'): ConfigNode {
  if (!isPlainObject(raw)) {
    throw new ConfigError(`${label} must be a JSON object`, label);
  }
  // Target depth, reserved keys and the target count first (bounded recursion), then the whole
  // value's depth and __proto__ keys (iterative), and only then joi.
  const normalised = normaliseTarget(raw, label, 0, new TargetCounter(label));
  checkConfigValue(normalised, label);
  const { error, value } = targetSchema.validate(normalised, {
    abortEarly: true,
    convert: false,
    errors: { wrap: { label: false } },
    messages: NO_VALUE_MESSAGES,
  });
  if (error) {
    const detail = error.details[0];
    const path = detail ? pathOf(label, detail.path) : label;
    const rule = detail ? detail.message.slice(String(detail.context?.label ?? '').length).trim() : error.message;
    throw new ConfigError(`${path} ${rule}`, path);
  }
  return value as ConfigNode;
}

function pathOf(label: string, parts: ReadonlyArray<string | number>): string {
  return parts.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${part}`), label);
}
