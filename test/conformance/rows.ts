/**
 * The conformance table: one row per provider, each naming the fake of its provider, the
 * options the router gets for it, the models, what the wire format can carry, and the error
 * class each ErrorKind must be classified as. Adding a provider to the suite is adding a fake
 * (test/helpers/conformance/fakes/) and a row here.
 *
 * A row takes part only when its fake's file exists and its provider is registered in the
 * router (the fakes and adapters of some providers are written at the same time as this suite).
 * That check never hides a failure: a row whose fake exists and whose provider is registered
 * always runs, and one whose fake cannot be loaded is a failing test, not a skipped one.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProviderOptions } from '../../lib/index.js';
import { builtinAdapters } from '../../lib/providers/registry.js';
import type { ErrorClass } from '../../lib/providers/types.js';
import { startAnthropicFake } from '../helpers/conformance/fakes/anthropic.js';
import { startOpenAIFamilyFake, type OpenAIFlavour } from '../helpers/conformance/fakes/openai.js';
import type { ConformanceFake, ErrorKind } from '../helpers/conformance/types.js';

/** Every ErrorKind, in a stable order. */
export const ERROR_KINDS: readonly ErrorKind[] = ['invalid_request', 'context_length', 'unauthenticated', 'permission', 'not_found', 'rate_limit', 'server', 'unavailable', 'overloaded'];

/** The cases of the suite, by name (`knownGaps` refers to them). */
export type CaseName =
  | 'plain chat'
  | 'system prompt'
  | 'multi-turn'
  | 'tool-call round trip'
  | 'max_tokens and finish length'
  | 'streamed text'
  | 'streamed text with include_usage'
  | 'streamed tool call'
  | 'cut stream, alone'
  | 'cut stream, with a fallback'
  | 'embedding'
  | `error: ${ErrorKind}`
  | 'retry after a 429 with retry-after: 0'
  | 'content filter'
  | 'fallback from it'
  | 'fallback from it, streamed'
  | 'fallback to it'
  | 'fallback to it, streamed';

/** What the provider and its wire format can do. */
export interface Supports {
  readonly embedding: boolean;
  readonly tools: boolean;
  readonly streamTools: boolean;
  /** The provider blocks an answer for safety with a signal of its own (finish reason or error). */
  readonly contentFilter: boolean;
  /** Tool calls carry ids on the wire, so the client's call id reaches the provider and comes back. */
  readonly toolCallIds: boolean;
  /** A tool result names its function on the wire. */
  readonly toolNames: boolean;
  /** The embeddings answer reports the tokens it read (Gemini's embedContent reports none). */
  readonly embeddingUsage: boolean;
}

/** One provider of the suite. */
export interface Row {
  /** Canonical name, as in configs. */
  readonly provider: string;
  start(): Promise<ConformanceFake>;
  /** The `options.providers[provider]` entry for a running fake. */
  providerOptions(fake: ConformanceFake): ProviderOptions;
  readonly model: string;
  /** What decode().model shows when it is not `model` (Azure: the deployment). */
  readonly wireModel?: string;
  readonly embeddingModel?: string;
  /** What decode().credential must be. */
  readonly credential: string;
  readonly supports: Supports;
  /** The error class the trace must show for each scripted error. */
  readonly errors: Readonly<Record<ErrorKind, ErrorClass>>;
  /** Cases run as `todo`, each with the known defect it shows (and whose: adapter or fake). */
  readonly knownGaps?: Readonly<Partial<Record<CaseName, string>>>;
}

/** The classes of the issue: auth errors `auth`, 5xx and overload `server`, and so on. */
export const DEFAULT_ERRORS: Readonly<Record<ErrorKind, ErrorClass>> = {
  invalid_request: 'bad_request',
  context_length: 'context_length_exceeded',
  unauthenticated: 'auth',
  permission: 'auth',
  not_found: 'not_found',
  rate_limit: 'rate_limit',
  server: 'server',
  unavailable: 'server',
  overloaded: 'server',
};

const CHAT_ONLY: Supports = { embedding: false, tools: true, streamTools: true, contentFilter: false, toolCallIds: true, toolNames: false, embeddingUsage: true };

/** Gemini's wire format: function calls without ids, tool results named by function. */
const GEMINI: Supports = { embedding: true, tools: true, streamTools: true, contentFilter: true, toolCallIds: false, toolNames: true, embeddingUsage: true };

