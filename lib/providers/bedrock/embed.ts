/**
 * Bedrock embeddings through InvokeModel (`POST /model/{modelId}/invoke`), whose body is the
 * model family's own: Amazon Titan Text Embeddings (`{inputText, dimensions?}`, one text per
 * request, answering `{embedding, inputTextTokenCount}`) or Cohere Embed (`{texts, input_type}`,
 * answering `{embeddings: [[...]]}` or, by type, `{embeddings: {float: [[...]]}}`). Replies become
 * an OpenAI `list` of embeddings.
 */
import { InvalidUpstreamResponse } from '../../errors.js';
import { invalid } from '../chat-input.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, UnifiedResponse, Usage } from '../types.js';
import { requestedModel } from './response.js';

/** The embedding model families this adapter can address. */
export type EmbedFamily = 'titan' | 'cohere';

/**
 * The family of a model id, by its provider prefix (also behind a cross-region prefix such as
 * `us.` or inside an ARN); any other family is refused, naming `model`.
 */
export function embedFamily(modelId: string): EmbedFamily {
  if (/(^|[./:])amazon\.titan-embed/.test(modelId)) return 'titan';
  if (/(^|[./:])cohere\.embed/.test(modelId)) return 'cohere';
  throw invalid(`model ${JSON.stringify(modelId)} is not an embedding model bedrock can address (amazon.titan-embed-* or cohere.embed-*)`, 'model');
}

/** OpenAI `input` as texts: a string or an array of strings (token arrays are not taken). */
function inputTexts(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) throw invalid('input must be a string or a non-empty array of strings', 'input');
  input.forEach((text, k) => {
    if (typeof text !== 'string') throw invalid(`input[${k}] must be a string (bedrock takes no token arrays)`, `input[${k}]`);
  });
  return input as string[];
}

/** OpenAI `dimensions`, checked: a positive integer, or absent. */
function dimensionsOf(body: JsonObject): number | undefined {
  const value = body.dimensions;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid('dimensions must be a positive integer', 'dimensions');
  return value;
}

/** The InvokeModel body for an OpenAI embedding request to `modelId`. */
export function translateEmbeddingBody(body: JsonObject, modelId: string): JsonObject {
  const family = embedFamily(modelId);
  const texts = inputTexts(body.input);
  const format = body.encoding_format;
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') {
    throw invalid("encoding_format must be 'float' or 'base64'", 'encoding_format');
  }
  const dimensions = dimensionsOf(body);
  if (family === 'titan') {
    if (texts.length > 1) {
      throw invalid(`input holds ${texts.length} texts, but bedrock Titan embedding models take one per request: send one text per request`, 'input');
    }
    return { inputText: texts[0]!, ...(dimensions !== undefined ? { dimensions } : {}) };
  }
  if (dimensions !== undefined) throw invalid('dimensions is not supported by bedrock Cohere embed models', 'dimensions');
  return { texts, input_type: 'search_document' };
}

/** A vector of finite numbers, or an invalid upstream response. */
function vector(value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new InvalidUpstreamResponse('bedrock returned an embedding that is not an array of numbers');
  }
  return value as number[];
}

/** The vectors of a Titan or Cohere reply, and the input token count when the reply has one. */
function vectorsOf(body: JsonObject): { vectors: number[][]; tokens: number } {
  if (body.embedding !== undefined) {
    const tokens = typeof body.inputTextTokenCount === 'number' ? body.inputTextTokenCount : 0;
    return { vectors: [vector(body.embedding)], tokens };
  }
  const list = isObject(body.embeddings) ? body.embeddings.float : body.embeddings;
  if (!Array.isArray(list)) throw new InvalidUpstreamResponse('bedrock returned an embedding reply without embedding or embeddings');
  // Cohere's InvokeModel reply carries no token count.
  return { vectors: list.map(vector), tokens: 0 };
}

/** Little-endian float32 bytes as base64: what OpenAI answers for `encoding_format: "base64"`. */
function base64Of(values: number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

/** Turns a Titan or Cohere InvokeModel reply into an OpenAI embedding `list`. */
export function parseEmbeddingResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse('bedrock returned a body that is not a JSON object');
  const { vectors, tokens } = vectorsOf(body);
  const base64 = ctx.request.body.encoding_format === 'base64';
  const usage: Usage = { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
  return {
    object: 'list',
    data: vectors.map((values, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(values) : values })),
    model: requestedModel(ctx),
    usage,
  };
}
