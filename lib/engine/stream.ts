/**
 * Streaming attempts (SPEC §6). An attempt is committed at its first content event: before that,
 * any failure fails over invisibly; after it, the stream is handed to the router as a
 * StreamHandle that forwards chunks as they come (passthrough) or holds them until the upstream
 * stream is complete (buffered). A committed stream that breaks is never presented as a
 * success: it ends with an in-band error, unless `stream_recovery: "continue"` finds a target
 * that can continue the answer.
 */
import type { Readable } from 'node:stream';
import createDebug from 'debug';
import { InvalidUpstreamResponse } from '../errors.js';
import type { JsonObject, ParseContext, ProviderAdapter, SseEvent, StreamState, UnifiedChunk, Usage } from '../providers/types.js';
import { isObject } from '../providers/openai-compatible.js';
import { timeoutReason } from '../transport/http.js';
import { openStream, sseEvents } from '../transport/sse.js';
import type { AttemptFailure, AttemptSuccess, PlanNode, PlanTarget, StreamHandle, StreamStep } from './plan.js';
import {
  ClientGoneError,
  announce,
  buildUpstream,
  cancelledStops,
  failure,
  failureFromReply,
  record,
  transportFailure,
  withForwardedHeaders,
  type AttemptRecord,
  type RunState,
} from './run.js';

const debug = createDebug('express-llm-fallback:engine').extend('stream');

/** Once every choice has its finish_reason, how long to wait for a usage chunk still due. */
const POST_FINISH_GRACE_MS = 1_000;

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

/** Reads one upstream stream as OpenAI chunks, and watches it for completeness. */
class UpstreamReader {
  private readonly events: AsyncGenerator<SseEvent, void, undefined>;
  private readonly parserState: StreamState;
  private readonly pending: UnifiedChunk[] = [];
  private readonly finished = new Set<number>();
  usage: Usage | undefined;
  private doneSeen = false;
  private ended = false;
  /**
   * The answer's text so far (choice 0), kept only when stream recovery may need it: otherwise
   * a long answer would be held whole in memory.
   */
  text: string;
  toolCallsSeen = false;
  malformed = 0;

  constructor(
    private readonly body: Readable,
    private readonly adapter: ProviderAdapter,
    private readonly ctx: ParseContext,
    private readonly controller: AbortController,
    private readonly expectedChoices: number,
    private readonly wantUsage: boolean,
    textPrefix: string,
    private readonly keepText: boolean,
  ) {
    this.events = sseEvents(body);
    this.parserState = { includeUsage: wantUsage };
    this.text = textPrefix;
  }

  /** Every expected choice has a finish_reason: the answer is whole. */
  get finishedAll(): boolean {
    return this.finished.size >= this.expectedChoices;
  }

  private get exhausted(): boolean {
    return this.doneSeen || this.ended || (this.finishedAll && (!this.wantUsage || this.usage !== undefined));
  }

