/**
 * Hands each finished request's Trace to the TraceStore without ever failing or delaying the
 * client's response: the store is called after the response is on its way, its throws and
 * rejections are logged (never rethrown), and a store that never answers only holds a bounded
 * number of pending traces.
 */
import type { EngineEvents } from '../engine/events.js';
import { createLogger, type LogFields, type LoggerInput } from '../observe/logger.js';
import { buildTrace, type TraceInput } from './build.js';
import { createPriceLookup, type Pricing } from './pricing.js';
import type { Trace, TraceStore } from './types.js';

export { attemptCost, attemptPricing, buildTrace, normalisePricing, type Pricing, type TraceAttemptInput, type TraceInput } from './build.js';
export { createPriceLookup, type PriceLookup, type PricingFunction, type PricingTable } from './pricing.js';

export interface TraceRecorderSettings {
  /** Where traces go; none: traces are only handed to onTrace. */
  readonly store?: TraceStore;
  /** options.pricing (a table or a function); a billed model without a price is warned about once. */
  readonly pricing: Pricing;
  readonly onTrace?: (trace: Trace) => unknown;
  /** `warn`: the unpriced-model warnings (only when pricing was given); `error`: store and hook failures. */
  readonly logger: LoggerInput;
  /** Most traces waiting on a store that has not answered yet; beyond, traces are dropped. @default 1000 */
  readonly maxPending?: number;
}

export interface TraceRecorder {
  readonly store?: TraceStore;
  /** Records the trace in the background; never throws. */
  finish(input: TraceInput): void;
  /** Records a trace for every `request:end` event. */
  attach(events: EngineEvents): void;
}

/**
 * Calls a user hook so that neither a throw nor a rejected promise escapes: both are logged
 * (with the stack, and the request's `fields`, e.g. its trace id) and forgotten.
 */
export function callHook<A>(hook: ((arg: A) => unknown) | undefined, name: string, arg: A, logger: LoggerInput, fields?: LogFields): void {
  if (!hook) return;
  const report = (err: unknown): void => createLogger(logger).error(`express-llm-fallback: hooks.${name} failed`, { ...fields, err });
  try {
    const result = hook(arg);
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      Promise.resolve(result).catch(report);
    }
  } catch (err) {
    report(err);
  }
}

export function createTraceRecorder(settings: TraceRecorderSettings): TraceRecorder {
  const { store, onTrace } = settings;
  const logger = createLogger(settings.logger);
  // One lookup per router: its cache and its warnings are this router's.
  const prices = createPriceLookup(settings.pricing, { logger });
  const maxPending = settings.maxPending ?? 1000;
  let pending = 0;
  let droppingReported = false;

  const logError = (what: string, err: unknown, traceId?: string): void => {
    logger.error(`express-llm-fallback: ${what}`, { err, ...(traceId !== undefined ? { traceId } : {}) });
  };

  const save = (trace: Trace): void => {
    if (!store) return;
    if (pending >= maxPending) {
      if (!droppingReported) {
        droppingReported = true;
        logError('traceStore.record', `${pending} traces are still waiting on the trace store; dropping traces until it catches up`);
      }
      return;
    }
    let result: unknown;
    try {
      result = store.record(trace);
    } catch (err) {
      logError('traceStore.record threw', err, trace.traceId);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      pending += 1;
      Promise.resolve(result)
        .catch((err: unknown) => logError('traceStore.record rejected', err, trace.traceId))
        .finally(() => {
          pending -= 1;
          if (pending === 0) droppingReported = false;
        });
    }
  };

  return {
    ...(store ? { store } : {}),
    attach(events: EngineEvents): void {
      events.on('request:end', (e) => this.finish(e));
    },
    finish(input: TraceInput): void {
      let trace: Trace;
      try {
        trace = buildTrace(input, prices);
      } catch (err) {
        logError('could not build a trace', err, input.traceId);
        return;
      }
      // After the response: the current I/O callbacks (the write to the client) go first.
      setImmediate(() => {
        save(trace);
        callHook(onTrace, 'onTrace', trace, logger, { traceId: trace.traceId, configId: trace.configId });
      });
    },
  };
}
