/**
 * The wire side of the fake Gemini API and Vertex AI servers (./google.ts): a received
 * GenerateContentRequest or embedding request in the suite's neutral view, and the
 * GenerateContentResponse / embedding bodies a scripted answer makes, with the fields the Gemini
 * API reference and the Vertex AI reference document (candidates with content parts, finishReason
 * STOP / MAX_TOKENS / SAFETY with safetyRatings, usageMetadata, modelVersion, responseId, and for
 * Vertex createTime and trafficType).
 */
import { isObject } from '../../../../lib/providers/openai-compatible.js';
import type { JsonObject } from '../../../../lib/providers/types.js';
import type { Answer, NeutralMessage, NeutralRequest, ScriptUsage } from '../types.js';
import { get } from './google-rules.js';

/** The operations the fakes serve. */
export type Method = 'generateContent' | 'streamGenerateContent' | 'embedContent' | 'batchEmbedContents' | 'predict';
/** What the URL asked for (Vertex AI also names a project and a region). */
export interface Call { readonly model: string; readonly method: Method; readonly project?: string; readonly region?: string }

/** The usage an answer reports when the script gives none. */
export const USAGE: ScriptUsage = { input: 11, output: 7 };
const FINISH = { stop: 'STOP', length: 'MAX_TOKENS' } as const;
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const objects = (value: unknown): JsonObject[] => list(value).filter(isObject);
const textOf = (parts: unknown): string =>
  objects(parts)
    .map((p) => get(p, 'text'))
    .filter((t): t is string => typeof t === 'string')
    .join('');
const idOf = (value: JsonObject): { id?: string } => (typeof value.id === 'string' ? { id: value.id } : {});

/** The turns of `contents` in the neutral view: a user turn of function responses is one tool message per part. */
function messagesOf(contents: unknown): NeutralMessage[] {
  const messages: NeutralMessage[] = [];
  for (const content of objects(contents)) {
    const parts = objects(content.parts);
    if (content.role === 'model') {
      const calls = parts.map((p) => get(p, 'functionCall')).filter(isObject);
      const toolCalls = calls.map((c) => ({ ...idOf(c), name: String(c.name), arguments: c.args ?? {} }));
      messages.push({ role: 'assistant', text: textOf(parts), ...(toolCalls.length > 0 ? { toolCalls } : {}) });
      continue;
    }
    for (const response of parts.map((p) => get(p, 'functionResponse')).filter(isObject)) {
      const id = idOf(response).id;
      messages.push({ role: 'tool', text: JSON.stringify(response.response ?? {}), toolName: String(response.name), ...(id ? { toolCallId: id } : {}) });
    }
    if (parts.some((p) => get(p, 'functionResponse') === undefined)) messages.push({ role: 'user', text: textOf(parts) });
  }
  return messages;
}

/** A received body (already checked, or as sent) in the neutral view. */
export function decodeBody(call: Call, body: JsonObject, credential: string | undefined): NeutralRequest {
  const base = { model: call.model, ...(credential !== undefined ? { credential } : {}) };
  if (call.method === 'embedContent' || call.method === 'batchEmbedContents' || call.method === 'predict') {
    const inputs =
      call.method === 'predict'
        ? objects(body.instances).map((i) => String(i.content))
        : (call.method === 'embedContent' ? [body] : objects(body.requests)).map((r) => textOf(isObject(r.content) ? r.content.parts : []));
    return { ...base, kind: 'embedding', stream: false, messages: [], tools: [], inputs };
  }
  const system = get(body, 'systemInstruction');
  const config = get(body, 'generationConfig');
  const maxTokens = isObject(config) ? Number(get(config, 'maxOutputTokens') ?? NaN) : NaN;
  const temperature = isObject(config) ? get(config, 'temperature') : undefined;
  const tools = objects(body.tools)
    .flatMap((tool) => objects(get(tool, 'functionDeclarations')))
    .map((d) => ({
      name: String(d.name),
      ...(typeof d.description === 'string' ? { description: d.description } : {}),
      ...((get(d, 'parameters') ?? get(d, 'parametersJsonSchema')) !== undefined ? { parameters: get(d, 'parameters') ?? get(d, 'parametersJsonSchema') } : {}),
    }));
  return {
    ...base,
    kind: 'chat',
    stream: call.method === 'streamGenerateContent',
    ...(isObject(system) ? { system: objects(system.parts).map((p) => textOf([p])).join('\n') } : {}),
    messages: messagesOf(get(body, 'contents')),
    tools,
    ...(Number.isFinite(maxTokens) ? { maxTokens } : {}),
    ...(typeof temperature === 'number' ? { temperature } : {}),
  };
}

/** What a chat answer makes: the parts of each streamed piece, the finish reason, the usage. */
export interface Turn { readonly pieces: JsonObject[][]; readonly finish: string; readonly usage: ScriptUsage; readonly cutAfter?: number }

