/**
 * A real redis-server (Debian's package) for the Redis store tests: started on a free loopback
 * port, with no persistence, and killed on teardown. It can be stopped (as a crash: SIGKILL) and
 * started again on the same port, to test an outage and its end.
 *
 * Locally a test may skip when redis-server is not installed (`redisSkip`); under CI=true it
 * never skips: the test then fails, since CI installs it (.ci/run).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** Whether redis-server can be run here. */
export function redisServerInstalled(): boolean {
  const r = spawnSync(BINARY, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** For `test(..., { skip: redisSkip() })`: a reason to skip locally, never under CI=true. */
export function redisSkip(): false | string {
  if (process.env.CI === 'true' || redisServerInstalled()) return false;
  return 'redis-server is not installed (apt-get install redis-server); under CI=true this test fails instead';
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** One RESP command over a fresh socket; resolves with the raw reply text. */
export function rawCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('no reply')));
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.endsWith('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Kills the server at once (SIGKILL, as a crash): clients see the connection drop. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: there is no persistence). */
  start(): Promise<void>;
  /** Whether it is running. */
  readonly running: boolean;
}

/** Starts redis-server on a free loopback port (or `port`) and waits until it answers PONG. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    let failed: Error | undefined;
    child = spawn(BINARY, ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (err) => void (failed = err)); // e.g. ENOENT: not installed (CI installs it)
    child.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => void (output += d.toString()));
    for (let i = 0; i < 200; i++) {
      if (failed) throw new Error(`could not start ${BINARY} (apt-get install redis-server): ${failed.message}`);
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${output}`);
      try {
        if ((await rawCommand(chosen, 'PING')).startsWith('+PONG')) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`redis-server did not answer PING on port ${chosen}:\n${output}`);
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGKILL');
    await once(c, 'exit');
  };

  await start();
  // A test that fails before its teardown must not leave the server running.
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    stop,
    start,
    get running() {
      return child !== undefined && child.exitCode === null;
    },
  };
}

/** A connected client of either kind, as createRedisStores takes it. */
export interface RedisClient {
  readonly kind: 'ioredis' | 'node-redis';
  readonly sendCommand: (...args: string[]) => Promise<unknown>;
  close(): Promise<void>;
}

/** Connects an ioredis or a node-redis client, with default settings and a quiet error listener. */
export async function connectClient(kind: RedisClient['kind'], port: number): Promise<RedisClient> {
  if (kind === 'ioredis') {
    const { Redis } = await import('ioredis');
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: true });
    redis.on('error', () => undefined);
    await redis.connect();
    return {
      kind,
      sendCommand: (command, ...args) => redis.call(command!, ...args) as Promise<unknown>,
      close: async () => redis.disconnect(),
    };
  }
  const { createClient } = await import('redis');
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 500) } });
  client.on('error', () => undefined);
  await client.connect();
  return {
    kind,
    sendCommand: (...args) => client.sendCommand(args) as Promise<unknown>,
    close: async () => {
      client.destroy();
    },
  };
}