  /**
   * The next chunk, or null when the upstream has nothing more (then check `finishedAll`).
   * Throws when the stream breaks, stalls past `timeoutMs`, or sends an error event.
   */
  async read(timeoutMs: number): Promise<UnifiedChunk | null> {
    for (;;) {
      const next = this.pending.shift();
      if (next !== undefined) return next;
      if (this.exhausted) return null;
      const event = await this.nextEvent(timeoutMs);
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
        chunks = this.adapter.parseStreamEvent!(event, this.parserState, this.ctx);
      } catch (err) {
        if (!(err instanceof InvalidUpstreamResponse)) throw err;
        this.malformed += 1; // a malformed event is skipped; the answer may still complete
        continue;
      }
      for (const chunk of chunks) if (this.observe(chunk)) this.pending.push(chunk);
    }
  }

  private async nextEvent(timeoutMs: number): Promise<SseEvent | null> {
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => this.abort(timeoutReason()), Math.max(1, timeoutMs)) : undefined;
    try {
      const result = await this.events.next();
      return result.done ? null : result.value;
    } catch (err) {
      throw this.controller.signal.aborted ? this.controller.signal.reason : err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Notes what a chunk says; false for chunks not worth forwarding (Azure's filter-only events). */
  private observe(chunk: UnifiedChunk): boolean {
    if (isObject(chunk.usage)) this.usage = chunk.usage as unknown as Usage;
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return isObject(chunk.usage);
    if (choices.length === 0) return isObject(chunk.usage);
    for (const c of choices) {
      if (!isObject(c)) continue;
      const index = typeof c.index === 'number' ? c.index : 0;
      if (c.finish_reason !== null && c.finish_reason !== undefined) this.finished.add(index);
      if (index !== 0) continue;
      if (this.keepText && typeof c.text === 'string') this.text += c.text;
      if (isObject(c.delta)) {
        if (this.keepText && typeof c.delta.content === 'string') this.text += c.delta.content;
        if (nonEmpty(c.delta.tool_calls) || nonEmpty(c.delta.function_call)) this.toolCallsSeen = true;
      }
    }
    return true;
  }

  /** Stops reading: aborts the request and destroys the socket. */
  abort(reason?: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason ?? new Error('stream closed'));
    this.body.destroy();
  }

  /** True when the upstream itself ended (no need to destroy the connection). */
  get upstreamEnded(): boolean {
    return this.ended || this.doneSeen;
  }
}

/** Options of a streaming attempt. */
export interface StreamAttemptOptions {
  /** Forward as it comes even when the target says buffered (a recovery splice). */
  readonly forcePassthrough?: boolean;
  /** Text already sent to the client (recovery), so a later recovery continues from all of it. */
  readonly textPrefix?: string;
}

/** Maps a stream error to the attempt's failure; a client that went away stops everything. */
function streamFailure(leaf: PlanTarget, err: unknown, timeoutMs: number, state: RunState, committed: boolean): AttemptFailure {
  if (state.input.signal.aborted) throw new ClientGoneError('client disconnected');
  const e = err as { name?: string; status?: number; errorClass?: AttemptFailure['errorClass']; message?: string };
  if (e?.name === 'TimeoutError') {
    return committed
      ? failure(leaf, 502, 'stream_interrupted', `${leaf.target.provider} stream stalled for more than ${timeoutMs} ms`, 'stream_interrupted', { type: 'server_error' })
      : failure(leaf, 408, 'timeout', `${leaf.target.provider} sent no content within ${timeoutMs} ms`, 'request_timeout', { type: 'timeout_error' });
  }
  if (e?.name === 'UpstreamStreamError') {
    return failure(leaf, typeof e.status === 'number' ? e.status : 500, e.errorClass ?? 'server', e.message ?? 'upstream stream error', 'upstream_stream_error', { type: 'server_error' });
  }
  return failure(leaf, 502, 'stream_interrupted', `${leaf.target.provider} stream broke: ${e?.message ?? String(err)}`, 'stream_interrupted', { type: 'server_error' });
}

/**
 * One streaming attempt. Resolves at the commit point (passthrough) or at the end of the
 * upstream stream (buffered) with a success holding a StreamHandle, or with the failure.
 */
