/**
 * The contract between the conformance suite (test/conformance/) and the fake providers it runs
 * against (test/helpers/conformance/fakes/). Each fake is a real node:http server on 127.0.0.1,
 * port 0, written from its provider's public API documentation only (never from our adapter),
 * that speaks that provider's wire format, answers what it is scripted to answer, and decodes
 * every request it received into a provider-neutral view the suite asserts on.
 *
 * Adding a provider to the suite is writing one fake to this contract and one row in
 * test/conformance/rows.ts.
 */
import type http from 'node:http';

/** A conversation turn as the provider received it, whatever its wire format. */
export interface NeutralMessage {
  /** `tool` for a tool/function result, whatever the provider calls it. */
  readonly role: 'user' | 'assistant' | 'tool';
  /** The text of the turn (text parts joined with ''), or the tool result's content as text. */
  readonly text: string;
  /** Tool calls an assistant turn carries, arguments parsed to a value. */
  readonly toolCalls?: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly arguments: unknown }>;
  /** For a tool result: the id of the call it answers, when the wire format has ids. */
  readonly toolCallId?: string;
  /** For a tool result: the function's name, when the wire format carries it. */
  readonly toolName?: string;
}

/** One request decoded into the suite's neutral view. */
export interface NeutralRequest {
  readonly kind: 'chat' | 'embedding';
  /** True when the request asked for a streamed answer (by URL or by body). */
  readonly stream: boolean;
  /** The model (or deployment) the provider was asked for, from the URL or the body. */
  readonly model: string;
  /** The system prompt, when one was sent (system parts joined with '\n'). */
  readonly system?: string;
  /** The non-system turns, in order. */
  readonly messages: readonly NeutralMessage[];
  /** Tools declared in the request. */
  readonly tools: ReadonlyArray<{ readonly name: string; readonly description?: string; readonly parameters?: unknown }>;
  /** For an embedding request: the texts to embed. */
  readonly inputs?: readonly string[];
  /** The output-token limit, when one was sent. */
  readonly maxTokens?: number;
  readonly temperature?: number;
  /**
   * The credential the request authenticated with, as the fake checked it: the API key, the
   * bearer token, or (Bedrock) the access key id whose SigV4 signature verified. Undefined when
   * none was sent. A fake that checks signatures answers 403 in the provider's own format when
   * the signature does not verify, before any script is consulted.
   */
  readonly credential?: string;
}

/** Token counts a scripted answer reports, in the provider's own usage fields. */
export interface ScriptUsage {
  readonly input: number;
  readonly output: number;
}

/**
 * The errors the suite asks each fake for. The fake answers each with the status its provider
 * documents for it and the provider's own error body (and headers: for `rate_limit`, the
 * provider's rate-limit headers and `retry-after` when the provider sends one).
 */
export type ErrorKind =
  | 'invalid_request' // 400: a malformed request
  | 'context_length' // 400 (or the provider's status): the prompt exceeds the context window
  | 'unauthenticated' // 401 (403 where the provider has no 401)
  | 'permission' // 403
  | 'not_found' // 404: unknown model
  | 'rate_limit' // 429
  | 'server' // 500
  | 'unavailable' // 503
  | 'overloaded'; // 529 where the provider has it (Anthropic), else its own overload status

/** What the fake answers to one request. */
export type Answer =
  | { readonly kind: 'text'; readonly text: string; readonly finish?: 'stop' | 'length'; readonly usage?: ScriptUsage }
  | {
      readonly kind: 'tool';
      /** Ignored by providers whose wire format has no call ids (Gemini). */
      readonly id: string;
      readonly name: string;
      readonly arguments: Record<string, unknown>;
      readonly usage?: ScriptUsage;
    }
  | { readonly kind: 'embedding'; readonly vectors: readonly (readonly number[])[]; readonly usage?: ScriptUsage }
  | {
      readonly kind: 'stream-text';
      readonly pieces: readonly string[];
      readonly finish?: 'stop' | 'length';
      readonly usage?: ScriptUsage;
      /** Destroy the socket after this many pieces (no finish, no end event). */
      readonly cutAfter?: number;
    }
  | {
      readonly kind: 'stream-tool';
      readonly id: string;
      readonly name: string;
      /** The arguments' JSON text, split into the pieces to stream. */
      readonly argumentPieces: readonly string[];
      readonly usage?: ScriptUsage;
    }
  | {
      readonly kind: 'error';
      readonly error: ErrorKind;
      /** Sent with the error, e.g. `{ 'retry-after': '1' }` on a 429. */
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** A safety block of the answer, where the provider has one (finish reason of its own). */
  | { readonly kind: 'content-filter' };

/** One request as received, before decoding. */
export interface RawReceived {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A running fake provider. */
export interface ConformanceFake {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /**
   * What to give the router as the provider's `baseURL` (options.providers[p].baseURL): the
   * origin plus the version path the provider's default base has (`/v1`, `/v1beta`, `/v2`, or
   * nothing for Bedrock).
   */
  readonly baseURL: string;
  /** Every request received so far, in order. */
  readonly received: readonly RawReceived[];
  /** Decodes `received[index]` (default: the last one) into the neutral view. */
  decode(index?: number): NeutralRequest;
  /** Answers for the next requests, in order; once used up, `{ kind: 'text', text: 'Hello from <provider>' }`. */
  script(...answers: Answer[]): void;
  /** The status this provider documents for an error kind. */
  statusOf(error: ErrorKind): number;
  /** Forgets what was received and scripted. */
  reset(): void;
  close(): Promise<void>;
}
