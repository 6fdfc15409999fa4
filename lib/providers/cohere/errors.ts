/**
 * Cohere error classification: a non-2xx reply (`{message}` or `{id, message}`, as the v2 API
 * reference documents every error body) as an error class.
 */
import { classFromStatus, isObject, rawMessage } from '../openai-compatible.js';
import type { ClassifiedError, ErrorClass } from '../types.js';

/**
 * The error class of a Cohere status, past what the status alone says: 402 (the account's billing
 * limit or payment method: the key cannot be used) is `auth`; 498 (a deny-listed token in the
 * request or the response) is `content_filter`; 499 (the request was cancelled, "try the
 * request again") is `server`; a 400 or 422 whose message starts "too many tokens" (the prompt,
 * or prompt plus output, past the model's limits) is `context_length_exceeded`.
 */
export function cohereErrorClass(status: number, message: string): ErrorClass {
  if (status === 402) return 'auth';
  if (status === 498) return 'content_filter';
  if (status === 499) return 'server';
  if ((status === 400 || status === 422) && /too many tokens/i.test(message)) return 'context_length_exceeded';
  return classFromStatus(status);
}

/** Classifies a non-2xx Cohere reply: its `message` (or its text, or its status) and the class of its status. */
export function classifyCohereError(status: number, body: unknown): ClassifiedError {
  const message =
    isObject(body) && typeof body.message === 'string' && body.message !== '' ? body.message : rawMessage(body, 'cohere', status);
  return { errorClass: cohereErrorClass(status, message), message };
}
