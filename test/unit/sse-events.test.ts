/**
 * The default SSE decoder over a Readable body (transport/sse.ts): events in order across any
 * split, a paused body while many events are unread, and an end, an error or a destroy each
 * reported once. Over a real PassThrough stream, no mocks.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { sseEvents } from '../../lib/transport/sse.js';

const iterate = (body: PassThrough): AsyncIterator<{ data: string; event?: string }> => sseEvents(body)[Symbol.asyncIterator]();

async function all(it: AsyncIterator<{ data: string }>): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return out;
    out.push(r.value.data);
  }
}

describe('SSE events of a Readable body', () => {
  test('split at every byte, with a multi-byte character across a split: the same events, in order; a last event without its blank line is not one (SSE standard)', async () => {
    const body = new PassThrough();
    const it = iterate(body);
    const bytes = Buffer.from('event: e1\ndata: {"a":"é✓"}\n\n: a comment\ndata: two\r\n\r\ndata: last without blank line');
    const read = all(it);
    for (let i = 0; i < bytes.length; i++) body.write(bytes.subarray(i, i + 1));
    body.end();
    assert.deepEqual(await read, ['{"a":"é✓"}', 'two']);
  });

  test('many events at once: the body pauses while they are unread and resumes as they are read, none lost', async () => {
    const body = new PassThrough();
    const it = iterate(body);
    body.write(Array.from({ length: 200 }, (_, i) => `data: ${i}\n\n`).join(''));
    await new Promise((r) => setImmediate(r));
    assert.equal(body.isPaused(), true, 'paused with 200 events unread');
    const first = await it.next();
    assert.equal(first.value?.data, '0');
    body.end('data: tail\n\n');
    const rest = await all(it);
    assert.equal(rest.length, 200);
    assert.equal(rest.at(-1), 'tail');
    assert.deepEqual(rest.slice(0, 3), ['1', '2', '3']);
  });

  test('a body destroyed midway: the events before it, then a rejection; an error after the end is ignored', async () => {
    const cut = new PassThrough();
    const it = iterate(cut);
    cut.write('data: one\n\n');
    assert.equal((await it.next()).value?.data, 'one');
    const waiting = it.next();
    cut.destroy();
    await assert.rejects(waiting);
    await assert.rejects(it.next(), 'still failed when asked again');

    const ended = new PassThrough();
    const it2 = iterate(ended);
    ended.end('data: only\n\n');
    assert.deepEqual(await all(it2), ['only']);
    ended.emit('error', new Error('reset after the end'));
  });

  test('an error from the body rejects the waiting read with that error', async () => {
    const body = new PassThrough();
    const it = iterate(body);
    const waiting = it.next();
    body.destroy(new Error('socket hang up'));
    await assert.rejects(waiting, /socket hang up/);
  });

  test('an event larger than 8 MiB ends the stream with an error', async () => {
    const body = new PassThrough();
    const it = iterate(body);
    const waiting = it.next();
    body.write(`data: ${'x'.repeat(9 * 1024 * 1024)}`);
    await assert.rejects(waiting);
    assert.equal(body.destroyed, true);
  });

  test('return() stops reading and destroys the body', async () => {
    const body = new PassThrough();
    const it = iterate(body);
    body.write('data: a\n\n');
    await it.next();
    await it.return!();
    assert.equal(body.destroyed, true);
    assert.equal((await it.next()).done, true);
  });

  test('an async iterable that is not a Readable: the same events, and what it throws rejects the read', async () => {
    async function* chunks(): AsyncGenerator<Buffer | string> {
      yield Buffer.from('data: o');
      yield 'ne\n\ndata: two\n';
      yield Buffer.from('\n');
    }
    assert.deepEqual(await all(sseEvents(chunks())[Symbol.asyncIterator]()), ['one', 'two']);
    async function* broken(): AsyncGenerator<string> {
      yield 'data: first\n\n';
      throw new Error('upstream reset');
    }
    const it = sseEvents(broken())[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.data, 'first');
    await assert.rejects(it.next(), /upstream reset/);
  });
});
