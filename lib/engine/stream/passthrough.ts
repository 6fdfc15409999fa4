/**
 * A committed stream forwarded as it comes (SPEC §6, the default). A stream that ends without a
 * finish_reason, stalls past `stream_idle_timeout` or breaks is never presented as a success: it
 * ends with an in-band error, unless `stream_recovery: "continue"` finds a target that continues
 * the answer, whose chunks are then spliced in as if they were the first stream's.
 */
import type { JsonObject, UnifiedChunk } from '../../providers/types.js';
import { isObject } from '../../providers/openai-compatible.js';
import { abandoned, recordUsage, type Attempt } from '../attempt.js';
import { announce, announceStreamEnd, cancelReasonOf } from '../context.js';
import { failure, type Failure, type MutableRecord, type StreamHandle, type StreamStep, type StreamSuccess } from '../outcome.js';
import { maskCredentials } from '../reply.js';
import { POST_FINISH_GRACE_MS, notesOf, type UpstreamReader } from './reader.js';

/** Finds a target to continue a broken answer from `text`; undefined when none can. */
export type Recover = (text: string) => Promise<StreamSuccess | undefined>;

export class PassthroughHandle implements StreamHandle {
  private ended: StreamStep | undefined;
  /** After a recovery: the continuing stream. */
  private delegate: StreamHandle | undefined;
  private settled = false;
  private graced = false;
  private readonly firstId: unknown;
  private readonly firstCreated: unknown;
  private readonly own: StreamHandle['servedBy'];

  constructor(
    private readonly a: Attempt,
    private readonly reader: UpstreamReader,
    private readonly held: UnifiedChunk[],
    /** The attempt's record, pushed at the commit point and completed here. */
    private readonly committed: MutableRecord,
    model: string | undefined,
    private readonly recover: Recover | undefined,
  ) {
    this.firstId = held[0]?.id;
    this.firstCreated = held[0]?.created;
    const { leaf } = a.call;
    this.own = { path: leaf.path, provider: leaf.target.provider, ...(model ? { model } : {}) };
  }

  get servedBy(): StreamHandle['servedBy'] {
    return this.delegate?.servedBy ?? this.own;
  }

  async next(): Promise<StreamStep> {
    if (this.ended) return this.ended;
    if (this.delegate) return this.spliced(await this.delegate.next());
    const held = this.held.shift();
    if (held !== undefined) return { kind: 'chunk', chunk: held };
    const reader = this.reader;
    let chunk: UnifiedChunk | null;
    try {
      chunk = await reader.read();
    } catch (err) {
      // A usage chunk that never came after the finish_reason does not make the answer broken.
      if (reader.finishedAll) return this.finish();
      if (abandoned(this.a)) return this.gone();
      return this.interrupt(this.describe(err));
    }
    if (chunk === null) {
      return reader.finishedAll ? this.finish() : this.interrupt(`${this.own.provider} stream ended before the answer was complete`);
    }
    if (!this.graced && reader.finishedAll) {
      this.graced = true;
      this.a.watchdog.idle(Math.min(POST_FINISH_GRACE_MS, this.a.call.leaf.streamIdleTimeout));
    }
    return { kind: 'chunk', chunk, text: reader.lastText };
  }

  abort(): void {
    this.reader.abort();
    this.delegate?.abort();
    if (!this.ended && !this.delegate) this.gone();
  }

  private describe(err: unknown): string {
    const expiry = (err as { expiry?: unknown } | undefined)?.expiry;
    if (expiry !== undefined) return `${this.own.provider} stream stalled for more than ${this.a.call.leaf.streamIdleTimeout} ms`;
    return maskCredentials(`${this.own.provider} stream broke: ${err instanceof Error ? err.message : String(err)}`, this.a.credentials);
  }

  /** Completes the attempt's record: a success without argument, else the failure. */
  private settle(f?: Failure): void {
    if (this.settled) return;
    this.settled = true;
    this.a.release();
    const rec = this.committed;
    rec.latencyMs = Date.now() - this.a.startedAt;
    const usage = recordUsage(this.reader.usage);
    if (usage) rec.usage = usage;
    Object.assign(rec, notesOf(this.reader));
    if (f) {
      rec.status = f.status;
      rec.errorClass = f.errorClass;
      if (f.code) rec.code = f.code;
    }
    announce(this.a.ctx, rec);
    announceStreamEnd(this.a.ctx, this.own, f === undefined ? 'done' : f.status === 499 ? 'gone' : 'error');
  }

  private finish(): StreamStep {
    this.reader.finish(); // finish_reason (and usage) without [DONE] yet: done now
    this.settle();
    this.ended = { kind: 'done' };
    return this.ended;
  }

  /** Nobody reads any more (the client left, or the stream lost a hedge): the trace says why. */
  private gone(): StreamStep {
    this.reader.abort();
    const reason = cancelReasonOf(this.a.ctx.signal) ?? 'client_disconnected';
    this.settle(failure(reason, 'stream_interrupted', reason === 'hedge_cancelled' ? 'cancelled: another hedged attempt answered first' : 'client disconnected during the stream', this.own));
    this.ended ??= { kind: 'error', message: 'client disconnected', code: 'stream_interrupted' };
    return this.ended;
  }

  private async interrupt(message: string): Promise<StreamStep> {
    this.reader.abort();
    this.settle(failure('stream_interrupted', 'stream_interrupted', message, this.own));
    if (this.recover && !this.reader.toolCallsSeen && this.reader.text.trim() !== '') {
      const continued = await this.recover(this.reader.text);
      if (continued) {
        this.delegate = continued.stream;
        return this.spliced(await continued.stream.next());
      }
    }
    this.ended = { kind: 'error', message, code: 'stream_interrupted' };
    return this.ended;
  }

  /** A continuing chunk, made to look like part of the first stream (same id, no new role). */
  private spliced(step: StreamStep): StreamStep {
    if (step.kind !== 'chunk') {
      this.ended = step;
      return step;
    }
    const chunk: JsonObject = { ...step.chunk };
    if (this.firstId !== undefined) chunk.id = this.firstId;
    if (this.firstCreated !== undefined) chunk.created = this.firstCreated;
    if (Array.isArray(chunk.choices)) {
      chunk.choices = chunk.choices.map((c: unknown) => {
        if (!isObject(c) || !isObject(c.delta) || !('role' in c.delta)) return c;
        const { role: _role, ...delta } = c.delta;
        return { ...c, delta };
      });
    }
    return { kind: 'chunk', chunk };
  }
}
