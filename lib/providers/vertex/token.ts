/**
 * Vertex AI access tokens. A target's credential is, in this order: its `api_key` (an OAuth
 * access token as it is), the host's `get_access_token` function, or a service account
 * (`vertex_service_account_json`) traded for a token with a JWT bearer grant signed RS256
 * (Google's OAuth 2.0 for server-to-server applications).
 *
 * Tokens are cached per service account until 60 s before they expire; concurrent requests
 * share one fetch; a failed fetch is not cached. A service account may come from a client's
 * config, so its `token_uri` must be https on a `*.googleapis.com` host (or a host the server
 * allowed): it never points the server at an arbitrary host. No message ever holds the private
 * key, the assertion or a token.
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import axios from 'axios';
import { ConfigError, UpstreamStreamError } from '../../errors.js';
import { isObject } from '../openai-compatible.js';
import { hasControlCharacter } from '../settings.js';
import type { ResolvedTarget } from '../types.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** How long a token fetch may take. */
export const TOKEN_TIMEOUT_MS = 10_000;
/** A cached token is used until this long before it expires. */
const EXPIRY_MARGIN_MS = 60_000;
/** Most service accounts whose tokens are cached (client configs may bring many). */
const MAX_CACHED = 1000;
const SA_PARAM = 'vertex_service_account_json';

/** A service account's fields, read and checked. */
export interface ServiceAccount {
  readonly clientEmail: string;
  readonly privateKey: string;
  readonly privateKeyId?: string;
  readonly tokenUri: string;
  /** client_email and a hash of the key (and token_uri): what the cache is keyed by. */
  readonly cacheKey: string;
}

/** Options of a token source. */
export interface TokenSourceOptions {
  /** `host:port` values a `token_uri` may name besides `*.googleapis.com` (over http or https). */
  readonly tokenHosts?: readonly string[];
  /** The clock, in ms. @default Date.now */
  readonly now?: () => number;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The token_uri, if it may be called: https on *.googleapis.com, or an allowed host. */
function checkTokenUri(uri: string, tokenHosts: ReadonlySet<string>): string {
  const param = `${SA_PARAM}.token_uri`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ConfigError(`${param} is not a valid URL`, param, 'host_not_allowed');
  }
  const plain = url.username === '' && url.password === '';
  if (plain && (url.protocol === 'https:' || url.protocol === 'http:') && tokenHosts.has(url.host.toLowerCase())) return url.href;
  const google = url.hostname === 'googleapis.com' || url.hostname.endsWith('.googleapis.com');
  if (plain && url.protocol === 'https:' && google && url.port === '') return url.href;
  throw new ConfigError(`${param} must be an https URL on a *.googleapis.com host`, param, 'host_not_allowed');
}

/** Reads `vertex_service_account_json` (a JSON string or an object). Throws ConfigError naming what is wrong. */
export function readServiceAccount(value: unknown, tokenHosts: ReadonlySet<string>): ServiceAccount {
  let raw: unknown = value;
  if (typeof value === 'string') {
    try {
      raw = JSON.parse(value);
    } catch {
      throw new ConfigError(`${SA_PARAM} is not valid JSON`, SA_PARAM);
    }
  }
  if (!isObject(raw)) throw new ConfigError(`${SA_PARAM} must be a service account key (a JSON object)`, SA_PARAM);
  const clientEmail = str(raw.client_email);
  const privateKey = str(raw.private_key);
  if (clientEmail === undefined) throw new ConfigError(`${SA_PARAM}.client_email is required`, `${SA_PARAM}.client_email`);
  if (privateKey === undefined) throw new ConfigError(`${SA_PARAM}.private_key is required`, `${SA_PARAM}.private_key`);
  const tokenUri = checkTokenUri(str(raw.token_uri) ?? DEFAULT_TOKEN_URI, tokenHosts);
  const keyHash = createHash('sha256').update(privateKey).digest('hex');
  const privateKeyId = str(raw.private_key_id);
  return {
    clientEmail,
    privateKey,
    ...(privateKeyId !== undefined ? { privateKeyId } : {}),
    tokenUri,
    cacheKey: `${clientEmail}\n${keyHash}\n${tokenUri}`,
  };
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** The signed JWT assertion for a service account (RS256; valid one hour from `nowMs`). */
export function signAssertion(sa: ServiceAccount, nowMs: number): string {
  let key;
  try {
    key = createPrivateKey(sa.privateKey);
  } catch {
    throw new ConfigError(`${SA_PARAM}.private_key is not a valid PEM private key`, `${SA_PARAM}.private_key`);
  }
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(sa.privateKeyId !== undefined ? { kid: sa.privateKeyId } : {}) };
  const claims = { iss: sa.clientEmail, sub: sa.clientEmail, aud: sa.tokenUri, scope: SCOPE, iat, exp: iat + 3600 };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  let signature: Buffer;
  try {
    signature = sign('sha256', Buffer.from(input), key);
  } catch {
    throw new ConfigError(`${SA_PARAM}.private_key cannot sign RS256 (an RSA private key is needed)`, `${SA_PARAM}.private_key`);
  }
  return `${input}.${base64url(signature)}`;
}

