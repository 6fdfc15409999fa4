/**
 * Vertex AI text embeddings: an OpenAI embedding body becomes a `:predict` body,
 * `{ instances: [{ content }], parameters: { outputDimensionality? } }`, and its
 * `predictions[].embeddings.values` (with `statistics.token_count`) OpenAI's embedding list.
 */
import { InvalidUpstreamResponse } from '../../errors.js';
import { checkEncodingFormat, dimensionsOf, embeddingInput, embeddingList, vectorOf } from '../google/index.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject, ParseContext, UnifiedResponse } from '../types.js';

/** The `:predict` body for an OpenAI embedding body. */
export function vertexEmbedBody(body: JsonObject): JsonObject {
  const { texts } = embeddingInput(body, 'vertex-ai');
  const dimensions = dimensionsOf(body);
  checkEncodingFormat(body);
  return {
    instances: texts.map((content) => ({ content })),
    ...(dimensions !== undefined ? { parameters: { outputDimensionality: dimensions } } : {}),
  };
}

/** A prediction's token count (`statistics.token_count`, or `tokenCount`), else 0. */
function tokenCount(embeddings: JsonObject): number {
  const stats = isObject(embeddings.statistics) ? embeddings.statistics : {};
  const count = stats.token_count ?? stats.tokenCount;
  return typeof count === 'number' && Number.isFinite(count) ? count : 0;
}

/** Turns a `:predict` reply into OpenAI's embedding list; the token counts add up to the usage. */
export function parseVertexEmbedResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
  if (!isObject(body)) throw new InvalidUpstreamResponse('vertex-ai returned a body that is not a JSON object');
  if (!Array.isArray(body.predictions)) throw new InvalidUpstreamResponse('vertex-ai returned an embedding response without predictions');
  let tokens = 0;
  const vectors = body.predictions.map((prediction) => {
    const embeddings = isObject(prediction) && isObject(prediction.embeddings) ? prediction.embeddings : {};
    tokens += tokenCount(embeddings);
    return vectorOf(embeddings.values, 'vertex-ai');
  });
  return embeddingList(vectors, tokens, ctx, 'vertex-ai');
}