/** A row of the OpenAI-format family, on the fake of openai.ts. */
function openAIFamily(provider: OpenAIFlavour, extra: Partial<Row> & Pick<Row, 'model' | 'supports'>): Row {
  const key = `${provider}-conformance-key`;
  return {
    provider,
    start: () => startOpenAIFamilyFake(provider, { apiKey: key }),
    providerOptions: (fake) => ({ apiKey: key, baseURL: fake.baseURL }),
    credential: key,
    errors: DEFAULT_ERRORS,
    ...extra,
  };
}

/** A starter exported by a fake module loaded at run time. */
type Starter = (opts: Record<string, unknown>) => Promise<ConformanceFake>;

/** A row the table may hold: its provider, its fake's file, and how to build it. */
interface Candidate {
  readonly provider: string;
  /** File name under test/helpers/conformance/fakes/. */
  readonly fake: string;
  build(load: (exportName: string) => Promise<Starter>): Row;
}

const AZURE_KEY = 'azure-conformance-key';
const ANTHROPIC_KEY = 'sk-ant-conformance';

const CANDIDATES: readonly Candidate[] = [
  {
    provider: 'openai',
    fake: 'openai.ts',
    build: () =>
      openAIFamily('openai', { model: 'gpt-4o-mini', embeddingModel: 'text-embedding-3-small', supports: { ...CHAT_ONLY, embedding: true, contentFilter: true } }),
  },
  {
    provider: 'azure-openai',
    fake: 'openai.ts',
    build: () => ({
      ...openAIFamily('azure-openai', { model: 'gpt-4o', embeddingModel: 'text-embedding-3-small', supports: { ...CHAT_ONLY, embedding: true, contentFilter: true } }),
      start: () => startOpenAIFamilyFake('azure-openai', { apiKey: AZURE_KEY }),
      providerOptions: (fake) => ({ apiKey: AZURE_KEY, baseURL: fake.baseURL, deploymentId: 'conformance-deployment', apiVersion: '2024-10-21' }),
      credential: AZURE_KEY,
      wireModel: 'conformance-deployment',
    }),
  },
  {
    provider: 'anthropic',
    fake: 'anthropic.ts',
    build: () => ({
      provider: 'anthropic',
      start: () => startAnthropicFake({ apiKey: ANTHROPIC_KEY }),
      providerOptions: (fake) => ({ apiKey: ANTHROPIC_KEY, baseURL: fake.baseURL }),
      model: 'claude-sonnet-4-5',
      credential: ANTHROPIC_KEY,
      supports: { ...CHAT_ONLY, contentFilter: true },
      errors: DEFAULT_ERRORS,
    }),
  },
  { provider: 'groq', fake: 'openai.ts', build: () => openAIFamily('groq', { model: 'llama-3.3-70b-versatile', supports: CHAT_ONLY }) },
  {
    provider: 'deepseek',
    fake: 'openai.ts',
    // DeepSeek answers an unknown model with 400 invalid_request_error "Model Not Exist".
    build: () => openAIFamily('deepseek', { model: 'deepseek-chat', supports: { ...CHAT_ONLY, contentFilter: true }, errors: { ...DEFAULT_ERRORS, not_found: 'bad_request' } }),
  },
  {
    provider: 'together-ai',
    fake: 'openai.ts',
    build: () =>
      openAIFamily('together-ai', {
        model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
        embeddingModel: 'BAAI/bge-base-en-v1.5',
        supports: { ...CHAT_ONLY, embedding: true },
      }),
  },
  {
    provider: 'google',
    fake: 'google.ts',
    build: (load) => keyRow('google', () => load('startGeminiFake'), 'gemini-conformance-key', {
      model: 'gemini-2.0-flash',
      embeddingModel: 'text-embedding-004',
      supports: { ...GEMINI, embeddingUsage: false },
    }),
  },
  {
    provider: 'vertex-ai',
    fake: 'google.ts',
    build: (load) => {
      const token = 'ya29.conformance-token';
      const place = { project: 'conformance-project', region: 'europe-west4' };
      return {
        provider: 'vertex-ai',
        start: async () => (await load('startVertexFake'))({ ...place, accessToken: token }),
        providerOptions: (fake) => ({ apiKey: token, baseURL: fake.baseURL, vertexProjectId: place.project, vertexRegion: place.region }),
        model: 'gemini-2.0-flash',
        embeddingModel: 'text-embedding-005',
        credential: token,
        supports: GEMINI,
        // Vertex AI's documented overload is 429 RESOURCE_EXHAUSTED ("Resource exhausted, please
        // try again later"), which no client can tell from a quota: a rate limit.
        errors: { ...DEFAULT_ERRORS, overloaded: 'rate_limit' },
      };
    },
  },
  {
    provider: 'bedrock',
    fake: 'bedrock.ts',
    build: (load) => {
      const aws = { region: 'us-east-1', accessKeyId: 'AKIACONFORMANCE0001', secretAccessKey: 'conformance/secret/key', sessionToken: 'conformance-session-token' };
      return {
        provider: 'bedrock',
        start: async () => (await load('startBedrockFake'))(aws),
        providerOptions: (fake) => ({
          baseURL: fake.baseURL,
          awsRegion: aws.region,
          awsAccessKeyId: aws.accessKeyId,
          awsSecretAccessKey: aws.secretAccessKey,
          awsSessionToken: aws.sessionToken,
        }),
        model: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
        // Cohere Embed on Bedrock takes a list of texts (Titan takes one per request).
        embeddingModel: 'cohere.embed-english-v3',
        credential: aws.accessKeyId,
        // Cohere Embed's InvokeModel body holds no token count (Bedrock gives it in a header only).
        supports: { ...CHAT_ONLY, embedding: true, contentFilter: true, embeddingUsage: false },
        errors: DEFAULT_ERRORS,
      };
    },
  },
  {
    provider: 'cohere',
    fake: 'cohere.ts',
    build: (load) => keyRow('cohere', () => load('startCohereFake'), 'cohere-conformance-key', {
      model: 'command-r-plus-08-2024',
      embeddingModel: 'embed-english-v3.0',
      supports: { ...CHAT_ONLY, embedding: true, contentFilter: true },
    }),
  },
  {
    provider: 'mistral-ai',
    fake: 'mistral.ts',
    build: (load) =>
      keyRow('mistral-ai', () => load('startMistralFake'), 'mistral-conformance-key', {
        model: 'mistral-large-latest',
        embeddingModel: 'mistral-embed',
        supports: { ...CHAT_ONLY, embedding: true, contentFilter: true },
      }),
  },
];

