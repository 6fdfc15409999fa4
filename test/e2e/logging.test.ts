/**
 * Structured logs (issue #14, item 3) through three real loggers: pino (to an in-memory stream),
 * winston (a custom transport, JSON format) and console (captured). The same requests run through
 * each: a fallback, retries with their waits, a breaker that opens and closes, a chain that gives
 * up, requests refused before any attempt (a bad config, a bad gateway key) and an adapter that
 * throws. Each line is read back as the logger wrote it: its level, its message, the trace id and
 * config id it carries, the stack of an error, and no key or Authorization value anywhere.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import request from 'supertest';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { openaiAdapter, type ProviderAdapter, type RouterOptions } from '../../lib/index.js';
import { createApp } from '../helpers/create-app.js';
import { createLogger } from '../../lib/observe/logger.js';
import { startFake, type Fake } from '../helpers/fake-providers.js';

const KEYS = {
  primary: 'sk-primary-LOGTEST-7c1d9e0a55',
  second: 'sk-second-LOGTEST-3b8f2c6d77',
  broken: 'sk-broken-LOGTEST-5a4e1f0b99',
  gateway: 'gw-LOGTEST-gateway-9d2c4411',
  bearer: 'sk-bearer-LOGTEST-1e6a0c33',
};
const messages = [{ role: 'user', content: 'hi' }];
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One line as read back from what the logger wrote. */
interface Line {
  readonly level: string;
  /** The message (console: the first line of text, fields included). */
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Everything the logger wrote for it. */
  readonly raw: string;
}

interface Sink {
  readonly logger: NonNullable<RouterOptions['logger']>;
  lines(): Line[];
  restore(): void;
}

function pinoSink(): Sink {
  const written: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug' }, destination);
  return {
    logger,
    lines: () =>
      written.flatMap((text) => text.split('\n').filter(Boolean)).map((raw) => {
        const { level, msg, time: _t, pid: _p, hostname: _h, ...fields } = JSON.parse(raw) as Record<string, unknown>;
        return { level: logger.levels.labels[level as number]!, msg: String(msg), fields, raw };
      }),
    restore: () => undefined,
  };
}

/** winston's base class of transports (exported as `Transport`; its types call it `transport`). */
const Transport = (winston as unknown as { Transport: typeof TransportStream }).Transport;

function winstonSink(): Sink {
  const written: string[] = [];
  class Memory extends Transport {
    override log(info: Record<string | symbol, unknown>, next: () => void): void {
      written.push(String(info[Symbol.for('message')]));
      next();
    }
  }
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new Memory()] });
  return {
    logger,
    lines: () =>
      written.map((raw) => {
        const { level, message, ...fields } = JSON.parse(raw) as Record<string, unknown>;
        return { level: String(level), msg: String(message), fields, raw };
      }),
    restore: () => undefined,
  };
}

