/** OpenAI: the reference wire format, passed through as it is. */
import Joi from 'joi';
import { openAICompatibleAdapter } from './openai-compatible.js';
import { settingString } from './settings.js';

/**
 * OpenAI's target settings: `openai_organization` (or `organization`) becomes the
 * `OpenAI-Organization` header, `openai_project` (or `project`) the `OpenAI-Project` header; the
 * `openai_` spelling wins when both are set.
 */
export const openaiSettings = Joi.object({
  openai_organization: settingString,
  openai_project: settingString,
  organization: settingString,
  project: settingString,
});

/**
 * The `openai` adapter: `Authorization: Bearer`, optional `OpenAI-Organization` and
 * `OpenAI-Project` from the `organization` / `project` settings.
 */
export const openaiAdapter = openAICompatibleAdapter({
  name: 'openai',
  streamUsage: 'on_request',
  defaultBaseURL: 'https://api.openai.com/v1',
  settings: openaiSettings,
  settingHeaders: (settings) => {
    const headers: Record<string, string> = {};
    const org = settings.openai_organization ?? settings.organization;
    const project = settings.openai_project ?? settings.project;
    if (typeof org === 'string') headers['openai-organization'] = org;
    if (typeof project === 'string') headers['openai-project'] = project;
    return headers;
  },
});