export async function attemptStream(
  leaf: PlanTarget,
  adapter: ProviderAdapter,
  body: JsonObject,
  timeoutMs: number,
  retry: number,
  state: RunState,
  options: StreamAttemptOptions = {},
): Promise<AttemptSuccess | AttemptFailure> {
  const { input, deps } = state;
  const startedAt = Date.now();
  const model = typeof body.model === 'string' ? body.model : undefined;
  const notes: string[] = [];
  const base = { path: leaf.path, provider: leaf.target.provider, ...(model ? { model } : {}), retry, startedAt };
  const fail = (f: AttemptFailure, ttftMs?: number): AttemptFailure => {
    record(state, {
      ...base,
      status: f.status,
      errorClass: f.errorClass,
      ...(f.code ? { code: f.code } : {}),
      latencyMs: Date.now() - startedAt,
      ...(ttftMs !== undefined ? { ttftMs } : {}),
      ...(notes.length ? { notes: [...notes] } : {}),
    });
    return f;
  };
  if (!adapter.parseStreamEvent) {
    return fail(failure(leaf, 400, 'bad_request', `${leaf.target.provider} adapter cannot stream`, 'stream_not_supported', { type: 'invalid_request_error' }));
  }
  const wantUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
  // A provider that answers one choice whatever `n` says (Anthropic) finishes choice 0 only.
  const expectedChoices = Math.min(typeof body.n === 'number' && body.n > 1 ? Math.floor(body.n) : 1, adapter.maxChoices ?? Infinity);
  const request = { endpoint: input.endpoint, body: { ...body, stream: true }, stream: true };
  const target = withForwardedHeaders(leaf, input.headers);
  const upstream = buildUpstream(leaf, adapter, request, target);
  if ('ok' in upstream) return fail(upstream);

  const controller = new AbortController();
  let reader: UpstreamReader | undefined;
  const onClientGone = (): void => {
    if (reader) reader.abort(input.signal.reason);
    else controller.abort(input.signal.reason);
  };
  input.signal.addEventListener('abort', onClientGone, { once: true });
  const release = (): void => input.signal.removeEventListener('abort', onClientGone);

  const openTimer = setTimeout(() => controller.abort(timeoutReason()), timeoutMs);
  let opened;
  try {
    debug('stream attempt %s %s retry=%d first-content timeout=%dms', leaf.path, leaf.target.provider, retry, timeoutMs);
    opened = await openStream(deps.client, upstream, controller.signal);
  } catch (err) {
    release();
    return cancelledStops(fail(transportFailure(leaf, err, timeoutMs, controller.signal.reason)));
  } finally {
    clearTimeout(openTimer);
  }
  if (!opened.ok) {
    release();
    let json: unknown = opened.reply.text;
    try {
      json = JSON.parse(opened.reply.text);
    } catch {
      // keep the text
    }
    return fail(failureFromReply(leaf, adapter, opened.reply, json));
  }
  if (!/event-stream/i.test(opened.headers['content-type'] ?? '')) {
    opened.body.destroy();
    release();
    return fail(
      failure(leaf, 502, 'invalid_response', `${leaf.target.provider} answered a stream request without an event stream`, 'invalid_upstream_response', { type: 'server_error' }),
    );
  }
  const ctx: ParseContext = { request, target, status: opened.status };
  const keepText = leaf.streamRecovery === 'continue' && input.endpoint === 'chat';
  const active = new UpstreamReader(opened.body, adapter, ctx, controller, expectedChoices, wantUsage, options.textPrefix ?? '', keepText);
  reader = active;

  // Before the commit point: hold everything; any failure fails over invisibly.
  const firstDeadline = startedAt + timeoutMs;
  const held: UnifiedChunk[] = [];
  try {
    for (;;) {
      const chunk = await active.read(firstDeadline - Date.now());
      if (chunk === null) {
        if (active.finishedAll) break; // a complete (if empty) answer
        active.abort();
        release();
        return fail(failure(leaf, 502, 'stream_interrupted', `${leaf.target.provider} stream ended before its first content event`, 'stream_interrupted', { type: 'server_error' }));
      }
      held.push(chunk);
      if (isContentChunk(chunk)) break;
    }
  } catch (err) {
    active.abort();
    release();
    return fail(streamFailure(leaf, err, timeoutMs, state, false));
  }
  const ttftMs = Date.now() - startedAt;
  const servedModel = held.map((c) => c.model).find((m): m is string => typeof m === 'string') ?? model;
  const success = (stream: StreamHandle): AttemptSuccess => ({
    ok: true,
    status: 200,
    body: held[0] ?? {},
    provider: leaf.target.provider,
    path: leaf.path,
    ...(servedModel ? { model: servedModel } : {}),
    retries: retry,
    stream,
  });
  // The committed attempt is counted from its commit point (response headers report it), and
  // completed when its stream ends, one way or the other.
  const committed: { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] } = {
    ...base,
    ...(servedModel ? { model: servedModel } : {}),
    status: 200,
    latencyMs: ttftMs,
    ttftMs,
  };
  state.attempts.push(committed);
  let settled = false;
  const settle = (f?: AttemptFailure): void => {
    if (settled) return;
    settled = true;
    if (active.malformed > 0) notes.push(`skipped ${active.malformed} malformed stream event(s)`);
    const usage = active.usage;
    committed.latencyMs = Date.now() - startedAt;
    if (usage) committed.usage = { prompt_tokens: usage.prompt_tokens ?? 0, completion_tokens: usage.completion_tokens ?? 0, total_tokens: usage.total_tokens ?? 0 };
    if (notes.length) committed.notes = [...notes];
    if (f) {
      committed.status = f.status;
      committed.errorClass = f.errorClass;
      if (f.code) committed.code = f.code;
    }
    announce(state, committed);
  };

  const mode = options.forcePassthrough ? 'passthrough' : (input.streamMode ?? leaf.streamMode);
  if (mode === 'buffered') {
    // Hold the whole answer so a cut or stall can still fail over invisibly.
    // Nothing has reached the client yet, so the request's deadline still holds.
    const deadline = state.deadline ?? Infinity;
    try {
      for (;;) {
        const idle = active.finishedAll ? Math.min(POST_FINISH_GRACE_MS, leaf.streamIdleTimeout) : leaf.streamIdleTimeout;
        const chunk = await active.read(Math.min(idle, deadline - Date.now()));
        if (chunk === null) break;
        held.push(chunk);
      }
    } catch (err) {
      if (!active.finishedAll) {
        active.abort();
        release();
        const f =
          Date.now() >= deadline && !state.input.signal.aborted
            ? failure(leaf, 408, 'timeout', `the total_timeout ran out while ${leaf.target.provider} was still streaming (buffered)`, 'total_timeout', { type: 'timeout_error' })
            : streamFailure(leaf, err, leaf.streamIdleTimeout, state, true);
        settle(f);
        return f;
      }
    }
    if (!active.upstreamEnded) active.abort();
    release();
    if (!active.finishedAll) {
      const f = failure(leaf, 502, 'stream_interrupted', `${leaf.target.provider} stream ended before the answer was complete`, 'stream_interrupted', { type: 'server_error' });
      settle(f);
      return f;
    }
    settle();
    return success(new BufferedHandle(held));
  }
  return success(new PassthroughHandle(leaf, active, held, state, release, settle));
}

