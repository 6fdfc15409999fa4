/**
 * OpenAI chat `messages` as Gemini `contents` and `systemInstruction`, shared by the Gemini API
 * (`google`) and Vertex AI (`vertex-ai`) adapters, whose content format is the same.
 *
 * Gemini has two roles, `user` and `model`: system and developer messages become the
 * `systemInstruction`, tool results become `functionResponse` parts of a `user` turn, and
 * consecutive turns of one role are merged. What Gemini cannot take is a `RequestError` (400
 * `invalid_parameter`) naming the field.
 */
import { imageSource, invalid, systemText, toolCallIdOf, toolCallsOf } from '../chat-input.js';
import { isObject } from '../openai-compatible.js';
import type { JsonObject } from '../types.js';

/** One Gemini `Part` (text, inlineData, fileData, functionCall, functionResponse). */
export type GeminiPart = JsonObject;

/** One Gemini `Content`: a turn of the conversation. */
export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** How one provider's flavour of the format differs. */
export interface ContentOptions {
  /** Provider name, for messages. */
  readonly provider: string;
  /**
   * Send the OpenAI call ids as `functionCall.id` / `functionResponse.id`: the Gemini API has the
   * field; Vertex AI does not (it refuses unknown fields).
   */
  readonly callIds: boolean;
}

/**
 * The signature Google documents for a function call Gemini did not produce itself (another
 * provider's turn, a conversation that failed over): Gemini 3 refuses a model turn whose first
 * function call carries no `thoughtSignature`.
 */
export const FOREIGN_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** Image types Gemini takes, by file extension (an image URL's type must be named). */
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
};

/** The MIME type of an image URL, from its path's extension. */
function imageTypeOf(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext === undefined ? undefined : IMAGE_TYPES[ext];
}

/** An OpenAI `image_url` part as `inlineData` (a data URL) or `fileData` (an https URL). */
function imagePart(part: JsonObject, param: string, o: ContentOptions): GeminiPart {
  const image = imageSource(part, param);
  if (image.kind === 'base64') return { inlineData: { mimeType: image.mediaType, data: image.data } };
  const urlParam = `${param}.image_url.url`;
  if (!/^https:\/\//i.test(image.url)) throw invalid(`${urlParam}: ${o.provider} fetches image URLs over https only`, urlParam);
  const mimeType = imageTypeOf(image.url);
  if (mimeType === undefined) {
    throw invalid(
      `${urlParam}: ${o.provider} needs the image's type, and the URL does not end in .png, .jpg, .jpeg, .webp, .gif, .heic or .heif; send a base64 data URL instead`,
      urlParam,
    );
  }
  return { fileData: { mimeType, fileUri: image.url } };
}

/** An OpenAI `input_audio` part (base64 wav or mp3) as `inlineData`. */
function audioPart(part: JsonObject, param: string): GeminiPart {
  const audio = isObject(part.input_audio) ? part.input_audio : undefined;
  if (typeof audio?.data !== 'string') throw invalid(`${param}.input_audio.data must be a base64 string`, `${param}.input_audio.data`);
  if (audio.format !== 'wav' && audio.format !== 'mp3') {
    throw invalid(`${param}.input_audio.format must be 'wav' or 'mp3'`, `${param}.input_audio.format`);
  }
  return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } };
}

/** An OpenAI `file` part whose `file_data` is a base64 data URL, as `inlineData`. */
function filePart(part: JsonObject, param: string, o: ContentOptions): GeminiPart {
  const file = isObject(part.file) ? part.file : {};
  const data = typeof file.file_data === 'string' ? /^data:([^;,]+);base64,(.*)$/s.exec(file.file_data) : null;
  if (!data) {
    throw invalid(`${param}.file.file_data must be a base64 data URL (${o.provider} cannot read an uploaded file_id)`, `${param}.file.file_data`);
  }
  return { inlineData: { mimeType: data[1]!, data: data[2]! } };
}

