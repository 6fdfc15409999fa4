/**
 * What the two Redis stores share: the link they talk over (status, the router's logger,
 * closing), and a queue whose items are gathered for a few milliseconds and sent in batches, one
 * script call at a time (outcomes for the breaker store, traces for the trace store).
 */
import type { StoreContext, StoreStatus } from '../breaker-store.js';
import type { RedisLink } from './link.js';

/** How a store's queue is sent. */
export interface BatchOptions<T> {
  /** How long the first item waits for others before the queue is sent. */
  readonly delayMs: number;
  /** Most items per call; a smaller remainder waits `delayMs` for more. */
  readonly batch: number;
  /** How many of the queue's first items the next call takes (at least 1). @default up to `batch` */
  readonly take?: (queue: readonly T[]) => number;
  /** Sends one batch; handles its own failures (it must not reject). */
  readonly send: (batch: T[]) => Promise<void>;
}

/** A store on a RedisLink with a batched queue. */
export abstract class BatchedRedisStore<T> {
  protected queue: T[] = [];
  private flushing = false;

  protected constructor(
    protected readonly link: RedisLink,
    private readonly batching: BatchOptions<T>,
  ) {}

  /** Queues an item; the first of a batch schedules the send. */
  protected enqueue(item: T): void {
    this.queue.push(item);
    if (this.queue.length === 1 && !this.flushing) setTimeout(() => void this.flush(), this.batching.delayMs);
  }

  async status(): Promise<StoreStatus> {
    await this.link.ping();
    return this.link.status();
  }

  attach(context: StoreContext): void {
    this.link.attach(context);
  }

  /** Sends what is still queued, then refuses calls (of the other store too: one connection). */
  async close(): Promise<void> {
    await this.drain();
    await this.link.close();
  }

  /** Sends what is still queued (each store says where it goes if Redis does not take it). */
  async drain(): Promise<void> {
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve));
    await this.flush();
  }

  /** Sends the queue, a batch per call, one call at a time. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    const { batch: size, take, send, delayMs } = this.batching;
    try {
      while (this.queue.length > 0) {
        await send(this.queue.splice(0, take ? take(this.queue) : size));
        // Less than a batch left: gather more before the next call.
        if (this.queue.length > 0 && this.queue.length < size) await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    } finally {
      this.flushing = false;
    }
  }
}
