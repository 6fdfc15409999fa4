/**
 * A custom TraceStore: traces appended to a JSON-lines file, one trace per line.
 *
 *   npx tsx examples/trace-store.ts
 *
 * starts the local demo upstreams (an OpenAI that always answers 429, an Azure OpenAI that
 * answers), a router using this store, makes one request with `x-portkey-fallback:
 * openai,azure_openai`, prints the stored trace and exits.
 *
 * A TraceStore has three methods, each sync or async: `record(trace)`, `get(traceId)` (the newest
 * trace with that id) and `list(query)` (newest first, filtered; `traceMatches` applies the same
 * filters as the built-in store). The router never waits for `record`, and a store that throws
 * or rejects only produces a log line: it cannot fail or slow down a response.
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { createFallbackRouter, traceMatches, type Trace, type TraceQuery, type TraceStore } from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

/** Appends traces to a file; reads it back for GET /logs. Fine for a dev box, not for millions of traces. */
export class JsonLinesTraceStore implements TraceStore {
  /** Appends run one after another, so lines never interleave. */
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  record(trace: Trace): Promise<void> {
    const line = `${JSON.stringify(trace)}\n`;
    this.queue = this.queue.then(() => appendFile(this.file, line, 'utf8'));
    return this.queue;
  }

  async get(traceId: string): Promise<Trace | undefined> {
    const all = await this.readAll();
    for (let i = all.length - 1; i >= 0; i--) if (all[i]!.traceId === traceId) return all[i];
    return undefined;
  }

  async list(query: TraceQuery): Promise<Trace[]> {
    const all = await this.readAll();
    return all
      .filter((trace) => traceMatches(trace, query))
      .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
      .slice(0, query.limit ?? 50);
  }

  private async readAll(): Promise<Trace[]> {
    await this.queue.catch(() => undefined);
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const traces: Trace[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        traces.push(JSON.parse(line) as Trace);
      } catch {
        // a torn last line (the process died mid-write): skip it
      }
    }
    return traces;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'express-llm-fallback-traces-'));
  const store = new JsonLinesTraceStore(path.join(dir, 'traces.jsonl'));
  const up = await startDemoUpstreams();
  const gatewayKey = 'demo-gateway-key';

  const app = express();
  app.use(
    '/v1',
    createFallbackRouter({
      providers: {
        openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
        azure_openai: { apiKey: 'demo-azure-key', baseURL: up.azureBaseURL, deploymentId: 'gpt-4o' },
      },
      auth: { apiKeys: [gatewayKey] },
      traceStore: store,
      // USD per million tokens, by 'provider/model' or 'model' (the model that answered)
      pricing: { 'azure-openai/gpt-4o-2024-08-06': { input: 2.5, output: 10 }, 'gpt-4o': { input: 2.5, output: 10 } },
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;

  try {
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-api-key': gatewayKey, 'x-portkey-fallback': 'openai,azure_openai' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }),
    });
    await res.arrayBuffer();
    const traceId = res.headers.get('x-portkey-trace-id') ?? '';

    // The router records after the response has gone out: wait for the line to land.
    let trace: Trace | undefined;
    for (let i = 0; i < 100 && !trace; i++) {
      trace = await store.get(traceId);
      if (!trace) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (!trace) throw new Error(`trace ${traceId} did not reach ${store.file}`);
    console.log(
      `HTTP ${res.status}, served by ${trace.provider} (${trace.servedPath}) after ${trace.totals.attempts} attempts, ` +
        `${trace.latencyMs} ms, $${trace.totals.costUsd}; stored in ${store.file}:`,
    );
    console.log(JSON.stringify(trace, null, 2));
  } finally {
    server.close();
    server.closeAllConnections();
    await up.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
