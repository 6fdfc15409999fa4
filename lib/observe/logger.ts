/**
 * The router's one internal log interface: `log.warn(message, fields)` (and `error`, `info`,
 * `debug`), written to whatever `options.logger` is, in the form that logger expects.
 *
 * - pino and bunyan take `(fields, message)`: the fields become the JSON line's keys;
 * - winston takes `(message, fields)`: the fields become the info object's keys;
 * - `console` and any other logger get one line of text: the message, `: <error message>` when
 *   the fields hold an error, then the other fields as a compact ` key=value` suffix (values
 *   with spaces or quotes JSON-quoted, arrays as JSON) and, for `error` lines, the error's stack
 *   frames on the lines below.
 *
 * An error in `fields.err` is serialised as pino's `err` serializer does (`{ type, message,
 * stack, code }`), so it survives winston's JSON format and bunyan without serializers. A logger
 * without `info` or `debug` does not get those lines. A logger that throws is ignored.
 */
import type { LoggerLike } from './options.js';

/** The levels the router writes at. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * What a line carries besides its message: `traceId`, `requestId`, `configId`, `provider`,
 * `path` (the target's place in the config, e.g. `config.targets[1]`), `err` (an Error or text)... Never a key,
 * a header or a body.
 */
export interface LogFields {
  readonly traceId?: string | undefined;
  readonly requestId?: string | undefined;
  readonly configId?: string | undefined;
  readonly provider?: string | undefined;
  readonly path?: string | undefined;
  readonly err?: unknown;
  readonly [field: string]: unknown;
}

/** One level's writer. */
export type LogMethod = (message: string, fields?: LogFields) => void;

/** Marks a normalised logger (`Symbol.for`: the ESM and CJS copies of the package agree). */
const NORMALISED: unique symbol = Symbol.for('express-llm-fallback.logger');

/** The router's logger: `options.logger` behind one interface (see {@link createLogger}). */
export interface Logger {
  readonly error: LogMethod;
  readonly warn: LogMethod;
  readonly info: LogMethod;
  readonly debug: LogMethod;
  /** Whether lines of this level are written (the logger has the method and its level lets them through). */
  enabled(level: LogLevel): boolean;
  /** Marks a normalised logger, so normalising twice is a no-op. */
  readonly [NORMALISED]: true;
}

/** Anything the router's parts accept as a logger: the normalised one, or any object with `error` (console, pino, a test's). */
export type LoggerInput = Logger | (Partial<LoggerLike> & { readonly error: (...args: unknown[]) => unknown });

/** How a logger wants its arguments: pino and bunyan fields first, winston the message first, others text. */
type Style = 'pino' | 'bunyan' | 'message-first' | 'text';

type AnyMethod = (...args: unknown[]) => unknown;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * pino (levels `{ labels, values }`) and bunyan (`streams`, `fields`) take the fields first;
 * winston (`add`, `log`, a levels table) takes the message first; anything else gets text.
 */
function styleOf(target: object): Style {
  if (target === console) return 'text';
  const t = target as Record<string, unknown>;
  if (isObject(t.levels) && isObject(t.levels.values) && isObject(t.levels.labels)) return 'pino';
  if (typeof t.child === 'function' && Array.isArray(t.streams) && isObject(t.fields)) return 'bunyan';
  if (typeof t.log === 'function' && typeof t.add === 'function' && isObject(t.levels)) return 'message-first';
  return 'text';
}

/** `Bearer <token>` and `Basic <credentials>` in any text the router logs, masked. */
const AUTH_VALUE = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const scrub = (text: string): string => text.replace(AUTH_VALUE, '$1 ***');

/** An error as pino's `err` serializer writes it (and as `fields.err` may already be). */
export interface SerialisedError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
}

/**
 * An error as pino's `err` serializer writes it: `{ type, message, stack }` (and `code`), every
 * text passed through `mask` (e.g. the credentials a request carried) and the auth scrub. An
 * object that already has that shape is taken as it is; anything else becomes its text.
 */
