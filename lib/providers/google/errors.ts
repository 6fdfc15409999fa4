/**
 * Google error classification, for the Gemini API and Vertex AI alike: both answer a failure with
 * a `google.rpc.Status` body, `{ error: { code, message, status, details } }`, whose canonical
 * `status` string (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...) says more than the HTTP status.
 */
import { parseJsonText } from '../chat-output.js';
import { classFromStatus, isObject, rawMessage } from '../openai-compatible.js';
import type { ClassifiedError, ErrorClass } from '../types.js';

/** A message that says the prompt is over the model's context window. */
function isContextMessage(message: string): boolean {
  return /input token count.*exceeds the maximum/i.test(message) || /exceeds the maximum number of tokens/i.test(message);
}

/** True when the status's `details` hold an ErrorInfo with reason API_KEY_INVALID (a bad key, sent as a 400). */
function isInvalidKey(details: unknown): boolean {
  return Array.isArray(details) && details.some((d) => isObject(d) && d.reason === 'API_KEY_INVALID');
}

/** The error class of a canonical status string; undefined for one that says nothing more than HTTP. */
function classFromCode(code: string | undefined, message: string): ErrorClass | undefined {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'FAILED_PRECONDITION':
    case 'OUT_OF_RANGE':
      return isContextMessage(message) ? 'context_length_exceeded' : 'bad_request';
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return 'auth';
    case 'NOT_FOUND':
      return 'not_found';
    case 'RESOURCE_EXHAUSTED':
      return 'rate_limit';
    case 'INTERNAL':
    case 'UNAVAILABLE':
      return 'server';
    case 'DEADLINE_EXCEEDED':
      return 'timeout';
    default:
      return undefined;
  }
}

/** The `error` object of a body: parsed JSON, its text, or the array a JSON stream answers with. */
function errorObject(body: unknown): Record<string, unknown> | undefined {
  let parsed = parseJsonText(body);
  if (Array.isArray(parsed)) parsed = parsed[0];
  return isObject(parsed) && isObject(parsed.error) ? parsed.error : undefined;
}

/**
 * The error class of a Google status: by its canonical `status` string, then by HTTP status. An
 * invalid API key (a 400 whose details give reason API_KEY_INVALID) is `auth`.
 */
export function googleErrorClass(status: number, code: string | undefined, message: string, details?: unknown): ErrorClass {
  if (isInvalidKey(details)) return 'auth';
  const byCode = classFromCode(code, message);
  if (byCode !== undefined) return byCode;
  const byStatus = classFromStatus(status);
  return byStatus === 'bad_request' && isContextMessage(message) ? 'context_length_exceeded' : byStatus;
}

/**
 * Classifies a non-2xx Gemini API or Vertex AI reply: `code` is the canonical status string,
 * `message` the upstream's own (or the start of its text).
 */
export function classifyGoogleError(provider: string, status: number, body: unknown): ClassifiedError {
  const err = errorObject(body);
  const code = typeof err?.status === 'string' && err.status !== '' ? err.status : undefined;
  const message = typeof err?.message === 'string' && err.message !== '' ? err.message : rawMessage(body, provider, status);
  const errorClass = googleErrorClass(status, code, message, err?.details);
  return code === undefined ? { errorClass, message } : { errorClass, message, code };
}
