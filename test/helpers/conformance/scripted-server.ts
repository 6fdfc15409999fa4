/**
 * The part every conformance fake shares, whatever its wire format: a real node:http server on
 * 127.0.0.1 (port 0) that records each request whole, hands out the scripted answers in order
 * (then a default text answer), and writes JSON and server-sent events the way a provider does,
 * including a socket destroyed mid-stream. The fakes themselves (fakes/*.ts) only speak their
 * provider's format on top of it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Answer, ConformanceFake, ErrorKind, NeutralMessage, NeutralRequest, RawReceived, ScriptUsage } from './types.js';

/** The running server a fake builds on. */
export interface ScriptedServer {
  readonly origin: string;
  readonly received: RawReceived[];
  /** The next scripted answer, or once the script is used up `fallback` (default `{ kind: 'text', text: defaultText }`). */
  next(fallback?: Answer): Answer;
  script(...answers: Answer[]): void;
  reset(): void;
  close(): Promise<void>;
}

/** Answers one recorded request. Throwing answers 500 with the error's message (a fake's own bug). */
export type Handler = (req: RawReceived, res: http.ServerResponse) => void | Promise<void>;

/** The usage a scripted answer reports: its own, else the suite's default of 11 in, 7 out. */
export function usageOf(answer: { readonly usage?: ScriptUsage }): ScriptUsage {
  return answer.usage ?? { input: 11, output: 7 };
}

