/**
 * Scale guards for the adapters' translations (issue #10, item 2): a large but legal body, the
 * router's default 10 MB `bodyLimit` filled with messages, content parts, tools or tool calls, is
 * translated by every built-in adapter that translates, and big replies and long streams are
 * parsed, each well under a second.
 *
 * The 1000 ms bound is a hang / quadratic-behaviour guard, not a speed target: linear code does
 * each of these in tens to a few hundred milliseconds, while the quadratic merge of consecutive
 * same-role messages this replaced took 100 s for 40,000 messages. Each body is built on a
 * doubling ladder of sizes (1/32 of the full ~9.5 MiB up to all of it) and every step is timed,
 * so a super-linear regression fails within seconds at a small step instead of blocking the test
 * run for hours. A run that lands just over the bound (a loaded machine) is retried up to twice
 * and the fastest counts; one far over it fails at once.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicAdapter } from '../../lib/providers/anthropic/index.js';
import { azureOpenAIAdapter } from '../../lib/providers/azure-openai.js';
import { bedrockAdapter } from '../../lib/providers/bedrock/index.js';
import { cohereAdapter } from '../../lib/providers/cohere/index.js';
import { googleAdapter } from '../../lib/providers/google/index.js';
import { mistralAdapter } from '../../lib/providers/mistral.js';
import { vertexAdapter } from '../../lib/providers/vertex/index.js';
import { openaiAdapter } from '../../lib/providers/openai.js';
import { builtinAdapters } from '../../lib/providers/registry.js';
import type {
  JsonObject,
  ParseContext,
  ProviderAdapter,
  ResolvedTarget,
  StreamEvent,
  StreamState,
  UnifiedChunk,
  UnifiedRequest,
} from '../../lib/providers/types.js';

/** The hang / quadratic guard (see the file comment): not a speed target. */
const BOUND_MS = 1000;
/** The router's default `bodyLimit` ('10mb', 1024-based as body-parser reads it). */
const BODY_LIMIT = 10 * 1024 * 1024;
/** What the full-size bodies fill: near the limit, still legal. */
const FULL = Math.floor(BODY_LIMIT * 0.95);
/** The sizes each body is built at, smallest first (see the file comment). */
const LADDER = [FULL / 32, FULL / 16, FULL / 8, FULL / 4, FULL / 2, FULL].map(Math.floor);

const groq = builtinAdapters().get('groq');
assert.ok(groq, 'the registry has a groq adapter');

interface Case {
  readonly adapter: ProviderAdapter;
  readonly target: ResolvedTarget;
  /**
   * Anthropic merges and reshapes (checked in detail); the OpenAI-format adapters pass the body
   * through; `foreign`: another wire format, checked to carry the last message.
   */
  readonly translates: boolean | 'foreign';
}

const ADAPTERS: readonly Case[] = [
  { adapter: anthropicAdapter, target: target('anthropic'), translates: true },
  { adapter: openaiAdapter, target: target('openai'), translates: false },
  {
    adapter: azureOpenAIAdapter,
    target: target('azure-openai', { settings: { resource_name: 'res', deployment_id: 'dep' } }),
    translates: false,
  },
  { adapter: groq, target: target('groq'), translates: false },
  { adapter: googleAdapter, target: target('google'), translates: 'foreign' },
  { adapter: vertexAdapter, target: target('vertex-ai', { settings: { vertex_project_id: 'p', vertex_region: 'us-central1' } }), translates: 'foreign' },
  {
    adapter: bedrockAdapter,
    target: target('bedrock', { apiKey: undefined, settings: { aws_region: 'us-east-1', aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'secret' } }),
    translates: 'foreign',
  },
  { adapter: cohereAdapter, target: target('cohere'), translates: 'foreign' },
  { adapter: mistralAdapter, target: target('mistral-ai'), translates: 'foreign' },
];

function target(provider: string, overrides: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { provider, apiKey: 'sk-test', headers: {}, settings: {}, ...overrides };
}

function chatReq(body: JsonObject): UnifiedRequest {
  return { endpoint: 'chat', body, stream: false };
}

/** Bytes of a value as JSON (what the client sent, near enough). */
function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * Messages from `make(i)` until their JSON reaches `bytes` (counted as they are added, so
 * building stays linear too).
 */
