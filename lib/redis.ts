/**
 * `express-llm-fallback/redis`: breaker state and traces in Redis, shared by every instance of a
 * fleet (a breaker opened by one is respected by all; `/logs` on any shows every instance's
 * traces). Kept out of the main entry: a host without Redis loads none of it.
 */
export {
  createRedisStores,
  RedisBreakerStore,
  RedisTraceStore,
  type RedisStores,
  type RedisStoresOptions,
  type RedisBreakerStoreOptions,
  type RedisTraceStoreOptions,
  type SendCommand,
} from './stores/redis/index.js';
export { StoreUnavailableError, isStoreUnavailable, type StoreContext, type StoreStatus } from './stores/breaker-store.js';
