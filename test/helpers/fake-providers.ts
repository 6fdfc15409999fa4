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
  | { kind: 'reset' };

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
