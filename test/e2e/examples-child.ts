/**
 * Runs an example under examples/ as a child process, as `npx tsx examples/<name>.ts` would,
 * with an environment cleared of every variable the examples read (so a developer's real keys
 * never reach a test), plus what the test gives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every variable an example reads: removed from the inherited environment. */
export const EXAMPLE_ENV_VARS = [
  'PORT',
  'GATEWAY_API_KEY',
  'GATEWAY_URL',
  'REDIS_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_MODEL',
  'AZURE_OPENAI_API_KEY',
  'AZURE_OPENAI_RESOURCE',
  'AZURE_OPENAI_ENDPOINT',
  'AZURE_OPENAI_DEPLOYMENT',
  'AZURE_OPENAI_API_VERSION',
  'AZURE_API_KEY',
  'PORTKEY_API_KEY',
  'PORTKEY_BASE_URL',
  'DEBUG',
] as const;

export function exampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of EXAMPLE_ENV_VARS) delete env[name];
  return { ...env, ...extra };
}

export interface RunningExample {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves once the output matches (rejects when the process exits first, or after timeoutMs). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `node --import tsx <file>` in the repository root. */
export function startExample(file: string, env: Record<string, string> = {}): RunningExample {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: REPO_ROOT, env: exampleEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c) => {
      code = c;
      for (const l of listeners) l();
      resolve(c);
    });
  });
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${file}: no ${pattern} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const check = (): void => {
          const m = pattern.exec(out);
          if (m) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve(m);
          } else if (code !== undefined) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`${file} exited with ${code} before ${pattern}; output:\n${out}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

/** Runs an example to its end; resolves with its exit code and output. */
export async function runExample(file: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const run = startExample(file, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const code = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}
