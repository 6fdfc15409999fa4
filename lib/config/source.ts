/**
 * Picks the request's config from its five possible sources, in SPEC §3's order of precedence,
 * and returns its Plan. Parsed plans are cached by their text so a repeated config is neither
 * re-parsed nor re-validated.
 */
import { ConfigError, OptionsError } from '../errors.js';
import type { Plan } from '../engine/plan.js';
import type { Settings } from '../options.js';
import { validateConfig, type ConfigNode } from './normalise.js';
import { keySegment, quoteIfId } from './quote.js';
import { buildPlan, hashConfig } from './resolve.js';

/** Largest config text accepted in a header or body field. */
export const MAX_CONFIG_TEXT = 64 * 1024;

/** How many distinct request configs stay cached. */
export const CACHE_SIZE = 500;

/**
 * How many characters of config text (the cache keys) stay cached: a plan is about as large as
 * its text, so this bounds the cache's memory too (500 configs of 64 KB would otherwise hold
 * 32 MB of text and their plans).
 */
export const CACHE_CHARS = 2 * 1024 * 1024;

/** Where the chosen config came from (for traces and debug output). */
export type ConfigSourceKind = 'header-config' | 'body-config' | 'header-fallback' | 'header-provider' | 'default';

export interface SelectedConfig {
  readonly plan: Plan;
  readonly source: ConfigSourceKind;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/** Chooses and plans configs for one router. */
export class ConfigSelector {
  /**
   * Plans (or the ConfigError a config raised) by cache key; a Map keeps insertion order, which
   * makes a small LRU. Invalid configs are cached too, so a client repeating one costs nothing.
   */
  private readonly cache = new Map<string, Plan | ConfigError>();
  /** The characters of the cache's keys. */
  private cacheChars = 0;
  private readonly savedPlans = new Map<string, Plan>();
  private readonly defaultPlan?: Plan;

  constructor(private readonly settings: Settings) {
    // Paths inside plans stay `config...` (they are what response headers report); errors at
    // construction name the option that holds the config instead.
    const build = (config: ConfigNode, configId: string, option: string): Plan => {
      try {
        return buildPlan(config, settings, { label: 'config', trusted: true, configId });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new OptionsError(`createFallbackRouter: ${err.message.replace(/^config/, option)}`);
      }
    };
    for (const [id, config] of settings.configs) this.savedPlans.set(id, build(config, id, `options.configs.${keySegment(id)}`));
    if (settings.defaultConfig) this.defaultPlan = build(settings.defaultConfig, 'default', 'options.defaultConfig');
  }

  /** Every plan built from the host's options (for start-up checks). */
  get hostPlans(): Plan[] {
    return [...this.savedPlans.values(), ...(this.defaultPlan ? [this.defaultPlan] : [])];
  }

  /**
   * Selects the config of a request. `bodyConfig` is the body's `config` field (already removed
   * from what is forwarded). Throws ConfigError (400) when none is given or one is invalid.
   */
  select(headers: Headers, bodyConfig: unknown): SelectedConfig {
    const p = this.settings.headerPrefix;
    const headerConfig = header(headers, `${p}config`);
    if (headerConfig !== undefined) return { plan: this.fromText(headerConfig, `${p}config header`), source: 'header-config' };
    if (bodyConfig !== undefined && bodyConfig !== null) {
      if (typeof bodyConfig === 'string') return { plan: this.fromText(bodyConfig, 'config'), source: 'body-config' };
      return { plan: this.fromObject(bodyConfig), source: 'body-config' };
    }
    const fallback = header(headers, `${p}fallback`);
    if (fallback !== undefined) return { plan: this.fromFallbackList(fallback), source: 'header-fallback' };
    const provider = header(headers, `${p}provider`);
    if (provider !== undefined) return { plan: this.fromProviderHeader(provider, header(headers, 'authorization')), source: 'header-provider' };
    // The portkey-ai SDK's `virtualKey` option arrives as this header: a single target too.
    const virtualKey = header(headers, `${p}virtual-key`);
    if (virtualKey !== undefined) {
      return { plan: this.cached(`v:${virtualKey}`, () => this.plan(validateConfig({ virtual_key: virtualKey }))), source: 'header-provider' };
    }
    if (this.defaultPlan) return { plan: this.defaultPlan, source: 'default' };
    throw new ConfigError(
      `No fallback config given. Send one of: the ${p}config header (a JSON config or a saved config id), ` +
        `a "config" field in the body, the ${p}fallback header (e.g. "openai,azure_openai"), ` +
        `the ${p}provider header with Authorization: Bearer <key>, or set defaultConfig on the router.`,
      null,
      'missing_config',
    );
  }