/** Starts a server whose every request is recorded, then given to `handle`. */
export async function startScriptedServer(defaultText: string, handle: Handler): Promise<ScriptedServer> {
  const received: RawReceived[] = [];
  let queue: Answer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw: RawReceived = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(raw);
      Promise.resolve()
        .then(() => handle(raw, res))
        .catch((err: unknown) => {
          if (res.headersSent) res.destroy();
          else sendJson(res, 500, { fake_error: err instanceof Error ? err.message : String(err) });
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    next: (fallback) => queue.shift() ?? fallback ?? { kind: 'text', text: defaultText },
    script: (...answers) => {
      queue.push(...answers);
    },
    reset: () => {
      received.length = 0;
      queue = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The suite's contract over a running server, for a fake with nothing to add to it: `decode` reads
 * `received[index]` (default: the last), its undefined fields left out so that a deepEqual with a
 * literal holds. `version` is the path `baseURL` adds to the origin.
 */
export function conformanceFake(
  server: ScriptedServer,
  name: string,
  version: string,
  decode: (req: RawReceived) => NeutralRequest,
  statusOf: (kind: ErrorKind) => number,
): ConformanceFake {
  const { origin, received } = server;
  return {
    origin,
    baseURL: origin + version,
    received,
    decode: (index = received.length - 1) => {
      const req = received[index];
      if (!req) throw new Error(`${name} fake: no request #${index} (received ${received.length})`);
      return JSON.parse(JSON.stringify(decode(req))) as NeutralRequest;
    },
    script: server.script,
    statusOf,
    reset: server.reset,
    close: server.close,
  };
}

/** Writes a JSON answer. `prefix` goes before the JSON text (DeepSeek's keep-alive blank lines). */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}, prefix = ''): void {
  const text = prefix + JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends the headers of an SSE answer; a (lower-case) `content-type` in `headers` replaces the default one. */
export function openSse(res: http.ServerResponse, headers: Readonly<Record<string, string>> = {}): void {
  const contentType = headers['content-type'] ?? 'text/event-stream; charset=utf-8';
  res.writeHead(200, { ...headers, 'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive' });
}

/** Writes raw SSE text and resolves once it left the process (so that a cut after it keeps it). */
export function writeRaw(res: http.ServerResponse, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    res.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes one SSE event: `event:` when named, one `data:` line of JSON (or the text as is). */
export function writeEvent(res: http.ServerResponse, data: unknown, event?: string): Promise<void> {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return writeRaw(res, `${event !== undefined ? `event: ${event}\n` : ''}data: ${payload}\n\n`);
}

/** Destroys the connection mid-answer: no finish, no end event, no clean end of the body. */
export function cut(res: http.ServerResponse): void {
  res.destroy();
}

/** A whole SSE answer: openSse(res, headers), the raw frames in order, then the end; with `keep` below their count, a cut after that many. */
export async function playSse(res: http.ServerResponse, headers: Readonly<Record<string, string>>, frames: readonly string[], keep = frames.length): Promise<void> {
  openSse(res, headers);
  for (const frame of frames.slice(0, keep)) await writeRaw(res, frame);
  if (keep < frames.length) cut(res);
  else res.end();
}

/** The request body as JSON: the value, or undefined when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Why the request body is not JSON (JSON.parse's message), or undefined when it is. */
export function jsonError(body: Buffer): string | undefined {
  try {
    JSON.parse(body.toString('utf8'));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request body as a JSON object; `{}` when it is not one. */
export function jsonBody(req: RawReceived): Record<string, unknown> {
  const body = parseJson(req.body);
  return isObject(body) ? body : {};
}

/**
 * The neutral view of a chat body shaped like OpenAI's chat completions: the `system` turns (read
 * by `text`) joined as the system prompt, the other turns through `message`, the
 * `{type: 'function', function}` tools, `max_tokens`, `temperature` and `stream`.
 */
export function decodeChatBody(
  body: Record<string, unknown>,
  text: (content: unknown) => string,
  message: (turn: Record<string, unknown>) => NeutralMessage,
): Pick<NeutralRequest, 'kind' | 'stream' | 'system' | 'messages' | 'tools' | 'maxTokens' | 'temperature'> {
  const turns = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  const system = turns.filter((m) => m.role === 'system').map((m) => text(m.content));
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).map((t) => {
    const fn = isObject(t.function) ? t.function : {};
    return { name: String(fn.name), ...(typeof fn.description === 'string' ? { description: fn.description } : {}), parameters: fn.parameters };
  });
  return {
    kind: 'chat',
    stream: body.stream === true,
    ...(system.length > 0 ? { system: system.join('\n') } : {}),
    messages: turns.filter((m) => m.role !== 'system').map(message),
    tools,
    ...(typeof body.max_tokens === 'number' ? { maxTokens: body.max_tokens } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
  };
}

/** Parses a tool call's JSON arguments text; the text itself when it is not JSON. */
export function parseArguments(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The `{id, function: {name, arguments}}` tool calls of a list in the neutral view, arguments parsed ([] when none). */
export function functionCalls(calls: unknown): Array<{ id?: string; name: string; arguments: unknown }> {
  return (Array.isArray(calls) ? calls.filter(isObject) : []).map((c) => {
    const fn = isObject(c.function) ? c.function : {};
    return { ...(typeof c.id === 'string' ? { id: c.id } : {}), name: String(fn.name), arguments: parseArguments(fn.arguments) };
  });
}

/** The value of a single-valued request header (the first one when repeated). */
export function header(req: RawReceived, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The token of an `Authorization: Bearer <token>` header (trimmed), undefined without one. */
export function bearer(req: RawReceived): string | undefined {
  return /^bearer\s+(\S.*)$/i.exec(header(req, 'authorization') ?? '')?.[1]?.trim();
}

/** The path of a request URL without its query, and its query parameters. */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const parsed = new URL(url, 'http://fake.invalid');
  return { path: parsed.pathname, query: parsed.searchParams };
}

/** The headers of a scripted error: the provider's own, then the script's (which win). */
export function errorHeaders(own: Readonly<Record<string, string>>, scripted: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const merged: Record<string, string> = { ...own };
  const lower = Object.fromEntries(Object.entries(scripted ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  // A scripted `retry-after` replaces the provider's whole retry hint, `retry-after-ms` included.
  if ('retry-after' in lower && !('retry-after-ms' in lower)) delete merged['retry-after-ms'];
  return { ...merged, ...lower };
}
