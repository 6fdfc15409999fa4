/**
 * examples/redis.ts runs as the README says: on its own (it starts a redis-server of its own when
 * REDIS_URL is unset) and against a given Redis (REDIS_URL), and shows what it claims: a breaker
 * opened by failures seen across two instances (ioredis and node-redis), respected by the other
 * instance, and both instances' traces on one GET /logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawCommand, redisSkip, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { runExample } from './examples-child.js';

describe('examples/redis.ts', { skip: redisSkip() }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  const checkOutput = (code: number | null, output: string): void => {
    assert.equal(code, 0, output);
    assert.match(output, /^B: HTTP 200, served by azure-openai \(OpenAI answered 429/m);
    assert.match(output, /^A: HTTP 200, served by azure-openai \(a second failure, fleet-wide/m);
    assert.match(output, /^B: learned from Redis in \d+ ms that the OpenAI breaker is open .*"kind":"redis","shared":true,"reachable":true/m);
    assert.match(output, /^B: HTTP 200, served by azure-openai; OpenAI skipped \(circuit_open\), not called$/m);
    assert.match(output, /^A: GET \/logs lists 3 traces of both instances/m);
  };

  test('without REDIS_URL it starts its own redis-server', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/redis.ts', { REDIS_URL: '' }, 60_000);
    assert.match(output, /^Redis: a redis-server of our own at redis:\/\/127\.0\.0\.1:\d+$/m);
    checkOutput(code, output);
  });

  test('with REDIS_URL it uses that Redis, under its own key prefix', { timeout: 60_000 }, async () => {
    const { code, output } = await runExample('examples/redis.ts', { REDIS_URL: server.url }, 60_000);
    assert.match(output, new RegExp(`^Redis: ${server.url}$`, 'm'));
    checkOutput(code, output);
    assert.equal(await rawCommand(server.port, 'EXISTS', 'llmfb:example:tr:all'), ':1\r\n');
  });
});