  /** A config given as text: JSON, or the id of a saved config. */
  private fromText(text: string, where: string): Plan {
    if (text.length > MAX_CONFIG_TEXT) {
      throw new ConfigError(`${where} is longer than ${MAX_CONFIG_TEXT} characters`, 'config', 'config_too_large');
    }
    const trimmed = text.trim();
    if (trimmed.startsWith('[')) throw new ConfigError(`${where} must be a JSON object`, 'config');
    if (!trimmed.startsWith('{')) {
      const saved = this.savedPlans.get(trimmed);
      if (saved) return saved;
      throw new ConfigError(
        `${where} ${quoteIfId(trimmed)} is neither a JSON object nor a saved config id`,
        'config',
        'unknown_config',
      );
    }
    return this.cached(`t:${trimmed}`, () => {
      let raw: unknown;
      try {
        raw = JSON.parse(trimmed);
      } catch (err) {
        // JSON.parse's message quotes the text around the error, which may be a key: keep the position only.
        const position = /position (\d+)/.exec((err as Error).message)?.[1];
        throw new ConfigError(`${where} is not valid JSON${position ? ` (at position ${position})` : ''}`, 'config', 'invalid_config_json');
      }
      return this.plan(validateConfig(raw, 'config'));
    });
  }

  private fromObject(raw: unknown): Plan {
    let text: string;
    try {
      text = JSON.stringify(raw);
    } catch {
      throw new ConfigError('config cannot be serialised', 'config');
    }
    if (text.length > MAX_CONFIG_TEXT) {
      throw new ConfigError(`config is longer than ${MAX_CONFIG_TEXT} characters`, 'config', 'config_too_large');
    }
    return this.cached(`t:${text}`, () => this.plan(validateConfig(raw, 'config')));
  }

  private fromFallbackList(list: string): Plan {
    return this.cached(`f:${list}`, () => {
      const names = list.split(',').map((name) => name.trim());
      if (names.length > 50 || names.some((name) => name === '')) {
        throw new ConfigError(
          `${this.settings.headerPrefix}fallback must be a comma-separated list of provider names, e.g. "openai,azure_openai"`,
          `${this.settings.headerPrefix}fallback`,
        );
      }
      return this.plan(validateConfig({ strategy: { mode: 'fallback' }, targets: names.map((provider) => ({ provider })) }));
    });
  }

  private fromProviderHeader(provider: string, authorization: string | undefined): Plan {
    const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    const useKey = bearer !== undefined && this.settings.allowClientKeys;
    // The key is part of the cache key, so the cached plan can only be reused by the same key.
    return this.cached(`p:${provider}\n${useKey ? bearer : ''}`, () =>
      this.plan(validateConfig(useKey ? { provider, api_key: bearer } : { provider })),
    );
  }

  private plan(config: ConfigNode): Plan {
    return buildPlan(config, this.settings, { label: 'config', trusted: false, configId: hashConfig(config) });
  }

  private cached(key: string, build: () => Plan): Plan {
    let entry = this.cache.get(key);
    if (entry !== undefined) {
      // Most recently used last: a hit moves to the end.
      this.cache.delete(key);
      this.cache.set(key, entry);
    } else {
      try {
        entry = build();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        entry = err;
      }
      this.cache.set(key, entry);
      this.cacheChars += key.length;
      while (this.cache.size > CACHE_SIZE || (this.cacheChars > CACHE_CHARS && this.cache.size > 1)) {
        const oldest = this.cache.keys().next().value!;
        this.cache.delete(oldest);
        this.cacheChars -= oldest.length;
      }
    }
    if (entry instanceof ConfigError) throw entry;
    return entry;
  }

  /** How many plans are cached and the characters of their config text (for tests and the bench). */
  cacheSize(): { entries: number; chars: number } {
    return { entries: this.cache.size, chars: this.cacheChars };
  }
}
