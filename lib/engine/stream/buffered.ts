/**
 * `stream_mode: "buffered"` (SPEC §6): the committed stream is held until the upstream stream is
 * complete, so that a cut or a stall can still fail over invisibly; then it is sent. Nothing has
 * reached the client yet, so the request's total deadline still holds. A stall is a timeout:
 * never retried on the same target.
 */
import type { UnifiedChunk } from '../../providers/types.js';
import { abandoned, endCancelled, endWithFailure, recordUsage, type Attempt } from '../attempt.js';
import { announceStreamEnd, record } from '../context.js';
import { failure, type Cancelled, type Failure, type MutableRecord, type StreamHandle, type StreamStep } from '../outcome.js';
import { streamFailure } from '../reply.js';
import { POST_FINISH_GRACE_MS, notesOf, type UpstreamReader } from './reader.js';

/** Reads the rest of a committed stream; a handle over the whole answer, or why there is none. */
export async function readBuffered(a: Attempt, reader: UpstreamReader, held: UnifiedChunk[], committed: MutableRecord): Promise<StreamHandle | Failure | Cancelled> {
  const { leaf } = a.call;
  const { ctx } = a;
  const at = { provider: leaf.target.provider, path: leaf.path };
  const ttft = { ttftMs: committed.ttftMs! };
  a.watchdog.idle(leaf.streamIdleTimeout, ctx.totalBy);
  let graced = false;
  // What the held answer weighs, against the router's buffer budget (options.maxBufferedBytes).
  const budget = ctx.deps.budget;
  let taken = 0;
  const giveBack = (): void => {
    budget.give(taken);
    taken = 0;
  };
  try {
    for (;;) {
      if (!graced && reader.finishedAll) {
        // Every choice finished: wait only briefly for a usage chunk still due.
        graced = true;
        a.watchdog.idle(Math.min(POST_FINISH_GRACE_MS, leaf.streamIdleTimeout), ctx.totalBy);
      }
      const chunk = await reader.read();
      if (chunk === null) break;
      held.push(chunk);
      const more = reader.bytes - taken;
      if (more > 0 && !budget.take(more)) {
        reader.abort();
        giveBack();
        const f = failure('overloaded', 'server', 'the router holds as many upstream bytes as it may (maxBufferedBytes); try again shortly', at, { local: true });
        return endWithFailure(a, f, { ...ttft, ...notesOf(reader) });
      }
      taken += Math.max(0, more);
    }
  } catch (err) {
    // A usage chunk that never came after the finish_reason does not make the answer broken.
    if (!reader.finishedAll) {
      giveBack();
      reader.abort();
      if (abandoned(a)) return endCancelled(a, { ...ttft, ...notesOf(reader) });
      const expiry = (err as { expiry?: unknown } | undefined)?.expiry;
      const f =
        expiry === 'deadline'
          ? failure('total_timeout', 'timeout', `the total_timeout ran out while ${leaf.target.provider} was still streaming (buffered)`, at, { timedOut: true })
          : expiry === 'idle'
            ? failure('stream_interrupted', 'stream_interrupted', `${leaf.target.provider} stream stalled for more than ${leaf.streamIdleTimeout} ms`, at, { timedOut: true })
            : streamFailure(leaf, err, a.call.timeoutMs, a.credentials);
      return endWithFailure(a, f, { ...ttft, ...notesOf(reader) });
    }
  }
  if (!reader.finishedAll) {
    reader.abort();
    giveBack();
    return endWithFailure(a, failure('stream_interrupted', 'stream_interrupted', `${leaf.target.provider} stream ended before the answer was complete`, at), { ...ttft, ...notesOf(reader) });
  }
  reader.finish();
  a.release();
  committed.latencyMs = Date.now() - a.startedAt;
  const usage = recordUsage(reader.usage);
  if (usage) committed.usage = usage;
  Object.assign(committed, notesOf(reader));
  record(ctx, committed);
  const events = ctx.deps.events;
  if (events.has('stream:commit')) events.emit('stream:commit', { requestId: ctx.input.requestId, traceId: ctx.input.traceId, path: leaf.path, provider: leaf.target.provider, ttftMs: committed.ttftMs! });
  const servedBy = { path: leaf.path, provider: leaf.target.provider, ...(committed.model ? { model: committed.model } : {}) };
  return new BufferedHandle(held, servedBy, (end) => {
    giveBack();
    announceStreamEnd(ctx, servedBy, end);
  });
}

/** A complete answer held in memory. */
class BufferedHandle implements StreamHandle {
  private ended = false;
  constructor(
    private readonly chunks: UnifiedChunk[],
    readonly servedBy: StreamHandle['servedBy'],
    private readonly onEnd: (end: 'done' | 'gone') => void,
  ) {}

  async next(): Promise<StreamStep> {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) return { kind: 'chunk', chunk };
    this.end('done');
    return { kind: 'done' };
  }

  abort(): void {
    this.chunks.length = 0;
    this.end('gone');
  }

  private end(how: 'done' | 'gone'): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(how);
  }
}