/** console, with its four methods captured until restore(); fields read back from the ` key=value` suffix. */
function consoleSink(): Sink {
  const written: Array<{ level: string; text: string }> = [];
  const levels = ['error', 'warn', 'info', 'debug'] as const;
  const saved = levels.map((level) => console[level]);
  for (const level of levels) console[level] = (...args: unknown[]) => void written.push({ level, text: args.map(String).join(' ') });
  return {
    logger: console,
    lines: () =>
      written.map(({ level, text }) => {
        const first = text.split('\n')[0]!;
        const fields: Record<string, unknown> = {};
        for (const m of first.matchAll(/ (\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) fields[m[1]!] = m[2]!.startsWith('"') ? JSON.parse(m[2]!) : m[2];
        return { level, msg: first, fields, raw: text };
      }),
    restore: () => levels.forEach((level, i) => (console[level] = saved[i]!)),
  };
}

/** The error of a line, as pino's err serializer writes it (console: the text and stack lines). */
function errorOf(line: Line): { message: string; stack: string } {
  if (typeof line.fields.err === 'object' && line.fields.err !== null) return line.fields.err as { message: string; stack: string };
  return { message: line.msg, stack: line.raw };
}

const SINKS = { pino: pinoSink, winston: winstonSink, console: consoleSink } as const;

describe('structured logs through pino, winston and console', () => {
  let primary: Fake;
  let second: Fake;
  before(async () => {
    [primary, second] = await Promise.all([startFake('openai', 'primary'), startFake('openai', 'second')]);
  });
  after(async () => {
    await Promise.all([primary.close(), second.close()]);
  });

  /** An adapter with a bug: its buildRequest throws, quoting the key it was given. */
  const broken: ProviderAdapter = {
    ...openaiAdapter,
    name: 'broken',
    buildRequest: (_req, target) => {
      throw new TypeError(`cannot sign the request with ${target.apiKey ?? ''}`);
    },
  };

  const options = (logger: Sink['logger']): RouterOptions => ({
    logger,
    auth: { apiKeys: [KEYS.gateway] },
    adapters: { broken },
    providers: { broken: { apiKey: KEYS.broken, baseURL: 'http://127.0.0.1:9/v1' } },
    virtualKeys: {
      primary: { provider: 'openai', apiKey: KEYS.primary, baseURL: primary.baseURL },
      second: { provider: 'openai', apiKey: KEYS.second, baseURL: second.baseURL },
    },
    configs: {
      chain: { strategy: { mode: 'fallback' }, targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }] },
      retrying: { retry: { attempts: 2 }, virtual_key: 'primary' },
      breaking: {
        strategy: { mode: 'fallback', cb_config: { failure_threshold: 1, minimum_requests: 1, cooldown_ms: 100 } },
        targets: [{ virtual_key: 'primary' }, { virtual_key: 'second' }],
      },
      buggy: { provider: 'broken' },
    },
  });

  for (const [kind, makeSink] of Object.entries(SINKS)) {
    describe(kind, () => {
      let sink: Sink;
      let app: ReturnType<typeof createApp>;
      before(() => {
        primary.reset();
        second.reset();
        sink = makeSink();
        app = createApp(options(sink.logger));
      });
      after(() => sink.restore());

      const send = (traceId: string, config: string, headers: Record<string, string> = {}) =>
        request(app)
          .post('/v1/chat/completions')
          .set({ 'x-portkey-api-key': KEYS.gateway, 'x-portkey-trace-id': traceId, 'x-portkey-config': config, ...headers })
          .send({ model: 'gpt-4o', messages });
      const linesOf = (traceId: string): Line[] => sink.lines().filter((l) => l.fields.traceId === traceId);
      const only = (traceId: string, pattern: RegExp): Line => {
        const found = linesOf(traceId).filter((l) => pattern.test(l.msg));
        assert.equal(found.length, 1, `one line ${pattern} for ${traceId}; got:\n${sink.lines().map((l) => l.raw).join('\n')}`);
        return found[0]!;
      };

      test('a fallback: an info line with the trace id, config id, the failed target and where it went', async () => {
        primary.script({ kind: 'status', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
        assert.equal((await send(`${kind}-fallback`, 'chain')).status, 200);
        const line = only(`${kind}-fallback`, /falling back from openai \(503 server\) to openai \(config\.targets\[1\]\)/);
        assert.equal(line.level, 'info');
        assert.equal(line.fields.configId, 'chain');
        assert.equal(line.fields.provider, 'openai');
        assert.equal(line.fields.path, 'config.targets[0]');
        assert.equal(String(line.fields.status), '503');
        assert.deepEqual(linesOf(`${kind}-fallback`).map((l) => l.level), ['info'], 'a fallback that served logs nothing else');
      });

      test('retries: one info line per retry with its wait (the Retry-After the upstream asked for)', async () => {
        const busy = { kind: 'status', status: 429, headers: { 'retry-after-ms': '60' }, body: { error: { message: 'slow down', type: 'rate_limit_error' } } } as const;
        primary.script(busy, busy);
        const res = await send(`${kind}-retry`, 'retrying');
        assert.equal(res.status, 200);
        const lines = linesOf(`${kind}-retry`);
        assert.deepEqual(lines.map((l) => [l.level, /retrying openai in 60 ms after 429 rate_limit \(retry (\d) of 2\)/.exec(l.msg)?.[1]]), [
          ['info', '1'],
          ['info', '2'],
        ]);
        for (const line of lines) {
          assert.equal(line.fields.configId, 'retrying');
          assert.equal(String(line.fields.waitMs), '60');
          assert.equal(String(line.fields.retryAfter), 'true');
        }
      });

      test('a breaker: warn when it opens, debug when it lets the probe through, info when it closes', async () => {
        primary.script({ kind: 'status', status: 503, body: { error: { message: 'down', type: 'server_error' } } });
        assert.equal((await send(`${kind}-breaker-1`, 'breaking')).status, 200);
        const breakerLines = (): Line[] => sink.lines().filter((l) => /circuit breaker/.test(l.msg));
        assert.deepEqual(breakerLines().map((l) => l.level), ['warn']);
        await wait(150); // the 100 ms cooldown
        const probe = await send(`${kind}-breaker-2`, 'breaking');
        assert.equal(probe.headers['x-portkey-last-used-option-index'], 'config.targets[0]', 'the probe served');
        const lines = breakerLines();
        assert.deepEqual(
          lines.map((l) => [l.level, /circuit breaker (opened|half-open|closed) for openai gpt-4o \(chat\)/.exec(l.msg)?.[1]]),
          [
            ['warn', 'opened'],
            ['debug', 'half-open'],
            ['info', 'closed'],
          ],
        );
        for (const line of lines) {
          // A breaker belongs to no one request: its lines name the breaker instead of a trace.
          assert.match(String(line.fields.breaker), /^openai\|gpt-4o\|chat\|[0-9a-f]{10}$/);
          assert.equal(line.fields.provider, 'openai');
          assert.equal(line.fields.model, 'gpt-4o');
          assert.equal(line.fields.traceId, undefined);
        }
      });

      test('giving up after the last target: one warn line with every attempt status, the key the upstream echoed masked', async () => {
        primary.script({ kind: 'status', status: 503, body: { error: { message: `Incorrect API key provided: ${KEYS.primary}`, type: 'server_error' } } });
        second.script({ kind: 'status', status: 429, body: { error: { message: 'quota exceeded', type: 'rate_limit_error' } } });
        assert.equal((await send(`${kind}-giveup`, 'chain')).status, 429);
        const line = only(`${kind}-giveup`, /giving up after 2 attempts \(openai 503, openai 429\); the client gets 429/);
        assert.equal(line.level, 'warn');
        assert.equal(line.fields.configId, 'chain');
        assert.equal(String(line.fields.status), '429');
        assert.equal(line.fields.path, 'config.targets[1]');
        if (kind !== 'console') assert.deepEqual(line.fields.statuses, [503, 429]);
        else assert.equal(line.fields.statuses, '[503,429]');
        assert.deepEqual(linesOf(`${kind}-giveup`).map((l) => l.level), ['info', 'warn'], 'the fallback, then giving up');
      });

      test('requests refused before any attempt are info lines, never errors: a bad config, a bad gateway key', async () => {
        const bad = await send(`${kind}-badconfig`, '{"strategy":{"mode":"nonsense"},"targets":[{"provider":"openai"}]}', { authorization: `Bearer ${KEYS.bearer}` });
        assert.equal(bad.status, 400);
        const refused = only(`${kind}-badconfig`, /request refused before any attempt \(400 invalid_config\)/);
        assert.equal(refused.level, 'info');
        assert.match(String(refused.fields.error), /mode/);
        const denied = await send(`${kind}-denied`, 'chain', { 'x-portkey-api-key': 'gw-wrong', authorization: `Bearer ${KEYS.bearer}` });
        assert.equal(denied.status, 401);
        const line = only(`${kind}-denied`, /request refused before any attempt \(401 invalid_api_key\)/);
        assert.equal(line.level, 'info');
        assert.equal(line.fields.url, '/v1/chat/completions');
        assert.equal(sink.lines().filter((l) => l.level === 'error').length, 0, 'no error line so far');
      });

      test('an adapter that throws: an error line with its stack, the trace and config ids, the target, and its key masked', async () => {
        const res = await send(`${kind}-bug`, 'buggy');
        assert.equal(res.status, 400);
        const line = only(`${kind}-bug`, /the broken adapter's buildRequest threw/);
        assert.equal(line.level, 'error');
        assert.equal(line.fields.configId, 'buggy');
        assert.equal(line.fields.provider, 'broken');
        assert.equal(line.fields.path, 'config');
        const err = errorOf(line);
        assert.match(err.message, /cannot sign the request with \*\*\*/);
        // console: the error's message on the line, its stack frames on the lines below.
        assert.match(err.stack, kind === 'console' ? /with \*\*\* traceId=.*\n\s+at / : /^TypeError: cannot sign the request with \*\*\*\n\s+at /);
        if (kind !== 'console') assert.equal((line.fields.err as { type: string }).type, 'TypeError');
      });

      test('every line about a request carries its trace id; no key or Authorization value appears anywhere', () => {
        const lines = sink.lines();
        assert.ok(lines.length >= 12, `lines: ${lines.length}`);
        for (const line of lines) {
          if (/circuit breaker/.test(line.msg)) continue;
          assert.match(String(line.fields.traceId), new RegExp(`^${kind}-`), line.raw);
        }
        const everything = lines.map((l) => l.raw).join('\n');
        for (const [name, key] of Object.entries(KEYS)) {
          assert.ok(!everything.includes(key), `the ${name} key is in the logs`);
          assert.ok(!everything.includes(key.slice(0, 16)), `part of the ${name} key is in the logs`);
        }
        assert.ok(!/bearer\s+sk-/i.test(everything), 'an Authorization value is in the logs');
      });
    });
  }
});

describe('createLogger: the forms and levels a logger may have', () => {
  test('a logger without info and debug gets no such lines, and says so through enabled()', () => {
    const got: unknown[][] = [];
    const log = createLogger({ warn: (...a: unknown[]) => void got.push(['warn', ...a]), error: (...a: unknown[]) => void got.push(['error', ...a]) });
    assert.equal(log.enabled('info'), false);
    assert.equal(log.enabled('debug'), false);
    assert.equal(log.enabled('warn'), true);
    log.info('express-llm-fallback: not written', { traceId: 't' });
    log.debug('express-llm-fallback: not written either');
    log.warn('express-llm-fallback: written', { traceId: 't', configId: 'c', note: 'two words', list: [1, 2] });
    assert.deepEqual(got, [['warn', 'express-llm-fallback: written traceId=t configId=c note="two words" list=[1,2]']]);
  });

  test("pino's level is read at each line: a level raised after the router was made silences info", () => {
    const written: string[] = [];
    const p = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (written.push(chunk.toString()), done()) }));
    const log = createLogger(p);
    log.info('express-llm-fallback: one', { traceId: 't1' });
    p.level = 'warn';
    assert.equal(log.enabled('info'), false);
    log.info('express-llm-fallback: two', { traceId: 't2' });
    log.warn('express-llm-fallback: three', { traceId: 't3' });
    assert.deepEqual(written.map((l) => [JSON.parse(l).msg, JSON.parse(l).traceId]), [['express-llm-fallback: one', 't1'], ['express-llm-fallback: three', 't3']]);
  });

  test('a bunyan-style logger gets (fields, message), with the error serialised; a logger that throws is ignored', () => {
    const got: unknown[][] = [];
    const bunyanLike = { streams: [], fields: {}, child: () => bunyanLike, warn: (...a: unknown[]) => void got.push(a), error: () => { throw new Error('disk full'); } };
    const log = createLogger(bunyanLike);
    log.warn('express-llm-fallback: w', { traceId: 't', err: new RangeError('bad Bearer abcdefgh12345678') });
    assert.deepEqual(got[0]![1], 'express-llm-fallback: w');
    const fields = got[0]![0] as { traceId: string; err: { type: string; message: string; stack: string } };
    assert.equal(fields.traceId, 't');
    assert.equal(fields.err.type, 'RangeError');
    assert.equal(fields.err.message, 'bad Bearer ***', 'an Authorization value is masked');
    assert.match(fields.err.stack, /^RangeError: bad Bearer \*\*\*\n\s+at /);
    assert.doesNotThrow(() => log.error('express-llm-fallback: e'));
    assert.equal(createLogger(log), log, 'normalising twice is a no-op');
  });
});