/** OpenAI message content (a string, an array of parts, or null) as Gemini parts. */
function contentParts(content: unknown, param: string, o: ContentOptions): GeminiPart[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) throw invalid(`${param} must be a string, an array or null`, param);
  const parts: GeminiPart[] = [];
  content.forEach((part, k) => {
    const partParam = `${param}[${k}]`;
    if (!isObject(part)) throw invalid(`${partParam} must be an object`, partParam);
    if (part.type === 'text' && typeof part.text === 'string') {
      if (part.text !== '') parts.push({ text: part.text });
    } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
      if (part.refusal !== '') parts.push({ text: part.refusal });
    } else if (part.type === 'image_url') parts.push(imagePart(part, partParam, o));
    else if (part.type === 'input_audio') parts.push(audioPart(part, partParam));
    else if (part.type === 'file') parts.push(filePart(part, partParam, o));
    else throw invalid(`${partParam}.type ${JSON.stringify(part.type)} is not supported by ${o.provider}`, `${partParam}.type`);
  });
  return parts;
}

/** The `thoughtSignature` an earlier Gemini reply gave a tool call (`extra_content.google`). */
function thoughtSignatureOf(call: unknown): string | undefined {
  const extra = isObject(call) && isObject(call.extra_content) ? call.extra_content : undefined;
  const google = isObject(extra?.google) ? extra.google : undefined;
  const signature = google?.thought_signature;
  return typeof signature === 'string' && signature !== '' ? signature : undefined;
}

/** An assistant message's tool calls as `functionCall` parts; their names are noted by id. */
function functionCallParts(msg: JsonObject, i: number, names: Map<string, string>, o: ContentOptions): GeminiPart[] {
  const raw = Array.isArray(msg.tool_calls) ? msg.tool_calls : [];
  return toolCallsOf(msg.tool_calls, i).map((call, j) => {
    names.set(call.id, call.name);
    const part: GeminiPart = { functionCall: { ...(o.callIds ? { id: call.id } : {}), name: call.name, args: call.input } };
    const signature = thoughtSignatureOf(raw[j]);
    if (signature !== undefined) part.thoughtSignature = signature;
    else if (j === 0) part.thoughtSignature = FOREIGN_THOUGHT_SIGNATURE;
    return part;
  });
}

/** A tool result's text: a string, or the text parts of an array joined. */
function toolResultText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return systemText(content, param);
}

/** A `tool` message as a `functionResponse` part (its name from the call it answers). */
function functionResponsePart(msg: JsonObject, i: number, names: Map<string, string>, o: ContentOptions): GeminiPart {
  const id = toolCallIdOf(msg, i);
  const name = names.get(id);
  if (name === undefined) {
    throw invalid(`messages[${i}].tool_call_id does not match a tool call of an earlier assistant message`, `messages[${i}].tool_call_id`);
  }
  const text = toolResultText(msg.content, `messages[${i}].content`);
  let response: JsonObject = { content: text };
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) response = parsed;
  } catch {
    // Not JSON: the text as it is.
  }
  return { functionResponse: { ...(o.callIds ? { id } : {}), name, response } };
}

/** The translated conversation. */
export interface GeminiConversation {
  readonly contents: GeminiContent[];
  readonly systemInstruction?: { parts: GeminiPart[] };
}

/** Translates OpenAI `messages` into Gemini `contents` and `systemInstruction`. */
export function translateMessages(messages: unknown[], o: ContentOptions): GeminiConversation {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const names = new Map<string, string>();
  const push = (role: GeminiContent['role'], parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    // A loop, not push(...parts): spreading a huge array as arguments overflows the stack.
    if (last !== undefined && last.role === role) for (const part of parts) last.parts.push(part);
    else contents.push({ role, parts });
  };

  messages.forEach((msg, i) => {
    const param = `messages[${i}]`;
    if (!isObject(msg)) throw invalid(`${param} must be an object`, param);
    switch (msg.role) {
      case 'system':
      case 'developer': {
        const text = systemText(msg.content, `${param}.content`);
        if (text !== '') system.push(text);
        break;
      }
      case 'user':
        push('user', contentParts(msg.content, `${param}.content`, o));
        break;
      case 'assistant':
        push('model', [...contentParts(msg.content, `${param}.content`, o), ...functionCallParts(msg, i, names, o)]);
        break;
      case 'tool':
        push('user', [functionResponsePart(msg, i, names, o)]);
        break;
      default:
        throw invalid(`${param}.role ${JSON.stringify(msg.role)} is not supported by ${o.provider}`, `${param}.role`);
    }
  });
  return system.length > 0 ? { contents, systemInstruction: { parts: [{ text: system.join('\n') }] } } : { contents };
}
