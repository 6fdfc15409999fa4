/**
 * Property-based credential safety (SPEC §10, hardening issue #10 items 1 and 7), on a router that
 * lets clients choose a `custom_host` (`allowCustomHost: true`) with one allowlisted origin, and
 * holds every kind of server-side secret: provider keys, an OpenAI organization and project,
 * server-side `headers` (an `authorization` header of an `openai-compatible` provider), an Azure
 * `azureAdToken`, and virtual keys.
 *
 *   (e) whatever config a client sends (generated from the config grammar, with custom_host in
 *       every address form pointing at "attacker" upstreams outside the allowlist), nothing
 *       configured on the server side reaches those upstreams, in any header, URL or body;
 *   (f) a custom_host on a link-local or cloud-metadata address, in any spelling, is refused
 *       with a 400 naming custom_host, even with the client's own key;
 *   (g) an upstream error that echoes the credential it received (`Incorrect API key provided:
 *       sk-...`, in the message, other fields, plain text) reaches neither the client nor
 *       GET /v1/logs nor a log line.
 *
 * Fixed seeds (in the test names), bounded runs and time. PROPERTY_RUNS scales the run counts.
 */
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { errorBodyFor, startFake, type Behaviour, type Fake, type FakeKind } from '../helpers/fake-providers.js';
import {
  LINK_LOCAL_HOSTS,
  SEED,
  clip,
  configArb,
  customHostArb,
  hostForms,
  errorShapeProblems,
  jsonHeader,
  leaks,
  objectOf,
  secretArb,
  toJson,
} from './arbitraries.js';
import { checkProperty, startHarness, type Harness, type Reply, type WireRequest } from './harness.js';

