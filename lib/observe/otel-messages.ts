/**
 * Prompts and completions in the GenAI conventions' message format (gen-ai-input-messages.json,
 * gen-ai-output-messages.json: `{ role, parts: [{ type: 'text', content }, ...] }`), for the
 * opt-in `captureBodies` event, and the finish reasons of an answer, JSON or streamed. Read from
 * OpenAI-format bodies only; nothing here is on the response path but the stream accumulator,
 * which is a few property reads per chunk, bounded in what it keeps.
 */
import type { Endpoint, JsonObject } from '../providers/types.js';

type Part = Record<string, unknown>;
/** One message as the conventions write it. */
export interface GenAiMessage {
  readonly role: string;
  readonly parts: Part[];
  readonly finish_reason?: string;
}

/** Most characters of streamed text (all choices together) kept for the output messages. */
export const MAX_STREAM_TEXT = 256 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A tool call's arguments as an object when they are JSON, else as they came. */
function parsedArguments(args: unknown): unknown {
  if (typeof args !== 'string') return args ?? null;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** One content part of an OpenAI message. */
function contentPart(part: unknown): Part {
  if (!isObject(part)) return { type: 'text', content: String(part) };
  if (part.type === 'text') return { type: 'text', content: typeof part.text === 'string' ? part.text : '' };
  const image = isObject(part.image_url) ? part.image_url.url : undefined;
  if (part.type === 'image_url' && typeof image === 'string') {
    const data = /^data:([^;,]+);base64,(.*)$/s.exec(image);
    return data ? { type: 'blob', modality: 'image', mime_type: data[1], content: data[2] } : { type: 'uri', modality: 'image', uri: image };
  }
  return { type: typeof part.type === 'string' ? part.type : 'unknown' };
}

/** The parts of an OpenAI message's content, tool calls and tool result. */
function partsOf(message: Record<string, unknown>): Part[] {
  const parts: Part[] = [];
  const content = message.content;
  if (message.role === 'tool') {
    parts.push({ type: 'tool_call_response', id: message.tool_call_id ?? null, response: content ?? null });
    return parts;
  }
  if (typeof content === 'string') parts.push({ type: 'text', content });
  else if (Array.isArray(content)) for (const p of content) parts.push(contentPart(p));
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isObject(call)) continue;
      const fn = isObject(call.function) ? call.function : {};
      parts.push({ type: 'tool_call', id: call.id ?? null, name: fn.name ?? '', arguments: parsedArguments(fn.arguments) });
    }
  }
  return parts;
}

/** The request's prompt as input messages (chat messages, or a completion's prompt); none for embeddings. */
export function inputMessages(endpoint: Endpoint, body: JsonObject): GenAiMessage[] | undefined {
  if (endpoint === 'chat' && Array.isArray(body.messages)) {
    return body.messages.filter(isObject).map((m) => ({ role: typeof m.role === 'string' ? m.role : 'user', parts: partsOf(m) }));
  }
  if (endpoint === 'completion') {
    const prompts = Array.isArray(body.prompt) ? body.prompt : [body.prompt];
    return prompts.map((p) => ({ role: 'user', parts: [{ type: 'text', content: typeof p === 'string' ? p : JSON.stringify(p) }] }));
  }
  return undefined;
}

/** The choices of an answer (JSON) as output messages. */
export function outputMessages(body: unknown): GenAiMessage[] | undefined {
  if (!isObject(body) || !Array.isArray(body.choices)) return undefined;
  return body.choices.filter(isObject).map((c) => {
    const message = isObject(c.message) ? c.message : { role: 'assistant', content: typeof c.text === 'string' ? c.text : null };
    return { role: 'assistant', parts: partsOf(message), finish_reason: typeof c.finish_reason === 'string' ? c.finish_reason : 'unknown' };
  });
}

/** The finish reasons of an answer's choices (JSON), in choice order. */
export function finishReasons(body: unknown): string[] {
  if (!isObject(body) || !Array.isArray(body.choices)) return [];
  const out: string[] = [];
  for (const c of body.choices as unknown[]) if (isObject(c) && typeof c.finish_reason === 'string') out.push(c.finish_reason);
  return out;
}

/** One choice of a stream as it arrived. */
interface StreamChoice {
  text: string;
  finish?: string;
  readonly calls: Map<number, { id?: unknown; name: string; args: string }>;
}

/**
 * What a traced stream showed the client: its finish reasons and, when bodies are captured, its
 * text and tool calls per choice (at most MAX_STREAM_TEXT characters in all).
 */
export class StreamSeen {
  private readonly choices = new Map<number, StreamChoice>();
  private kept = 0;

  constructor(private readonly keepText: boolean) {}

  /** Notes one chunk sent to the client. */
  add(chunk: JsonObject): void {
    if (!Array.isArray(chunk.choices)) return;
    for (const c of chunk.choices) {
      if (!isObject(c)) continue;
      const index = typeof c.index === 'number' ? c.index : 0;
      let choice = this.choices.get(index);
      if (choice === undefined) {
        choice = { text: '', calls: new Map() };
        this.choices.set(index, choice);
      }
      if (typeof c.finish_reason === 'string') choice.finish = c.finish_reason;
      if (this.keepText) this.keep(choice, c);
    }
  }

  private keep(choice: StreamChoice, c: Record<string, unknown>): void {
    const delta = isObject(c.delta) ? c.delta : undefined;
    const text = typeof delta?.content === 'string' ? delta.content : typeof c.text === 'string' ? c.text : '';
    if (text !== '' && this.kept < MAX_STREAM_TEXT) {
      const piece = text.slice(0, MAX_STREAM_TEXT - this.kept);
      choice.text += piece;
      this.kept += piece.length;
    }
    if (!Array.isArray(delta?.tool_calls)) return;
    for (const call of delta.tool_calls) {
      if (!isObject(call)) continue;
      const at = typeof call.index === 'number' ? call.index : choice.calls.size;
      const seen = choice.calls.get(at) ?? { name: '', args: '' };
      const fn = isObject(call.function) ? call.function : {};
      if (call.id !== undefined) seen.id = call.id;
      if (typeof fn.name === 'string') seen.name += fn.name;
      if (typeof fn.arguments === 'string' && this.kept < MAX_STREAM_TEXT) {
        seen.args += fn.arguments;
        this.kept += fn.arguments.length;
      }
      choice.calls.set(at, seen);
    }
  }

  /** The finish reasons seen, in choice order. */
  finishReasons(): string[] {
    return [...this.choices.entries()].sort(([a], [b]) => a - b).flatMap(([, c]) => (c.finish !== undefined ? [c.finish] : []));
  }

  /** The streamed answer as output messages. */
  messages(): GenAiMessage[] {
    return [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, c]) => {
        const parts: Part[] = c.text !== '' ? [{ type: 'text', content: c.text }] : [];
        for (const call of c.calls.values()) parts.push({ type: 'tool_call', id: call.id ?? null, name: call.name, arguments: parsedArguments(call.args) });
        return { role: 'assistant', parts, finish_reason: c.finish ?? 'unknown' };
      });
  }
}
