/**
 * createRedisStores: a BreakerStore and a TraceStore in one Redis, for a fleet of router
 * instances that should fail over as one and show one `/logs`. The only Redis primitive is the
 * host's `sendCommand` (as rate-limit-redis takes it), so any client works and none is a
 * dependency of ours:
 *
 *   ioredis:     sendCommand: (command, ...args) => redis.call(command, ...args)
 *   node-redis:  sendCommand: (...args) => client.sendCommand(args)
 */
import type { StoreContext, StoreStatus } from '../breaker-store.js';
import { RedisBreakerStore } from './breaker.js';
import { RedisLink, type SendCommand } from './link.js';
import { RedisTraceStore } from './traces.js';

export { RedisBreakerStore, type RedisBreakerStoreOptions } from './breaker.js';
export { RedisTraceStore, type RedisTraceStoreOptions } from './traces.js';
export type { SendCommand } from './link.js';

/** Options of {@link createRedisStores}. Only `sendCommand` is required. */
export interface RedisStoresOptions {
  /** Sends one Redis command (`'EVALSHA', sha, ...`) and resolves with its reply. */
  sendCommand: SendCommand;
  /**
   * Prefix of every key: instances that share breakers and traces use the same one; two fleets
   * in one Redis use two. @default 'llmfb:'
   */
  prefix?: string;
  /** How long a trace is kept, in seconds. @default 604800 (7 days) */
  traceTtlSeconds?: number;
  /** How many traces are kept (the oldest go first, on write). @default 100000 */
  maxTraces?: number;
  /**
   * Where the one warning per Redis outage (and the note when it is back, as `info`) goes.
   * @default the logger of the first router created with these stores (options.logger), else console
   */
  logger?: StoreContext['logger'];
  /**
   * Longest wait for a breaker command, in ms; past it Redis counts as down and this instance
   * runs on local state. Below the router's 250 ms bound on a probe decision. @default 200
   */
  commandTimeoutMs?: number;
  /** Longest wait for a trace write or listing, in ms. @default 2000 */
  traceTimeoutMs?: number;
  /** Most commands awaiting a reply at once; beyond, commands are dropped and counted. @default 64 */
  maxInFlight?: number;
  /** While Redis is down, how often one PING checks whether it is back, in ms. @default 1000 */
  retryIntervalMs?: number;
  /** How long a breaker key without writes is kept, in seconds. @default 86400 */
  breakerTtlSeconds?: number;
  /**
   * How often each router reads back the breaker state of the targets it uses, in ms: a breaker
   * another instance opened is respected within about this (plus a round trip). @default 500
   */
  refreshIntervalMs?: number;
  /** Most breaker keys GET /health lists (the least recently written leave first). @default 10000 */
  maxBreakerKeys?: number;
  /** Most traces of this instance kept (and served by /logs) while Redis is down. @default 1000 */
  localTraces?: number;
  /**
   * Most index entries one listing examines. Every filter of GET /logs has its own index and a
   * listing walks the smallest one, so only a combination of filters that rarely match together
   * (e.g. a status and a provider) can reach it; the listing then returns fewer. @default 10000
   */
  maxScan?: number;
}

/** What {@link createRedisStores} returns: pass `breaker` and `traces` to the router. */
export interface RedisStores {
  /** `options.breakerStore` */
  readonly breaker: RedisBreakerStore;
  /** `options.traceStore` */
  readonly traces: RedisTraceStore;
  /** Whether Redis answers now, and what was dropped. */
  status(): Promise<StoreStatus>;
  /** Sends what is queued, stops every timer, refuses later calls. Your client is yours to quit. */
  close(): Promise<void>;
}

function whole(name: string, value: number | undefined, fallback: number, min = 1): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new TypeError(`createRedisStores: ${name} must be a whole number of at least ${min} (got ${String(value)})`);
  return n;
}

/**
 * Creates the Redis breaker and trace stores, sharing one bounded connection through
 * `sendCommand`. Give both to every instance: `createFallbackRouter({ breakerStore: breaker,
 * traceStore: traces, ... })`.
 */
export function createRedisStores(options: RedisStoresOptions): RedisStores {
  if (typeof options !== 'object' || options === null || typeof options.sendCommand !== 'function') {
    throw new TypeError('createRedisStores: sendCommand must be a function, e.g. { sendCommand: (...args) => client.sendCommand(args) }');
  }
  const prefix = options.prefix ?? 'llmfb:';
  if (typeof prefix !== 'string') throw new TypeError('createRedisStores: prefix must be a string');
  const link = new RedisLink({
    sendCommand: options.sendCommand,
    commandTimeoutMs: whole('commandTimeoutMs', options.commandTimeoutMs, 200),
    maxInFlight: whole('maxInFlight', options.maxInFlight, 64),
    retryIntervalMs: whole('retryIntervalMs', options.retryIntervalMs, 1000),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const breaker = new RedisBreakerStore(link, {
    prefix,
    ttlMs: whole('breakerTtlSeconds', options.breakerTtlSeconds, 86_400) * 1000,
    maxKeys: whole('maxBreakerKeys', options.maxBreakerKeys, 10_000),
    refreshIntervalMs: whole('refreshIntervalMs', options.refreshIntervalMs, 500),
  });
  const traces = new RedisTraceStore(link, {
    prefix,
    ttlSeconds: whole('traceTtlSeconds', options.traceTtlSeconds, 604_800),
    maxTraces: whole('maxTraces', options.maxTraces, 100_000),
    localTraces: whole('localTraces', options.localTraces, 1000, 0),
    maxScan: whole('maxScan', options.maxScan, 10_000),
    timeoutMs: whole('traceTimeoutMs', options.traceTimeoutMs, 2000),
  });
  return {
    breaker,
    traces,
    status: () => traces.status(),
    async close() {
      await Promise.all([breaker.drain(), traces.drain()]);
      await link.close();
    },
  };
}
