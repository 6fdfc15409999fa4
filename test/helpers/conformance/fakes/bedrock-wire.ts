/**
 * The two binary/crypto layers of the Bedrock fake, written from AWS's documentation with
 * node:crypto only (independent of the `aws4` and `@smithy/eventstream-codec` libraries the
 * adapter uses): SigV4 verification (IAM user guide, "Create a signed AWS API request") and the
 * event-stream message encoding (`application/vnd.amazon.eventstream`) with a CRC-32 of our own.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Credentials the fake accepts: one IAM key pair (and session token), and optionally an API key. */
export interface BedrockFakeOptions {
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** A Bedrock API key, accepted as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
}

const SERVICE = 'bedrock';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const SKEW_MS = 5 * 60_000;

// ---------------------------------------------------------------- SigV4 (IAM user guide)

/** SHA-256 of a body, lower-case hex: the last line of a SigV4 canonical request. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SigV4's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** decodeURIComponent that leaves a malformed escape as it is. */
export function decodeLoose(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The canonical URI of a non-S3 service: each path segment URI-encoded twice. */
export function canonicalUri(rawPath: string): string {
  return (
    rawPath
      .split('/')
      .map((segment) => uriEncode(uriEncode(decodeLoose(segment))))
      .join('/') || '/'
  );
}

/** The canonical query string: names and values URI-encoded, sorted by name then value. */
export function canonicalQuery(rawQuery: string): string {
  const pairs = rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      const [name, value] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      return `${uriEncode(decodeLoose(name))}=${uriEncode(decodeLoose(value))}`;
    });
  return pairs.sort().join('&');
}