export function serialiseError(err: unknown, mask: (text: string) => string = (text) => text): SerialisedError {
  const clean = (text: string): string => scrub(mask(text));
  if (!(err instanceof Error)) {
    const e = err as Partial<SerialisedError> | null;
    if (isObject(e) && typeof e.type === 'string' && typeof e.message === 'string' && !Array.isArray(e)) return e as SerialisedError;
    return { type: typeof err, message: clean(String(err)) };
  }
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name || err.constructor.name,
    message: clean(err.message),
    ...(err.stack !== undefined ? { stack: clean(err.stack) } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** A field's value in text: bare when it has no space, `"` or `=`; JSON otherwise. */
function textValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? scrub(value) : JSON.stringify(scrub(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return scrub(JSON.stringify(value) ?? String(value));
}

/** The text form of a line (console and unknown loggers). */
function formatText(level: LogLevel, message: string, fields: LogFields | undefined): string {
  let text = scrub(message);
  if (fields === undefined) return text;
  const err = fields.err === undefined ? undefined : serialiseError(fields.err);
  if (err !== undefined) text += `: ${err.message}`;
  for (const key in fields) {
    const value = fields[key];
    if (key !== 'err' && value !== undefined) text += ` ${key}=${textValue(value)}`;
  }
  if (level === 'error' && err?.stack !== undefined) {
    const frames = err.stack.indexOf('\n    at ');
    if (frames >= 0) text += err.stack.slice(frames);
  }
  return text;
}

/**
 * The error as pino's `err` serializer reads it: it names an error by its constructor, so the
 * serialised error gets one that bears its type (`TypeError`), and only the serialised fields
 * (never an error's other enumerable properties, such as an HTTP client's request config).
 */
function forPino(e: SerialisedError): object {
  const named = { [e.type]: class extends Error {} }[e.type]!;
  return Object.assign(Object.create(named.prototype) as object, e);
}

/** The fields as a structured logger gets them: the error serialised, strings scrubbed, undefined left out. */
function structured(fields: LogFields | undefined, style: Style): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields === undefined) return out;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    if (key === 'err') out.err = style === 'pino' ? forPino(serialiseError(value)) : serialiseError(value);
    else out[key] = typeof value === 'string' ? scrub(value) : value;
  }
  return out;
}

/** Whether `target` is already a normalised logger. */
function isLogger(target: unknown): target is Logger {
  return isObject(target) && (target as { [NORMALISED]?: unknown })[NORMALISED] === true;
}

/**
 * The router's logger over `target` (`options.logger`; console when absent). The style is
 * detected once; the level's method is looked up at each line (pino replaces its methods when its
 * level changes), and a logger's `isLevelEnabled` (pino, winston) is asked before a line is built.
 */
export function createLogger(target: LoggerInput | undefined = console): Logger {
  if (isLogger(target)) return target;
  const style = styleOf(target);
  const t = target as Record<string, unknown>;
  const has = (level: LogLevel): boolean => typeof t[level] === 'function';
  const method =
    (level: LogLevel): LogMethod =>
    (message, fields) => {
      const write = t[level];
      if (typeof write !== 'function') return;
      const args =
        style === 'text' ? [formatText(level, message, fields)] : style === 'message-first' ? [scrub(message), structured(fields, style)] : [structured(fields, style), scrub(message)];
      try {
        (write as AnyMethod).apply(target, args);
      } catch {
        // a logger that throws is ignored
      }
    };
  return {
    error: method('error'),
    warn: method('warn'),
    info: method('info'),
    debug: method('debug'),
    enabled(level: LogLevel): boolean {
      if (!has(level)) return false;
      try {
        return typeof t.isLevelEnabled !== 'function' || (t.isLevelEnabled as (level: string) => unknown).call(target, level) !== false;
      } catch {
        return true;
      }
    },
    [NORMALISED]: true,
  };
}
