/**
 * The servers a bench compares, each started in a process of its own by bench/host.ts:
 *
 *   node --expose-gc bench/servers.mjs <kind> <upstream base URL> [router options as JSON]
 *
 * Plain JavaScript on the built package (dist/, what ships; `npm run build` first; BENCH_DIST
 * names another build's index.js, for comparing two), so that no
 * TypeScript loader sits in the measured process. All answer POST /v1/chat/completions by
 * forwarding to `<upstream>/v1/chat/completions` with a bearer key, over keep-alive connections:
 *
 * - `floor`: a bare node:http proxy. Pipes the request body up and the answer back, untouched: the
 *   least any proxy in Node can do (the physical floor). JSON and streamed.
 * - `ceiling`: the hand-written Express 5 + axios route a user would write without us:
 *   `express.json()`, `axios.post(url, req.body)`, `res.status().json(r.data)` (a stream is asked
 *   for with `responseType: 'stream'` and piped back). The same stack as the router without any
 *   of its logic. JSON and streamed.
 * - `router`: express() + `app.use('/v1', createFallbackRouter(...))` with the default options
 *   (traces in memory, breakers, retries), merged with the JSON in the third argument when given.
 *   Clients choose the target with headers: one target is `x-portkey-provider: openai`; a failing
 *   first target is a fallback config whose first target, the virtual key `down`, answers 503.
 * - `node-json`, `node-axios`, `express-node` (JSON only): the parts of the ceiling apart, so that
 *   what Express and axios each cost per request is a difference of two: node-json parses the body
 *   and the answer and stringifies both around a node:http forward; node-axios does the same with
 *   axios; express-node does node-json's work inside Express (`express.json()`, `res.json()`).
 *
 * Before its handler, each answers the bench's own routes: `GET /__bench/stats` (CPU time so far,
 * RSS now and its peak, sampled every 50 ms, since the last reset, live heap), `POST
 * /__bench/reset` (the peak starts again) and `POST /__bench/gc` (two full collections, then the
 * stats). It prints `URL <base>` on stdout once it listens.
 */
import http from 'node:http';

const [kind, upstream, extra] = process.argv.slice(2);
// Each kind loads only what it uses, so that the floor's memory is not the router's.
const axios = kind === 'ceiling' || kind === 'node-axios' ? (await import('axios')).default : undefined;
const express = kind === 'ceiling' || kind === 'router' || kind === 'express-node' ? (await import('express')).default : undefined;
const createFallbackRouter = kind === 'router' ? (await import(process.env.BENCH_DIST ?? '../dist/index.js')).createFallbackRouter : undefined;

const KEY = 'sk-bench';
const kinds = ['floor', 'ceiling', 'router', 'node-json', 'node-axios', 'express-node'];
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** @param {http.IncomingMessage} req @returns {Promise<string>} */
function readBody(req) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString()));
    req.on('error', reject);
  });
}

/**
 * POSTs `body` (or pipes `req`) upstream with node:http; resolves with the upstream's response.
 * @param {string} upstream @param {string | undefined} body @param {http.IncomingMessage} [req]
 * @returns {Promise<http.IncomingMessage>}
 */
function forward(upstream, body, req) {
  return new Promise((resolve, reject) => {
    /** @type {http.OutgoingHttpHeaders} */
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    else if (req?.headers['content-length']) headers['content-length'] = req.headers['content-length'];
    const up = http.request(`${upstream}/v1/chat/completions`, { method: 'POST', agent: keepAlive, headers }, resolve);
    up.on('error', reject);
    if (body !== undefined) up.end(body);
    else req?.pipe(up);
  });
}

/** @param {http.ServerResponse} res */
function badGateway(res) {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
  res.end('{"error":{"message":"upstream unreachable"}}');
}

/** @param {string} upstream @returns {http.RequestListener} */
function floor(upstream) {
  return (req, res) => {
    forward(upstream, undefined, req).then((r) => {
      /** @type {http.OutgoingHttpHeaders} */
      const headers = { 'content-type': r.headers['content-type'] ?? 'application/json' };
      if (r.headers['content-length']) headers['content-length'] = r.headers['content-length'];
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    }, () => badGateway(res));
  };
}

