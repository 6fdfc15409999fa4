/** Built-in adapters by canonical name, and the spellings accepted for each name. */
import { anthropicAdapter } from './anthropic/index.js';
import { azureOpenAIAdapter } from './azure-openai.js';
import { bedrockAdapter } from './bedrock/index.js';
import { cohereAdapter } from './cohere/index.js';
import { googleAdapter } from './google/index.js';
import { openAICompatibleAdapter } from './openai-compatible.js';
import { mistralAdapter } from './mistral.js';
import { openaiAdapter } from './openai.js';
import type { ProviderAdapter } from './types.js';
import { vertexAdapter } from './vertex/index.js';

/** Alternative spellings, lower-cased, mapped to the canonical (Portkey) provider name. */
const ALIASES: Readonly<Record<string, string>> = {
  azure_openai: 'azure-openai',
  azureopenai: 'azure-openai',
  azure: 'azure-openai',
  gemini: 'google',
  vertex: 'vertex-ai',
  vertex_ai: 'vertex-ai',
  vertexai: 'vertex-ai',
  mistral: 'mistral-ai',
  mistral_ai: 'mistral-ai',
  together: 'together-ai',
  together_ai: 'together-ai',
  fireworks: 'fireworks-ai',
  fireworks_ai: 'fireworks-ai',
  xai: 'x-ai',
  x_ai: 'x-ai',
  perplexity: 'perplexity-ai',
  perplexity_ai: 'perplexity-ai',
  openai_compatible: 'openai-compatible',
};

/** Canonical provider name for a spelling (`azure_openai` -> `azure-openai`). */
export function canonicalProvider(name: string): string {
  const lower = name.trim().toLowerCase();
  return Object.hasOwn(ALIASES, lower) ? ALIASES[lower]! : lower;
}

/** The adapters that ship with the package, keyed by canonical name. */
export function builtinAdapters(): Map<string, ProviderAdapter> {
  const list: ProviderAdapter[] = [
    openaiAdapter,
    azureOpenAIAdapter,
    anthropicAdapter,
    googleAdapter,
    vertexAdapter,
    cohereAdapter,
    bedrockAdapter,
    openAICompatibleAdapter({ name: 'groq', defaultBaseURL: 'https://api.groq.com/openai/v1', endpoints: ['chat'], streamUsage: 'on_request' }),
    mistralAdapter,
    openAICompatibleAdapter({ name: 'together-ai', defaultBaseURL: 'https://api.together.xyz/v1', streamUsage: 'on_request' }),
    openAICompatibleAdapter({ name: 'deepseek', defaultBaseURL: 'https://api.deepseek.com/v1', endpoints: ['chat'], streamUsage: 'on_request' }),
    openAICompatibleAdapter({ name: 'fireworks-ai', defaultBaseURL: 'https://api.fireworks.ai/inference/v1', streamUsage: 'on_request' }),
    openAICompatibleAdapter({ name: 'x-ai', defaultBaseURL: 'https://api.x.ai/v1', endpoints: ['chat'], streamUsage: 'on_request' }),
    openAICompatibleAdapter({ name: 'perplexity-ai', defaultBaseURL: 'https://api.perplexity.ai', endpoints: ['chat'] }),
    openAICompatibleAdapter({ name: 'openrouter', defaultBaseURL: 'https://openrouter.ai/api/v1', endpoints: ['chat', 'completion'], streamUsage: 'on_request' }),
    openAICompatibleAdapter({ name: 'ollama', defaultBaseURL: 'http://127.0.0.1:11434/v1', requiresApiKey: false }),
    // No default host: a baseURL (options.providers or a virtual key) is required.
    openAICompatibleAdapter({ name: 'openai-compatible', defaultBaseURL: '', requiresApiKey: false }),
  ];
  return new Map(list.map((adapter) => [adapter.name, adapter]));
}