function fillMessages(bytes: number, make: (i: number) => JsonObject): JsonObject[] {
  const messages: JsonObject[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const msg = make(i);
    size += jsonBytes(msg) + 1;
    messages.push(msg);
  }
  return messages;
}

/** Element `i` of `list` (negative: from the end), which must be there. */
function at<T>(list: readonly T[], i: number): T {
  const item = list.at(i);
  assert.ok(item !== undefined, `element ${i} of a list of ${list.length}`);
  return item;
}

/** Runs `fn` and returns what it returned with the milliseconds it took. */
async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/**
 * Times `fn`; a run over the bound but within 3x of it (machine noise, a GC pause) is retried up
 * to twice and the fastest run counts. Super-linear code is far over it every time.
 */
async function fastest<T>(fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  let best = await timed(fn);
  for (let retry = 0; retry < 2 && best.ms >= BOUND_MS && best.ms < 3 * BOUND_MS; retry++) {
    const next = await timed(fn);
    if (next.ms < best.ms) best = next;
  }
  return best;
}

/** Role of an OpenAI message once translated for Anthropic (null: into `system`). */
function anthropicRole(msg: JsonObject): 'user' | 'assistant' | null {
  if (msg.role === 'system' || msg.role === 'developer') return null;
  return msg.role === 'assistant' ? 'assistant' : 'user';
}

/**
 * How many Anthropic messages a list of non-empty OpenAI messages becomes: one per run of the
 * same (translated) role, system messages left out.
 */
function expectedRuns(messages: readonly JsonObject[]): number {
  let runs = 0;
  let last: string | null = null;
  for (const msg of messages) {
    const role = anthropicRole(msg);
    if (role === null) continue;
    if (role !== last) runs++;
    last = role;
  }
  return runs;
}

/** Content blocks a non-empty OpenAI message becomes in Anthropic's format. */
function blockCount(msg: JsonObject): number {
  if (msg.role === 'tool') return 1;
  const content = typeof msg.content === 'string' ? 1 : Array.isArray(msg.content) ? msg.content.length : 0;
  const calls = Array.isArray(msg.tool_calls) ? msg.tool_calls.length : 0;
  return content + calls;
}

interface Shape {
  /** The body as the client sent it. */
  readonly body: JsonObject;
  /** Checks on the translated Anthropic body, so that the timing cannot pass vacuously. */
  readonly checkAnthropic: (out: JsonObject) => void;
}

/**
 * Builds the body at every ladder size and, for every adapter, times `buildRequest` and checks
 * what it built.
 */
async function scaleCase(t: TestContext, make: (bytes: number) => Shape): Promise<void> {
  for (const bytes of LADDER) {
    const { body, checkAnthropic } = make(bytes);
    const size = jsonBytes(body);
    assert.ok(size <= BODY_LIMIT, `the body fits the 10 MB limit (${size} bytes)`);
    if (bytes === FULL) assert.ok(size >= 0.9 * BODY_LIMIT, `the full-size body is near the limit (${size} bytes)`);

    for (const { adapter, target: resolved, translates } of ADAPTERS) {
      const { value: upstream, ms } = await fastest(() =>
        adapter.buildRequest(chatReq(body), resolved, new AbortController().signal),
      );
      assert.ok(
        ms < BOUND_MS,
        `${adapter.name} translated a ${size}-byte body in ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`,
      );
      if (bytes === FULL) t.diagnostic(`${adapter.name}: ${size} bytes in ${ms.toFixed(1)} ms`);
      const out = upstream.body as JsonObject;
      if (translates === 'foreign') {
        // Signed adapters send their own bytes: the last message's text is in them.
        const sent = typeof upstream.rawBody === 'string' ? upstream.rawBody : JSON.stringify(upstream.body);
        const last = (body.messages as JsonObject[]).at(-1)!;
        const text = typeof last.content === 'string' ? last.content : JSON.stringify(last.content ?? last.tool_calls ?? '');
        if (typeof last.content === 'string') assert.ok(sent.includes(JSON.stringify(text).slice(1, -1)), `${adapter.name} sends the last message`);
        assert.ok(sent.length > size / 4, `${adapter.name} sent ${sent.length} bytes of a ${size}-byte body`);
      } else if (translates) {
        checkAnthropic(out);
      } else {
        // Passed through: every message, the last one's content intact.
        const sent = body.messages as JsonObject[];
        const got = out.messages as JsonObject[];
        assert.equal(got.length, sent.length, `${adapter.name} sends every message`);
        assert.deepEqual(got[got.length - 1], sent[sent.length - 1]);
        if (Array.isArray(body.tools)) assert.equal((out.tools as unknown[]).length, body.tools.length);
        assert.match(upstream.url, /\/chat\/completions(\?|$)/);
      }
    }
  }
}