/** @param {string} upstream @returns {http.RequestListener} */
function ceiling(upstream) {
  const client = axios.create({ httpAgent: keepAlive, validateStatus: () => true });
  const app = express();
  app.use(express.json());
  app.post('/v1/chat/completions', async (req, res) => {
    try {
      const stream = req.body?.stream === true;
      const r = await client.post(`${upstream}/v1/chat/completions`, req.body, { headers: { authorization: `Bearer ${KEY}` }, responseType: stream ? 'stream' : 'json' });
      if (stream) {
        res.status(r.status).type(String(r.headers['content-type'] ?? 'text/event-stream'));
        r.data.pipe(res);
      } else res.status(r.status).json(r.data);
    } catch {
      badGateway(res);
    }
  });
  return /** @type {http.RequestListener} */ (/** @type {unknown} */ (app));
}

/** @param {string} upstream @param {object} extra @returns {http.RequestListener} */
function router(upstream, extra) {
  const app = express();
  app.use(
    '/v1',
    createFallbackRouter({
      providers: { openai: { apiKey: KEY, baseURL: `${upstream}/v1` } },
      virtualKeys: { down: { provider: 'openai', apiKey: KEY, baseURL: `${upstream}/down` } },
      logger: { warn: () => undefined, error: console.error },
      ...extra,
    }),
  );
  return /** @type {http.RequestListener} */ (/** @type {unknown} */ (app));
}

/** @param {string} upstream @returns {http.RequestListener} */
function nodeJson(upstream) {
  return (req, res) => {
    void (async () => {
      const body = JSON.parse(await readBody(req));
      const r = await forward(upstream, JSON.stringify(body));
      const data = JSON.stringify(JSON.parse(await readBody(r)));
      res.writeHead(r.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      res.end(data);
    })().catch(() => badGateway(res));
  };
}

/** @param {string} upstream @returns {http.RequestListener} */
function nodeAxios(upstream) {
  const client = axios.create({ httpAgent: keepAlive, validateStatus: () => true });
  return (req, res) => {
    void (async () => {
      const body = JSON.parse(await readBody(req));
      const r = await client.post(`${upstream}/v1/chat/completions`, body, { headers: { authorization: `Bearer ${KEY}` } });
      const data = JSON.stringify(r.data);
      res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      res.end(data);
    })().catch(() => badGateway(res));
  };
}

/** @param {string} upstream @returns {http.RequestListener} */
function expressNode(upstream) {
  const app = express();
  app.use(express.json());
  app.post('/v1/chat/completions', async (req, res) => {
    try {
      const r = await forward(upstream, JSON.stringify(req.body));
      res.status(r.statusCode ?? 502).json(JSON.parse(await readBody(r)));
    } catch {
      badGateway(res);
    }
  });
  return /** @type {http.RequestListener} */ (/** @type {unknown} */ (app));
}

/** @param {http.RequestListener} handler */
function serve(handler) {
  let peakRss = process.memoryUsage.rss();
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50).unref();
  const stats = () => {
    const { user, system } = process.cpuUsage();
    const rss = process.memoryUsage.rss();
    peakRss = Math.max(peakRss, rss);
    return { cpuMicros: user + system, rss, peakRss, heapUsed: process.memoryUsage().heapUsed };
  };
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    if (!path.startsWith('/__bench/')) return handler(req, res);
    req.resume();
    if (path === '/__bench/reset') peakRss = process.memoryUsage.rss();
    if (path === '/__bench/gc') {
      // Twice: the first pass can leave work for finalizers that the second collects.
      globalThis.gc?.();
      globalThis.gc?.();
    }
    const text = JSON.stringify(stats());
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    const address = /** @type {import('node:net').AddressInfo} */ (server.address());
    console.log(`URL http://127.0.0.1:${address.port}`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (!kind || !kinds.includes(kind) || !upstream) {
  console.error(`usage: node bench/servers.mjs <${kinds.join('|')}> <upstream base URL> [router options JSON]`);
  process.exit(2);
}
const make = { floor, ceiling, 'node-json': nodeJson, 'node-axios': nodeAxios, 'express-node': expressNode };
serve(kind === 'router' ? router(upstream, extra ? JSON.parse(extra) : {}) : make[/** @type {keyof typeof make} */ (kind)](upstream));
