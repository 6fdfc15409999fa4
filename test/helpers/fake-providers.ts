/**
 * Fake LLM providers: real node:http servers on 127.0.0.1, port 0, speaking each provider's wire
 * format, and misbehaving on demand. Every request they receive is recorded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeKind = 'openai' | 'azure' | 'anthropic';

/** One request as the fake saw it. */
export interface Received {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly raw: string;
  /** Parsed JSON body, or undefined. */
  readonly body: any;
  /** performance.now() at arrival. */
  readonly at: number;
}

/** How the fake answers one request. */
export type Behaviour =
  | { kind: 'ok'; delayMs?: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | { kind: 'raw'; status: number; text: string; contentType?: string }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | ({ kind: 'stream' } & StreamScript);

/** How a fake streams: the provider's own SSE format, misbehaving on demand. */
export interface StreamScript {
  /** Content pieces to send. @default ['Hello', ' from', ' <name>'] */
  pieces?: string[];
  /** Delay before the first event, ms. */
  firstDelayMs?: number;
  /** Delay between events, ms. */
  intervalMs?: number;
  /** Destroy the socket after this many content pieces. */
  cutAfter?: number;
  /** Stop sending (socket open) after this many content pieces. */
  stallAfter?: number;
  /** Send a malformed event before content piece number N (0-based). */
  malformedAt?: number;
  /** After the finish: '[DONE]' then end (default), end without [DONE], or stay open without [DONE]. */
  afterFinish?: 'done' | 'end' | 'hang';
  /** Send a provider error event first (HTTP 200). */
  errorFirst?: boolean;
  /** Stream a tool call instead of text. */
  tool?: boolean;
  /** End the response cleanly after the pieces, with no finish_reason and no [DONE]. */
  noFinish?: boolean;
  /**
   * Send keep-alive events every N ms from the moment the headers are sent until the first
   * content piece: Anthropic `event: ping`, OpenAI an SSE comment line `: keep-alive`, Azure a
   * filter-only chunk (empty `choices`, `prompt_filter_results`).
   */
  keepAliveMs?: number;
  /**
   * The headers and the opening events (Anthropic message_start, ping, content_block_start;
   * OpenAI/Azure the role chunk) go out at once; the first content piece only after this delay.
   */
  contentDelayMs?: number;
}

export interface Fake {
  readonly kind: FakeKind;
  readonly name: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The base to put in `baseURL` (with `/v1` for OpenAI and Anthropic). */
  readonly baseURL: string;
  readonly received: Received[];
  /** Behaviours for the next requests, in order; after them, the default. */
  script(...behaviours: Behaviour[]): void;
  /** The behaviour once the script is used up (initially `ok`). */
  always(behaviour: Behaviour): void;
  /** Sockets closed so far (the client or the fake hung up). */
  closedSockets(): number;
  reset(): void;
  close(): Promise<void>;
}

function successBody(kind: FakeKind, name: string, req: Received): unknown {
  const model: string = typeof req.body?.model === 'string' ? req.body.model : `${name}-model`;
  const text = `Hello from ${name}`;
  if (kind === 'anthropic') {
    return {
      id: 'msg_fake_1',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 7 },
    };
  }
  const servedModel = kind === 'azure' ? 'gpt-4o-2024-08-06' : model;
  const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  if (req.url.includes('/embeddings')) {
    return { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], model: servedModel, usage: { prompt_tokens: 3, total_tokens: 3 } };
  }
  if (req.url.includes('/chat/completions')) {
    return {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: servedModel,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
    };
  }
  return {
    id: 'cmpl-fake',
    object: 'text_completion',
    created: 1_700_000_000,
    model: servedModel,
    choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }],
    usage,
  };
}