const SCALE = Number(process.env.PROPERTY_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

const GATEWAY_KEY = 'gw-SERVERSIDE-credentials-7d3e1a';
const CLIENT_KEY = 'client-own-key-may-go-anywhere';

/** Everything configured on the server side that must never reach a host the client chose. */
const SERVER = {
  openaiKey: 'sk-SERVERSIDE-openai-a1b2c3d4e5',
  openaiOrg: 'org-SERVERSIDE-orgid-f6a7b8c9',
  openaiProject: 'proj_SERVERSIDE_proj_0d1e2f3a',
  openaiHeader: 'SERVERSIDE-openai-hdr-4b5c6d7e',
  azureKey: 'azSERVERSIDEazurekey8f9a0b1c',
  azureAdToken: 'eyJSERVERSIDE.adtoken.2d3e4f5a',
  anthropicKey: 'sk-ant-SERVERSIDE-anth-6b7c8d9e',
  compatBearer: 'SERVERSIDE-compat-bearer-0f1a2b3c',
  groqKey: 'gsk_SERVERSIDE_groq_4d5e6f7a',
  vkOpenaiKey: 'sk-SERVERSIDE-vkopenai-8b9c0d1e',
  vkOpenaiOrg: 'org-SERVERSIDE-vkorg-2f3a4b5c',
  vkAzureAd: 'eyJSERVERSIDE.vkadtoken.6d7e8f9a',
  vkAnthropicKey: 'sk-ant-SERVERSIDE-vkanth-0b1c2d3e',
  gateway: GATEWAY_KEY,
} as const;

let openai: Fake;
let azure: Fake;
let anthropic: Fake;
/** Allowlisted: server credentials may go there. */
let allowed: Fake;
/** Outside the allowlist, one per wire format: nothing of the server's may reach them. */
let attackers: Fake[];
let harness: Harness;

before(async () => {
  [openai, azure, anthropic, allowed] = await Promise.all([startFake('openai'), startFake('azure'), startFake('anthropic'), startFake('openai', 'allowed')]);
  attackers = await Promise.all([startFake('openai', 'attacker-openai'), startFake('anthropic', 'attacker-anthropic'), startFake('azure', 'attacker-azure')]);
  harness = await startHarness({
    providers: {
      openai: { apiKey: SERVER.openaiKey, baseURL: openai.baseURL, organization: SERVER.openaiOrg, project: SERVER.openaiProject, headers: { 'x-server-secret': SERVER.openaiHeader } },
      azure_openai: { apiKey: SERVER.azureKey, baseURL: azure.baseURL, deploymentId: 'gpt4o' },
      anthropic: { apiKey: SERVER.anthropicKey, baseURL: anthropic.baseURL },
      'openai-compatible': { baseURL: openai.baseURL, headers: { authorization: `Bearer ${SERVER.compatBearer}` } },
      groq: { apiKey: SERVER.groqKey, baseURL: openai.baseURL },
    },
    virtualKeys: {
      'vk-openai': { provider: 'openai', apiKey: SERVER.vkOpenaiKey, organization: SERVER.vkOpenaiOrg, baseURL: openai.baseURL },
      'vk-azure': { provider: 'azure-openai', azureAdToken: SERVER.vkAzureAd, baseURL: azure.baseURL, deploymentId: 'gpt4o' },
      'vk-anthropic': { provider: 'anthropic', apiKey: SERVER.vkAnthropicKey, baseURL: anthropic.baseURL },
    },
    auth: { apiKeys: [GATEWAY_KEY] },
    allowCustomHost: true,
    customHostAllowlist: [allowed.origin],
    logs: { captureBodies: true },
  });
});

after(async () => {
  await harness.close();
  await Promise.all([openai, azure, anthropic, allowed, ...attackers].map((f) => f.close()));
});

/**
 * A chat request carrying `config` in the x-portkey-config header, or in the body's `config`
 * field when it is too large for a header (Node refuses more than 16 KB of headers).
 */
function chat(config: unknown, traceId?: string, stream = false): WireRequest {
  const text = jsonHeader(config);
  const inHeader = text.length <= 8_000;
  const params = `"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]${stream ? ',"stream":true' : ''}`;
  return {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      'content-type': 'application/json',
      'x-portkey-api-key': GATEWAY_KEY,
      ...(inHeader ? { 'x-portkey-config': text } : {}),
      ...(traceId ? { 'x-portkey-trace-id': traceId } : {}),
    },
    body: inHeader ? `{${params}}` : `{${params},"config":${toJson(config)}}`,
  };
}

/** The config of a request built by {@link chat}, for messages. */
function configOf(req: WireRequest): string {
  return clip(req.headers['x-portkey-config'] ?? req.body ?? '', 1200);
}

function resetFakes(): void {
  for (const fake of [openai, azure, anthropic, allowed, ...attackers]) fake.reset();
}

