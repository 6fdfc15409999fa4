/**
 * What one trace may hold (SPEC §8): at most {@link MAX_TRACE_ATTEMPTS} attempt rows (the first
 * and the last ones; the trace says how many were left out of the middle), each captured body at
 * most {@link MAX_CAPTURED_BODY_BYTES} of JSON (beyond it, a {@link TruncatedBody} that says so),
 * each text field at most {@link MAX_TRACE_STRING_CHARS} characters, and the whole trace at most
 * {@link MAX_TRACE_BYTES} of JSON (beyond it, the same cuts, harder). Totals are never cut: they
 * are computed from every attempt before any row is left out.
 */
import type { AttemptTrace, Trace, TruncatedBody } from './types.js';

/** Most attempt rows one trace keeps: the first half and the last half of the rows made. */
export const MAX_TRACE_ATTEMPTS = 100;
/** Most bytes of JSON one captured body (`request`, `response`) keeps; beyond, a {@link TruncatedBody}. */
export const MAX_CAPTURED_BODY_BYTES = 64 * 1024;
/** Most characters of one text field of a trace (an error message, a model, a note). */
export const MAX_TRACE_STRING_CHARS = 4096;
/** Most notes one attempt row keeps. */
export const MAX_ATTEMPT_NOTES = 20;
/** Most characters of JSON one trace takes; a larger one is cut harder until it fits (or cannot be cut further). */
export const MAX_TRACE_BYTES = 256 * 1024;

/** How hard a trace is cut: rows kept, bytes of body preview, characters per text field. */
interface Cut {
  readonly rows: number;
  readonly preview: number;
  readonly chars: number;
}
/** The normal cut, then harder ones for a trace that must fit a smaller size. */
const CUTS: readonly Cut[] = [
  { rows: MAX_TRACE_ATTEMPTS, preview: MAX_CAPTURED_BODY_BYTES, chars: MAX_TRACE_STRING_CHARS },
  { rows: 40, preview: 8 * 1024, chars: 1024 },
  { rows: 10, preview: 1024, chars: 256 },
  { rows: 2, preview: 0, chars: 64 },
];

/** The first words of the notes this module writes (replaced, never repeated, when a trace is cut again). */
const NOTE_PREFIXES = ['attempt rows omitted:', 'request body truncated:', 'response body truncated:', 'trace shrunk:'];

/** Whether a captured body is the truncated form. */
export function isTruncatedBody(body: unknown): body is TruncatedBody {
  return (
    typeof body === 'object' && body !== null && (body as TruncatedBody).truncated === true &&
    typeof (body as TruncatedBody).bytes === 'number' && typeof (body as TruncatedBody).preview === 'string'
  );
}

/** The length of a value's JSON text, in characters; undefined when it cannot be serialised. */
export function jsonLength(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value);
    return typeof text === 'string' ? text.length : 0;
  } catch {
    return undefined;
  }
}

