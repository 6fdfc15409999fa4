/**
 * Property-based checks of the router's edges (SPEC §10, hardening issue #10 item 9):
 *
 *   (h) a control character (other than the CR, LF and NUL refused since 0.1) in a config value
 *       bound for an upstream header is refused with a 400 naming the field, and no upstream is
 *       called: never silently stripped and sent;
 *   (i) error messages never quote JavaScript internals, whatever keys a config holds
 *       (`constructor`, `__proto__`, `toString`...): no `function Object()`, no `[native code]`,
 *       no `[object Object]`;
 *   (j) a request refused before its body is read (401, 404, 413, 415) still gets its answer while
 *       the client is uploading a large body on a `Connection: close` socket: a status, not a
 *       reset connection;
 *   (k) GET /logs with any query and GET /logs/:traceId with any id answer below 500, errors in
 *       OpenAI's shape.
 *
 * Fixed seeds (in the test names), bounded runs and time. PROPERTY_RUNS scales the run counts.
 */
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startFake, type Fake } from '../helpers/fake-providers.js';
import { EVIL_KEYS, SEED, clip, errorShapeProblems, jsonHeader, objectOf, oddValueArb } from './arbitraries.js';
import { checkProperty, startHarness, type Harness } from './harness.js';

const SCALE = Number(process.env.PROPERTY_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

const GATEWAY_KEY = 'gw-edges-key';
const BODY_LIMIT = 1024 * 1024;

let openai: Fake;
let azure: Fake;
let anthropic: Fake;
let harness: Harness;

before(async () => {
  [openai, azure, anthropic] = await Promise.all([startFake('openai'), startFake('azure'), startFake('anthropic')]);
  harness = await startHarness({
    providers: {
      openai: { apiKey: 'sk-edges-openai', baseURL: openai.baseURL },
      azure_openai: { apiKey: 'az-edges', baseURL: azure.baseURL, deploymentId: 'gpt4o' },
      anthropic: { apiKey: 'sk-ant-edges', baseURL: anthropic.baseURL },
    },
    virtualKeys: { 'vk-openai': { provider: 'openai', apiKey: 'sk-edges-vk', baseURL: openai.baseURL } },
    auth: { apiKeys: [GATEWAY_KEY] },
    bodyLimit: BODY_LIMIT,
  });
});

after(async () => {
  await harness.close();
  await Promise.all([openai.close(), azure.close(), anthropic.close()]);
});

const CHAT_BODY = JSON.stringify({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });

describe(`the router's edges, seed ${SEED}`, () => {
  test(`(h) a control character in a header-bound config value is a 400 naming the field, and nothing is sent (seed ${SEED + 201})`, async (t) => {
    // C0 controls but HTAB, LF, CR and NUL (refused since 0.1), and DEL.
    const control = fc.constantFrom(...[...Array.from({ length: 31 }, (_, i) => i + 1), 0x7f].filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d).map((c) => String.fromCharCode(c)));
    const placeArb = fc.constantFrom(
      { provider: 'openai', field: 'api_key' },
      { provider: 'openai', field: 'organization' },
      { provider: 'openai', field: 'project' },
      { provider: 'anthropic', field: 'api_key' },
      { provider: 'anthropic', field: 'anthropic_version' },
      { provider: 'anthropic', field: 'anthropic_beta' },
      { provider: 'azure-openai', field: 'azure_ad_token' },
      { provider: 'azure-openai', field: 'api_key' },
    );
    const caseArb = fc.record({
      place: placeArb,
      before: fc.string({ unit: fc.constantFrom(...'abcdef0123456789-'), minLength: 1, maxLength: 12 }),
      control,
      after: fc.string({ unit: fc.constantFrom(...'abcdef0123456789-'), maxLength: 12 }),
      nested: fc.boolean(),
      inBody: fc.boolean(),
    });
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, async ({ place, before, control, after, nested, inBody }) => {
        for (const fake of [openai, azure, anthropic]) fake.reset();
        const value = `${before}${control}${after}`;
        const leaf = {
          provider: place.provider,
          ...(place.field === 'api_key' ? {} : { api_key: 'sk-client-key-0000' }),
          [place.field]: value,
          ...(place.provider === 'anthropic' ? { override_params: { model: 'claude-3-5-sonnet-20240620' } } : {}),
        };
        const config = nested ? { strategy: { mode: 'fallback' }, targets: [leaf] } : leaf;
        const reply = await harness.send(0, {
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json', 'x-portkey-api-key': GATEWAY_KEY, ...(inBody ? {} : { 'x-portkey-config': jsonHeader(config) }) },
          body: inBody ? JSON.stringify({ ...JSON.parse(CHAT_BODY), config }) : CHAT_BODY,
        });
        const upstreamCalls = openai.received.length + azure.received.length + anthropic.received.length;
        const param = (reply.json as { error?: { param?: unknown } } | undefined)?.error?.param;
        if (reply.status !== 400 || typeof param !== 'string' || !param.endsWith(place.field) || upstreamCalls > 0) {
          throw new Error(
            `${place.provider} ${place.field} holding U+${control.charCodeAt(0).toString(16).padStart(4, '0')}: status ${reply.status}, param ${String(param)}, ${upstreamCalls} upstream calls; ${clip(reply.text, 300)}`,
          );
        }
      }),
      runs(40),
      2_500,
      SEED + 201,
    );
  });

  test(`(i) error messages never quote JavaScript internals, whatever keys a config holds (seed ${SEED + 202})`, async (t) => {
    const evil = fc.constantFrom(...EVIL_KEYS, 'prototype', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString');
    const levelArb = fc.constantFrom('root', 'target', 'strategy', 'retry', 'cb_config', 'override_params');
    const caseArb = fc.record({ key: evil, value: fc.oneof(oddValueArb, fc.constant({}), fc.constant(null)), level: levelArb, inBody: fc.boolean() });
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, async ({ key, value, level, inBody }) => {
        const entry = [[key, value]] as const;
        const leaf = (extra: ReadonlyArray<readonly [string, unknown]> = []): Record<string, unknown> => objectOf([['provider', 'openai'], ...extra]);
        const config =
          level === 'root'
            ? leaf(entry)
            : level === 'target'
              ? { strategy: { mode: 'fallback' }, targets: [leaf(entry)] }
              : level === 'strategy'
                ? { strategy: objectOf([['mode', 'fallback'], ...entry]), targets: [leaf()] }
                : level === 'retry'
                  ? leaf([['retry', objectOf(entry)]])
                  : level === 'cb_config'
                    ? { strategy: { mode: 'fallback', cb_config: objectOf(entry) }, targets: [leaf()] }
                    : leaf([['override_params', objectOf(entry)]]);
        const configText = jsonHeader(config);
        const reply = await harness.send(0, {
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json', 'x-portkey-api-key': GATEWAY_KEY, ...(inBody ? {} : { 'x-portkey-config': configText }) },
          body: inBody ? `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"config":${configText}}` : CHAT_BODY,
        });
        if (/function \w*\(|\[native code\]|\[object Object\]|\bundefined is not\b|Cannot read propert/.test(reply.text)) {
          throw new Error(`status ${reply.status} quotes JavaScript internals: ${clip(reply.text, 300)}\nconfig: ${configText}`);
        }
        if (reply.status >= 500) throw new Error(`status ${reply.status}: ${clip(reply.text, 300)}\nconfig: ${configText}`);
      }),
      runs(80),
      2_500,
      SEED + 202,
    );
  });

  test(`(j) a request refused before its body is read still gets its answer while a large body is uploaded (seed ${SEED + 203})`, async (t) => {
    const caseArb = fc.record({
      why: fc.constantFrom<Refusal>('401 bad gateway key', '404 unknown path', '413 body over the limit', '415 content type', '401 no gateway key'),
      size: fc.integer({ min: 256 * 1024, max: 3 * 1024 * 1024 }),
      chunk: fc.constantFrom(16 * 1024, 64 * 1024, 256 * 1024),
      paceMs: fc.constantFrom(0, 0, 1, 5),
      express: fc.constantFrom<0 | 1>(0, 1),
    });
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, async ({ why, size, chunk, paceMs, express }) => {
        const expected = Number(why.slice(0, 3));
        const bodySize = why.startsWith('413') ? Math.max(size, BODY_LIMIT + 1) : Math.min(size, BODY_LIMIT - 1024);
        const headers: Record<string, string> = { 'content-type': why.startsWith('415') ? 'text/plain' : 'application/json', 'x-portkey-provider': 'openai' };
        if (why !== '401 no gateway key') headers['x-portkey-api-key'] = why.startsWith('401') ? 'not-the-key' : GATEWAY_KEY;
        const path = why.startsWith('404') ? '/v1/no/such/path' : '/v1/chat/completions';
        // A paced upload stays well under the router's drain time (2 s in the working tree).
        const chunkSize = paceMs > 0 ? Math.max(chunk, 64 * 1024) : chunk;
        const result = await upload(harness.origins[express], path, headers, bodySize, chunkSize, paceMs);
        if (result.status !== expected || result.error !== undefined) {
          throw new Error(`${why}, ${bodySize} bytes in ${chunkSize}-byte chunks ${paceMs} ms apart on Connection: close: got status ${String(result.status)}${result.error ? `, client error ${result.error}` : ''} (${result.written} bytes written)`);
        }
      }),
      runs(16),
      6_000,
      SEED + 203,
    );
  });
});