/** A complete answer held in memory (buffered mode). */
class BufferedHandle implements StreamHandle {
  constructor(private readonly chunks: UnifiedChunk[]) {}
  async next(): Promise<StreamStep> {
    const chunk = this.chunks.shift();
    return chunk === undefined ? { kind: 'done' } : { kind: 'chunk', chunk };
  }
  abort(): void {
    this.chunks.length = 0;
  }
}

/** Every target leaf in document order. */
function leaves(node: PlanNode): PlanTarget[] {
  return node.kind === 'target' ? [node] : node.children.flatMap(leaves);
}

/** Forwards a committed stream as it comes; on a break, recovers or ends with an in-band error. */
class PassthroughHandle implements StreamHandle {
  private ended: StreamStep | undefined;
  /** After a recovery: the continuing stream, and how to make its chunks match the first one's. */
  private delegate: StreamHandle | undefined;
  private readonly firstId: unknown;
  private readonly firstCreated: unknown;

  constructor(
    private readonly leaf: PlanTarget,
    private readonly reader: UpstreamReader,
    private readonly held: UnifiedChunk[],
    private readonly state: RunState,
    private readonly release: () => void,
    /** Completes the attempt's record: a success without argument, else the failure. */
    private readonly settle: (f?: AttemptFailure) => void,
  ) {
    this.firstId = held[0]?.id;
    this.firstCreated = held[0]?.created;
  }

