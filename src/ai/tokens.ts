import { createHash } from "node:crypto";
import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";

// Chat formats wrap every message in a few tokens of role markers (OpenAI documents 3 per message
// plus 3 to prime the answer); counting them keeps the estimate from falling short on long chats.
const tokensPerMessage = 3;
const tokensPerPrompt = 3;

/**
 * Text that spells a special token ("<|endoftext|>") is ordinary text to a provider. gpt-tokenizer
 * throws on it by default, which would turn a question into a 500.
 */
export const asPlainText = { disallowedSpecial: new Set<string>() };

/**
 * The most characters the tokenizer is given at once. Its byte-pair merge costs the square of a
 * piece's length, so the work is bounded by giving it short pieces, cut where it would cut anyway.
 */
export const longestTokenizedPieceChars = 1_000;

/**
 * A run of one kind of character (letters, digits, whitespace or other) longer than this is counted
 * by its UTF-8 bytes instead: every token of a byte-level BPE is at least one byte, so that is never
 * below the real count, and it costs nothing. Ordinary words, numbers and URLs are far shorter; a
 * long run of letters without a space (random text, some base64) took the tokenizer seconds.
 */
export const longestTokenizedRunChars = 200;

export type CountingPiece = { text: string; countedBy: "tokenizer" | "bytes" };
export type TextMessage = { role: string; text: string };

// Maximal runs of one kind; together they cover every character. The tokenizer's own pre-split
// never joins a run of non-space to the whitespace after it, so cutting there changes no count.
const runsOfOneKind = /\s+|[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]+/gu;

/**
 * Cuts `text` into pieces of at most `longestTokenizedPieceChars` for the tokenizer, before
 * whitespace where it can, and hands every run longer than `longestTokenizedRunChars` to the byte
 * count. Linear in the text's length.
 *
 * @example
 * [...piecesForCounting("Hello world")]; // [{ text: "Hello world", countedBy: "tokenizer" }]
 */
export function* piecesForCounting(text: string): Generator<CountingPiece> {
  let pieceStart = 0;
  let lastWhitespaceStart = -1;
  for (const match of text.matchAll(runsOfOneKind)) {
    const run = match[0];
    const runStart = match.index;
    const runEnd = runStart + run.length;
    if (run.length > longestTokenizedRunChars) {
      if (runStart > pieceStart) yield { text: text.slice(pieceStart, runStart), countedBy: "tokenizer" };
      yield { text: run, countedBy: "bytes" };
      pieceStart = runEnd;
      lastWhitespaceStart = -1;
      continue;
    }
    while (runEnd - pieceStart > longestTokenizedPieceChars) {
      // Before the last whitespace the tokenizer splits too; otherwise before this run (a cut
      // inside a word may count a token more, never fewer).
      const cut = lastWhitespaceStart > pieceStart ? lastWhitespaceStart : runStart;
      yield { text: text.slice(pieceStart, cut), countedBy: "tokenizer" };
      pieceStart = cut;
    }
    if (/^\s/.test(run)) lastWhitespaceStart = runStart;
  }
  if (pieceStart < text.length) yield { text: text.slice(pieceStart), countedBy: "tokenizer" };
}

function countPiece(piece: CountingPiece): number {
  return piece.countedBy === "bytes"
    ? Buffer.byteLength(piece.text, "utf8")
    : countTokens(piece.text, asPlainText);
}

// useChat sends the whole conversation with every question: a long message is counted once, not
// once per turn, and the chat route's yielding count leaves the chat's own count nothing to do.
// Keyed by a digest, so remembering keeps no text and a lookup never compares long strings.
const rememberedCounts = new Map<string, number>();
const mostRememberedCounts = 10_000;
const shortestRememberedChars = 64;

function digestOf(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

function remembered(key: string): number | undefined {
  const count = rememberedCounts.get(key);
  if (count === undefined) return undefined;
  // Most recently used last, so the oldest is forgotten first.
  rememberedCounts.delete(key);
  rememberedCounts.set(key, count);
  return count;
}

function remember(key: string, count: number): void {
  rememberedCounts.set(key, count);
  if (rememberedCounts.size <= mostRememberedCounts) return;
  const oldest = rememberedCounts.keys().next().value;
  if (oldest !== undefined) rememberedCounts.delete(oldest);
}

/**
 * Tokens in `text` by the cl100k tokenizer (GPT-4 and GPT-3.5), a close proxy for other models (the
 * providers' own counts, which settlement charges, differ by a few percent either way: the hold's
 * margin covers it). Chosen over o200k (GPT-4o) for memory: its ranks take 40 MB of the server's RSS
 * against 68. Runs too long to tokenize quickly count as their UTF-8 bytes, which is never less.
 * Linear in the length.
 */
export function countTextTokens(text: string): number {
  if (text === "") return 0;
  const key = text.length >= shortestRememberedChars ? digestOf(text) : undefined;
  const known = key === undefined ? undefined : remembered(key);
  if (known !== undefined) return known;
  let count = 0;
  for (const piece of piecesForCounting(text)) count += countPiece(piece);
  if (key !== undefined) remember(key, count);
  return count;
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

// Rare words cost the tokenizer microseconds per character (a long prompt of them, a good part of
// a second), so a long count lets other requests run at least this often.
const longestBusyMs = 10;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `countPromptTokens`, giving the event loop a turn every few milliseconds, so one long prompt never
 * stalls other requests. Each long message's count is remembered for `countPromptTokens`.
 */
export async function countPromptTokensYielding(messages: TextMessage[]): Promise<number> {
  let total = tokensPerPrompt;
  let busySinceMs = performance.now();
  for (const message of messages) {
    const key = message.text.length >= shortestRememberedChars ? digestOf(message.text) : undefined;
    let count = key === undefined ? undefined : remembered(key);
    if (count === undefined) {
      count = 0;
      for (const piece of piecesForCounting(message.text)) {
        count += countPiece(piece);
        if (performance.now() - busySinceMs < longestBusyMs) continue;
        await nextTurn();
        busySinceMs = performance.now();
      }
      if (key !== undefined) remember(key, count);
    }
    total += tokensPerMessage + count;
  }
  return total;
}
