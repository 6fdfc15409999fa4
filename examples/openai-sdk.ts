/**
 * The README's openai SDK example: the official `openai` client pointed at the gateway, the
 * fallback config in a default header. Against `npm start` (in another terminal):
 *
 *   npx tsx examples/openai-sdk.ts
 *
 * GATEWAY_URL points it at another gateway (default http://localhost:8787/v1).
 */
import OpenAI from 'openai';

const client = new OpenAI({
  apiKey: 'unused',                       // provider keys stay on the server (virtual keys)
  baseURL: process.env.GATEWAY_URL ?? 'http://localhost:8787/v1',
  defaultHeaders: {
    'x-portkey-api-key': 'demo-gateway-key',
    'x-portkey-config': JSON.stringify({
      strategy: { mode: 'fallback' },
      targets: [
        { virtual_key: 'openai-virtual-key', override_params: { model: 'gpt-4o' } },
        { virtual_key: 'anthropic-virtual-key', override_params: { model: 'claude-sonnet-4-5' } },
      ],
    }),
  },
});
const { data, response } = await client.chat.completions
  .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] })
  .withResponse();
console.log(data.choices[0]?.message.content, '| served by', response.headers.get('x-portkey-provider'));