/** The Anthropic body's messages, checked to alternate roles. */
function anthropicMessages(out: JsonObject): Array<{ role: string; content: JsonObject[] | string }> {
  const messages = out.messages as Array<{ role: string; content: JsonObject[] | string }>;
  for (let i = 1; i < messages.length; i++) {
    assert.notEqual(at(messages, i).role, at(messages, i - 1).role, `messages[${i}] alternates`);
  }
  return messages;
}

/** The last block of the last Anthropic message. */
function lastBlock(out: JsonObject): JsonObject {
  const messages = anthropicMessages(out);
  const content = at(messages, -1).content;
  assert.ok(Array.isArray(content), 'the last message has blocks');
  return at(content, -1);
}

/** A tiny PNG-like base64 payload of about `n` characters. */
function base64(n: number, seed: number): string {
  return Buffer.alloc(Math.ceil((n * 3) / 4), seed % 251).toString('base64');
}

/** A large JSON schema: `fields` string properties with descriptions and enums. */
function bigSchema(fields: number, seed: number): JsonObject {
  const properties: JsonObject = {};
  for (let f = 0; f < fields; f++) {
    properties[`field_${seed}_${f}`] = {
      type: 'string',
      description: `Field ${f} of tool ${seed}: a value the model fills in from the conversation.`,
      enum: ['alpha', 'beta', 'gamma', 'delta'],
    };
  }
  return { type: 'object', properties, required: Object.keys(properties).slice(0, 10) };
}