/** `promise`, or the signal's reason once it aborts (then `onAbort` runs once). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => void = () => {}): Promise<T> {
  if (signal.aborted) {
    onAbort();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

/** A token as a header value: `Bearer ` dropped; empty or with a control character is refused. */
function headerToken(value: unknown, what: string): string {
  const token = typeof value === 'string' ? value.trim().replace(/^Bearer\s+/i, '') : '';
  if (token === '') throw new UpstreamStreamError(`vertex-ai: ${what} gave no access token (a non-empty string is needed)`, 401, 'auth');
  if (hasControlCharacter(token)) throw new UpstreamStreamError(`vertex-ai: ${what} gave an access token that cannot go in a header`, 401, 'auth');
  return token;
}

/** Why the token endpoint refused, in its own words (`error`, `error_description`), shortened. */
function refusalReason(text: string, assertion: string): string {
  let reason = '';
  try {
    const body: unknown = JSON.parse(text);
    if (isObject(body)) reason = [str(body.error), str(body.error_description)].filter((s) => s !== undefined).join(': ');
  } catch {
    // Not JSON: no reason given.
  }
  reason = reason.split(assertion).join('***');
  return reason.length > 200 ? `${reason.slice(0, 200)}…` : reason;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

interface Flight {
  readonly promise: Promise<CachedToken>;
  readonly controller: AbortController;
  waiters: number;
}

/** Where a Vertex AI adapter gets its access tokens (one cache per adapter). */
export class TokenSource {
  private readonly cache = new Map<string, CachedToken>();
  private readonly flights = new Map<string, Flight>();
  private readonly tokenHosts: ReadonlySet<string>;
  private readonly now: () => number;

  constructor(options: TokenSourceOptions = {}) {
    this.tokenHosts = new Set((options.tokenHosts ?? []).map((h) => h.toLowerCase()));
    this.now = options.now ?? Date.now;
  }

  /** The access token for a target: its api_key, then get_access_token, then its service account. */
  async accessToken(target: ResolvedTarget, signal: AbortSignal): Promise<string> {
    if (target.apiKey) return headerToken(target.apiKey, 'api_key');
    const fn = target.settings.get_access_token;
    if (typeof fn === 'function') return this.fromFunction(fn as () => unknown, signal);
    const account = target.settings[SA_PARAM];
    if (account === undefined || account === null) {
      throw new ConfigError(`vertex-ai target needs credentials: an api_key (an access token), get_access_token or ${SA_PARAM}`, SA_PARAM, 'missing_provider_setting');
    }
    return this.fromServiceAccount(readServiceAccount(account, this.tokenHosts), signal);
  }

  private async fromFunction(fn: () => unknown, signal: AbortSignal): Promise<string> {
    let value: unknown;
    try {
      value = await untilAborted(Promise.resolve().then(fn), signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new UpstreamStreamError('vertex-ai: get_access_token failed', 401, 'auth', undefined, { cause: err });
    }
    return headerToken(value, 'get_access_token');
  }

  private async fromServiceAccount(sa: ServiceAccount, signal: AbortSignal): Promise<string> {
    const cached = this.cache.get(sa.cacheKey);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.token;
    let flight = this.flights.get(sa.cacheKey);
    if (flight === undefined) {
      const controller = new AbortController();
      const promise = this.fetchToken(sa, controller.signal).finally(() => this.flights.delete(sa.cacheKey));
      // Every waiter may leave before it settles: its rejection must never go unhandled.
      promise.catch(() => {});
      flight = { promise, controller, waiters: 0 };
      this.flights.set(sa.cacheKey, flight);
    }
    const shared = flight;
    shared.waiters += 1;
    // The fetch is abandoned only when every request waiting on it was.
    const token = await untilAborted(shared.promise, signal, () => {
      shared.waiters -= 1;
      if (shared.waiters === 0) shared.controller.abort(signal.reason);
    });
    return token.token;
  }

  private async fetchToken(sa: ServiceAccount, signal: AbortSignal): Promise<CachedToken> {
    const assertion = signAssertion(sa, this.now());
    let reply;
    try {
      reply = await axios.post<string>(sa.tokenUri, new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        signal,
        timeout: TOKEN_TIMEOUT_MS,
        proxy: false,
        maxRedirects: 0,
        maxContentLength: 1024 * 1024,
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = isObject(err) && typeof err.code === 'string' ? ` (${err.code})` : '';
      throw new UpstreamStreamError(`vertex-ai: the token endpoint could not be reached${code}`, 502, 'network');
    }
    return this.store(sa, reply.status, typeof reply.data === 'string' ? reply.data : '', assertion);
  }

  private store(sa: ServiceAccount, status: number, text: string, assertion: string): CachedToken {
    if (status < 200 || status >= 300) {
      const reason = refusalReason(text, assertion);
      const message = `vertex-ai: the token endpoint refused the service account (HTTP ${status}${reason ? `, ${reason}` : ''})`;
      throw new UpstreamStreamError(message, status >= 500 ? 502 : 401, status >= 500 ? 'server' : 'auth');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!isObject(body) || str(body.access_token) === undefined) {
      throw new UpstreamStreamError('vertex-ai: the token endpoint answered without an access_token', 502, 'invalid_response');
    }
    const token = headerToken(body.access_token, 'the token endpoint');
    const expiresIn = Number(body.expires_in);
    const seconds = body.expires_in !== undefined && Number.isFinite(expiresIn) ? expiresIn : 3600;
    const entry = { token, expiresAt: this.now() + seconds * 1000 - EXPIRY_MARGIN_MS };
    this.cache.delete(sa.cacheKey);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(sa.cacheKey, entry);
    return entry;
  }
}
