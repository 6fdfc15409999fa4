/**
 * Reads one upstream stream as OpenAI chunks: the adapter's decoder turns bytes into events,
 * the adapter turns events into chunks, and the reader watches for completeness (every choice
 * finished, `[DONE]`, the usage chunk when one is due). It has no timer of its own: the
 * attempt's watchdog aborts the controller, which destroys the body and ends the read.
 */
import type { Readable } from 'node:stream';
import { InvalidUpstreamResponse } from '../../errors.js';
import { isObject, parseOpenAIStreamEvent } from '../../providers/openai-compatible.js';
import type { ParseContext, ProviderAdapter, StreamDecoder, StreamEvent, StreamState, UnifiedChunk, Usage } from '../../providers/types.js';
import type { MutableRecord } from '../outcome.js';
import type { Watchdog } from '../policies/timeout.js';

/** Once every choice has its finish_reason, how long to wait for a usage chunk still due. */
export const POST_FINISH_GRACE_MS = 1_000;

/** Once the answer is whole, how long the rest of the upstream's body may take to end before its connection is closed. */
export const DRAIN_AFTER_FINISH_MS = 1_000;


function nonEmpty(value: unknown): boolean {
  return typeof value === 'string' ? value !== '' : Array.isArray(value) ? value.length > 0 : isObject(value);
}

/** True for a chunk that carries part of the answer (the commit point), or its end. */
export function isContentChunk(chunk: UnifiedChunk): boolean {
  const choices = chunk.choices;
  if (!Array.isArray(choices)) return false;
  return choices.some((c: unknown) => {
    if (!isObject(c)) return false;
    if (c.finish_reason !== null && c.finish_reason !== undefined) return true;
    if (nonEmpty(c.text)) return true;
    const delta = c.delta;
    return isObject(delta) && (nonEmpty(delta.content) || nonEmpty(delta.tool_calls) || nonEmpty(delta.refusal) || nonEmpty(delta.function_call));
  });
}

/** What the reader needs to know of the request. */
export interface ReaderOptions {
  readonly adapter: ProviderAdapter;
  readonly decoder: StreamDecoder;
  readonly ctx: ParseContext;
  readonly controller: AbortController;
  readonly watchdog: Watchdog;
  /** Choices that must finish for the answer to be whole. */
  readonly expectedChoices: number;
  /** The client asked for a usage chunk (stream_options.include_usage): usage reaches it. */
  readonly wantUsage: boolean;
  /** The upstream will report usage at the end (asked or always): after the finish, wait for it briefly. */
  readonly awaitUsage: boolean;
  /** Keep the answer's text (stream recovery may continue from it), starting with this prefix. */
  readonly keepText: boolean;
  readonly textPrefix: string;
}

export class UpstreamReader {
  private readonly events: AsyncIterator<StreamEvent>;
  private readonly parserState: StreamState;
  private readonly pending: UnifiedChunk[] = [];
  /** The upstream's own JSON text of each pending chunk that is passed on unchanged. */
  private readonly pendingText: Array<string | undefined> = [];
  /** The upstream's own JSON text of the chunk read() returned last, when it is unchanged. */
  lastText: string | undefined;
  /** Set by observe() when it changed the chunk it saw. */
  private changed = false;
  private readonly finished = new Set<number>();
  usage: Usage | undefined;
  private doneSeen = false;
  private ended = false;
  /** The answer's text so far (choice 0), kept only when recovery may need it. */
  text: string;
  toolCallsSeen = false;
  malformed = 0;
  /** Bytes of event data read so far (what a buffered stream holds, roughly). */
  bytes = 0;

  constructor(
    private readonly body: Readable,
    private readonly o: ReaderOptions,
  ) {
    this.events = o.decoder.decode(body)[Symbol.asyncIterator]();
    // Adapters report usage whenever they can; what the client did not ask for is removed below.
    this.parserState = { includeUsage: true };
    this.text = o.textPrefix;
    // A timeout or a cancellation aborts the controller: stop reading at once.
    o.controller.signal.addEventListener('abort', () => body.destroy(), { once: true });
  }

  /** Every expected choice has a finish_reason: the answer is whole. */
  get finishedAll(): boolean {
    return this.finished.size >= this.o.expectedChoices;
  }

  private get exhausted(): boolean {
    return this.doneSeen || this.ended || (this.finishedAll && (!this.o.awaitUsage || this.usage !== undefined));
  }

  /** True when the upstream itself ended (no need to destroy the connection). */
  get upstreamEnded(): boolean {
    return this.ended || this.doneSeen;
  }