describe('adapter translation at the 10 MB body limit stays linear (hang / quadratic guard)', () => {
  test('(a) tens of thousands of consecutive user messages', async (t) => {
    await scaleCase(t, (bytes) => {
      const messages = fillMessages(bytes, (i) => ({ role: 'user', content: `user message ${i}` }));
      if (bytes === FULL) assert.ok(messages.length >= 40_000, `${messages.length} messages`);
      return {
        body: { model: 'm', messages },
        checkAnthropic: (out) => {
          const merged = anthropicMessages(out);
          assert.equal(merged.length, 1, 'all merged into one user message');
          assert.equal((at(merged, 0).content as JsonObject[]).length, messages.length);
          assert.deepEqual(lastBlock(out), { type: 'text', text: `user message ${messages.length - 1}` });
        },
      };
    });
  });

  test('(a) tens of thousands of alternating user and assistant messages', async (t) => {
    await scaleCase(t, (bytes) => {
      const messages = fillMessages(bytes, (i) =>
        i % 2 === 0 ? { role: 'user', content: `question ${i}` } : { role: 'assistant', content: `answer ${i}` },
      );
      if (bytes === FULL) assert.ok(messages.length >= 40_000, `${messages.length} messages`);
      const last = at(messages, -1);
      return {
        body: { model: 'm', messages },
        checkAnthropic: (out) => {
          const translated = anthropicMessages(out);
          assert.equal(translated.length, messages.length, 'nothing to merge');
          // Unmerged string content stays a string.
          assert.equal(at(translated, -1).content, last.content);
        },
      };
    });
  });

  test('(a) same-role runs mixed with tool calls and tool results', async (t) => {
    await scaleCase(t, (bytes) => {
      // A repeating turn: 3 user messages, an assistant with 2 tool calls, their 2 results, a
      // user message (merged with the results), 2 assistant texts.
      const turn = (n: number): JsonObject[] => [
        { role: 'user', content: `u${n}a` },
        { role: 'user', content: [{ type: 'text', text: `u${n}b` }] },
        { role: 'user', content: `u${n}c` },
        {
          role: 'assistant',
          content: `calling ${n}`,
          tool_calls: [
            { id: `c${n}x`, type: 'function', function: { name: 'lookup', arguments: `{"q":"x${n}"}` } },
            { id: `c${n}y`, type: 'function', function: { name: 'lookup', arguments: `{"q":"y${n}"}` } },
          ],
        },
        { role: 'tool', tool_call_id: `c${n}x`, content: `result x${n}` },
        { role: 'tool', tool_call_id: `c${n}y`, content: `result y${n}` },
        { role: 'user', content: `u${n}d` },
        { role: 'assistant', content: `a${n}a` },
        { role: 'assistant', content: `a${n}b` },
      ];
      const turns = fillMessages(bytes, (n) => ({ turn: turn(n) })).map((x) => x.turn as JsonObject[]);
      const messages: JsonObject[] = [{ role: 'system', content: 'be brief' }, ...turns.flat()];
      if (bytes === FULL) assert.ok(messages.length >= 40_000, `${messages.length} messages`);
      return {
        body: { model: 'm', messages },
        checkAnthropic: (out) => {
          assert.equal(out.system, 'be brief');
          const translated = anthropicMessages(out);
          assert.equal(translated.length, expectedRuns(messages));
          const blocks = translated.reduce((n, m) => n + (typeof m.content === 'string' ? 1 : m.content.length), 0);
          assert.equal(blocks, messages.slice(1).reduce((n, m) => n + blockCount(m), 0));
          assert.deepEqual(lastBlock(out), { type: 'text', text: `a${turns.length - 1}b` });
          // A merged user message: the tool results first, then the user's text.
          const results = at(translated, -2).content as JsonObject[];
          assert.deepEqual(results.map((b) => b.type), ['tool_result', 'tool_result', 'text']);
        },
      };
    });
  });

  test('(b) a few messages with thousands of content parts (text and data-URL images)', async (t) => {
    await scaleCase(t, (bytes) => {
      const perMessage = Math.floor(bytes / 4);
      const messages: JsonObject[] = [];
      for (let m = 0; m < 4; m++) {
        const parts: JsonObject[] = [];
        let size = 0;
        for (let k = 0; size < perMessage; k++) {
          const part =
            k % 2 === 0
              ? { type: 'text', text: `part ${m}.${k}` }
              : { type: 'image_url', image_url: { url: `data:image/png;base64,${base64(400, k)}` } };
          size += jsonBytes(part) + 1;
          parts.push(part);
        }
        messages.push({ role: 'user', content: parts });
      }
      if (bytes === FULL) assert.ok(messages.every((m) => (m.content as unknown[]).length >= 1000));
      const total = messages.reduce((n, m) => n + (m.content as unknown[]).length, 0);
      const lastParts = at(messages, -1).content as JsonObject[];
      const lastPart = at(lastParts, -1);
      return {
        body: { model: 'm', messages },
        checkAnthropic: (out) => {
          const translated = anthropicMessages(out);
          assert.equal(translated.length, 1, 'four user messages merged into one');
          assert.equal((at(translated, 0).content as JsonObject[]).length, total);
          const block = lastBlock(out);
          if (lastPart.type === 'text') assert.deepEqual(block, { type: 'text', text: lastPart.text });
          else {
            const url = (lastPart.image_url as JsonObject).url as string;
            assert.deepEqual(block, {
              type: 'image',
              source: { type: 'base64', media_type: 'image/png', data: url.slice('data:image/png;base64,'.length) },
            });
          }
        },
      };
    });
  });

  test('(c) hundreds of tools with large JSON schemas', async (t) => {
    await scaleCase(t, (bytes) => {
      const tools: JsonObject[] = [];
      let size = 0;
      for (let i = 0; size < bytes; i++) {
        const tool = {
          type: 'function',
          function: { name: `tool_${i}`, description: `Tool number ${i}.`, parameters: bigSchema(150, i) },
        };
        size += jsonBytes(tool) + 1;
        tools.push(tool);
      }
      if (bytes === FULL) assert.ok(tools.length >= 200, `${tools.length} tools`);
      const lastFn = at(tools, -1).function as JsonObject;
      return {
        body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools, tool_choice: 'auto' },
        checkAnthropic: (out) => {
          const translated = out.tools as JsonObject[];
          assert.equal(translated.length, tools.length);
          assert.deepEqual(at(translated, -1), {
            name: lastFn.name,
            description: lastFn.description,
            input_schema: lastFn.parameters,
          });
          assert.deepEqual(out.tool_choice, { type: 'auto' });
        },
      };
    });
  });

  test('(d) a long assistant tool_calls list with big arguments, and its results', async (t) => {
    await scaleCase(t, (bytes) => {
      const args = (j: number): string => JSON.stringify({ id: j, payload: 'x'.repeat(2000) });
      const call = (j: number): JsonObject => ({
        id: `call_${j}`,
        type: 'function',
        function: { name: 'store', arguments: args(j) },
      });
      const result = (j: number): JsonObject => ({ role: 'tool', tool_call_id: `call_${j}`, content: `stored ${j}` });
      const perCall = jsonBytes(call(99_999)) + jsonBytes(result(99_999)) + 2;
      const calls = Math.max(1, Math.floor(bytes / perCall));
      const toolCalls = Array.from({ length: calls }, (_, j) => call(j));
      const results = Array.from({ length: calls }, (_, j) => result(j));
      const messages: JsonObject[] = [
        { role: 'user', content: 'store everything' },
        { role: 'assistant', content: null, tool_calls: toolCalls },
        ...results,
      ];
      if (bytes === FULL) assert.ok(calls >= 1000, `${calls} tool calls`);
      return {
        body: { model: 'm', messages },
        checkAnthropic: (out) => {
          const translated = anthropicMessages(out);
          assert.equal(translated.length, 3, 'user, assistant tool uses, user tool results');
          const uses = at(translated, 1).content as JsonObject[];
          assert.equal(uses.length, calls);
          assert.deepEqual(at(uses, -1), {
            type: 'tool_use',
            id: `call_${calls - 1}`,
            name: 'store',
            input: JSON.parse(args(calls - 1)),
          });
          assert.equal((at(translated, 2).content as JsonObject[]).length, calls);
          assert.deepEqual(lastBlock(out), {
            type: 'tool_result',
            tool_use_id: `call_${calls - 1}`,
            content: `stored ${calls - 1}`,
          });
        },
      };
    });
  });
});