describe(`the logs routes, seed ${SEED}`, () => {
  test(`(k) GET /v1/logs with any query, and /v1/logs/:traceId with any id, answer below 500 (seed ${SEED + 204})`, async (t) => {
    const valueArb = fc.oneof(
      fc.constantFrom('', '0', '1', '50', '500', '501', '-1', '1e3', '9999999999999', 'NaN', 'null', '2024-01-01T00:00:00Z', 'not a date', '8.64e15', '[]', '__proto__', '%00', '%E0%A4%A'),
      fc.string({ maxLength: 12 }),
      fc.integer({ min: 300, max: 5_000 }).map((n) => 'x'.repeat(n)),
    );
    const queryArb = fc.array(
      fc.tuple(fc.constantFrom('limit', 'before', 'trace_id', 'config_id', 'status', 'provider', 'limit[]', 'limit[a]', '__proto__', 'constructor', 'x'), valueArb),
      { maxLength: 4 },
    );
    const caseArb = fc.oneof(
      queryArb.map((q) => `/v1/logs?${q.map(([k, v]) => `${k}=${/%/.test(v) ? v : encodeURIComponent(v)}`).join('&')}`),
      fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('__proto__', 'constructor', '..', '%2e%2e', 'a%2Fb', '%', '%00', 'x'.repeat(4_000))).map((id) => `/v1/logs/${/%/.test(id) ? id : encodeURIComponent(id)}`),
    );
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, fc.constantFrom<0 | 1>(0, 1), async (path, app) => {
        const reply = await harness.send(app, { method: 'GET', path, headers: { 'x-portkey-api-key': GATEWAY_KEY } });
        const problems = errorShapeProblems(reply.status, reply.json);
        if (reply.status >= 500 || problems.length > 0) throw new Error(`GET ${clip(path, 200)}: ${reply.status} ${problems.join('; ')} ${clip(reply.text, 300)}`);
      }),
      runs(80),
      2_500,
      SEED + 204,
    );
  });
});

