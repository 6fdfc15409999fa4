/**
 * The README's portkey-ai SDK example: the Portkey client pointed at the gateway with `baseURL`,
 * naming the example server's saved config. Against `npm start` (in another terminal):
 *
 *   npx tsx examples/portkey-sdk.ts
 *
 * GATEWAY_URL points it at another gateway (default http://localhost:8787/v1).
 */
import { Portkey } from 'portkey-ai';

const portkey = new Portkey({
  apiKey: 'demo-gateway-key',             // sent as x-portkey-api-key
  baseURL: process.env.GATEWAY_URL ?? 'http://localhost:8787/v1',
  config: 'pc-demo-fallback',             // a saved config id, or a config object
});
const answer = await portkey.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] });
console.log(answer.choices[0]?.message?.content, '| served by', answer.getHeaders?.()?.['provider']);
