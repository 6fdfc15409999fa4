/** OpenAI: the reference wire format, passed through as it is. */
import { openAICompatibleAdapter } from './openai-compatible.js';

/**
 * The `openai` adapter: `Authorization: Bearer`, optional `OpenAI-Organization` and
 * `OpenAI-Project` from the `organization` / `project` settings.
 */
export const openaiAdapter = openAICompatibleAdapter({
  name: 'openai',
  defaultBaseURL: 'https://api.openai.com/v1',
  settingHeaders: (settings) => {
    const headers: Record<string, string> = {};
    const org = settings.openai_organization ?? settings.organization;
    const project = settings.openai_project ?? settings.project;
    if (typeof org === 'string') headers['openai-organization'] = org;
    if (typeof project === 'string') headers['openai-project'] = project;
    return headers;
  },
});
