import type OpenAI from 'openai';
import type { Config } from '../config.js';
import type { ModelSettings } from './turn.js';

/**
 * The assistant's model through any OpenAI-compatible API; undefined when CHAT_MODEL is not set. The client
 * library is loaded only then: it is large, and a server without chat should not start slower for it.
 */
export async function createChatModel(config: Config): Promise<{ openai: OpenAI; settings: ModelSettings } | undefined> {
  const model = config.chat.model;
  if (!model) return undefined;
  const { default: OpenAIClient } = await import('openai');
  const openai = new OpenAIClient({
    // Local OpenAI-compatible servers often need no key; the client insists on one.
    apiKey: model.apiKey ?? 'unused',
    ...(model.baseUrl ? { baseURL: model.baseUrl } : {}),
    timeout: model.timeoutMs,
    // Fail fast: a failed model call becomes an error event in the thread, which the user can retry.
    maxRetries: 0,
  });
  return { openai, settings: { name: model.name, timeoutMs: model.timeoutMs, stream: model.stream, maxSteps: model.maxSteps } };
}
