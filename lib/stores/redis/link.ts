/**
 * The one connection the Redis stores share: every command goes through `sendCommand` (the
 * host's client), bounded in time and in number, and this is where an outage is noticed, told
 * once through the router's logger, and its end found by itself (a PING at most once per
 * `retryIntervalMs`, made by the next command that would have been sent). While Redis is down,
 * commands fail at once with a {@link StoreUnavailableError}, and the stores answer from local
 * state: nothing queues up behind a dead connection.
 */
import { createHash } from 'node:crypto';
import { StoreUnavailableError, type StoreContext, type StoreStatus } from '../breaker-store.js';

/** The Redis primitive: one command and its arguments, the reply (as rate-limit-redis takes it). */
export type SendCommand = (...args: string[]) => Promise<unknown>;

/** A Lua script: its source and its SHA1 (as EVALSHA names it). */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** Defines a script; the SHA1 is computed here, as Redis computes it. */
export function lua(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

export interface LinkOptions {
  readonly sendCommand: SendCommand;
  /** Longest wait for one command before Redis counts as down. */
  readonly commandTimeoutMs: number;
  /** Most commands awaiting a reply; beyond, commands are dropped (and counted). */
  readonly maxInFlight: number;
  /** While down, how often a PING checks whether Redis is back. */
  readonly retryIntervalMs: number;
  /** A logger given to createRedisStores; otherwise the first router's (`attach`). */
  readonly logger?: StoreContext['logger'];
}

/** Reply errors that mean Redis cannot serve now (rather than "this command is wrong"). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY)\b/;

/** True for an error Redis itself replied (`ERR ...`, `NOSCRIPT ...`): Redis is up. */
function isReplyError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /^[A-Z][A-Z_]+ /.test(message) && !TRANSIENT_REPLY.test(message);
}