/** A row whose provider takes only a key, on a fake started with `{ apiKey }`. */
function keyRow(provider: string, starter: () => Promise<Starter>, key: string, rest: Pick<Row, 'model' | 'supports'> & Partial<Row>): Row {
  return {
    provider,
    start: async () => (await starter())({ apiKey: key }),
    providerOptions: (fake) => ({ apiKey: key, baseURL: fake.baseURL }),
    credential: key,
    errors: DEFAULT_ERRORS,
    ...rest,
  };
}

/** Where the fakes live. */
function fakePath(file: string): string {
  return fileURLToPath(new URL(`../helpers/conformance/fakes/${file}`, import.meta.url));
}

/** Imports a fake module by path (no static import: the file may not exist yet) and takes one export. */
function loader(file: string): (exportName: string) => Promise<Starter> {
  return async (exportName) => {
    const mod = (await import(new URL(`../helpers/conformance/fakes/${file}`, import.meta.url).href)) as Record<string, unknown>;
    const starter = mod[exportName];
    if (typeof starter !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
    return starter as Starter;
  };
}

/** The table as it stands: the rows that run, and those left out with why. */
export interface Table {
  readonly rows: readonly Row[];
  readonly leftOut: ReadonlyArray<{ readonly provider: string; readonly why: string }>;
  /** Providers whose fake exists and whose adapter is registered: each must be a row. */
  readonly eligible: readonly string[];
}

/** The providers whose adapters the suite was written with; their rows must always run. */
export const CORE_PROVIDERS: readonly string[] = ['openai', 'azure-openai', 'anthropic', 'groq', 'deepseek'];

/** Builds the table: a candidate is a row when its fake's file exists and the router knows its provider. */
export function loadTable(): Table {
  const registered = builtinAdapters();
  const rows: Row[] = [];
  const leftOut: Array<{ provider: string; why: string }> = [];
  const eligible: string[] = [];
  for (const c of CANDIDATES) {
    const hasFake = existsSync(fakePath(c.fake));
    const known = registered.has(c.provider);
    if (!hasFake || !known) {
      const why = [!hasFake ? `its fake ${c.fake} does not exist` : '', !known ? 'no adapter of that name is registered' : ''].filter(Boolean).join(' and ');
      leftOut.push({ provider: c.provider, why });
      continue;
    }
    eligible.push(c.provider);
    const load = loader(c.fake);
    rows.push(c.build(load));
  }
  return { rows, leftOut, eligible };
}
