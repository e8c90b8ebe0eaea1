import { countTokens } from "gpt-tokenizer";

// Chat formats wrap every message in a few tokens of role markers (OpenAI documents 3 per message
// plus 3 to prime the answer); counting them keeps the estimate from falling short on long chats.
const tokensPerMessage = 3;
const tokensPerPrompt = 3;

export type TextMessage = { role: string; text: string };

/** Tokens in `text` by the o200k tokenizer (GPT-4o and later), a close proxy for other models. */
export function countTextTokens(text: string): number {
  return text === "" ? 0 : countTokens(text);
}

/**
 * The input tokens a chat prompt costs, counted before the call so the hold covers it.
 *
 * @example
 * countPromptTokens([{ role: "user", text: "Hello" }]); // 7
 */
export function countPromptTokens(messages: TextMessage[]): number {
  let total = tokensPerPrompt;
  for (const message of messages) total += tokensPerMessage + countTextTokens(message.text);
  return total;
}
