/**
 * Bedrock error classification. A non-2xx Bedrock Runtime reply names its exception in the
 * `x-amzn-errortype` header (`ValidationException:http://...`) and, in the AWS JSON error shape,
 * in the body's `__type`; its text is the body's `message` (or `Message`). Exceptions inside a
 * ConverseStream arrive as event-stream messages and become `UpstreamStreamError`s here too.
 */
import { UpstreamStreamError } from '../../errors.js';
import { parseJsonText } from '../chat-output.js';
import { classFromStatus, isObject, rawMessage } from '../openai-compatible.js';
import type { ClassifiedError, ErrorClass, ReplyHeaders } from '../types.js';

interface KnownException {
  /** The HTTP status the Bedrock Runtime API reference gives it. */
  readonly status: number;
  readonly errorClass: ErrorClass;
}

/**
 * The exceptions of the Bedrock Runtime API (Converse, ConverseStream, InvokeModel) and the
 * generic AWS authentication ones, with their documented statuses.
 */
const KNOWN: Readonly<Record<string, KnownException>> = {
  AccessDeniedException: { status: 403, errorClass: 'auth' },
  UnrecognizedClientException: { status: 403, errorClass: 'auth' },
  InvalidSignatureException: { status: 403, errorClass: 'auth' },
  ExpiredTokenException: { status: 403, errorClass: 'auth' },
  IncompleteSignature: { status: 400, errorClass: 'auth' },
  ResourceNotFoundException: { status: 404, errorClass: 'not_found' },
  ThrottlingException: { status: 429, errorClass: 'rate_limit' },
  ServiceQuotaExceededException: { status: 400, errorClass: 'rate_limit' },
  ModelTimeoutException: { status: 408, errorClass: 'timeout' },
  InternalServerException: { status: 500, errorClass: 'server' },
  ServiceUnavailableException: { status: 503, errorClass: 'server' },
  ModelNotReadyException: { status: 429, errorClass: 'server' },
  ModelErrorException: { status: 424, errorClass: 'server' },
  ModelStreamErrorException: { status: 424, errorClass: 'server' },
  ValidationException: { status: 400, errorClass: 'bad_request' },
};

/** A ValidationException whose message says the prompt does not fit the model. */
function isContextMessage(message: string): boolean {
  return /input is too long|too long for (the )?(requested )?model|prompt is too long|context (length|window)|too many (input )?tokens/i.test(message);
}

/** The exception name out of `x-amzn-errortype` (before the first `:`) or a `__type` (after the last `#`). */
function exceptionName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = value.split(':')[0]!.split('#').pop()!.trim();
  return name === '' ? undefined : name;
}

/** The error class of a Bedrock exception name at a status (the status decides for an unknown name). */
export function bedrockErrorClass(code: string | undefined, status: number, message: string): ErrorClass {
  const known = code === undefined ? undefined : KNOWN[code];
  if (known === undefined) return classFromStatus(status);
  if (code === 'ValidationException' && isContextMessage(message)) return 'context_length_exceeded';
  return known.errorClass;
}

/** The body as an object, parsing it when it came as JSON text; undefined when it is none. */
function bodyObject(body: unknown): Record<string, unknown> | undefined {
  const parsed = parseJsonText(body);
  return isObject(parsed) ? parsed : undefined;
}

/** The AWS error text: `message`, or `Message` (both spellings occur). */
function messageIn(obj: Record<string, unknown> | undefined): string | undefined {
  return [obj?.message, obj?.Message].find((m): m is string => typeof m === 'string' && m !== '');
}

/**
 * Classifies a non-2xx Bedrock reply: the exception from `x-amzn-errortype`, else the body's
 * `__type`; the message from the body's `message` / `Message`, else its text, else the status.
 */
export function classifyBedrockError(status: number, body: unknown, headers: ReplyHeaders): ClassifiedError {
  const obj = bodyObject(body);
  const code = exceptionName(headers['x-amzn-errortype']) ?? exceptionName(obj?.__type) ?? exceptionName(obj?.code);
  const message = messageIn(obj) ?? (obj === undefined ? rawMessage(body, 'bedrock', status) : `bedrock returned HTTP ${status}`);
  const errorClass = bedrockErrorClass(code, status, message);
  return code === undefined ? { errorClass, message } : { errorClass, message, code };
}

/**
 * An exception (or error message) inside a ConverseStream, as the failure it stands for: its
 * documented status and class (an unknown one counts as a 500). `type` is its
 * `:exception-type` (`throttlingException`) or `:error-code`.
 */
export function bedrockStreamError(type: string, data: string): UpstreamStreamError {
  const code = type === '' ? 'UnknownException' : type[0]!.toUpperCase() + type.slice(1);
  const message = messageIn(bodyObject(data)) ?? `bedrock stream ${type || 'error'}`;
  const status = KNOWN[code]?.status ?? 500;
  return new UpstreamStreamError(message, status, bedrockErrorClass(code, status, message), code);
}