/** A provider-shaped error body for a status. */
export function errorBodyFor(kind: FakeKind, status: number, message = `fake error ${status}`): unknown {
  if (kind === 'anthropic') {
    const type =
      status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status === 401 ? 'authentication_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  const code = status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code } };
}

/** Starts one fake provider. */
export async function startFake(kind: FakeKind, name: string = kind): Promise<Fake> {
  const received: Received[] = [];
  let queue: Behaviour[] = [];
  let fallback: Behaviour = { kind: 'ok' };
  let closed = 0;
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const rec: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body, at: performance.now() };
      received.push(rec);
      const behaviour = queue.shift() ?? fallback;
      answer(behaviour, rec, req, res);
    });
  });

  function answer(b: Behaviour, rec: Received, req: http.IncomingMessage, res: http.ServerResponse): void {
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}, delayMs = 0): void => {
      const write = (): void => {
        if (res.destroyed) return;
        const text = JSON.stringify(payload);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      };
      if (delayMs > 0) setTimeout(write, delayMs);
      else write();
    };
    switch (b.kind) {
      case 'ok':
        send(200, b.body ?? successBody(kind, name, rec), b.headers, b.delayMs);
        return;
      case 'status':
        send(b.status, b.body ?? errorBodyFor(kind, b.status), b.headers, b.delayMs);
        return;
      case 'raw':
        res.writeHead(b.status, { 'content-type': b.contentType ?? 'application/json' });
        res.end(b.text);
        return;
      case 'hang':
        return; // never answer; the socket stays open until the client gives up
      case 'reset':
        req.socket.destroy();
        return;
      case 'stream':
        void streamAnswer(kind, name, b, rec, req, res);
        return;
    }
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      closed += 1;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    kind,
    name,
    origin,
    baseURL: kind === 'azure' ? origin : `${origin}/v1`,
    received,
    script: (...behaviours) => {
      queue = [...behaviours];
    },
    always: (behaviour) => {
      fallback = behaviour;
    },
    closedSockets: () => closed,
    reset: () => {
      received.length = 0;
      queue = [];
      fallback = { kind: 'ok' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that refuses connections (bound, then closed). */
export async function refusedOrigin(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sseFrame(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** Plays a streamed answer in the provider's wire format. */
async function streamAnswer(
  kind: FakeKind,
  name: string,
  script: StreamScript,
  rec: Received,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const model: string = typeof rec.body?.model === 'string' ? rec.body.model : `${name}-model`;
  const pieces = script.pieces ?? ['Hello', ' from', ` ${name}`];
  const wantUsage = rec.body?.stream_options?.include_usage === true;
  const chat = kind === 'anthropic' || rec.url.includes('/chat/completions');
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const send = async (frame: string): Promise<boolean> => {
    if (closed) return false;
    if (script.intervalMs) await wait(script.intervalMs);
    if (closed) return false;
    res.write(frame);
    return true;
  };
  // Destroy the socket only once what was written has left: a cut after N pieces delivers N pieces.
  const cut = (): void => {
    res.write('', () => setTimeout(() => req.socket.destroy(), 20));
  };
  if (script.firstDelayMs) await wait(script.firstDelayMs);
  if (closed) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();

  // Keep-alive events from the headers until the first content piece.
  const keepAliveFrame =
    kind === 'anthropic'
      ? sseFrame({ type: 'ping' }, 'ping')
      : kind === 'azure'
        ? sseFrame({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] })
        : ': keep-alive\n\n';
  let keepAlive: NodeJS.Timeout | undefined;
  const stopKeepAlive = (): void => {
    if (keepAlive) clearInterval(keepAlive);
    keepAlive = undefined;
  };
  if (script.keepAliveMs) {
    keepAlive = setInterval(() => {
      if (closed || res.writableEnded) return stopKeepAlive();
      res.write(keepAliveFrame);
    }, script.keepAliveMs);
  }
  res.on('close', stopKeepAlive);
  res.on('finish', stopKeepAlive);
  /** Called just before the first content piece: waits contentDelayMs, then stops the keep-alives. */
  let contentStarted = false;
  const beforeContent = async (): Promise<void> => {
    if (contentStarted) return;
    contentStarted = true;
    if (script.contentDelayMs) await wait(script.contentDelayMs);
    stopKeepAlive();
  };

  if (kind === 'anthropic') {
    if (script.errorFirst) {
      await send(sseFrame({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'));
      res.end();
      return;
    }
    await send(sseFrame({ type: 'message_start', message: { id: 'msg_stream', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: 11, output_tokens: 1 } } }, 'message_start'));
    await send(sseFrame({ type: 'ping' }, 'ping'));
    if (script.tool) {
      await send(sseFrame({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }, 'content_block_start'));
      await beforeContent();
      for (const part of ['{"city":', '"Paris"}']) await send(sseFrame({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: part } }, 'content_block_delta'));
    } else {
      await send(sseFrame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
    }
    for (let i = 0; !script.tool && i < pieces.length; i++) {
      if (script.malformedAt === i) await send('event: content_block_delta\ndata: {"type":"content_block_delta",\n\n');
      if (script.cutAfter === i) return cut();
      if (script.stallAfter === i) return;
      await beforeContent();
      if (closed) return;
      if (!(await send(sseFrame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: pieces[i] } }, 'content_block_delta')))) return;
    }
    if (script.cutAfter === pieces.length) return cut();
    if (script.stallAfter === pieces.length) return;
    if (script.noFinish) return void res.end();
    await send(sseFrame({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
    await send(sseFrame({ type: 'message_delta', delta: { stop_reason: script.tool ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } }, 'message_delta'));
    if (script.afterFinish === 'hang') return;
    if (script.afterFinish !== 'end') await send(sseFrame({ type: 'message_stop' }, 'message_stop'));
    res.end();
    return;
  }

  const base = { id: 'chatcmpl-stream', created: 1_700_000_000, model: kind === 'azure' ? 'gpt-4o-2024-08-06' : model, system_fingerprint: null };
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (choice: Record<string, unknown>): unknown => ({ ...base, object, choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }] });
  if (script.errorFirst) {
    await send(sseFrame({ error: { message: 'The server had an error while processing your request.', type: 'server_error', code: null } }));
    res.end();
    return;
  }
  if (kind === 'azure') await send(sseFrame({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }));
  if (chat) await send(sseFrame(chunk({ delta: { role: 'assistant', content: '', refusal: null } })));
  if (script.tool) {
    await beforeContent();
    await send(sseFrame(chunk({ delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] } })));
    await send(sseFrame(chunk({ delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] } })));
  }
  for (let i = 0; !script.tool && i < pieces.length; i++) {
    if (script.malformedAt === i) await send('data: {"choices":[{"delta":\n\n');
    if (script.cutAfter === i) return cut();
    if (script.stallAfter === i) return;
    await beforeContent();
    if (closed) return;
    if (!(await send(sseFrame(chunk(chat ? { delta: { content: pieces[i] } } : { text: pieces[i] }))))) return;
  }
  if (script.cutAfter === pieces.length) return cut();
  if (script.stallAfter === pieces.length) return;
  if (script.noFinish) return void res.end();
  await send(sseFrame(chunk(chat ? { delta: {}, finish_reason: script.tool ? 'tool_calls' : 'stop' } : { text: '', finish_reason: 'stop' })));
  if (wantUsage) await send(sseFrame({ ...base, object, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }));
  if (script.afterFinish === 'hang') return;
  if (script.afterFinish !== 'end') await send(sseFrame('[DONE]'));
  res.end();
}