/** What SigV4 signs: the request, the headers to sign (names lower-case) and the payload hash. */
export interface SigV4Input {
  readonly method: string;
  /** Path and query as sent on the wire. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly payloadHash: string;
  readonly amzDate: string;
  readonly region: string;
  readonly service: string;
  readonly secretAccessKey: string;
}

/** Computes a SigV4 signature, with the canonical request and string to sign it came from. */
export function sigV4(input: SigV4Input): {
  canonical: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
} {
  const [path = '/', query = ''] = input.url.split(/\?(.*)/s);
  const names = Object.keys(input.headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(input.headers).map(([n, v]) => [n.toLowerCase(), v]));
  const headerLines = names.map((n) => `${n}:${(lower[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonical = [
    input.method,
    canonicalUri(path),
    canonicalQuery(query),
    headerLines,
    signedHeaders,
    input.payloadHash,
  ].join('\n');
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonical)].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const signingKey = [date, input.region, input.service, 'aws4_request'].reduce<Buffer | string>(
    hmac,
    `AWS4${input.secretAccessKey}`,
  );
  return { canonical, stringToSign, signedHeaders, signature: hmac(signingKey, stringToSign).toString('hex') };
}

/** The verified credential (access key id or API key), or Bedrock's refusal. */
export type AuthResult =
  { ok: true; credential: string } | { ok: false; status: number; type: string; message: string };
const deny = (type: string, message: string, status = 403): AuthResult => ({ ok: false, status, type, message });

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Header values from rawHeaders: names lower-cased, repeats joined with ',' as SigV4 wants. */
function headerMap(raw: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = (raw[i + 1] ?? '').trim().replace(/\s+/g, ' ');
    map.set(name, map.has(name) ? `${map.get(name)},${value}` : value);
  }
  return map;
}

const amzTime = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** X-Amz-Date must be within 5 minutes of the fake's clock. */
function checkClock(amzDate: string): AuthResult | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) {
    const message = `X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z', got '${amzDate}'.`;
    return deny('IncompleteSignatureException', message, 400);
  }
  const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const now = Date.now();
  const [early, late] = [amzTime(now - SKEW_MS), amzTime(now + SKEW_MS)];
  if (at < now - SKEW_MS) {
    return deny('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${early} (${amzTime(now)} - 5 min.)`);
  }
  if (at > now + SKEW_MS) {
    return deny('InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ${late} (${amzTime(now)} + 5 min.)`);
  }
  return undefined;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/** The credential scope `AKID/date/region/service/aws4_request`, the token and the date headers. */
function checkScope(opts: BedrockFakeOptions, credential: string, headers: Map<string, string>): AuthResult | undefined {
  const [accessKeyId, date, region, service, terminator, extra] = credential.split('/');
  if (accessKeyId !== opts.accessKeyId) return deny('UnrecognizedClientException', INVALID_TOKEN);
  if (headers.get('x-amz-security-token') !== opts.sessionToken) return deny('UnrecognizedClientException', INVALID_TOKEN);
  if (extra !== undefined || terminator !== 'aws4_request') {
    const message = `Credential should be scoped with a valid terminator: 'aws4_request', in '${credential}'.`;
    return deny('IncompleteSignatureException', message, 400);
  }
  if (service !== SERVICE) {
    return deny('InvalidSignatureException', `Credential should be scoped to correct service: '${SERVICE}', not '${service}'.`);
  }
  if (region !== opts.region) {
    return deny('InvalidSignatureException', `Credential should be scoped to a valid region: '${opts.region}', not '${region}'.`);
  }
  const amzDate = headers.get('x-amz-date');
  if (!amzDate) {
    const message = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
    return deny('IncompleteSignatureException', message, 400);
  }
  if (date === amzDate.slice(0, 8)) return checkClock(amzDate);
  const message = `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`;
  return deny('InvalidSignatureException', message);
}

/** Recomputes the signature over the headers the request says it signed, and compares. */
function checkSignature(
  opts: BedrockFakeOptions,
  request: { method: string; url: string; headers: Map<string, string>; body: Buffer },
  signedHeaders: string,
  signature: string,
): AuthResult {
  const names = signedHeaders.split(';');
  const missing = ['host', 'x-amz-date'].find((must) => !names.includes(must));
  if (missing) return deny('InvalidSignatureException', `'${missing}' must be a 'SignedHeader' in the AWS Authorization.`);
  const headers = Object.fromEntries(names.map((name) => [name, request.headers.get(name) ?? '']));
  const amzDate = request.headers.get('x-amz-date') ?? '';
  const { method, url } = request;
  const { region, secretAccessKey } = opts;
  const payloadHash = sha256Hex(request.body);
  const expected = sigV4({ method, url, headers, payloadHash, amzDate, region, service: SERVICE, secretAccessKey });
  if (sameText(expected.signature, signature) && expected.signedHeaders === signedHeaders) {
    return { ok: true, credential: opts.accessKeyId };
  }
  return deny(
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
      'and signing method. Consult the service documentation for details.\n\n' +
      `The Canonical String for this request should have been\n'${expected.canonical}'\n\n` +
      `The String-to-Sign should have been\n'${expected.stringToSign}'\n`,
  );
}

/** Verifies the request's Authorization the way Bedrock does, before anything else is looked at. */
export function authenticate(
  opts: BedrockFakeOptions,
  method: string,
  url: string,
  rawHeaders: readonly string[],
  body: Buffer,
): AuthResult {
  const headers = headerMap(rawHeaders);
  const authorization = headers.get('authorization');
  if (!authorization) return deny('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const bearer = /^Bearer (.+)$/i.exec(authorization);
  if (bearer) {
    const key = opts.apiKey;
    return key !== undefined && sameText(bearer[1]!.trim(), key) ? { ok: true, credential: key } : deny('UnrecognizedClientException', INVALID_TOKEN);
  }
  const parts = AUTHORIZATION.exec(authorization);
  if (!parts) {
    const message = `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' after 'AWS4-HMAC-SHA256 ', comma-separated: '${authorization}'.`;
    return deny('IncompleteSignatureException', message, 400);
  }
  const [credential, signedHeaders, signature] = [parts[1]!, parts[2]!, parts[3]!];
  return checkScope(opts, credential, headers) ?? checkSignature(opts, { method, url, headers, body }, signedHeaders, signature);
}

// ---------------------------------------------------------------- event stream encoding

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (the GZIP/IEEE polynomial) the event-stream prelude and message checksums use. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One event-stream message: prelude (total, headers length, CRC), string headers (type 7), payload, CRC. */
export function encodeFrame(headers: Readonly<Record<string, string>>, payload: Uint8Array): Buffer {
  const encoded = Object.entries(headers).map(([name, value]) => {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    const head = Buffer.alloc(4);
    head.writeUInt8(7, 0);
    head.writeUInt16BE(v.length, 1);
    return Buffer.concat([Buffer.from([n.length]), n, head.subarray(0, 3), v]);
  });
  const headerBytes = Buffer.concat(encoded);
  const total = 12 + headerBytes.length + payload.length + 4;
  const frame = Buffer.alloc(total);
  frame.writeUInt32BE(total, 0);
  frame.writeUInt32BE(headerBytes.length, 4);
  frame.writeUInt32BE(crc32(frame.subarray(0, 8)), 8);
  headerBytes.copy(frame, 12);
  Buffer.from(payload).copy(frame, 12 + headerBytes.length);
  frame.writeUInt32BE(crc32(frame.subarray(0, total - 4)), total - 4);
  return frame;
}