type Refusal = '401 bad gateway key' | '404 unknown path' | '413 body over the limit' | '415 content type' | '401 no gateway key';

/**
 * POSTs `size` bytes of a JSON-looking body in chunks (`paceMs` apart, with backpressure) on
 * `Connection: close`, and reports the status that came back and any client-side error (a reset,
 * a broken pipe).
 */
function upload(origin: string, path: string, headers: Record<string, string>, size: number, chunk: number, paceMs: number): Promise<{ status?: number; error?: string; written: number }> {
  return new Promise((resolve) => {
    let status: number | undefined;
    let error: string | undefined;
    let written = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...(status !== undefined ? { status } : {}), ...(error !== undefined ? { error } : {}), written });
    };
    const timer = setTimeout(() => {
      error ??= 'no answer within 8 s';
      req.destroy();
      finish();
    }, 8_000);
    const req = http.request(`${origin}${path}`, { method: 'POST', agent: false, headers: { ...headers, connection: 'close', 'content-length': String(size) } }, (res) => {
      status = res.statusCode;
      res.resume();
      res.on('end', finish);
      res.on('error', (err: NodeJS.ErrnoException) => {
        error ??= err.code ?? err.message;
        finish();
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      error ??= err.code ?? err.message;
      // The response may still be on its way: give it a moment before reporting.
      setTimeout(finish, 50);
    });
    const piece = Buffer.alloc(chunk, 0x20);
    const head = Buffer.from('{"messages":[{"role":"user","content":"');
    const pump = (): void => {
      while (written < size && !req.destroyed) {
        const n = Math.min(chunk, size - written);
        const buf = written === 0 ? Buffer.concat([head, piece]).subarray(0, n) : piece.subarray(0, n);
        written += n;
        const more = req.write(buf);
        if (written >= size) break;
        if (!more) {
          req.once('drain', pump);
          return;
        }
        if (paceMs > 0) {
          setTimeout(pump, paceMs);
          return;
        }
      }
      if (written >= size && !req.destroyed) req.end();
    };
    pump();
  });
}
