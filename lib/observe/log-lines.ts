/**
 * The router's own log lines about requests and breakers, as a subscriber of the engine's events
 * (plus the few helpers the edge and the engine use for the lines that have no event): which
 * line goes out at which level, and with which fields.
 *
 * | line                                         | level | from                      |
 * | -------------------------------------------- | ----- | ------------------------- |
 * | a circuit breaker opened                     | warn  | `breaker:state`           |
 * | a breaker half-opened (one probe goes)       | debug | `breaker:state`           |
 * | a breaker closed                             | info  | `breaker:state`           |
 * | every target failed: giving up               | warn (info when the request itself was at fault) | `request:end` |
 * | a committed stream broke                     | warn  | `request:end`             |
 * | a request refused before any attempt         | info (warn for a 5xx) | `request:end`, the router's error handler |
 * | a retry and its wait                         | info  | engine/policies/retry.ts  |
 * | a fallback to the next target                | info  | engine/strategies/decide.ts |
 *
 * Nothing here runs on a request that succeeded: `request:end` is read for its status only.
 */
import type { EngineEvents, EngineEventMap } from '../engine/events.js';
import type { LogFields, Logger } from './logger.js';

/** Final failures that say the request was wrong, not the providers: logged at info, not warn. */
const REQUEST_FAULTS: ReadonlySet<string> = new Set(['bad_request', 'context_length_exceeded', 'content_filter']);

/** Longest upstream error text quoted in a line. */
const MAX_ERROR_TEXT = 300;

const clip = (text: string): string => (text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text);

/** The fields every line about a running request carries. */
export function requestFields(ctx: {
  readonly input: { readonly traceId: string; readonly requestId: string };
  readonly plan: { readonly configId: string };
}): LogFields {
  return { traceId: ctx.input.traceId, requestId: ctx.input.requestId, configId: ctx.plan.configId };
}

/** A breaker key (`provider|model|endpoint|account[|scope]`) as fields. */
function breakerFields(key: string): { breaker: string; provider: string; model: string | undefined; endpoint: string } {
  const [provider = '?', model, endpoint = '?'] = key.split('|');
  return { breaker: key, provider, model: model === '-' ? undefined : model, endpoint };
}

/** What a refused request's line says. */
export interface Refusal {
  readonly status: number;
  readonly code: string | null;
  readonly message: string;
}

/**
 * Logs a request refused before any attempt (auth, an invalid body or config, the router's
 * memory budget): info, or warn for a 5xx (the router's own limit).
 */
export function logRefused(logger: Logger, refusal: Refusal, fields: LogFields): void {
  const level = refusal.status >= 500 ? 'warn' : 'info';
  if (!logger.enabled(level)) return;
  logger[level](`express-llm-fallback: request refused before any attempt (${refusal.status} ${refusal.code ?? 'error'})`, {
    ...fields,
    status: refusal.status,
    code: refusal.code ?? undefined,
    error: clip(refusal.message),
  });
}

/** `openai 503, openai 503 (retry 1), anthropic skipped (circuit_open)`. */
function attemptsText(attempts: EngineEventMap['request:end']['attempts']): string {
  return attempts
    .map((a) => `${a.provider} ${a.skipped !== undefined ? `skipped (${a.skipped})` : (a.status ?? a.errorClass ?? '?')}${a.retry > 0 ? ` (retry ${a.retry})` : ''}`)
    .join(', ');
}

function requestEnded(logger: Logger, e: EngineEventMap['request:end']): void {
  const base: LogFields = { traceId: e.traceId, requestId: e.requestId, configId: e.configId, endpoint: e.endpoint };
  const outcome = e.outcome;
  if (outcome === undefined) {
    // Refused before any attempt; an unexpected error (500 internal_error) was logged with its
    // stack; a client that left (499) was refused by no one.
    if (e.error === undefined || e.attempts.length > 0 || e.error.code === 'internal_error' || e.error.code === 'client_disconnected') return;
    logRefused(logger, { status: e.status, code: e.error.code, message: e.error.message }, { ...base, configId: e.configId === 'invalid' ? undefined : e.configId });
    return;
  }
  if (outcome.kind === 'failure') {
    const level = REQUEST_FAULTS.has(outcome.errorClass) ? 'info' : 'warn';
    if (!logger.enabled(level)) return;
    const made = e.attempts.filter((a) => a.skipped === undefined).length;
    logger[level](`express-llm-fallback: giving up after ${made} attempt${made === 1 ? '' : 's'} (${attemptsText(e.attempts)}); the client gets ${e.status}`, {
      ...base,
      status: e.status,
      provider: outcome.provider,
      path: outcome.path,
      errorClass: outcome.errorClass,
      code: outcome.code,
      statuses: e.attempts.map((a) => a.status ?? null),
      error: clip(outcome.message),
    });
    return;
  }
  if (outcome.kind === 'stream' && e.error?.code === 'stream_interrupted' && logger.enabled('warn')) {
    logger.warn(`express-llm-fallback: a committed stream from ${e.servedBy?.provider ?? outcome.provider} broke; the client got an in-band error`, {
      ...base,
      provider: e.servedBy?.provider ?? outcome.provider,
      path: e.servedBy?.path ?? outcome.path,
      error: clip(e.error.message),
    });
  }
}

function breakerChanged(logger: Logger, e: EngineEventMap['breaker:state']): void {
  const fields = { ...breakerFields(e.key), from: e.from, to: e.to };
  const what = `${fields.provider}${fields.model !== undefined ? ` ${fields.model}` : ''} (${fields.endpoint})`;
  if (e.to === 'open') logger.warn(`express-llm-fallback: circuit breaker opened for ${what}; the target is skipped until its cooldown ends`, fields);
  else if (e.to === 'closed') logger.info(`express-llm-fallback: circuit breaker closed for ${what}`, fields);
  else logger.debug(`express-llm-fallback: circuit breaker half-open for ${what}; one probe goes through`, fields);
}

/** Subscribes the breaker and end-of-request lines. */
export function attachLogLines(events: EngineEvents, logger: Logger): void {
  events.on('breaker:state', (e) => breakerChanged(logger, e));
  events.on('request:end', (e) => {
    if (e.status >= 400) requestEnded(logger, e);
  });
}
