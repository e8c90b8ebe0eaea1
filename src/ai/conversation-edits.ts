import type { Pool } from "../db/pool.js";
import { transaction } from "../db/pool.js";
import { type ConversationSummary, summaryColumns } from "./conversations.js";

// Renaming and deleting a conversation. Like every chat write they run as the server's login (the
// API roles may write nothing, see db/migrations/0005), each statement scoped to the signed-in
// user's id, so another person's conversation is indistinguishable from one that does not exist.
// Nothing here touches credits: what the answers cost stays in the ledger for good.

/** Renames one of the user's conversations; null when the user has none with this id. */
export async function renameConversation(
  pool: Pool,
  input: { userId: string; conversationId: string; title: string },
): Promise<ConversationSummary | null> {
  // Renaming is not using: updated_at, which orders the list, stays as it was.
  const result = await pool.query(
    `update chat.conversations set title = $3 where user_id = $1 and id = $2 returning ${summaryColumns}`,
    [input.userId, input.conversationId, input.title],
  );
  return result.rows[0] ?? null;
}

export type DeleteOutcome = "deleted" | "not_found" | "answering";

/**
 * Deletes one of the user's conversations and its messages, unless an answer in it is streaming
 * right now (its settlement still has to save what it wrote). A `streaming` answer older than the
 * hold's lifetime belongs to a process that died, and does not hold the conversation back.
 */
export function deleteConversation(
  pool: Pool,
  input: { userId: string; conversationId: string; staleAfterSeconds: number },
): Promise<DeleteOutcome> {
  return transaction(pool, async (client) => {
    // Locked first: a question arriving meanwhile waits for this to finish, then starts afresh,
    // and an answer cannot start in a conversation half deleted.
    const found = await client.query(
      "select 1 from chat.conversations where user_id = $1 and id = $2 for update",
      [input.userId, input.conversationId],
    );
    if (found.rowCount === 0) return "not_found";
    const busy = await client.query(
      `select 1 from chat.messages
        where user_id = $1 and conversation_id = $2 and status = 'streaming'
          and updated_at >= now() - make_interval(secs => $3)
        limit 1`,
      [input.userId, input.conversationId, input.staleAfterSeconds],
    );
    if ((busy.rowCount ?? 0) > 0) return "answering";
    await client.query("delete from chat.messages where user_id = $1 and conversation_id = $2", [
      input.userId,
      input.conversationId,
    ]);
    await client.query("delete from chat.conversations where user_id = $1 and id = $2", [
      input.userId,
      input.conversationId,
    ]);
    return "deleted";
  });
}

/**
 * Deletes every conversation of the user and its messages, streaming or not: for a person deleting
 * their account, whose open holds the ledger has already released. Returns how many went.
 */
export function deleteEveryConversation(pool: Pool, userId: string): Promise<number> {
  return transaction(pool, async (client) => {
    await client.query("delete from chat.messages where user_id = $1", [userId]);
    const deleted = await client.query("delete from chat.conversations where user_id = $1", [userId]);
    return deleted.rowCount ?? 0;
  });
}
