/**
 * The provider adapter interface: how one LLM provider's wire format is reached from an
 * OpenAI-format request, and how its replies are turned back into OpenAI format.
 *
 * Adapters are plain objects with no state of their own and no knowledge of Express or of the
 * HTTP client: they build a request description and parse what came back.
 */
import type { ObjectSchema } from 'joi';

/** The three OpenAI-format operations the router serves. */
export type Endpoint = 'chat' | 'completion' | 'embedding';

/**
 * Why an attempt failed, independent of the provider. The predicate (`on_errors`) and traces use
 * these names.
 */
export type ErrorClass =
  | 'rate_limit'
  | 'server'
  | 'timeout'
  | 'network'
  | 'auth'
  | 'context_length_exceeded'
  | 'content_filter'
  | 'bad_request'
  | 'not_found'
  | 'stream_interrupted'
  | 'invalid_response';

/** Every error class, in a stable order (used by validation). */
export const ERROR_CLASSES: readonly ErrorClass[] = [
  'rate_limit',
  'server',
  'timeout',
  'network',
  'auth',
  'context_length_exceeded',
  'content_filter',
  'bad_request',
  'not_found',
  'stream_interrupted',
  'invalid_response',
];

/** A JSON object as sent by the client (OpenAI format). */
export type JsonObject = Record<string, unknown>;

/** The OpenAI-format request after the target's `override_params` were merged over it. */
export interface UnifiedRequest {
  /** Which operation: chat completion, legacy completion or embedding. */
  readonly endpoint: Endpoint;
  /** OpenAI-format body (`model`, `messages` / `prompt` / `input`, ...). Never mutate it. */
  readonly body: JsonObject;
  /** True when the client asked for `stream: true`. */
  readonly stream: boolean;
}

