/**
 * A whole streamed answer gives its upstream connection back to the keep-alive pool (issue #15):
 * when every choice has finished and the usage has come, the router answers the client at once,
 * and reads the rest of the upstream's body (its `[DONE]` and end) in the background instead of
 * destroying the connection. An upstream that never ends its body is cut after
 * DRAIN_AFTER_FINISH_MS. Upstream: a real node:http server that counts its connections.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DRAIN_AFTER_FINISH_MS } from '../../lib/engine/stream/reader.js';
import { createApp, quietLogger } from '../helpers/create-app.js';
import { listen, sseData } from '../helpers/sse.js';

const T = { timeout: 15_000 };
const chunk = (delta: object, finish: string | null, extra: object = {}): string =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
const usage = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\n`;

/** How the fake ends each stream after its usage chunk. */
type Ending = { kind: 'done-later'; ms: number } | { kind: 'never' };

describe('streams give their upstream connection back', () => {
  let upstream: http.Server;
  let base = '';
  let connections = 0;
  let closed = 0;
  let ending: Ending = { kind: 'done-later', ms: 30 };
  const open = new Set<http.ServerResponse>();
  before(async () => {
    upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk({ role: 'assistant', content: '' }, null) + chunk({ content: 'Hel' }, null) + chunk({ content: 'lo' }, null) + chunk({}, 'stop') + usage);
        if (ending.kind === 'done-later') setTimeout(() => res.end('data: [DONE]\n\n'), ending.ms);
        else open.add(res);
      });
    });
    upstream.keepAliveTimeout = 30_000;
    upstream.on('connection', (socket) => {
      connections += 1;
      socket.on('close', () => (closed += 1));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    for (const res of open) res.destroy();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const stream = async (origin: string, traceId: string): Promise<{ events: unknown[]; ms: number }> => {
    const started = Date.now();
    const res = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-provider': 'openai', 'x-portkey-trace-id': traceId },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    assert.equal(res.status, 200);
    const events = sseData(await res.text());
    return { events, ms: Date.now() - started };
  };

  test('finish and usage, then [DONE] a moment later: the client is answered at once, and five streams use one upstream connection', T, async () => {
    ending = { kind: 'done-later', ms: 30 };
    connections = 0;
    const server = await listen(createApp({ providers: { openai: { apiKey: 'sk-test', baseURL: base } }, logger: quietLogger() }));
    try {
      for (let i = 0; i < 5; i++) {
        const { events } = await stream(server.origin, `reuse-${i}`);
        assert.equal(events.at(-1), '[DONE]');
        assert.equal(events.filter((e) => typeof e === 'object').map((e) => (e as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join(''), 'Hello');
        // The drained [DONE] frees the connection for the next request.
        await new Promise((r) => setTimeout(r, 60));
      }
      assert.equal(connections, 1, `${connections} upstream connections for five sequential streams`);
    } finally {
      await server.close();
    }
  });

  test('an upstream that sends its chunks at once: the first content leaves in a write of its own, before the rest is written', T, async () => {
    ending = { kind: 'done-later', ms: 30 };
    const app = createApp({ providers: { openai: { apiKey: 'sk-test', baseURL: base } }, logger: quietLogger() });
    const server = http.createServer(app);
    // What the router's server writes to each client socket, one entry per write to the kernel.
    const writes: string[] = [];
    server.on('connection', (socket: net.Socket & { _write: Function; _writev?: Function }) => {
      const write = socket._write.bind(socket);
      socket._write = (data: Buffer | string, encoding: BufferEncoding, cb: () => void) => {
        writes.push(String(data));
        return write(data, encoding, cb);
      };
      const writev = socket._writev?.bind(socket);
      if (writev) {
        socket._writev = (chunks: Array<{ chunk: Buffer | string }>, cb: () => void) => {
          writes.push(chunks.map((c) => String(c.chunk)).join(''));
          return writev(chunks, cb);
        };
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { events } = await stream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'first-content-first');
      assert.equal(events.at(-1), '[DONE]');
      const first = writes.findIndex((w) => w.includes('"content":"Hel"'));
      assert.ok(first >= 0, 'the first content was written');
      assert.match(writes[first]!, /^HTTP\/1\.1 200/, 'with the headers');
      assert.ok(!writes[first]!.includes('"content":"lo"') && !writes[first]!.includes('"finish_reason":"stop"'), `the rest of the burst came after it: ${JSON.stringify(writes[first])}`);
      const rest = writes.slice(first + 1).join('');
      assert.ok(rest.includes('"content":"lo"') && rest.includes('[DONE]'), 'the rest followed');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('an upstream that never ends its body after the answer: the client is answered at once, the connection is closed after DRAIN_AFTER_FINISH_MS', T, async () => {
    ending = { kind: 'never' };
    connections = 0;
    closed = 0;
    const server = await listen(createApp({ providers: { openai: { apiKey: 'sk-test', baseURL: base } }, logger: quietLogger() }));
    try {
      const { events, ms } = await stream(server.origin, 'never-ends');
      assert.equal(events.at(-1), '[DONE]');
      assert.ok(ms < DRAIN_AFTER_FINISH_MS / 2, `answered in ${ms} ms`);
      assert.equal(closed, 0, 'still draining');
      const deadline = Date.now() + DRAIN_AFTER_FINISH_MS + 2_000;
      while (closed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(closed, 1, 'the connection was closed after the drain time');
    } finally {
      await server.close();
    }
  });
});