/** Every server-side secret found in what `fake` received: [secret name, where]. */
function secretsReceived(fake: Fake): string[] {
  const found: string[] = [];
  for (const r of fake.received) {
    const places: Array<[string, string]> = [
      ['url', r.url],
      ['headers', JSON.stringify(r.headers)],
      ['body', r.raw],
    ];
    for (const [name, secret] of Object.entries(SERVER)) {
      for (const [where, text] of places) if (leaks(text, secret)) found.push(`${name} in the ${where} (${r.method} ${r.url})`);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// (e) server-side credentials never reach a client-chosen host outside the allowlist

describe(`custom_host and server-side credentials, seed ${SEED}`, () => {
  test(`(e) nothing configured on the server side reaches a client-chosen host outside the allowlist (seed ${SEED + 101})`, async (t) => {
    const targetOrigins = [...attackers.map((a) => a.origin), allowed.origin];
    const hostArb = fc.oneof(
      { arbitrary: fc.constantFrom(...attackers.flatMap((a) => hostForms(a.origin))), weight: 6 },
      { arbitrary: customHostArb(targetOrigins), weight: 2 },
    );
    // Mostly valid configs whose targets use the server's credentials (or the client's own key,
    // beside which server-side headers and settings could still travel), with custom_host on
    // the root, a group or a target; now and then any config of the grammar.
    const leafArb = fc
      .tuple(
        fc.constantFrom<Record<string, unknown>>(
          { provider: 'openai' },
          { provider: 'azure-openai' },
          { provider: 'azure_openai', deployment_id: 'gpt4o' },
          { provider: 'anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
          { provider: 'openai-compatible' },
          { provider: 'groq' },
          { virtual_key: 'vk-openai' },
          { virtual_key: 'vk-azure' },
          { virtual_key: 'vk-anthropic', override_params: { model: 'claude-3-5-sonnet-20240620' } },
          { provider: 'openai', api_key: CLIENT_KEY },
          { provider: 'openai', api_key: CLIENT_KEY, stream_mode: 'buffered' },
          { provider: 'openai-compatible', api_key: CLIENT_KEY },
          { provider: 'openai-compatible', api_key: CLIENT_KEY, override_params: { user: 'u' } },
          { provider: 'azure-openai', api_key: CLIENT_KEY },
          { provider: 'azure-openai', api_key: CLIENT_KEY, deployment_id: 'd' },
          { provider: 'anthropic', api_key: CLIENT_KEY },
          { provider: 'anthropic', api_key: CLIENT_KEY, override_params: { model: 'claude-3-5-sonnet-20240620' } },
        ),
        fc.option(hostArb, { nil: undefined, freq: 2 }),
      )
      .map(([leaf, host]) => (host === undefined ? leaf : { ...leaf, custom_host: host }));
    const groupArb = fc
      .tuple(fc.constantFrom('fallback', 'loadbalance', 'single'), fc.array(leafArb, { minLength: 1, maxLength: 3 }), fc.option(hostArb, { nil: undefined, freq: 2 }))
      .map(([mode, targets, host]) => ({ strategy: { mode }, targets, ...(host === undefined ? {} : { custom_host: host }) }));
    const configArbE = fc.oneof(
      { arbitrary: leafArb, weight: 3 },
      { arbitrary: groupArb, weight: 3 },
      { arbitrary: fc.tuple(groupArb, groupArb).map(([a, b]) => ({ strategy: { mode: 'fallback' }, targets: [a, b] })), weight: 1 },
      { arbitrary: configArb({ origins: targetOrigins, apiKey: fc.constant(CLIENT_KEY), maxDepth: 2 }), weight: 1 },
    );
    const caseArb = fc.record({
      config: configArbE,
      rootHost: fc.option(hostArb, { nil: undefined, freq: 3 }),
      stream: fc.boolean(),
    });
    let n = 0;
    let reached = 0;
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, async ({ config, rootHost, stream }) => {
        resetFakes();
        for (const fake of [openai, azure, anthropic, allowed, ...attackers]) fake.always(stream ? { kind: 'stream' } : { kind: 'ok' });
        const withHost = rootHost === undefined ? config : objectOf([...Object.entries(config), ['custom_host', rootHost]]);
        const sent = chat(withHost, `prop-e-${++n}`, stream);
        let reply: Reply;
        try {
          reply = await harness.send(0, sent);
        } catch (err) {
          throw new Error(`no answer: ${(err as Error).message}\nconfig: ${configOf(sent)}`);
        }
        if (attackers.some((a) => a.received.length > 0)) reached += 1;
        const found = attackers.flatMap(secretsReceived);
        if (found.length > 0) {
          throw new Error(`server-side secrets reached a host outside the allowlist (status ${reply.status}): ${found.join('; ')}\nconfig: ${configOf(sent)}`);
        }
        const shape = errorShapeProblems(reply.status, reply.json);
        if (shape.length > 0) throw new Error(`${shape.join('; ')}: status ${reply.status} ${clip(reply.text, 300)}\nconfig: ${configOf(sent)}`);
      }),
      runs(200),
      6_000,
      SEED + 101,
    );
    t.diagnostic(`${reached} runs reached a host outside the allowlist`);
  });

  test(`(f) a link-local or cloud-metadata custom_host is refused with a 400 naming custom_host (seed ${SEED + 102})`, async (t) => {
    const caseArb = fc.record({
      host: fc.constantFrom(...LINK_LOCAL_HOSTS),
      path: fc.constantFrom('', '/v1', '/latest/meta-data/iam/security-credentials/', '/computeMetadata/v1/?recursive=true'),
      where: fc.constantFrom<'root' | 'target' | 'nested'>('root', 'target', 'nested'),
      provider: fc.constantFrom('openai', 'anthropic', 'azure-openai', 'openai-compatible', 'groq'),
      ownKey: fc.boolean(),
    });
    await checkProperty(
      t,
      fc.asyncProperty(caseArb, async ({ host, path, where, provider, ownKey }) => {
        resetFakes();
        const customHost = `${host.replace(/\/$/, '')}${path}`;
        const leaf: Record<string, unknown> = { provider, ...(ownKey ? { api_key: CLIENT_KEY } : {}), ...(provider === 'azure-openai' ? { deployment_id: 'gpt4o' } : {}) };
        const config =
          where === 'root'
            ? { ...leaf, custom_host: customHost, request_timeout: 300 }
            : where === 'target'
              ? { strategy: { mode: 'fallback' }, request_timeout: 300, targets: [{ ...leaf, custom_host: customHost }] }
              : { strategy: { mode: 'fallback' }, request_timeout: 300, custom_host: customHost, targets: [{ strategy: { mode: 'single' }, targets: [leaf] }] };
        const reply = await harness.send(0, chat(config));
        const param = (reply.json as { error?: { param?: unknown } } | undefined)?.error?.param;
        if (reply.status !== 400 || typeof param !== 'string' || !param.includes('custom_host')) {
          throw new Error(`expected a 400 naming custom_host, got ${reply.status} ${clip(reply.text, 300)}\nconfig: ${JSON.stringify(config)}`);
        }
      }),
      runs(60),
      3_000,
      SEED + 102,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (g) an upstream error that echoes the credential it was sent is masked

type Route = 'fallback openai' | 'fallback azure' | 'fallback anthropic' | 'virtual key openai' | 'virtual key anthropic' | 'config api_key' | 'provider + bearer' | 'openai-compatible header';

interface EchoCase {
  readonly route: Route;
  readonly clientKey: string;
  readonly status: number;
  readonly form: 'message' | 'message, masked tail' | 'param and code' | 'plain text' | 'nested';
}

const ECHO_FORMS: ReadonlyArray<EchoCase['form']> = ['message', 'message, masked tail', 'param and code', 'plain text', 'nested'];

describe(`upstream errors that echo credentials, seed ${SEED}`, () => {
  let n = 0;
  for (const [i, form] of ECHO_FORMS.entries()) {
    const seed = SEED + 111 + i;
    test(`(g) a credential the upstream echoes (${form}) appears in no response, GET /v1/logs or log line (seed ${seed})`, async (t) => {
      const caseArb: fc.Arbitrary<EchoCase> = fc.record({
        route: fc.constantFrom<Route>('fallback openai', 'fallback azure', 'fallback anthropic', 'virtual key openai', 'virtual key anthropic', 'config api_key', 'provider + bearer', 'openai-compatible header'),
        clientKey: secretArb,
        status: fc.constantFrom(400, 401, 403, 404, 429, 500, 503),
        form: fc.constant(form),
      });
      await checkProperty(
        t,
        fc.asyncProperty(caseArb, async (c) => {
          resetFakes();
          const { fake, kind, key, request } = echoRoute(c);
          fake.always(echoBehaviour(kind, c, key));
          const traceId = `prop-g-${++n}`;
          const wire = { ...request, headers: { ...request.headers, 'x-portkey-trace-id': traceId } };
          const linesBefore = harness.logLines.length;
          const reply = await harness.send(0, wire);
          if (fake.received.length === 0) throw new Error(`the request did not reach the upstream (status ${reply.status} ${clip(reply.text, 300)})`);
          const trace = reply.headers['x-portkey-trace-id'] === traceId ? await harness.traceText(0, traceId, GATEWAY_KEY) : undefined;
          const written: Array<[string, string]> = [
            ['response body', reply.text],
            ['response headers', JSON.stringify(reply.headers)],
            ['GET /v1/logs/:traceId', trace ?? ''],
            ['log lines', harness.logLines.slice(linesBefore).join('\n')],
          ];
          for (const [where, text] of written) {
            if (leaks(text, key)) throw new Error(`the echoed credential appears in the ${where} (status ${reply.status}): ${clip(text, 500)}`);
          }
        }),
        runs(24),
        1_500,
        seed,
      );
    });
  }
});

/** Which fake a route reaches, in which wire format, with which credential, by which request. */
function echoRoute(c: EchoCase): { fake: Fake; kind: FakeKind; key: string; request: WireRequest } {
  const body = JSON.stringify({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
  const base = { 'content-type': 'application/json', 'x-portkey-api-key': GATEWAY_KEY };
  const post = (headers: Record<string, string>): WireRequest => ({ method: 'POST', path: '/v1/chat/completions', headers: { ...base, ...headers }, body });
  switch (c.route) {
    case 'fallback openai':
      return { fake: openai, kind: 'openai', key: SERVER.openaiKey, request: post({ 'x-portkey-fallback': 'openai' }) };
    case 'fallback azure':
      return { fake: azure, kind: 'azure', key: SERVER.azureKey, request: post({ 'x-portkey-fallback': 'azure_openai' }) };
    case 'fallback anthropic':
      return { fake: anthropic, kind: 'anthropic', key: SERVER.anthropicKey, request: post({ 'x-portkey-fallback': 'anthropic' }) };
    case 'virtual key openai':
      return { fake: openai, kind: 'openai', key: SERVER.vkOpenaiKey, request: post({ 'x-portkey-virtual-key': 'vk-openai' }) };
    case 'virtual key anthropic':
      return { fake: anthropic, kind: 'anthropic', key: SERVER.vkAnthropicKey, request: post({ 'x-portkey-virtual-key': 'vk-anthropic' }) };
    case 'config api_key':
      return { fake: openai, kind: 'openai', key: c.clientKey, request: post({ 'x-portkey-config': JSON.stringify({ provider: 'openai', api_key: c.clientKey }) }) };
    case 'provider + bearer':
      return { fake: openai, kind: 'openai', key: c.clientKey, request: post({ 'x-portkey-provider': 'openai', authorization: `Bearer ${c.clientKey}` }) };
    case 'openai-compatible header':
      return { fake: openai, kind: 'openai', key: SERVER.compatBearer, request: post({ 'x-portkey-provider': 'openai-compatible' }) };
  }
}

/** The fake's answer: an error that quotes `key` in the chosen form. */
function echoBehaviour(kind: FakeKind, c: EchoCase, key: string): Behaviour {
  const message = `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`;
  switch (c.form) {
    case 'message':
      return { kind: 'status', status: c.status, body: errorBodyFor(kind, c.status, message) };
    case 'message, masked tail':
      // The provider's own masking keeps the head; the head is still most of the key.
      return { kind: 'status', status: c.status, body: errorBodyFor(kind, c.status, `Incorrect API key provided: ${key.slice(0, -4)}****.`) };
    case 'param and code':
      return { kind: 'status', status: c.status, body: { error: { message: 'invalid key', type: 'invalid_request_error', param: key, code: `bad_key:${key}` } } };
    case 'plain text':
      return { kind: 'raw', status: c.status, text: `upstream says: bad credentials ${key}`, contentType: 'text/plain' };
    case 'nested':
      return { kind: 'status', status: c.status, body: { error: { message: 'invalid request', type: 'invalid_request_error', param: null, code: null, details: [{ received: { authorization: `Bearer ${key}`, 'x-api-key': key } }] } } };
  }
}