/** A text cut to `max` characters, saying how much was cut (never splitting a surrogate pair). */
export function clipString(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}… [${text.length - end} more characters]`;
}

/** The first `maxBytes` UTF-8 bytes of a text, cut at a character boundary. */
function utf8Prefix(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  // At most 3 bytes per UTF-16 unit: a prefix of maxBytes / 3 units always fits.
  if (text.length * 3 <= maxBytes) return text;
  let head = text.length > maxBytes ? text.slice(0, maxBytes) : text;
  const last = head.charCodeAt(head.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) head = head.slice(0, -1);
  const bytes = Buffer.from(head, 'utf8');
  if (bytes.length <= maxBytes) return bytes.toString('utf8');
  let end = maxBytes;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * A private copy of a captured body, or its truncated form when its JSON is larger than
 * `maxBytes`: `{ truncated: true, bytes, preview }` with the original size and the first bytes
 * of its JSON. A body that cannot be serialised is cloned as it is (or dropped).
 */
export function captureBody(body: unknown, maxBytes: number = MAX_CAPTURED_BODY_BYTES): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    try {
      return structuredClone(body);
    } catch {
      return undefined;
    }
  }
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return JSON.parse(json) as unknown;
  const truncated: TruncatedBody = { truncated: true, bytes, preview: utf8Prefix(json, maxBytes) };
  return truncated;
}

/** A truncated body cut again to a smaller preview (its original size is kept). */
function recapBody(body: unknown, maxBytes: number): unknown {
  if (!isTruncatedBody(body)) return captureBody(body, maxBytes);
  if (Buffer.byteLength(body.preview) <= maxBytes) return body;
  return { truncated: true, bytes: body.bytes, preview: utf8Prefix(body.preview, maxBytes) } satisfies TruncatedBody;
}

/**
 * Which rows of `n` to keep, at most `max`: the first `head` and the last `tail`. When rows were
 * already left out before row `gap`, the new gap contains the old one (a trace has one gap).
 */
export function keptRows(n: number, max: number, gap?: number): { head: number; tail: number } {
  if (n <= max) return { head: n, tail: 0 };
  const half = Math.ceil(max / 2);
  if (gap === undefined || gap < 0 || gap > n) return { head: half, tail: max - half };
  let head = Math.min(gap, half);
  const tail = Math.min(n - gap, max - head);
  head = Math.min(gap, max - tail);
  return { head, tail };
}

function clipAttempt(a: AttemptTrace, chars: number): AttemptTrace {
  const out: AttemptTrace = { ...a, path: clipString(a.path, chars), provider: clipString(a.provider, chars) };
  if (a.model !== undefined) out.model = clipString(a.model, chars);
  if (a.errorClass !== undefined) out.errorClass = clipString(a.errorClass, chars);
  if (a.code !== undefined) out.code = clipString(a.code, chars);
  if (a.skipped !== undefined) out.skipped = clipString(a.skipped, chars);
  if (a.notes !== undefined) {
    const notes = a.notes.slice(0, MAX_ATTEMPT_NOTES).map((note) => clipString(String(note), chars));
    if (a.notes.length > MAX_ATTEMPT_NOTES) notes.push(`${a.notes.length - MAX_ATTEMPT_NOTES} more notes omitted`);
    out.notes = notes;
  }
  return out;
}

const ownNote = (note: string): boolean => NOTE_PREFIXES.some((prefix) => note.startsWith(prefix));

/** One cut of a trace: a new object, the input is not changed. `shrunkTo` adds the note of a harder cut. */
function cutTrace(trace: Trace, cut: Cut, shrunkTo?: number): Trace {
  const out: Trace = { ...trace };
  // Attempt rows: the first and the last ones.
  const rows = Array.isArray(trace.attempts) ? trace.attempts : [];
  const alreadyOmitted = typeof trace.attemptsOmitted === 'number' && trace.attemptsOmitted > 0 ? trace.attemptsOmitted : 0;
  const { head, tail } = keptRows(rows.length, cut.rows, alreadyOmitted > 0 ? trace.attemptsOmittedAt : undefined);
  const kept = head + tail < rows.length ? [...rows.slice(0, head), ...rows.slice(rows.length - tail)] : rows;
  out.attempts = kept.map((a) => clipAttempt(a, cut.chars));
  const omitted = alreadyOmitted + (rows.length - kept.length);
  delete out.attemptsOmitted;
  delete out.attemptsOmittedAt;
  if (omitted > 0) {
    out.attemptsOmitted = omitted;
    out.attemptsOmittedAt = kept === rows ? (trace.attemptsOmittedAt ?? head) : head;
  }
  // Text fields (never the ids a trace is looked up by).
  if (out.servedPath !== undefined) out.servedPath = clipString(out.servedPath, cut.chars);
  if (out.provider !== undefined) out.provider = clipString(out.provider, cut.chars);
  if (out.model !== undefined) out.model = clipString(out.model, cut.chars);
  if (out.error) {
    const e = out.error;
    out.error = {
      ...e,
      message: clipString(String(e.message), Math.max(cut.chars, 256)),
      ...(e.type !== undefined ? { type: clipString(e.type, cut.chars) } : {}),
      code: e.code === null ? null : clipString(String(e.code), cut.chars),
      ...(e.errorClass !== undefined ? { errorClass: clipString(e.errorClass, cut.chars) } : {}),
    };
  }
  // Captured bodies.
  if (trace.request !== undefined) out.request = recapBody(trace.request, cut.preview);
  if (trace.response !== undefined) out.response = recapBody(trace.response, cut.preview);
  // Notes: what was cut, said once.
  const notes = (trace.notes ?? []).filter((note) => !ownNote(note)).map((note) => clipString(String(note), cut.chars));
  if (omitted > 0) {
    const total = out.attempts.length + omitted;
    const at = out.attemptsOmittedAt ?? 0;
    notes.push(`attempt rows omitted: ${omitted} of ${total} rows (after row ${at}) are not kept; totals count every attempt`);
  }
  for (const which of ['request', 'response'] as const) {
    const body = out[which];
    if (isTruncatedBody(body)) {
      notes.push(`${which} body truncated: ${body.bytes} bytes of JSON, ${Buffer.byteLength(body.preview)} kept as a preview`);
    }
  }
  if (shrunkTo !== undefined) notes.push(`trace shrunk: cut to fit ${shrunkTo} characters of JSON`);
  delete out.notes;
  delete out.truncated;
  if (notes.length > 0) out.notes = notes;
  if (omitted > 0 || isTruncatedBody(out.request) || isTruncatedBody(out.response) || shrunkTo !== undefined || trace.truncated === true) {
    out.truncated = true;
  }
  return out;
}

/** The JSON size of traces fitTrace measured and returned as they are (traces are not changed after they are built). */
const measuredSizes = new WeakMap<Trace, number>();

/** The normal cut of a trace: rows, bodies and text fields within the limits above. */
export function capTrace(trace: Trace): Trace {
  return withinNormalCut(trace) ? trace : cutTrace(trace, CUTS[0]!);
}

const short = (text: unknown): boolean => text === undefined || (typeof text === 'string' && text.length <= MAX_TRACE_STRING_CHARS);

/**
 * True when the normal cut would leave the trace as it is (the common case: no bodies, no notes,
 * few rows, short texts), so that it need not be copied. Conservative: anything unusual is cut.
 */
function withinNormalCut(trace: Trace): boolean {
  if (trace.request !== undefined || trace.response !== undefined || trace.notes !== undefined || trace.truncated !== undefined || trace.attemptsOmitted !== undefined) return false;
  if (!Array.isArray(trace.attempts) || trace.attempts.length > MAX_TRACE_ATTEMPTS) return false;
  if (!short(trace.servedPath) || !short(trace.provider) || !short(trace.model)) return false;
  const e = trace.error;
  if (e !== undefined && !(short(e.message) && short(e.type) && (e.code === null || short(e.code)) && short(e.errorClass))) return false;
  for (const a of trace.attempts) {
    if (!short(a.path) || !short(a.provider) || !short(a.model) || !short(a.errorClass) || !short(a.code) || !short(a.skipped)) return false;
    if (a.notes !== undefined && (a.notes.length > MAX_ATTEMPT_NOTES || !a.notes.every(short))) return false;
  }
  return true;
}

/**
 * A trace whose JSON is at most `maxChars` characters (default {@link MAX_TRACE_BYTES}), and its
 * size: the trace itself when it fits, else the first of ever harder cuts that fits, or the
 * hardest one (which is kept even when it does not fit). A trace that cannot be serialised is
 * returned as it is, its size counted as `maxChars`. Never changes the input.
 */
export function fitTrace(trace: Trace, maxChars: number = MAX_TRACE_BYTES, size?: number): { trace: Trace; bytes: number } {
  const measured = size ?? measuredSizes.get(trace) ?? jsonLength(trace);
  // A trace that cannot be serialised (a BigInt, a cycle) cannot be measured: counted as the limit.
  if (measured === undefined) return { trace, bytes: maxChars };
  if (measured <= maxChars) {
    // The recorder fits a trace, then the store fits it again: measured once.
    measuredSizes.set(trace, measured);
    return { trace, bytes: measured };
  }
  let last: { trace: Trace; bytes: number } = { trace, bytes: measured };
  for (const cut of CUTS) {
    const cutOne = cutTrace(trace, cut, cut === CUTS[0] ? undefined : maxChars);
    const bytes = jsonLength(cutOne);
    last = { trace: cutOne, bytes: bytes ?? maxChars };
    if (bytes !== undefined && bytes <= maxChars) return last;
  }
  return last;
}
