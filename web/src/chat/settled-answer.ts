import { api } from "../shared/api.js";
import type { ChatMetadata } from "../shared/types.js";

// After Stop the stream is gone, and with it the finish that carries the charge: the server settles
// the hold once it notices the closed connection, and saves the answer with what it cost. Bounded:
// the settlement normally lands within a few hundred milliseconds.
const attempts = 20;
const pauseMs = 250;

const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * What a stopped answer was charged, as the server saved it (also one stopped before its first word,
 * which paid for its prompt); null if it did not settle in time.
 */
export async function settledAnswerMetadata(input: {
  conversationId: string;
  answerId: string;
}): Promise<ChatMetadata | null> {
  const path = `/api/conversations/${encodeURIComponent(input.conversationId)}/answers/${encodeURIComponent(input.answerId)}`;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const result = await api<{ answer: { status: string; metadata: ChatMetadata | null } }>(path);
    const answer = result.data?.answer;
    if (answer && answer.status !== "streaming" && answer.metadata?.chargedCents !== undefined) {
      return answer.metadata;
    }
    if (result.error && result.error.code !== "NOT_FOUND") return null;
    await pause(pauseMs);
  }
  return null;
}
