/** `npm start` (examples/server.ts) shows a fallback end to end with no provider keys. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('the example gateway starts demo upstreams and its self-test falls back', { timeout: 60_000 }, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  delete env.AZURE_OPENAI_API_KEY;
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ctrl-C to stop')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${out}`)));
    });
    assert.match(out, /self-test: x-portkey-fallback: openai,azure_openai -> HTTP 200, served by azure-openai \(config\.targets\[1\]\), 2 attempts/);
    assert.match(out, /Demo Azure OpenAI answering: "Say hello"/);
    const base = /on (http:\/\/localhost:\d+\/v1)/.exec(out)?.[1];
    assert.ok(base, out);
    // the printed curl's request, sent as the README says
    const res = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portkey-api-key': 'demo-gateway-key', 'x-portkey-fallback': 'openai,azure_openai' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'What are the top 10 happiest countries in the world?' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-portkey-provider'), 'azure-openai');
  } finally {
    child.kill('SIGTERM');
  }
});