describe('response and stream parsing at scale stays linear (hang / quadratic guard)', () => {
  const anthropicCtx: ParseContext = {
    request: chatReq({ model: 'claude-x', messages: [] }),
    target: target('anthropic'),
    status: 200,
  };

  test('anthropic parseResponse of a reply with 50,000 content blocks', async (t) => {
    const blocks = 50_000;
    const content: JsonObject[] = [];
    const texts: string[] = [];
    let tools = 0;
    for (let i = 0; i < blocks; i++) {
      if (i % 2 === 0) {
        texts.push(`text ${i}. `);
        content.push({ type: 'text', text: `text ${i}. ` });
      } else {
        tools++;
        content.push({ type: 'tool_use', id: `toolu_${i}`, name: 'f', input: { i, data: 'y'.repeat(50) } });
      }
    }
    const body = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content,
      stop_reason: 'tool_use',
      usage: { input_tokens: 10, output_tokens: 20 },
    };
    const { value, ms } = await fastest(() => anthropicAdapter.parseResponse(body, anthropicCtx));
    t.diagnostic(`${blocks} blocks in ${ms.toFixed(1)} ms`);
    assert.ok(ms < BOUND_MS, `parsed ${blocks} blocks in ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);

    const choice = at(value.choices as Array<{ message: JsonObject; finish_reason: string }>, 0);
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, texts.join(''));
    const calls = choice.message.tool_calls as JsonObject[];
    assert.equal(calls.length, tools);
    assert.deepEqual(at(calls, -1), {
      id: `toolu_${blocks - 1}`,
      type: 'function',
      function: { name: 'f', arguments: JSON.stringify({ i: blocks - 1, data: 'y'.repeat(50) }) },
    });
  });

  test('anthropic parseStreamEvent over 100,000 events (tool-call deltas across many blocks)', async (t) => {
    const toolBlocks = 1000;
    const deltasPerBlock = 98;
    const events: StreamEvent[] = [];
    const ev = (data: JsonObject): void => {
      events.push({ event: data.type as string, data: JSON.stringify(data) });
    };
    ev({ type: 'message_start', message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 5, output_tokens: 1 } } });
    ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Working.' } });
    ev({ type: 'content_block_stop', index: 0 });
    for (let b = 1; b <= toolBlocks; b++) {
      ev({ type: 'content_block_start', index: b, content_block: { type: 'tool_use', id: `toolu_${b}`, name: 'f', input: {} } });
      for (let d = 0; d < deltasPerBlock; d++) {
        const partial = d === 0 ? `{"b":${b},"s":"` : 'abcdefgh';
        ev({ type: 'content_block_delta', index: b, delta: { type: 'input_json_delta', partial_json: partial } });
      }
      ev({ type: 'content_block_delta', index: b, delta: { type: 'input_json_delta', partial_json: '"}' } });
      ev({ type: 'content_block_stop', index: b });
    }
    ev({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 999 } });
    ev({ type: 'message_stop' });
    assert.ok(events.length >= 100_000, `${events.length} events`);

    const parse = anthropicAdapter.parseStreamEvent;
    assert.ok(parse);
    // What the chunks say, folded as they come (as a client reads a stream, holding none):
    // tool calls started, the last tool call's arguments, and the last two chunks.
    const { value: seen, ms } = await fastest(() => {
      const state: StreamState = { includeUsage: true };
      let toolStarts = 0;
      let lastArgs = '';
      let previous: UnifiedChunk | undefined;
      let last: UnifiedChunk | undefined;
      for (const event of events) {
        for (const c of parse(event, state, anthropicCtx)) {
          const call = ((c.choices as Array<{ delta: JsonObject }>)[0]?.delta.tool_calls as JsonObject[] | undefined)?.[0];
          if (call?.id !== undefined) toolStarts++;
          if (call?.index === toolBlocks - 1) lastArgs += (call.function as JsonObject).arguments as string;
          previous = last;
          last = c;
        }
      }
      return { toolStarts, lastArgs, previous, last };
    });
    t.diagnostic(`${events.length} events in ${ms.toFixed(1)} ms`);
    assert.ok(ms < BOUND_MS, `parsed ${events.length} events in ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);

    assert.equal(seen.toolStarts, toolBlocks);
    assert.deepEqual(JSON.parse(seen.lastArgs), { b: toolBlocks, s: 'abcdefgh'.repeat(deltasPerBlock - 1) });
    assert.equal(at(seen.previous?.choices as Array<{ finish_reason: string }>, 0).finish_reason, 'tool_calls');
    assert.deepEqual(seen.last?.usage, { prompt_tokens: 5, completion_tokens: 999, total_tokens: 1004 });
  });

  test('openai-format parseStreamEvent over 100,000 chunks and parseResponse of 50,000 choices', async (t) => {
    const ctx: ParseContext = { request: chatReq({ model: 'gpt-x', messages: [] }), target: target('openai'), status: 200 };
    const events: StreamEvent[] = [];
    for (let i = 0; i < 100_000; i++) {
      const delta = { tool_calls: [{ index: i % 100, function: { arguments: `a${i}` } }] };
      events.push({ data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta }] }) });
    }
    events.push({ data: '[DONE]' });
    const parse = openaiAdapter.parseStreamEvent;
    assert.ok(parse);
    const { value: seen, ms } = await fastest(() => {
      const state: StreamState = {};
      let count = 0;
      let last: UnifiedChunk | undefined;
      for (const event of events) {
        for (const c of parse(event, state, ctx)) {
          count++;
          last = c;
        }
      }
      return { count, last };
    });
    t.diagnostic(`${events.length} events in ${ms.toFixed(1)} ms`);
    assert.ok(ms < BOUND_MS, `parsed ${events.length} events in ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
    assert.equal(seen.count, 100_000);
    assert.deepEqual(at(seen.last?.choices as Array<{ delta: JsonObject }>, 0).delta, {
      tool_calls: [{ index: 99, function: { arguments: 'a99999' } }],
    });

    const choices = Array.from({ length: 50_000 }, (_, i) => ({
      index: i,
      message: { role: 'assistant', content: `choice ${i}` },
      finish_reason: 'stop',
    }));
    const body = { id: 'x', object: 'chat.completion', choices };
    const parsed = await fastest(() => openaiAdapter.parseResponse(body, ctx));
    t.diagnostic(`50,000 choices in ${parsed.ms.toFixed(1)} ms`);
    assert.ok(parsed.ms < BOUND_MS, `parsed 50,000 choices in ${parsed.ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
    const got = parsed.value.choices as JsonObject[];
    assert.equal(got.length, 50_000);
    assert.deepEqual(at(got, -1), at(choices, -1));
  });
});
