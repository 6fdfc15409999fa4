/**
 * The binary stream Bedrock's ConverseStream answers with (`application/vnd.amazon.eventstream`):
 * a sequence of messages, each a 12-byte prelude (total length, headers length, prelude CRC32),
 * typed headers, a payload and a message CRC32. Each message is decoded (and its two CRCs
 * checked) by `@smithy/eventstream-codec`; this file only finds where one message ends, since
 * the body arrives in chunks of any size, split at any byte.
 */
import type { EventStreamCodec } from '@smithy/eventstream-codec';
import type { StreamDecoder, StreamEvent } from '../types.js';

/** The `event` of an exception message (`:message-type: exception`): this prefix, then its `:exception-type`. */
export const EXCEPTION_EVENT_PREFIX = 'exception:';
/** The `event` of an error message (`:message-type: error`): this prefix, then its `:error-code`. */
export const ERROR_EVENT_PREFIX = 'error:';

/** Prelude (8 bytes), prelude CRC and message CRC: the smallest message is 16 bytes. */
const MIN_MESSAGE_BYTES = 16;
/**
 * The largest message accepted: the event stream format caps a payload at 16 MiB and the headers
 * at 128 KiB. A prelude that claims more is corrupt (the decoder would otherwise wait for bytes
 * that never come, holding everything that does).
 */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 128 * 1024 + MIN_MESSAGE_BYTES;

/** The codec, loaded when a stream is first decoded: a router with no Bedrock target never holds it. */
let codecLoaded: Promise<EventStreamCodec> | undefined;
function loadCodec(): Promise<EventStreamCodec> {
  codecLoaded ??= Promise.all([import('@smithy/eventstream-codec'), import('@smithy/util-utf8')]).then(
    ([{ EventStreamCodec: Codec }, { fromUtf8, toUtf8 }]) => new Codec(toUtf8, fromUtf8),
  );
  return codecLoaded;
}

/** A chunk of the body as bytes; text would mean something decoded a binary stream. */
function bytesOf(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`bedrock event stream got a ${typeof chunk} chunk instead of bytes`);
}

/** A string header's value, if the message has it. */
function stringHeader(headers: ReturnType<EventStreamCodec['decode']>['headers'], name: string): string | undefined {
  const header = headers[name];
  return header?.type === 'string' ? header.value : undefined;
}

/**
 * One whole message as a stream event: an `event` message as its `:event-type`; an `exception`
 * as {@link EXCEPTION_EVENT_PREFIX} + its `:exception-type`; an `error` as
 * {@link ERROR_EVENT_PREFIX} + its `:error-code` (its `:error-message` as the data when the
 * payload is empty). A message of no known type is skipped.
 */
function toEvent(codec: EventStreamCodec, frame: Buffer): StreamEvent | undefined {
  let message;
  try {
    message = codec.decode(frame);
  } catch (err) {
    throw new Error(`bedrock event stream message is corrupt: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { headers } = message;
  const data = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('utf8');
  const type = stringHeader(headers, ':message-type') ?? 'event';
  if (type === 'event') {
    const event = stringHeader(headers, ':event-type');
    return event === undefined ? undefined : { event, data };
  }
  if (type === 'exception') {
    return { event: EXCEPTION_EVENT_PREFIX + (stringHeader(headers, ':exception-type') ?? 'unknown'), data };
  }
  if (type === 'error') {
    const errorMessage = stringHeader(headers, ':error-message');
    const text = data.trim() === '' && errorMessage !== undefined ? JSON.stringify({ message: errorMessage }) : data;
    return { event: ERROR_EVENT_PREFIX + (stringHeader(headers, ':error-code') ?? 'unknown'), data: text };
  }
  return undefined;
}

/**
 * Yields the events of an event-stream body. Chunks are only collected until a whole message is
 * there (linear in the bytes, whatever the chunk sizes); a message whose length or CRCs are wrong
 * throws, and so does a body that ends inside a message.
 */
async function* decodeEventStream(body: AsyncIterable<unknown>): AsyncIterable<StreamEvent> {
  const codec = await loadCodec();
  let pending: Buffer[] = [];
  let size = 0;
  let need = 0; // the current message's total length, once its prelude arrived
  const compact = (): Buffer => {
    if (pending.length > 1) pending = [Buffer.concat(pending, size)];
    return pending[0]!;
  };
  for await (const chunk of body) {
    const bytes = bytesOf(chunk);
    if (bytes.length === 0) continue;
    pending.push(bytes);
    size += bytes.length;
    for (;;) {
      if (need === 0) {
        if (size < 4) break;
        need = compact().readUInt32BE(0);
        if (need < MIN_MESSAGE_BYTES || need > MAX_MESSAGE_BYTES) {
          throw new Error(`bedrock event stream message claims ${need} bytes, outside ${MIN_MESSAGE_BYTES}..${MAX_MESSAGE_BYTES}`);
        }
      }
      if (size < need) break;
      const all = compact();
      const frame = all.subarray(0, need);
      const rest = all.subarray(need);
      pending = rest.length > 0 ? [rest] : [];
      size = rest.length;
      need = 0;
      const event = toEvent(codec, frame);
      if (event !== undefined) yield event;
    }
  }
  if (size > 0) throw new Error(`bedrock event stream ended inside a message (${size} bytes left over)`);
}

/** Bedrock's {@link StreamDecoder}: `application/vnd.amazon.eventstream` bodies as events. */
export const bedrockStreamDecoder: StreamDecoder = {
  contentType: /application\/vnd\.amazon\.eventstream/i,
  decode: decodeEventStream,
};