/** A target after config resolution: which provider, with which credentials and settings. */
export interface ResolvedTarget {
  /** Canonical provider name (`openai`, `azure-openai`, `anthropic`, ...). */
  readonly provider: string;
  /** The credential to send upstream, if any. Never logged. */
  readonly apiKey?: string;
  /** API base URL that replaces the provider's default (includes the API version path). */
  readonly baseURL?: string;
  /** Extra headers to send upstream (server-side settings and forwarded client headers). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Provider settings in snake_case, e.g. Azure `resource_name`, `deployment_id`, `api_version`;
   * Anthropic `anthropic_version`.
   */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** What an adapter asks the transport to send. */
export interface UpstreamRequest {
  /** Absolute URL. */
  readonly url: string;
  /** HTTP method; POST when absent. */
  readonly method?: 'POST' | 'GET';
  /** Request headers (the transport adds `content-type` and `accept` when missing). */
  readonly headers: Record<string, string>;
  /** JSON body (serialised by the transport unless `rawBody` is given). */
  readonly body: unknown;
  /**
   * The exact bytes to send, when the adapter serialised the body itself (a signed request must
   * send the bytes it signed). Takes precedence over `body`.
   */
  readonly rawBody?: string | Uint8Array;
}

/** Context handed to {@link ProviderAdapter.parseResponse}. */
export interface ParseContext {
  readonly request: UnifiedRequest;
  readonly target: ResolvedTarget;
  /** Upstream HTTP status (2xx when parseResponse is called). */
  readonly status: number;
}

/** Token counts in OpenAI's naming. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** An OpenAI-format response body (`chat.completion`, `text_completion` or `list`). */
export type UnifiedResponse = JsonObject & { usage?: Usage; model?: string };

/** What {@link ProviderAdapter.classifyError} returns for a non-2xx upstream reply. */
export interface ClassifiedError {
  readonly errorClass: ErrorClass;
  /** The upstream's own message, kept for the client. */
  readonly message: string;
  /** The upstream's own error code (`rate_limit_exceeded`, `overloaded_error`, ...). */
  readonly code?: string;
  /** The upstream's own error type (`invalid_request_error`, ...). */
  readonly type?: string;
  /** The upstream's `param`, when it named one. */
  readonly param?: string;
}

/**
 * One event of an upstream stream: a server-sent event, or a frame of a binary event stream
 * decoded by the adapter's {@link StreamDecoder} (its payload as text in `data`).
 */
export interface StreamEvent {
  /** The event type (SSE `event:`, or a binary frame's type header). */
  readonly event?: string;
  /** The payload as text (JSON for every provider the package knows). */
  readonly data: string;
  readonly id?: string;
}

/** The SSE flavour of {@link StreamEvent} (the name adapters v1 used). */
export type SseEvent = StreamEvent;

/**
 * Turns an upstream stream body into events. The default is server-sent events; a provider with
 * a binary event stream (AWS Bedrock's `application/vnd.amazon.eventstream`, a length-prefixed
 * format) plugs its own in through {@link ProviderAdapter.streamDecoder}.
 */
export interface StreamDecoder {
  /** A 2xx reply whose content-type does not match is an invalid upstream response. */
  readonly contentType: RegExp;
  /**
   * Yields the events of `body` as they arrive and ends when it ends. Throw (or let the body's
   * error through) when the stream is malformed past recovery; the attempt then fails as
   * `stream_interrupted`.
   */
  decode(body: AsyncIterable<unknown>): AsyncIterable<StreamEvent>;
}

/** Response headers of an upstream reply, lower-case names. */
export type ReplyHeaders = Readonly<Record<string, string>>;

/** Mutable per-stream state an adapter may keep between events. */
export interface StreamState {
  [key: string]: unknown;
}

/** An OpenAI-format `chat.completion.chunk` (or `text_completion` chunk). */
export type UnifiedChunk = JsonObject;

/**
 * A provider adapter: translates between the OpenAI format and one provider's wire format.
 *
 * Register one with `options.adapters: { myprovider: adapter }`; the name used in configs is the
 * key. See `examples/custom-adapter.ts`.
 */
export interface ProviderAdapter {
  /** Canonical provider name. */
  readonly name: string;
  /** The operations this provider can serve; a target whose adapter lacks one is skipped. */
  readonly endpoints: ReadonlySet<Endpoint>;
  /** True when the provider can continue a partial assistant message (assistant prefill). */
  readonly supportsPrefill?: boolean;
  /** Most choices one reply can hold (1 for a provider that ignores `n`). @default unlimited */
  readonly maxChoices?: number;
  /** False for providers reached without a key (a local Ollama); a target without one is then valid. @default true */
  readonly requiresApiKey?: boolean;
  /**
   * Settings any one of which stands for the target's credential instead of an api key (Azure's
   * `azure_ad_token`, Bedrock's `aws_access_key_id`, Vertex's `vertex_service_account_json`).
   * A target with no api key and none of these is refused (400 `missing_credentials`) unless
   * {@link requiresApiKey} is false.
   */
  readonly credentialSettings?: readonly string[];
  /**
   * How the upstream reports a stream's usage, so that every attempt's tokens and cost are
   * recorded: `on_request`, only when asked with OpenAI's `stream_options: { include_usage: true }`
   * (the router then asks on every stream); `always`, at the end of every stream (the router waits
   * for it after the finish). Either way the client's stream carries usage only when the client
   * asked for it. Unset: usage is recorded when the stream happens to carry it.
   */
  readonly streamUsage?: 'on_request' | 'always';
  /**
   * This provider's own target settings, as a joi object schema over their snake_case names
   * (e.g. Azure `resource_name`, `deployment_id`, `api_version`). A config target, an
   * `options.providers` entry or a virtual key may set exactly these; they reach
   * {@link buildRequest} in `target.settings`. Absent: the provider takes no settings.
   */
  readonly settings?: ObjectSchema;
  /**
   * Builds the upstream HTTP request; may return a promise (SigV4 signing, an OAuth token).
   * `signal` aborts when the attempt is abandoned (client gone, hedge lost, timeout): pass it
   * to any I/O. Throw a `ConfigError` for a target that lacks a setting the provider needs, a
   * `RequestError` (400, `param` naming the field) for a message the provider cannot take.
   */
  buildRequest(req: UnifiedRequest, target: ResolvedTarget, signal: AbortSignal): UpstreamRequest | Promise<UpstreamRequest>;
  /**
   * Turns a 2xx upstream JSON body into an OpenAI-format body. Throw `InvalidUpstreamResponse`
   * when the body does not have the provider's shape.
   */
  parseResponse(body: unknown, ctx: ParseContext): UnifiedResponse;
  /** How the upstream stream is framed. @default 'sse' */
  readonly streamDecoder?: 'sse' | StreamDecoder;
  /** Turns one upstream stream event into zero or more OpenAI-format chunks. */
  parseStreamEvent?(event: StreamEvent, state: StreamState, ctx: ParseContext): UnifiedChunk[];
  /**
   * Classifies a non-2xx upstream reply (its parsed JSON body, or its text when not JSON, and
   * its headers).
   */
  classifyError(status: number, body: unknown, headers: ReplyHeaders): ClassifiedError;
}

/** Identity helper that only gives an adapter literal its type. */
export function defineProviderAdapter<T extends ProviderAdapter>(adapter: T): T {
  return adapter;
}
