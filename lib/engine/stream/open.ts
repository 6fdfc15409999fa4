/**
 * The streaming half of the attempt kernel (SPEC §6): opens the upstream stream and reads it up
 * to the commit point, its first content event. Before that point any failure (an error status,
 * an error event, the first-content deadline, a cut) fails the attempt invisibly; at it, the
 * stream is handed on, forwarded as it comes (passthrough) or held until complete (buffered).
 */
import type { UnifiedChunk, UpstreamRequest } from '../../providers/types.js';
import { openStream, sseDecoder } from '../../transport/sse.js';
import { abandoned, attemptRecord, clientWantsUsage, endCancelled, endWithFailure, type Attempt } from '../attempt.js';
import { failure, type MutableRecord, type Outcome, type StreamHandle, type StreamSuccess } from '../outcome.js';
import { failureFromReply, streamFailure, transportFailure } from '../reply.js';
import { readBuffered } from './buffered.js';
import { PassthroughHandle, type Recover } from './passthrough.js';
import { UpstreamReader, isContentChunk, notesOf } from './reader.js';

/** What to do with a committed stream beyond forwarding it. */
export interface StreamOptions {
  /** `stream_recovery: "continue"`: finds a target to continue a broken stream. */
  readonly recover?: Recover;
}

export async function streamAttempt(a: Attempt, upstream: UpstreamRequest, options: StreamOptions): Promise<Outcome> {
  const { leaf, adapter } = a.call;
  const { ctx } = a;
  const at = { provider: leaf.target.provider, path: leaf.path };
  if (!adapter.parseStreamEvent) {
    return endWithFailure(a, failure('stream_not_supported', 'bad_request', `${leaf.target.provider} adapter cannot stream`, at));
  }
  const decoder = adapter.streamDecoder !== undefined && adapter.streamDecoder !== 'sse' ? adapter.streamDecoder : sseDecoder;
  let opened;
  try {
    opened = await openStream(ctx.deps.client, upstream, a.controller.signal, decoder === sseDecoder ? 'text/event-stream' : '*/*');
  } catch (err) {
    if (abandoned(a)) return endCancelled(a);
    return endWithFailure(a, transportFailure(leaf, err, a.call.timeoutMs));
  }
  if (!opened.ok) {
    let json: unknown = opened.reply.text;
    try {
      json = JSON.parse(opened.reply.text);
    } catch {
      // keep the text
    }
    return endWithFailure(a, failureFromReply(leaf, adapter, opened.reply, json, a.credentials));
  }
  if (abandoned(a) || !decoder.contentType.test(opened.headers['content-type'] ?? '')) {
    opened.body.destroy();
    if (abandoned(a)) return endCancelled(a);
    return endWithFailure(a, failure('invalid_upstream_response', 'invalid_response', `${leaf.target.provider} answered a stream request without the stream it speaks`, at));
  }
  const body = a.request.body;
  const wantUsage = clientWantsUsage(a.call.body);
  // A provider that answers one choice whatever `n` says (Anthropic) finishes choice 0 only.
  const expectedChoices = Math.min(typeof body.n === 'number' && body.n > 1 ? Math.floor(body.n) : 1, adapter.maxChoices ?? Infinity);
  const reader = new UpstreamReader(opened.body, {
    adapter,
    decoder,
    ctx: { request: a.request, target: leaf.target, status: opened.status },
    controller: a.controller,
    watchdog: a.watchdog,
    expectedChoices,
    wantUsage,
    awaitUsage: wantUsage || adapter.streamUsage !== undefined,
    keepText: options.recover !== undefined,
    textPrefix: a.call.textPrefix ?? '',
  });

  // Before the commit point: hold everything; the first-content deadline is one instant.
  const held: UnifiedChunk[] = [];
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk === null) {
        if (reader.finishedAll) break; // a complete (if empty) answer
        reader.abort();
        return endWithFailure(a, failure('stream_interrupted', 'stream_interrupted', `${leaf.target.provider} stream ended before its first content event`, at), notesOf(reader));
      }
      held.push(chunk);
      if (isContentChunk(chunk)) break;
    }
  } catch (err) {
    reader.abort();
    if (abandoned(a)) return endCancelled(a, notesOf(reader));
    return endWithFailure(a, streamFailure(leaf, err, a.call.timeoutMs, a.credentials), notesOf(reader));
  }
  const ttftMs = Date.now() - a.startedAt;
  const model = held.map((c) => c.model).find((m): m is string => typeof m === 'string') ?? a.model;
  const served = (stream: StreamHandle): StreamSuccess => ({
    kind: 'stream',
    ok: true,
    status: 200,
    body: held[0] ?? {},
    provider: leaf.target.provider,
    path: leaf.path,
    ...(model ? { model } : {}),
    retries: a.call.retry,
    stream,
  });
  const committed: MutableRecord = attemptRecord(a, { ...(model ? { model } : {}), status: 200, latencyMs: ttftMs, ttftMs });
  const mode = a.call.forcePassthrough ? 'passthrough' : (ctx.input.streamMode ?? leaf.streamMode);
  if (mode === 'buffered') {
    const handle = await readBuffered(a, reader, held, committed);
    return 'kind' in handle ? handle : served(handle);
  }
  // The committed attempt counts from its commit point (response headers report it) and is
  // completed when its stream ends.
  ctx.attempts.push(committed);
  const events = ctx.deps.events;
  if (events.has('stream:commit')) events.emit('stream:commit', { requestId: ctx.input.requestId, traceId: ctx.input.traceId, path: leaf.path, provider: leaf.target.provider, ttftMs });
  a.watchdog.idle(leaf.streamIdleTimeout);
  return served(new PassthroughHandle(a, reader, held, committed, model, options.recover));
}
