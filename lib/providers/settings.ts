/**
 * Building blocks for adapters' `settings` schemas (`ProviderAdapter.settings`).
 *
 * Provider settings end up in upstream headers and URLs, so every string one holds must be
 * header-safe: no CR, LF or NUL (header injection), and of a bounded length.
 */
import Joi from 'joi';

/** Longest string a provider setting may hold. */
export const MAX_SETTING_LENGTH = 8192;

/** A string that may end up in an upstream header: at most 8192 characters, no CR, LF or NUL. */
export const headerSafe = Joi.string()
  .max(MAX_SETTING_LENGTH)
  .pattern(/^[^\r\n\0]*$/, { name: 'header-safe (no CR, LF or NUL)' });

/** A non-empty header-safe string: the usual type of a provider setting. */
export const settingString = headerSafe.min(1);