  async next(): Promise<StreamStep> {
    if (this.ended) return this.ended;
    if (this.delegate) return this.spliced(await this.delegate.next());
    const held = this.held.shift();
    if (held !== undefined) return { kind: 'chunk', chunk: held };
    let chunk: UnifiedChunk | null;
    const reader = this.reader;
    try {
      chunk = await reader.read(reader.finishedAll ? Math.min(POST_FINISH_GRACE_MS, this.leaf.streamIdleTimeout) : this.leaf.streamIdleTimeout);
    } catch (err) {
      // A usage chunk that never came after the finish_reason does not make the answer broken.
      if (reader.finishedAll) return this.finish();
      if (this.state.input.signal.aborted) return this.interrupt('client disconnected', false);
      const f = streamFailure(this.leaf, err, this.leaf.streamIdleTimeout, this.state, true);
      return this.interrupt(f.message, true);
    }
    if (chunk === null) {
      return reader.finishedAll ? this.finish() : this.interrupt(`${this.leaf.target.provider} stream ended before the answer was complete`, true);
    }
    return { kind: 'chunk', chunk };
  }

  abort(): void {
    this.reader.abort();
    this.delegate?.abort();
    this.release();
    if (!this.ended && !this.delegate) {
      // The client went away mid-answer: the attempt ends here, and the trace says why.
      this.settle(failure(this.leaf, 499, 'stream_interrupted', 'client disconnected during the stream', 'client_disconnected', { type: 'server_error' }));
    }
    this.ended ??= { kind: 'error', message: 'client disconnected', code: 'stream_interrupted' };
  }

  private finish(): StreamStep {
    if (!this.reader.upstreamEnded) this.reader.abort(); // finish_reason without [DONE]: done now
    this.release();
    this.settle();
    this.ended = { kind: 'done' };
    return this.ended;
  }

  private async interrupt(message: string, mayRecover: boolean): Promise<StreamStep> {
    this.reader.abort();
    this.release();
    this.settle(failure(this.leaf, 502, 'stream_interrupted', message, 'stream_interrupted', { type: 'server_error' }));
    if (mayRecover) {
      const continued = await this.recover();
      if (continued) {
        this.delegate = continued;
        return this.spliced(await continued.next());
      }
    }
    this.ended = { kind: 'error', message, code: 'stream_interrupted' };
    return this.ended;
  }

  /**
   * `stream_recovery: "continue"`: asks the next target able to continue an assistant message
   * to go on from the text already sent. Targets that cannot are never sent a prefill.
   */
  private async recover(): Promise<StreamHandle | undefined> {
    const { input, deps, plan } = this.state;
    const text = this.reader.text;
    if (this.leaf.streamRecovery !== 'continue' || input.endpoint !== 'chat' || this.reader.toolCallsSeen || text.trim() === '') return undefined;
    const all = leaves(plan.root);
    for (const candidate of all.slice(all.indexOf(this.leaf) + 1)) {
      if (input.signal.aborted) return undefined;
      const adapter = deps.adapters.get(candidate.target.provider);
      if (candidate.supportsPrefill !== true || !adapter?.endpoints.has('chat') || !adapter.parseStreamEvent) continue;
      const messages = Array.isArray(input.body.messages) ? input.body.messages : [];
      // Providers refuse a prefill that ends in white space; the continuation brings it back.
      const prefill = { role: 'assistant', content: text.replace(/\s+$/, '') };
      const body = { ...input.body, ...candidate.overrideParams, messages: [...messages, prefill] };
      const left = this.state.deadline === undefined ? Infinity : this.state.deadline - Date.now();
      if (left <= 0) return undefined;
      debug('recovering %s from %s with %d chars of prefill', this.leaf.path, candidate.path, prefill.content.length);
      const result = await attemptStream(candidate, adapter, body, Math.min(candidate.requestTimeout, left), 0, this.state, {
        forcePassthrough: true,
        textPrefix: prefill.content,
      });
      if (result.ok && result.stream) return result.stream;
    }
    return undefined;
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

export type { AttemptRecord };
