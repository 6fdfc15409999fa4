/**
 * The bytes of upstream replies the router holds in memory across all requests in flight
 * (options.maxBufferedBytes): a reply read whole, a buffered stream. A reply that would pass the
 * bound is abandoned (503 `overloaded`), and while the budget is spent new requests get a 503
 * at once, so concurrent large answers cannot take the process's memory.
 */
export class ByteBudget {
  private used = 0;
  constructor(readonly max: number) {}

  /** Takes `bytes` from the budget; false (nothing taken) when that would pass the bound. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back what was taken. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  /** True when nothing more can be taken. */
  get spent(): boolean {
    return this.used >= this.max;
  }

  get inUse(): number {
    return this.used;
  }
}
