/**
 * A server under test, in a process of its own, so that what it costs (CPU, memory) is charged to
 * it alone and not to the load generator or the fake upstream, which share the parent process.
 *
 * The child (bench/servers.mjs, plain JavaScript on the built package, so that no TypeScript
 * loader sits in the measured process) serves on 127.0.0.1 and answers, before its handler sees
 * them, `GET /__bench/stats` (CPU time so far, RSS now and at its peak since the last reset, live
 * heap), `POST /__bench/reset` (the peak starts again from now) and `POST /__bench/gc` (a full
 * collection, then the stats). It prints `URL <base>` on stdout.
 *
 * `startChild(args)` runs `node --expose-gc bench/servers.mjs <args...>` (with `--cpu-prof` into
 * BENCH_PROFILE when that is set) and resolves once the URL is printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildStats {
  /** User + system CPU time of the process so far, µs. */
  cpuMicros: number;
  /** Resident set size now, bytes. */
  rss: number;
  /** The largest RSS sampled (every 50 ms) since the last reset, bytes. */
  peakRss: number;
  /** Live heap now (after a collection when read through gc()), bytes. */
  heapUsed: number;
}

export interface Child {
  url: string;
  child: ChildProcess;
  stats(): Promise<ChildStats>;
  reset(): Promise<ChildStats>;
  gc(): Promise<ChildStats>;
  stop(): Promise<void>;
}

async function call(url: string, path: string): Promise<ChildStats> {
  const res = await fetch(`${url}/__bench/${path}`, { method: path === 'stats' ? 'GET' : 'POST' });
  return (await res.json()) as ChildStats;
}

/** Start a server of bench/servers.mjs in a child process and wait for its URL. */
export function startChild(args: readonly string[], name = args[0] ?? 'server', env: NodeJS.ProcessEnv = process.env): Promise<Child> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, ['--expose-gc', ...profile, fileURLToPath(new URL('./servers.mjs', import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (code: number | null): void => reject(new Error(`${name} exited with ${code} before it listened`));
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /URL (\S+)/.exec(out);
      if (!m) return;
      child.off('exit', onExit);
      const url = m[1]!;
      resolve({
        url,
        child,
        stats: () => call(url, 'stats'),
        reset: () => call(url, 'reset'),
        gc: () => call(url, 'gc'),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
