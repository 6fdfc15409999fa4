/** Anthropic error classification: a non-2xx reply (or a stream error event) as an error class. */
import { parseJsonText } from '../chat-output.js';
import { isObject } from '../openai-compatible.js';
import type { ClassifiedError, ErrorClass } from '../types.js';

function isContextMessage(message: string): boolean {
  return /prompt is too long/i.test(message) || (/context/i.test(message) && /too long|exceed/i.test(message));
}

function classFromType(type: string | undefined, message: string): ErrorClass | undefined {
  switch (type) {
    case 'rate_limit_error':
      return 'rate_limit';
    case 'authentication_error':
    case 'permission_error':
      return 'auth';
    case 'not_found_error':
      return 'not_found';
    case 'request_too_large':
      return 'bad_request';
    case 'api_error':
    case 'overloaded_error':
      return 'server';
    case 'invalid_request_error':
      return isContextMessage(message) ? 'context_length_exceeded' : undefined;
    default:
      return undefined;
  }
}

function classFromStatus(status: number): ErrorClass {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status === 413) return 'bad_request';
  if (status >= 500) return 'server'; // includes 529 overloaded
  if (status >= 400) return 'bad_request';
  return 'server';
}

/** The error class of an Anthropic error `type` (e.g. `overloaded_error`) at a given status. */
export function anthropicErrorClass(status: number, type: string | undefined, message: string): ErrorClass {
  return classFromType(type, message) ?? classFromStatus(status);
}

/**
 * Classifies a non-2xx Anthropic reply: its `{type:"error",error:{type,message}}` body (parsed,
 * or as text), else its text, else its status.
 */
export function classifyAnthropicError(status: number, body: unknown): ClassifiedError {
  const parsed = parseJsonText(body);
  const err = isObject(parsed) && isObject(parsed.error) ? parsed.error : undefined;
  const type = typeof err?.type === 'string' && err.type !== '' ? err.type : undefined;
  let message: string;
  if (typeof err?.message === 'string' && err.message !== '') message = err.message;
  else if (typeof body === 'string' && body.trim() !== '') {
    const text = body.trim();
    message = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  } else message = `Anthropic returned HTTP ${status}`;

  const errorClass = anthropicErrorClass(status, type, message);
  return type === undefined ? { errorClass, message } : { errorClass, message, code: type, type };
}
