/**
 * Local demo upstreams for `npm start` without provider keys: one node:http server on
 * 127.0.0.1 that plays three providers by path prefix.
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
