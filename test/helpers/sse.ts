/** Reading the router's SSE answers in tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The `data:` payloads of an SSE text, in order (`[DONE]` kept as the string). */
export function sseData(text: string): Array<any> {
  return text
    .split(/\n\n/)
    .map((block) => block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
    .filter((data) => data !== '')
    .map((data) => (data === '[DONE]' ? '[DONE]' : JSON.parse(data)));
}

/** The text of choice 0 over a list of chunks. */
export function joinedContent(events: any[]): string {
  return events
    .filter((e) => e !== '[DONE]' && Array.isArray(e.choices))
    .map((e) => e.choices.map((c: any) => c.delta?.content ?? c.text ?? '').join(''))
    .join('');
}

/** A supertest parser that keeps the raw body text. */
export function rawText(res: any, cb: (err: Error | null, body: any) => void): void {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (d: string) => (text += d));
  res.on('end', () => cb(null, text));
  res.on('error', (err: Error) => cb(err, text));
}

/** Starts an app on 127.0.0.1:0; returns its origin and a closer. */
export async function listen(app: http.RequestListener): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
