/**
 * The README's "Writing an adapter" guide: an adapter for "Acme", a provider the package does not
 * ship, with its own wire format, a request signed in an async step (HMAC over the exact bytes,
 * with a short-lived signing key fetched first), a stream, and its own error bodies. Registered
 * through `options.adapters`, it falls back and is traced like the built-in ones.
 *
 *   npx tsx examples/custom-adapter.ts
 *
 * starts a local Acme upstream (which checks every signature) beside the demo upstreams, sends
 * one request whose config falls back from the rate-limited demo OpenAI to Acme, streams one
 * answer from Acme, and exits.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Joi from 'joi';
import {
  ConfigError,
  InvalidUpstreamResponse,
  createFallbackRouter,
  defineProviderAdapter,
  type ErrorClass,
  type JsonObject,
} from '../lib/index.js';
import { startDemoUpstreams } from './demo-upstreams.js';

// Acme's wire format: POST {base}/generate {model, turns:[{speaker, text}], max_output, stream}
// -> {output, stop: 'done' | 'limit', tokens: {in, out}}; errors {fault: {kind, detail}}.

/** The signing key, fetched asynchronously (from a vault, a metadata service, ...) and cached. */
async function signingKey(keyId: string, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted(); // an attempt abandoned meanwhile sends nothing
  return `secret-of-${keyId}`; // stands for `await vault.read(keyId, { signal })`
}

const SPEAKERS: Record<string, string> = { system: 'rules', user: 'human', assistant: 'bot' };
const STOPS: Record<string, string> = { done: 'stop', limit: 'length' };

export const acmeAdapter = defineProviderAdapter({
  name: 'acme',
  endpoints: new Set(['chat'] as const),
  streamUsage: 'always', // Acme reports tokens at the end of every stream
  // The settings a target, options.providers.acme or a virtual key may give (snake_case).
  settings: Joi.object({ acme_key_id: Joi.string().min(1).required() }),
  credentialSettings: ['acme_key_id'], // stands for an api key: a target with neither is refused
  async buildRequest(req, target, signal) {
    if (!target.baseURL) throw new ConfigError('acme needs a baseURL', 'baseURL', 'missing_provider_setting');
    const messages = req.body.messages as Array<{ role: string; content: string }>;
    const body = JSON.stringify({
      model: req.body.model,
      turns: messages.map((m) => ({ speaker: SPEAKERS[m.role] ?? 'human', text: String(m.content) })),
      max_output: req.body.max_tokens ?? 512,
      stream: req.stream,
    });
    const keyId = String(target.settings.acme_key_id);
    const signature = createHmac('sha256', await signingKey(keyId, signal)).update(body).digest('hex');
    return {
      url: `${target.baseURL}/generate`,
      headers: { ...target.headers, 'x-acme-key-id': keyId, 'x-acme-signature': signature },
      body: undefined,
      rawBody: body, // the exact bytes that were signed
    };
  },
  parseResponse(body, ctx) {
    const reply = body as { output?: unknown; stop?: string; tokens?: { in: number; out: number } };
    if (typeof reply?.output !== 'string') throw new InvalidUpstreamResponse('acme answered without output');
    const usage = { prompt_tokens: reply.tokens?.in ?? 0, completion_tokens: reply.tokens?.out ?? 0, total_tokens: (reply.tokens?.in ?? 0) + (reply.tokens?.out ?? 0) };
    return {
      id: `acme-${Date.now()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: String(ctx.request.body.model),
      choices: [{ index: 0, message: { role: 'assistant', content: reply.output }, finish_reason: STOPS[reply.stop ?? 'done'] ?? 'stop' }],
      usage,
    };
  },
  // SSE: `data: {"delta":"..."}` pieces, then `data: {"stop":"done","tokens":{...}}`.
  parseStreamEvent(event, state, ctx) {
    const data = JSON.parse(event.data) as { delta?: string; stop?: string; tokens?: { in: number; out: number } };
    const chunk = (delta: JsonObject, finish: string | null = null): JsonObject => ({
      id: 'acme-stream',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: String(ctx.request.body.model),
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const out: JsonObject[] = [];
    if (state.started !== true) {
      state.started = true;
      out.push(chunk({ role: 'assistant', content: '' }));
    }
    if (typeof data.delta === 'string') out.push(chunk({ content: data.delta }));
    if (data.stop !== undefined) {
      out.push(chunk({}, STOPS[data.stop] ?? 'stop'));
      const t = data.tokens ?? { in: 0, out: 0 };
      if (state.includeUsage === true) out.push({ ...chunk({}), choices: [], usage: { prompt_tokens: t.in, completion_tokens: t.out, total_tokens: t.in + t.out } });
    }
    return out;
  },
  classifyError(status, body) {
    const fault = (body as { fault?: { kind?: string; detail?: string } })?.fault;
    const classes: Record<string, ErrorClass> = { throttled: 'rate_limit', bad_signature: 'auth', too_long: 'context_length_exceeded' };
    const errorClass: ErrorClass = classes[fault?.kind ?? ''] ?? (status >= 500 ? 'server' : 'bad_request');
    return { errorClass, message: fault?.detail ?? `acme returned HTTP ${status}`, ...(fault?.kind ? { code: fault.kind } : {}) };
  },
});

/** A local Acme upstream that checks signatures, for this example. */
async function startAcme(): Promise<{ baseURL: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = createHmac('sha256', `secret-of-${String(req.headers['x-acme-key-id'])}`).update(raw).digest('hex');
      if (req.headers['x-acme-signature'] !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ fault: { kind: 'bad_signature', detail: 'signature mismatch' } }));
        return;
      }
      const body = JSON.parse(raw.toString('utf8')) as { turns: Array<{ text: string }>; stream: boolean };
      const text = `Acme answering: "${body.turns.at(-1)?.text ?? ''}"`;
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ output: text, stop: 'done', tokens: { in: 9, out: 4 } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of text.split(/(?= )/)) res.write(`data: ${JSON.stringify({ delta: piece })}\n\n`);
      res.end(`data: ${JSON.stringify({ stop: 'done', tokens: { in: 9, out: 4 } })}\n\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/acme/v1`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const up = await startDemoUpstreams();
const acme = await startAcme();
const router = createFallbackRouter({
  adapters: { acme: acmeAdapter },
  providers: {
    openai: { apiKey: 'demo-openai-key', baseURL: up.openaiBaseURL },
    acme: { baseURL: acme.baseURL, acmeKeyId: 'key-2026-12' },
  },
  defaultConfig: { strategy: { mode: 'fallback' }, targets: [{ provider: 'openai' }, { provider: 'acme' }] },
  auth: { apiKeys: ['demo-gateway-key'] },
});
const app = express().use('/v1', router);
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
const headers = { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key' };
try {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'acme-large', messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  const body = (await res.json()) as { choices: Array<{ message: { content: string } }>; usage: { total_tokens: number } };
  const served = `${res.headers.get('x-portkey-provider')} after ${res.headers.get('x-portkey-attempts')} attempts`;
  console.log(`HTTP ${res.status} from ${served}: ${body.choices[0]?.message.content} (${body.usage.total_tokens} tokens)`);
  const streamed = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'acme-large', stream: true, messages: [{ role: 'user', content: 'Stream it' }] }),
  });
  const text = await streamed.text();
  const pieces = text
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => (JSON.parse(line.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '');
  console.log(`streamed from ${streamed.headers.get('x-portkey-provider')}: ${pieces.join('')}${text.includes('data: [DONE]') ? ' [DONE]' : ''}`);
} finally {
  server.close();
  await acme.close();
  await up.close();
}
