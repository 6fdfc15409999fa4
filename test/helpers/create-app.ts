/** Mounts the router in a fresh Express 5 or Express 4 app, beside a host route of its own. */
import express5 from 'express';
import express4 from 'express4';
import { createFallbackRouter, type RouterOptions } from '../../lib/index.js';

/** Both supported Express majors, for tests that must pass on each. */
export const EXPRESS_VERSIONS = [
  { name: 'express5', express: express5 as unknown as typeof express4 },
  { name: 'express4', express: express4 },
] as const;

export interface AppOptions {
  /** Express major to use. @default the Express 5 entry */
  express?: typeof express4;
  /** Install express.json() in the host before the router, as many hosts do. */
  hostJson?: boolean;
  /** Mount path. @default '/v1' */
  mount?: string;
}

/** A quiet logger for tests, which keeps what was logged. */
export function quietLogger(): { warn: (...a: unknown[]) => void; error: (...a: unknown[]) => void; lines: string[] } {
  const lines: string[] = [];
  const push = (...a: unknown[]): void => {
    lines.push(a.map((x) => (x instanceof Error ? x.message : String(x))).join(' '));
  };
  return { warn: push, error: push, lines };
}

export function createApp(options: RouterOptions, app: AppOptions = {}): import('express4').Express {
  const express = app.express ?? EXPRESS_VERSIONS[0].express;
  const host = express();
  if (app.hostJson) host.use(express.json());
  host.get('/host-route', (_req, res) => {
    res.json({ host: true });
  });
  host.post('/v2/host-post', (_req, res) => {
    res.json({ hostPost: true });
  });
  host.use(app.mount ?? '/v1', createFallbackRouter({ logger: quietLogger(), ...options }) as unknown as import('express4').Router);
  return host;
}