  /**
   * The next chunk, or null when the upstream has nothing more (then check `finishedAll`).
   * Throws when the stream breaks, is aborted (the reason: a timeout or a cancellation), or
   * carries an error event (UpstreamStreamError).
   */
  async read(): Promise<UnifiedChunk | null> {
    for (;;) {
      const next = this.pending.shift();
      if (next !== undefined) {
        this.lastText = this.pendingText.shift();
        return next;
      }
      if (this.exhausted) return null;
      const event = await this.nextEvent();
      if (event === null) {
        this.ended = true;
        return null;
      }
      if (event.data.trim() === '[DONE]') {
        this.doneSeen = true;
        continue;
      }
      let chunks: UnifiedChunk[];
      try {
        chunks = this.o.adapter.parseStreamEvent!(event, this.parserState, this.o.ctx);
      } catch (err) {
        if (!(err instanceof InvalidUpstreamResponse)) throw err;
        this.malformed += 1; // a malformed event is skipped; the answer may still complete
        continue;
      }
      // An OpenAI-format event parsed as it is: the writer can send its own text on (not a
      // text of several data lines, which could not be one line again).
      const own = this.o.adapter.parseStreamEvent === parseOpenAIStreamEvent && chunks.length === 1 && event.data.indexOf('\n') === -1 ? event.data : undefined;
      for (const chunk of chunks) {
        this.changed = false;
        if (!this.observe(chunk)) continue;
        this.pending.push(chunk);
        this.pendingText.push(this.changed ? undefined : own);
      }
    }
  }

  private async nextEvent(): Promise<StreamEvent | null> {
    const signal = this.o.controller.signal;
    let result: IteratorResult<StreamEvent>;
    try {
      result = await this.events.next();
    } catch (err) {
      throw signal.aborted ? signal.reason : err;
    }
    if (signal.aborted) throw signal.reason;
    this.o.watchdog.touch();
    if (result.done) return null;
    this.bytes += result.value.data.length;
    return result.value;
  }

  /**
   * Notes what a chunk says; false for chunks not worth forwarding (Azure's filter-only events,
   * and a usage chunk the client did not ask for: its stream stays what it asked for).
   */
  private observe(chunk: UnifiedChunk): boolean {
    const hasUsage = isObject(chunk.usage);
    if (hasUsage) this.usage = chunk.usage as unknown as Usage;
    if (!this.o.wantUsage && 'usage' in chunk) {
      this.changed = true;
      delete chunk.usage;
    }
    const choices = chunk.choices;
    if (!Array.isArray(choices) || choices.length === 0) return hasUsage && this.o.wantUsage;
    for (const c of choices) {
      if (!isObject(c)) continue;
      const index = typeof c.index === 'number' ? c.index : 0;
      if (c.finish_reason !== null && c.finish_reason !== undefined) this.finished.add(index);
      if (index !== 0) continue;
      if (this.o.keepText && typeof c.text === 'string') this.text += c.text;
      if (isObject(c.delta)) {
        if (this.o.keepText && typeof c.delta.content === 'string') this.text += c.delta.content;
        if (nonEmpty(c.delta.tool_calls) || nonEmpty(c.delta.function_call)) this.toolCallsSeen = true;
      }
    }
    return true;
  }

  /**
   * The answer is whole. When the upstream has not ended yet (its `[DONE]` and the end of the
   * body are usually in the bytes already here), the rest is read and discarded in the
   * background, so that the connection goes back to the keep-alive pool instead of being
   * destroyed (a new connection, and an aborted request, cost more than the whole stream); what
   * has not ended within DRAIN_AFTER_FINISH_MS, or is an error, is destroyed.
   */
  finish(): void {
    if (this.upstreamEnded || this.body.destroyed) return;
    const timer = setTimeout(() => this.abort(), DRAIN_AFTER_FINISH_MS);
    const drain = async (): Promise<void> => {
      for (;;) {
        const result = await this.events.next();
        if (result.done) break;
      }
    };
    drain().then(
      () => clearTimeout(timer),
      () => {
        clearTimeout(timer);
        this.body.destroy();
      },
    );
  }

  /** Stops reading: aborts the request and destroys the socket. */
  abort(reason?: unknown): void {
    if (!this.o.controller.signal.aborted) this.o.controller.abort(reason ?? new Error('stream closed'));
    this.body.destroy();
  }
}

/** The reader's notes for the trace. */
export function notesOf(reader: UpstreamReader): Partial<MutableRecord> {
  return reader.malformed > 0 ? { notes: [`skipped ${reader.malformed} malformed stream event(s)`] } : {};
}
