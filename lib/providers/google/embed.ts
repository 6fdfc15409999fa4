/**
 * Embeddings through the Gemini API: one string is `:embedContent`, an array of strings
 * `:batchEmbedContents`; the reply becomes OpenAI's `{ object: 'list', data: [...] }`. The input
 * reader and the list builder are shared with Vertex AI's `:predict`.
 */
import { InvalidUpstreamResponse } from '../../errors.js';
import { invalid } from '../chat-input.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, ResolvedTarget, UnifiedRequest, UnifiedResponse, UpstreamRequest } from '../types.js';
import { googleBase, googleHeaders, modelName } from './request.js';

/** An OpenAI embedding body's `input`, read. */
export interface EmbeddingInput {
  /** The texts to embed, in order. */
  readonly texts: string[];
  /** True when `input` was one string (not an array). */
  readonly single: boolean;
}

/** `input`: a string or an array of strings; token arrays (numbers) cannot be sent. */
export function embeddingInput(body: JsonObject, provider: string): EmbeddingInput {
  const input = body.input;
  if (typeof input === 'string') return { texts: [input], single: true };
  if (!Array.isArray(input) || input.length === 0) throw invalid('input must be a string or a non-empty array of strings', 'input');
  input.forEach((item, k) => {
    if (typeof item !== 'string') {
      throw invalid(`input[${k}] must be a string (${provider} cannot embed token arrays)`, 'input');
    }
  });
  return { texts: input as string[], single: false };
}

/** `dimensions` (the output size), or undefined when absent. */
export function dimensionsOf(body: JsonObject): number | undefined {
  const value = body.dimensions;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid('dimensions must be a positive integer', 'dimensions');
  return value;
}

/** Checks `encoding_format` up front: only `float` and `base64` exist. */
export function checkEncodingFormat(body: JsonObject): void {
  const format = body.encoding_format;
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') {
    throw invalid("encoding_format must be 'float' or 'base64'", 'encoding_format');
  }
}

/** A vector as OpenAI's base64 encoding: little-endian float32 bytes. */
function base64Vector(values: readonly number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/** A `values` array of numbers, or InvalidUpstreamResponse. */
export function vectorOf(values: unknown, provider: string): number[] {
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'number')) {
    throw new InvalidUpstreamResponse(`${provider} returned an embedding without numeric values`);
  }
  return values as number[];
}

/** OpenAI's embedding list for some vectors (base64 when the request asked for it). */
export function embeddingList(vectors: number[][], promptTokens: number, ctx: ParseContext, provider: string): UnifiedResponse {
  const input = ctx.request.body.input;
  const expected = Array.isArray(input) ? input.length : 1;
  if (vectors.length !== expected) {
    throw new InvalidUpstreamResponse(`${provider} returned ${vectors.length} embeddings for ${expected} inputs`);
  }
  const base64 = ctx.request.body.encoding_format === 'base64';
  return {
    object: 'list',
    data: vectors.map((values, index) => ({ object: 'embedding', index, embedding: base64 ? base64Vector(values) : values })),
    model: ctx.request.body.model as string | undefined,
    usage: { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens },
  };
}

/** The Gemini API embedding request: `:embedContent` for one string, `:batchEmbedContents` for an array. */
export function buildGoogleEmbedRequest(req: UnifiedRequest, target: ResolvedTarget): UpstreamRequest {
  const model = modelName(req.body);
  const { texts, single } = embeddingInput(req.body, 'google');
  const dimensions = dimensionsOf(req.body);
  checkEncodingFormat(req.body);
  const one = (text: string): JsonObject => ({
    content: { parts: [{ text }] },
    ...(dimensions !== undefined ? { outputDimensionality: dimensions } : {}),
  });
  const base = `${googleBase(target)}/models/${encodeURIComponent(model)}`;
  const body = single
    ? one(texts[0]!)
    : { requests: texts.map((text) => ({ model: `models/${model}`, ...one(text) })) };
  return { url: `${base}${single ? ':embedContent' : ':batchEmbedContents'}`, method: 'POST', headers: googleHeaders(target), body };
}

/** Prompt tokens a Google embedding reply reports (`usageMetadata.promptTokenCount`), else 0. */
function reportedTokens(body: JsonObject): number {
  const usage = isObject(body.usageMetadata) ? body.usageMetadata : {};
  return typeof usage.promptTokenCount === 'number' && Number.isFinite(usage.promptTokenCount) ? usage.promptTokenCount : 0;
}

/** Turns `{embedding:{values}}` or `{embeddings:[{values}]}` into OpenAI's embedding list. */
export function parseGoogleEmbedResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse('google returned a body that is not a JSON object');
  let vectors: number[][];
  if (isObject(body.embedding)) vectors = [vectorOf(body.embedding.values, 'google')];
  else if (Array.isArray(body.embeddings)) vectors = body.embeddings.map((e) => vectorOf(isObject(e) ? e.values : undefined, 'google'));
  else throw new InvalidUpstreamResponse('google returned an embedding response without embedding(s)');
  return embeddingList(vectors, reportedTokens(body), ctx, 'google');
}
