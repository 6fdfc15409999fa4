/**
 * The fake OpenAI upstream the benches load, on 127.0.0.1 at 0 ms:
 * - a path starting `/down` answers 503 with an OpenAI error body;
 * - a path starting `/slow` answers one chat completion (JSON, never a stream) only after
 *   `x-bench-delay-ms` (a header), else the number in a `/slow/<ms>/` path, else 20 ms; a request
 *   whose connection closes before that is counted as aborted and never answered (`upstreamCounts`);
 * - a request whose body asks for `"stream":true` gets an SSE stream: a role chunk, `STREAM_CHUNKS`
 *   content chunks (`x-bench-chunks` overrides, else a body field `"bench_chunks": N`, for servers
 *   that forward no client header), a finish chunk, a usage chunk and `[DONE]`;
 * - anything else gets one chat completion with usage (as JSON, with content-length).
 * The body is read whole and searched, not parsed, so every server under test costs it the same.
 */
import http from 'node:http';
import { listen } from './load.js';

export const STREAM_CHUNKS = 20;

export const answer = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench upstream.' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 },
});
const down = '{"error":{"message":"the bench upstream is down","type":"server_error","code":null}}';

const chunk = (delta: object, finish: string | null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const roleChunk = chunk({ role: 'assistant', content: '' }, null);
const contentChunk = chunk({ content: 'token ' }, null);
const finishChunk = chunk({}, 'stop');
/** Bytes of one content chunk of a stream (what `x-bench-chunks` counts). */
export const CONTENT_CHUNK_BYTES = Buffer.byteLength(contentChunk);

/**
 * What the upstream has seen since it started (compare two readings): requests under `/down`,
 * other answers, and `/slow` requests started, answered, and closed by the caller before their
 * answer (a cancelled hedge).
 */
export const upstreamCounts = { down: 0, answered: 0, slowStarted: 0, slowAnswered: 0, slowAborted: 0 };

const usageChunk = `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-2024-08-06', choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } })}\n\n`;

/** A `/slow` request: answered after its delay, unless its caller has closed it by then. */
function slow(req: http.IncomingMessage, res: http.ServerResponse): void {
  upstreamCounts.slowStarted += 1;
  const ms = Number(req.headers['x-bench-delay-ms'] ?? /^\/slow\/(\d+)/.exec(req.url ?? '')?.[1] ?? 20);
  req.resume();
  let done = false;
  const timer = setTimeout(() => {
    done = true;
    upstreamCounts.slowAnswered += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  }, ms);
  res.on('close', () => {
    if (done) return;
    clearTimeout(timer);
    upstreamCounts.slowAborted += 1;
  });
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url?.startsWith('/slow')) return slow(req, res);
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    if (req.url?.startsWith('/down')) {
      upstreamCounts.down += 1;
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(down) });
      res.end(down);
      return;
    }
    upstreamCounts.answered += 1;
    const body = Buffer.concat(parts).toString();
    if (/"stream"\s*:\s*true/.test(body)) {
      const n = Number(req.headers['x-bench-chunks'] ?? /"bench_chunks"\s*:\s*(\d+)/.exec(body)?.[1] ?? STREAM_CHUNKS);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(roleChunk);
      for (let i = 0; i < n; i++) res.write(contentChunk);
      res.write(finishChunk);
      res.write(usageChunk);
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
}

export function startUpstream(): Promise<{ url: string; server: http.Server }> {
  return listen(handle);
}