const text = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class RedisLink {
  private logger: StoreContext['logger'] | undefined;
  private readonly loggerGiven: boolean;
  private down = false;
  private closed = false;
  private detail: string | undefined;
  private inFlight = 0;
  private dropped = 0;
  private nextCheckAt = 0;
  private checking: Promise<boolean> | undefined;
  /** Scripts known to be loaded (by SHA1); cleared when Redis forgets them (NOSCRIPT). */
  private readonly loaded = new Map<string, Promise<void>>();
  /** Called when Redis is reachable again after an outage. */
  private readonly upListeners: Array<() => void> = [];

  constructor(private readonly options: LinkOptions) {
    this.logger = options.logger;
    this.loggerGiven = options.logger !== undefined;
  }

  /** The router's logger, unless createRedisStores was given one (the first router's wins). */
  attach(context: StoreContext): void {
    if (!this.loggerGiven && this.logger === undefined) this.logger = context.logger;
  }

  /** Runs `listener` each time Redis is reachable again after an outage. */
  onUp(listener: () => void): void {
    this.upListeners.push(listener);
  }

  /** True once the stores were closed: nothing is sent any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * False while commands would fail at once (Redis down, or the stores closed): the caller answers
   * from local state. While down, a call also starts the PING that finds Redis back, when due.
   */
  usable(): boolean {
    if (this.down) void this.check();
    return !this.down && !this.closed;
  }

  /** Sends one command; rejects with StoreUnavailableError when down, busy, late or closed. */
  async call(args: readonly string[], timeoutMs = this.options.commandTimeoutMs): Promise<unknown> {
    if (this.closed) throw new StoreUnavailableError('the Redis stores are closed', 'closed');
    if (this.down) {
      void this.check();
      throw new StoreUnavailableError(`Redis is unreachable: ${this.detail ?? 'down'}`, 'down');
    }
    return this.send(args, timeoutMs);
  }

  /** Runs a script by EVALSHA, loading it first (SCRIPT LOAD), and again if Redis forgot it. */
  async eval(script: LuaScript, keys: readonly string[], args: readonly string[], timeoutMs?: number): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      await this.load(script);
      try {
        return await this.call(['EVALSHA', script.sha, String(keys.length), ...keys, ...args], timeoutMs);
      } catch (err) {
        if (attempt > 0 || !/^NOSCRIPT/.test(text(err))) throw err;
        this.loaded.delete(script.sha);
      }
    }
  }

  /** Whether Redis answers a PING now (bounded by the command timeout). */
  async ping(): Promise<boolean> {
    if (this.closed) return false;
    if (this.down) return this.check(true);
    try {
      await this.send(['PING'], this.options.commandTimeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  status(): StoreStatus {
    const detail = this.closed ? 'closed' : this.down ? this.detail : undefined;
    return { kind: 'redis', shared: true, reachable: !this.down && !this.closed, ...(detail !== undefined ? { detail } : {}), dropped: this.dropped };
  }

  /** Counts records a store dropped (a full queue) beside the commands dropped here. */
  countDropped(n: number): void {
    this.dropped += n;
  }

  /** Refuses every later command; waits (a little) for the commands in flight. */
  async close(): Promise<void> {
    this.closed = true;
    const until = Date.now() + this.options.commandTimeoutMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private load(script: LuaScript): Promise<void> {
    let loading = this.loaded.get(script.sha);
    if (!loading) {
      loading = this.call(['SCRIPT', 'LOAD', script.source]).then((sha) => {
        if (sha !== script.sha) throw new Error(`SCRIPT LOAD of ${script.name} answered ${String(sha)}, not ${script.sha}`);
      });
      this.loaded.set(script.sha, loading);
      loading.catch(() => this.loaded.delete(script.sha));
    }
    return loading;
  }

  private async send(args: readonly string[], timeoutMs: number): Promise<unknown> {
    if (this.inFlight >= this.options.maxInFlight) {
      this.dropped += 1;
      throw new StoreUnavailableError(`${this.inFlight} Redis commands are awaiting a reply; this one was dropped`, 'busy');
    }
    this.inFlight += 1;
    let timer: NodeJS.Timeout | undefined;
    // The slot is held until the client settles the command, not just until the timeout: a
    // client that queues commands while disconnected cannot make the queue grow past maxInFlight.
    const reply = Promise.resolve()
      .then(() => this.options.sendCommand(...args))
      .finally(() => {
        this.inFlight -= 1;
      });
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([reply, late]);
    } catch (err) {
      reply.catch(() => undefined);
      if (isReplyError(err)) throw err;
      this.goDown(err);
      throw new StoreUnavailableError(`Redis is unreachable: ${text(err)}`, 'down');
    } finally {
      clearTimeout(timer);
    }
  }

  private goDown(err: unknown): void {
    this.detail = text(err);
    this.nextCheckAt = Date.now() + this.options.retryIntervalMs;
    if (this.down) return;
    this.down = true;
    this.loaded.clear();
    this.say('warn', `express-llm-fallback: Redis is unreachable (${this.detail}); breakers and traces run on this instance's local state until it is back.`);
  }

  /** While down: a PING, at most once per retry interval (or now when `force`); true once up. */
  private check(force = false): Promise<boolean> {
    if (this.checking) return this.checking;
    if (!force && Date.now() < this.nextCheckAt) return Promise.resolve(false);
    this.nextCheckAt = Date.now() + this.options.retryIntervalMs;
    this.checking = this.send(['PING'], this.options.commandTimeoutMs).then(
      () => {
        this.down = false;
        this.detail = undefined;
        this.say('info', 'express-llm-fallback: Redis is reachable again; breakers and traces are shared again.');
        for (const listener of this.upListeners) listener();
        return true;
      },
      () => false,
    );
    void this.checking.finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private say(level: 'warn' | 'info', message: string): void {
    try {
      const logger = this.logger ?? console;
      if (level === 'warn') logger.warn(message);
      else logger.info?.(message);
    } catch {
      // a logger that throws is ignored
    }
  }
}
