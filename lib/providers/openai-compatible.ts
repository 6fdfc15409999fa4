/**
 * The base shared by providers that speak OpenAI's own wire format (OpenAI, Azure OpenAI, Groq,
 * Together, DeepSeek, Mistral, ...): they differ by URL, auth header and small quirks.
 */
import type { ObjectSchema } from 'joi';
import { ConfigError, InvalidUpstreamResponse, UpstreamStreamError } from '../errors.js';
import type {
  ClassifiedError,
  Endpoint,
  ErrorClass,
  JsonObject,
  ParseContext,
  ProviderAdapter,
  ReplyHeaders,
  ResolvedTarget,
  SseEvent,
  StreamState,
  UnifiedChunk,
  UnifiedRequest,
  UnifiedResponse,
  UpstreamRequest,
} from './types.js';

/** OpenAI's path for each endpoint, relative to the API base. */
export const OPENAI_PATHS: Readonly<Record<Endpoint, string>> = {
  chat: '/chat/completions',
  completion: '/completions',
  embedding: '/embeddings',
};

/**
 * `url` without its trailing slashes. A scan from the end, not `replace(/\/+$/, '')`: that regex
 * retries from every slash of a long run that is not at the end, quadratic in its length.
 */
export function trimTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end--;
  return end === url.length ? url : url.slice(0, end);
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(base: string, path: string): string {
  return trimTrailingSlashes(base) + path;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shape each endpoint's successful OpenAI reply must have. */
function checkOpenAIShape(endpoint: Endpoint, body: unknown, provider: string): UnifiedResponse {
  if (!isObject(body)) {
    throw new InvalidUpstreamResponse(`${provider} returned a body that is not a JSON object`);
  }
  if (!Array.isArray(body.choices) && endpoint !== 'embedding') {
    throw new InvalidUpstreamResponse(`${provider} returned a ${endpoint} response without choices`);
  }
  if (endpoint === 'embedding' && !Array.isArray(body.data)) {
    throw new InvalidUpstreamResponse(`${provider} returned an embedding response without data`);
  }
  return body as UnifiedResponse;
}

/** Error class from an HTTP status, before any code in the body is considered. */
export function classFromStatus(status: number): ErrorClass {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  return 'bad_request';
}

/** Shortens a non-JSON error body to something safe to return. */
export function rawMessage(body: unknown, provider: string, status: number): string {
  if (typeof body === 'string' && body.trim() !== '') {
    const text = body.trim();
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  }
  return `${provider} returned HTTP ${status}`;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Statuses at which OpenAI-compatible servers report an over-long prompt (Together answers
 * 403, vLLM/TGI-based servers 400 or 422, some 413), and the wordings they use.
 */
const CONTEXT_STATUSES = new Set([400, 403, 413, 422]);
const CONTEXT_MESSAGE = /maximum context length|context window|context length|tokens \+ `?max_new_tokens`? must be <=|prompt is too long/i;

/** Classifies an OpenAI-format error body `{error:{message,type,code,param}}`. */
export function classifyOpenAIError(provider: string, status: number, body: unknown): ClassifiedError {
  const err = isObject(body) && isObject(body.error) ? body.error : undefined;
  // Some OpenAI-compatible servers answer `{ "error": "text" }` or `{ "message": "text" }`.
  const message =
    str(err?.message) ??
    (isObject(body) ? str(body.error) ?? str(body.message) : undefined) ??
    rawMessage(body, provider, status);
  const code = str(err?.code) ?? (typeof err?.code === 'number' ? String(err.code) : undefined);
  const type = str(err?.type);
  const param = str(err?.param);
  let errorClass = classFromStatus(status);
  const hint = `${code ?? ''} ${type ?? ''}`;
  if (/context_length_exceeded|string_above_max_length/.test(hint)) errorClass = 'context_length_exceeded';
  else if (/content_filter|content_policy/.test(hint)) errorClass = 'content_filter';
  else if (CONTEXT_STATUSES.has(status) && CONTEXT_MESSAGE.test(message)) {
    errorClass = 'context_length_exceeded';
  }
  const result: { -readonly [K in keyof ClassifiedError]: ClassifiedError[K] } = { errorClass, message };
  if (code !== undefined) result.code = code;
  if (type !== undefined) result.type = type;
  if (param !== undefined) result.param = param;
  return result;
}

/**
 * Parses one OpenAI-format stream event: its data is already a chunk (or `[DONE]`). A chunk that
 * carries an `error` object throws `UpstreamStreamError` (500, `server`, the upstream's code).
 */
export function parseOpenAIStreamEvent(
  event: SseEvent,
  _state: StreamState,
  _ctx: ParseContext,
): UnifiedChunk[] {
  if (event.data === '[DONE]') return [];
  let chunk: unknown;
  try {
    chunk = JSON.parse(event.data);
  } catch {
    throw new InvalidUpstreamResponse('stream event is not valid JSON');
  }
  if (!isObject(chunk)) throw new InvalidUpstreamResponse('stream event is not a JSON object');
  if (isObject(chunk.error)) {
    const { message, code } = chunk.error;
    const upstreamCode = str(code) ?? (typeof code === 'number' ? String(code) : undefined);
    throw new UpstreamStreamError(str(message) ?? 'upstream stream error', 500, 'server', upstreamCode);
  }
  return [chunk];
}

/** Settings that make an OpenAI-compatible adapter. */
export interface OpenAICompatibleSpec {
  /** Canonical provider name. */
  name: string;
  /** Default API base, including the version path, e.g. `https://api.openai.com/v1`. */
  defaultBaseURL: string;
  /** Endpoints the provider serves; all three when absent. */
  endpoints?: readonly Endpoint[];
  /** Auth headers for a key; `Authorization: Bearer` when absent. */
  authHeaders?: (apiKey: string) => Record<string, string>;
  /** Extra headers from provider settings. */
  settingHeaders?: (settings: Readonly<Record<string, unknown>>) => Record<string, string>;
  /** Whether the provider can continue an assistant message. */
  supportsPrefill?: boolean;
  /** How the provider reports stream usage (ProviderAdapter.streamUsage). @default unset */
  streamUsage?: 'on_request' | 'always';
  /** False when the provider is reached without a key. @default true */
  requiresApiKey?: boolean;
  /** Settings that stand for a credential instead of a key (ProviderAdapter.credentialSettings). */
  credentialSettings?: readonly string[];
  /**
   * The provider's own target settings (joi object schema over snake_case names), read by
   * `settingHeaders`. @default none: the provider takes no settings
   */
  settings?: ObjectSchema;
  /**
   * Rewrites the OpenAI body into what this provider takes (renamed or dropped fields, ids in
   * its format). Returns a new object: `body` must not be mutated. @default the body as it is
   */
  transformBody?: (body: JsonObject, req: UnifiedRequest) => JsonObject;
  /**
   * Classifies a non-2xx reply whose body is in the provider's own error format.
   * @default classifyOpenAIError
   */
  classifyError?: (status: number, body: unknown, headers: ReplyHeaders) => ClassifiedError;
}

/** An OpenAI-compatible adapter: its requests are built synchronously. */
export interface OpenAICompatibleAdapter extends ProviderAdapter {
  buildRequest(req: UnifiedRequest, target: ResolvedTarget, signal?: AbortSignal): UpstreamRequest;
}

/** Builds an adapter for a provider that speaks OpenAI's own wire format. */
export function openAICompatibleAdapter(spec: OpenAICompatibleSpec): OpenAICompatibleAdapter {
  const authHeaders = spec.authHeaders ?? ((key: string) => ({ authorization: `Bearer ${key}` }));
  return {
    name: spec.name,
    endpoints: new Set(spec.endpoints ?? ['chat', 'completion', 'embedding']),
    supportsPrefill: spec.supportsPrefill ?? false,
    ...(spec.streamUsage ? { streamUsage: spec.streamUsage } : {}),
    requiresApiKey: spec.requiresApiKey ?? true,
    ...(spec.credentialSettings ? { credentialSettings: spec.credentialSettings } : {}),
    ...(spec.settings ? { settings: spec.settings } : {}),
    buildRequest(req: UnifiedRequest, target: ResolvedTarget): UpstreamRequest {
      const base = target.baseURL ?? spec.defaultBaseURL;
      if (base === '') {
        throw new ConfigError(`${spec.name} target needs a baseURL (options.providers or a virtual key)`, 'baseURL', 'missing_provider_setting');
      }
      const headers: Record<string, string> = {
        ...target.headers,
        ...(spec.settingHeaders ? spec.settingHeaders(target.settings) : {}),
        ...(target.apiKey ? authHeaders(target.apiKey) : {}),
      };
      const body = spec.transformBody ? spec.transformBody(req.body, req) : req.body;
      return { url: joinUrl(base, OPENAI_PATHS[req.endpoint]), headers, body };
    },
    parseResponse(body: unknown, ctx: ParseContext): UnifiedResponse {
      return checkOpenAIShape(ctx.request.endpoint, body, spec.name);
    },
    parseStreamEvent: parseOpenAIStreamEvent,
    classifyError(status: number, body: unknown, headers: ReplyHeaders): ClassifiedError {
      return spec.classifyError ? spec.classifyError(status, body, headers) : classifyOpenAIError(spec.name, status, body);
    },
  };
}