/** The turn a scripted answer makes, or undefined for an answer that is no chat answer. */
export function turnOf(answer: Answer): Turn | undefined {
  switch (answer.kind) {
    case 'text':
      return { pieces: [[{ text: answer.text }]], finish: FINISH[answer.finish ?? 'stop'], usage: answer.usage ?? USAGE };
    case 'stream-text': {
      const pieces = answer.pieces.map((text) => [{ text }]);
      return { pieces, finish: FINISH[answer.finish ?? 'stop'], usage: answer.usage ?? USAGE, ...(answer.cutAfter !== undefined ? { cutAfter: answer.cutAfter } : {}) };
    }
    case 'tool':
    case 'stream-tool': {
      // Gemini has no partial function-call arguments: a call is one whole part, args a JSON object.
      const args: unknown = answer.kind === 'tool' ? answer.arguments : JSON.parse(answer.argumentPieces.join(''));
      return { pieces: [[{ functionCall: { name: answer.name, args } }]], finish: 'STOP', usage: answer.usage ?? USAGE };
    }
    case 'content-filter':
      return { pieces: [], finish: 'SAFETY', usage: { input: USAGE.input, output: 0 } };
    default:
      return undefined;
  }
}

/** Gemini's four harm categories, dangerous content rated HIGH and blocked. */
function safetyRatings(vertex: boolean): JsonObject[] {
  const rating = (category: string, high: boolean): JsonObject => ({
    category,
    probability: high ? 'HIGH' : 'NEGLIGIBLE',
    ...(vertex ? { probabilityScore: high ? 0.93 : 0.04, severity: high ? 'HARM_SEVERITY_HIGH' : 'HARM_SEVERITY_NEGLIGIBLE', severityScore: high ? 0.88 : 0.02 } : {}),
    ...(high ? { blocked: true } : {}),
  });
  return ['HARM_CATEGORY_HATE_SPEECH', 'HARM_CATEGORY_DANGEROUS_CONTENT', 'HARM_CATEGORY_HARASSMENT', 'HARM_CATEGORY_SEXUALLY_EXPLICIT'].map((c) =>
    rating(c, c === 'HARM_CATEGORY_DANGEROUS_CONTENT'),
  );
}

/**
 * One GenerateContentResponse: `final` carries the finish reason and the whole usage; a streamed
 * candidate has no `index`. Vertex adds createTime and trafficType and scores its safety ratings.
 */
export function response(vertex: boolean, call: Call, turn: Turn, parts: JsonObject[], final: boolean, id: string, streamed: boolean): JsonObject {
  const { input, output } = turn.usage;
  const candidate: JsonObject = {
    ...(parts.length > 0 ? { content: { parts, role: 'model' } } : {}),
    ...(final ? { finishReason: turn.finish } : {}),
    ...(final && turn.finish === 'SAFETY' ? { safetyRatings: safetyRatings(vertex) } : {}),
    ...(streamed ? {} : { index: 0 }),
  };
  const traffic = vertex ? { trafficType: 'ON_DEMAND' } : {};
  const usageMetadata = final
    ? { promptTokenCount: input, ...(output > 0 ? { candidatesTokenCount: output } : {}), totalTokenCount: input + output, ...traffic }
    : vertex ? traffic : { promptTokenCount: input, totalTokenCount: input };
  const created = vertex ? { createTime: new Date().toISOString() } : {};
  return { candidates: [candidate], usageMetadata, modelVersion: call.model, ...created, responseId: id };
}

/** Joins adjacent text parts, as a whole (non-streamed) answer has them. */
export function merged(pieces: JsonObject[][]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const part of pieces.flat()) {
    const last = out[out.length - 1];
    if (last && typeof last.text === 'string' && typeof part.text === 'string') out[out.length - 1] = { text: last.text + part.text };
    else out.push(part);
  }
  return out;
}

/** embedContent `{embedding}`, batchEmbedContents `{embeddings}` or Vertex predict `{predictions, metadata}`. */
export function embeddingBody(call: Call, inputs: readonly string[], answer: Answer): JsonObject {
  const vectors = answer.kind === 'embedding' ? answer.vectors.map((v) => [...v]) : inputs.map(() => [0.1, 0.2, 0.3]);
  if (call.method === 'embedContent') return { embedding: { values: vectors[0] ?? [] } };
  if (call.method === 'batchEmbedContents') return { embeddings: vectors.map((values) => ({ values })) };
  const tokens = (answer.kind === 'embedding' ? answer.usage : undefined)?.input ?? USAGE.input;
  const share = (i: number): number => Math.floor(tokens / vectors.length) + (i === 0 ? tokens % vectors.length : 0);
  return {
    predictions: vectors.map((values, i) => ({ embeddings: { statistics: { truncated: false, token_count: share(i) }, values } })),
    metadata: { billableCharacterCount: inputs.reduce((n, s) => n + s.replace(/\s/g, '').length, 0) },
  };
}

