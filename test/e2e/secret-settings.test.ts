/**
 * Credentials held in provider settings (AWS secret keys and session tokens, a Vertex service
 * account's private key) are masked like api keys: an upstream that echoes one in its error
 * reaches neither the client, nor the trace, nor the logs.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { credentialsOf } from '../../lib/engine/reply.js';
import type { PlanTarget } from '../../lib/engine/plan.js';
import { createApp } from '../helpers/create-app.js';
import { traceOf } from '../helpers/requests.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION = 'FQoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789';
const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

describe('secrets in provider settings are masked like api keys', () => {
  let upstream: http.Server;
  let origin: string;
  before(async () => {
    // A Bedrock-shaped upstream that echoes the caller's credentials in its error, as some do.
    upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException' });
        res.end(JSON.stringify({ message: `bad request signed with secret ${SECRET} and token ${SESSION.slice(0, 20)}` }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  test('an AWS secret key and session token echoed by Bedrock reach neither the client, the trace nor the log', async () => {
    const lines: string[] = [];
    const logger = { warn: (...a: unknown[]) => lines.push(a.map(String).join(' ')), error: (...a: unknown[]) => lines.push(a.map(String).join(' ')) };
    const app = createApp({
      logger,
      providers: { bedrock: { baseURL: origin, awsRegion: 'us-east-1', awsAccessKeyId: 'AKIDEXAMPLE01', awsSecretAccessKey: SECRET, awsSessionToken: SESSION } },
    });
    const res = await request(app)
      .post('/v1/chat/completions')
      .set('x-portkey-provider', 'bedrock')
      .set('x-portkey-trace-id', 'trace-secret-settings')
      .send({ model: 'anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /bad request signed with secret \*\*\*/, 'the upstream message reaches the client, masked');
    const trace = await traceOf(app, 'trace-secret-settings');
    assert.equal(trace.status, 200);
    const seen = [JSON.stringify(res.body), JSON.stringify(trace.body), lines.join('\n')].join('\n');
    for (const secret of [SECRET, SESSION.slice(0, 20), SECRET.slice(5, 20)]) assert.ok(!seen.includes(secret), `no ${secret.slice(0, 6)}… anywhere`);
  });

  test('a Vertex service account, as an object or as JSON text, has its private key masked', () => {
    const leaf = (settings: Record<string, unknown>): PlanTarget => ({ path: 'config', target: { provider: 'vertex-ai', headers: {}, settings } }) as unknown as PlanTarget;
    const account = { client_email: 'svc@example.iam.gserviceaccount.com', private_key: PRIVATE_KEY, private_key_id: 'abcdef0123456789' };
    for (const value of [account, JSON.stringify(account)]) {
      const secrets = credentialsOf(leaf({ vertex_project_id: 'project-1', vertex_service_account_json: value }), {});
      assert.ok(secrets.includes(PRIVATE_KEY), 'the private key');
      assert.ok(secrets.includes('abcdef0123456789'), 'the key id');
      assert.ok(!secrets.includes('svc@example.iam.gserviceaccount.com'), 'not the e-mail, which is no secret');
      assert.ok(!secrets.includes('project-1'), 'not the project');
    }
    // A function setting (getAccessToken) is no text to mask.
    assert.deepEqual(credentialsOf(leaf({ get_access_token: () => 'x' }), {}), []);
  });
});
