/**
 * How a Bedrock request is authenticated: with a Bedrock API key (`Authorization: Bearer`, no
 * signature), or with AWS credentials and a Signature Version 4 signature made by `aws4` (service
 * `bedrock`) over the exact bytes sent. Credentials come from the target's settings
 * (`aws_access_key_id` / `aws_secret_access_key` / `aws_session_token`) or from the host's own
 * `get_credentials` function (an IAM role through its AWS SDK credential provider).
 */
import type Aws4 from 'aws4';
import { ConfigError, UpstreamStreamError } from '../../errors.js';
import { withOwnHeaders } from '../chat-input.js';
import { isObject } from '../openai-compatible.js';
import { hasControlCharacter } from '../settings.js';
import type { ResolvedTarget } from '../types.js';

/** AWS credentials as the signer takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The host's credential provider (`get_credentials` / `options.providers.bedrock.getCredentials`). */
export type GetCredentials = () => unknown;

/**
 * Headers of the target's that are never sent as they are: the signer's own (a stale
 * `x-amz-date` or another `authorization` would break or replace the signature) and the ones the
 * transport derives from the request.
 */
const SIGNER_HEADERS = new Set(['authorization', 'host', 'content-length', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']);

/** A string usable in a header: non-empty, with no control character but tab. */
function headerString(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !hasControlCharacter(value);
}

/** The credentials a `get_credentials` call gave, checked; a bad shape is an auth failure. */
function checkedCredentials(value: unknown): AwsCredentials {
  const bad = (): never => {
    throw new UpstreamStreamError('bedrock get_credentials did not return { accessKeyId, secretAccessKey, sessionToken? } strings', 401, 'auth');
  };
  if (!isObject(value) || !headerString(value.accessKeyId) || !headerString(value.secretAccessKey)) return bad();
  const token = value.sessionToken;
  if (token !== undefined && token !== null && !headerString(token)) return bad();
  return {
    accessKeyId: value.accessKeyId,
    secretAccessKey: value.secretAccessKey,
    ...(typeof token === 'string' ? { sessionToken: token } : {}),
  };
}

/** Calls the host's credential provider; what it throws is an auth failure that never quotes it. */
async function fromProvider(getCredentials: GetCredentials): Promise<AwsCredentials> {
  let value: unknown;
  try {
    value = await getCredentials();
  } catch (err) {
    throw new UpstreamStreamError('bedrock get_credentials failed to provide AWS credentials', 401, 'auth', undefined, { cause: err });
  }
  return checkedCredentials(value);
}

/**
 * The target's AWS credentials: the key pair of its settings (with the session token, if any),
 * else what `get_credentials` gives. A key id without its secret (or the reverse) is a
 * ConfigError naming the missing one, as is a target with neither.
 */
export async function resolveCredentials(settings: Readonly<Record<string, unknown>>): Promise<AwsCredentials> {
  const id = settings.aws_access_key_id;
  const secret = settings.aws_secret_access_key;
  const token = settings.aws_session_token;
  if (typeof id === 'string' && typeof secret === 'string') {
    return { accessKeyId: id, secretAccessKey: secret, ...(typeof token === 'string' ? { sessionToken: token } : {}) };
  }
  if (typeof id === 'string') {
    throw new ConfigError('bedrock target has aws_access_key_id but no aws_secret_access_key', 'aws_secret_access_key', 'missing_provider_setting');
  }
  if (typeof secret === 'string') {
    throw new ConfigError('bedrock target has aws_secret_access_key but no aws_access_key_id', 'aws_access_key_id', 'missing_provider_setting');
  }
  if (typeof settings.get_credentials === 'function') return fromProvider(settings.get_credentials as GetCredentials);
  throw new ConfigError(
    'bedrock target needs an api_key (a Bedrock API key), aws_access_key_id with aws_secret_access_key, or get_credentials',
    'aws_access_key_id',
    'missing_provider_setting',
  );
}

/** SigV4's timestamp: `YYYYMMDDTHHMMSSZ`. */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/** `aws4`, loaded when a request is first signed: a router with no Bedrock target never holds it. */
let aws4Module: Promise<typeof Aws4> | undefined;
function loadAws4(): Promise<typeof Aws4> {
  aws4Module ??= import('aws4').then((m: { default?: typeof Aws4 }) => m.default ?? (m as unknown as typeof Aws4));
  return aws4Module;
}

/** What {@link signRequest} signs. */
export interface SignInput {
  readonly url: string;
  /** The exact body bytes that will be sent. */
  readonly body: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** The headers to send besides the signer's (content-type, accept, the target's own). */
  readonly headers: Readonly<Record<string, string>>;
  /** The signing time (tests); now by default. */
  readonly now?: Date;
}

/**
 * Signs a POST with SigV4 for service `bedrock`: every header sent is signed (but those `aws4`
 * leaves out by design, such as `user-agent`), including `host`, `content-length`, `x-amz-date`
 * and the session token as `x-amz-security-token`. The path is signed as sent: `aws4` encodes its
 * segments once more, as SigV4 wants for every service but S3, so a model id's `%3A` is signed as
 * `%253A`. Returns every header to send, lower-case.
 */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const aws4 = await loadAws4();
  const url = new URL(input.url);
  const { credentials } = input;
  const ours: Record<string, string> = {
    host: url.host,
    'content-length': String(Buffer.byteLength(input.body, 'utf8')),
    'x-amz-date': amzDate(input.now ?? new Date()),
  };
  if (credentials.sessionToken !== undefined) ours['x-amz-security-token'] = credentials.sessionToken;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    if (!SIGNER_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  const signed = aws4.sign(
    { method: 'POST', host: url.host, path: url.pathname + url.search, service: 'bedrock', region: input.region, headers: { ...headers, ...ours }, body: input.body },
    { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken !== undefined ? { sessionToken: credentials.sessionToken } : {}) },
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/**
 * The headers of one Bedrock request: ours (`content-type`, `accept`) over the target's, then
 * the credential: a Bedrock API key (`target.apiKey`) as `Authorization: Bearer`, or a SigV4
 * signature over them all and `body`.
 */
export async function authHeaders(target: ResolvedTarget, url: string, body: string, region: string, accept: string): Promise<Record<string, string>> {
  const ours: Record<string, string> = { 'content-type': 'application/json', accept };
  if (target.apiKey) return withOwnHeaders(target, { ...ours, authorization: `Bearer ${target.apiKey}` });
  const credentials = await resolveCredentials(target.settings);
  return signRequest({ url, body, region, credentials, headers: withOwnHeaders(target, ours) });
}
