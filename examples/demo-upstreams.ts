/**
 * Local demo upstreams for `npm start` (the providers whose key is not set, and the rate-limited
 * OpenAI its self-test starts with) and the other examples: one node:http server on 127.0.0.1
 * that plays three providers by path prefix.
 *
 *   /openai/v1/...     an OpenAI that is rate limited (429) on every call, so fallbacks show
 *   /azure/openai/...  an Azure OpenAI deployment that answers
 *   /anthropic/v1/...  an Anthropic Messages API that answers
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoUpstreams {
  readonly openaiBaseURL: string;
  readonly azureBaseURL: string;
  readonly anthropicBaseURL: string;
  close(): Promise<void>;
}

function reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function lastUserText(body: any): string {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = [...msgs].reverse().find((m) => m?.role === 'user');
  const content = typeof last?.content === 'string' ? last.content : Array.isArray(last?.content) ? last.content.map((p: any) => p?.text ?? '').join(' ') : '';
  return content.slice(0, 80);
}

/** Sends SSE frames a few ms apart, so a streamed demo answer is seen arriving. */
function streamEvents(res: http.ServerResponse, frames: string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let i = 0;
  const timer = setInterval(() => {
    if (i >= frames.length || res.destroyed) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(frames[i++]);
  }, 30);
}

/** Starts the demo upstreams on a free port of 127.0.0.1. */
export async function startDemoUpstreams(): Promise<DemoUpstreams> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = {};
      }
      const url = req.url ?? '';
      if (url.startsWith('/openai/')) {
        reply(res, 429, { error: { message: 'Demo OpenAI: rate limit reached (this demo upstream always fails).', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } }, { 'retry-after': '1' });
        return;
      }
      if (url.startsWith('/azure/openai/deployments/')) {
        const text = `Demo Azure OpenAI answering: "${lastUserText(body)}"`;
        if (body.stream === true) {
          const base = { id: 'chatcmpl-demo-azure', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'gpt-4o-2024-08-06' };
          const events = [
            { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
            ...text.split(/(?<= )/).map((piece) => ({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })),
            { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
          ];
          streamEvents(res, [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), 'data: [DONE]\n\n']);
          return;
        }
        reply(res, 200, {
          id: 'chatcmpl-demo-azure',
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: 'gpt-4o-2024-08-06',
          choices: [{ index: 0, message: { role: 'assistant', content: `Demo Azure OpenAI answering: "${lastUserText(body)}"`, refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
        });
        return;
      }
      if (url.startsWith('/anthropic/v1/messages')) {
        const text = `Demo Anthropic answering: "${lastUserText(body)}"`;
        if (body.stream === true) {
          const frame = (type: string, data: object): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
          streamEvents(res, [
            frame('message_start', { message: { id: 'msg_demo', type: 'message', role: 'assistant', model: body.model ?? 'claude-demo', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
            frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
            ...text.split(/(?<= )/).map((piece) => frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } })),
            frame('content_block_stop', { index: 0 }),
            frame('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }),
            frame('message_stop', {}),
          ]);
          return;
        }
        reply(res, 200, {
          id: 'msg_demo',
          type: 'message',
          role: 'assistant',
          model: body.model ?? 'claude-demo',
          content: [{ type: 'text', text: `Demo Anthropic answering: "${lastUserText(body)}"` }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 12, output_tokens: 9 },
        });
        return;
      }
      reply(res, 404, { error: { message: `demo upstream has no ${url}`, type: 'invalid_request_error' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    openaiBaseURL: `${origin}/openai/v1`,
    azureBaseURL: `${origin}/azure`,
    anthropicBaseURL: `${origin}/anthropic/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
