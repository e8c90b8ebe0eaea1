import { api } from "../shared/api.js";
import type { ChatMetadata } from "../shared/types.js";

// After Stop the stream is gone, and with it the finish that carries the charge: the server settles
// the hold once it notices the closed connection, and saves the answer with what it cost. Bounded:
// the settlement normally lands within a few hundred milliseconds.
const attempts = 20;
const pauseMs = 250;

const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * A stopped answer's id and what it was charged, as the server saved it (also one stopped before its
 * first word, which paid for its prompt), found by its id or, when the page stopped before the
 * server's first chunk and never learned it, as the answer to its question; null if there is none or
 * it did not settle in time.
 */
export async function settledAnswer(
  input: { conversationId: string } & ({ answerId: string } | { questionId: string }),
): Promise<{ id: string; metadata: ChatMetadata } | null> {
  const conversation = `/api/conversations/${encodeURIComponent(input.conversationId)}`;
  const path =
    "answerId" in input
      ? `${conversation}/answers/${encodeURIComponent(input.answerId)}`
      : `${conversation}/questions/${encodeURIComponent(input.questionId)}/answer`;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const result = await api<{ answer: { id: string; status: string; metadata: ChatMetadata | null } }>(path);
    const answer = result.data?.answer;
    if (answer && answer.status !== "streaming" && answer.metadata?.chargedCents !== undefined) {
      return { id: answer.id, metadata: answer.metadata };
    }
    if (result.error && result.error.code !== "NOT_FOUND") return null;
    await pause(pauseMs);
  }
  return null;
}
