import type { Pool, PoolClient } from "../db/pool.js";
import { statement } from "../db/statement.js";
import { type RequestUser, withUser } from "../db/with-user.js";
import { holdPlacedByThisTransaction, holdResolvedAs } from "../ledger/index.js";
import type { DependentWrite } from "../ledger/types.js";

// The only SQL on the chat schema. Writes run as the server's login; reads a user asks for run
// through withUser, so row-level security decides what they see.

/** The pool, or a client inside the caller's transaction. */
export type Queryable = Pool | PoolClient;

export type TextPart = { type: "text"; text: string };
export type AnswerStatus = "streaming" | "completed" | "failed";

export type Attempt = {
  id: string;
  attempt: number;
  status: AnswerStatus;
  parts: TextPart[];
  chargedCents: number | null;
  /** A `streaming` answer older than the hold's lifetime belongs to a process that died. */
  stale: boolean;
};

// Only if this very transaction placed the hold whose key is $7: sent behind the hold and the
// COMMIT in one round trip (the ledger's hold protocol), a refused or replayed hold commits nothing.
const saveQuestionStatement = statement(
  "chat_save_question",
  `with conversation as (
       insert into chat.conversations (user_id, id, title, model)
       select $1, $2, $3, $4 where ${holdPlacedByThisTransaction("$7")}
       on conflict (user_id, id) do update set updated_at = now(), model = excluded.model
       returning user_id, id)
     insert into chat.messages (user_id, id, conversation_id, role, parts)
     select user_id, $5, id, 'user', $6::jsonb from conversation
     on conflict (user_id, id) do nothing`,
);

/**
 * Creates the conversation (or marks it used) and stores the user's message once, only if this
 * transaction placed the hold `holdKey`: a write for `ledger.placeHoldThen`.
 */
export function saveQuestionWrite(input: {
  userId: string;
  conversationId: string;
  title: string;
  model: string;
  messageId: string;
  parts: TextPart[];
  holdKey: string;
}): DependentWrite {
  return {
    ...saveQuestionStatement,
    values: [
      input.userId,
      input.conversationId,
      input.title,
      input.model,
      input.messageId,
      JSON.stringify(input.parts),
      input.holdKey,
    ],
  };
}

const savedQuestionStatement = statement(
  "chat_saved_question",
  `select parts from chat.messages where user_id = $1 and id = $2 and role = 'user'`,
);

/** The text of a user message as it was saved, or null if that message id has no question. */
export async function savedQuestionText(
  pool: Queryable,
  input: { userId: string; messageId: string },
): Promise<string | null> {
  const result = await pool.query({ ...savedQuestionStatement, values: [input.userId, input.messageId] });
  const row = result.rows[0];
  if (!row) return null;
  return (row.parts as TextPart[]).map((part) => part.text).join("");
}

const latestAttemptStatement = statement(
  "chat_latest_attempt",
  `select id, attempt, status, parts, charged_cents,
            status = 'streaming' and updated_at < now() - make_interval(secs => $3) as stale
       from chat.messages where user_id = $1 and reply_to = $2
      order by attempt desc limit 1`,
);

/** The newest answer attempt to a user message, if any. */
export async function latestAttempt(
  pool: Queryable,
  input: { userId: string; replyTo: string; staleAfterSeconds: number },
): Promise<Attempt | null> {
  const result = await pool.query({
    ...latestAttemptStatement,
    values: [input.userId, input.replyTo, input.staleAfterSeconds],
  });
  const row = result.rows[0];
  if (!row) return null;
  return {
    id: row.id,
    attempt: row.attempt,
    status: row.status,
    parts: row.parts,
    chargedCents: row.charged_cents,
    stale: row.stale,
  };
}

const startAnswerStatement = statement(
  "chat_start_answer",
  `insert into chat.messages (user_id, id, conversation_id, role, parts, reply_to, attempt, status)
     select $1, $2, $3, 'assistant', '[]', $4, $5, 'streaming' where ${holdPlacedByThisTransaction("$6")}`,
);

/**
 * Records that an attempt started, only if this transaction placed the hold `holdKey`: a write for
 * `ledger.placeHoldThen`. The unique (user, reply_to, attempt) refuses a second starter.
 */
export function startAnswerWrite(input: {
  userId: string;
  id: string;
  conversationId: string;
  replyTo: string;
  attempt: number;
  holdKey: string;
}): DependentWrite {
  return {
    ...startAnswerStatement,
    values: [input.userId, input.id, input.conversationId, input.replyTo, input.attempt, input.holdKey],
  };
}

// With $7 and $8, only if that hold has that status: saved in one round trip with the settlement
// and the COMMIT (the ledger's hold protocol), an answer must not say it was charged when the ledger
// refused the charge.
const finishAnswerStatement = statement(
  "chat_finish_answer",
  `update chat.messages set status = $3, parts = $4::jsonb, charged_cents = $5, metadata = $6::jsonb,
            updated_at = now()
      where user_id = $1 and id = $2 and ($7::bigint is null or ${holdResolvedAs("$7", "$8")})`,
);

type FinishedAnswer = {
  userId: string;
  id: string;
  status: "completed" | "failed";
  parts: TextPart[];
  chargedCents: number;
  metadata: Record<string, unknown>;
};

/**
 * Saves how an answer ended and what it cost, only if the hold was resolved as `onlyIfHold` says:
 * a write for `ledger.settleHoldThen` or `ledger.releaseHoldThen`.
 */
export function finishAnswerWrite(
  input: FinishedAnswer & { onlyIfHold?: { id: string; status: "settled" | "released" } },
): DependentWrite {
  return {
    ...finishAnswerStatement,
    values: [
      input.userId,
      input.id,
      input.status,
      JSON.stringify(input.parts),
      input.chargedCents,
      JSON.stringify(input.metadata),
      input.onlyIfHold?.id ?? null,
      input.onlyIfHold?.status ?? null,
    ],
  };
}

/** Saves how an answer ended and what it cost, whatever became of its hold. Says whether it saved. */
export async function finishAnswer(pool: Queryable, input: FinishedAnswer): Promise<boolean> {
  const result = await pool.query(finishAnswerWrite(input));
  return result.rowCount === 1;
}

export type ConversationSummary = {
  id: string;
  title: string;
  model: string;
  createdAt: Date;
  updatedAt: Date;
  /** What every answer in it charged, regenerated and stopped ones included. */
  totalCostCents: number;
};
export type SavedMessage = {
  id: string;
  role: "user" | "assistant";
  parts: TextPart[];
  metadata: Record<string, unknown> | null;
  createdAt: Date;
};

// Read from `chat.conversations` (unaliased). The sum is bigint cents; the pool parses it to a number.
export const summaryColumns = `id, title, model, created_at as "createdAt", updated_at as "updatedAt",
  (select coalesce(sum(charged_cents), 0)::bigint from chat.messages answer
    where answer.user_id = conversations.user_id and answer.conversation_id = conversations.id
      and answer.role = 'assistant') as "totalCostCents"`;

/** The user's conversations, most recently used first. */
export function listConversations(
  pool: Pool,
  user: RequestUser,
  limit: number,
): Promise<ConversationSummary[]> {
  return withUser(pool, user, async (client) => {
    const result = await client.query(
      `select ${summaryColumns} from chat.conversations order by updated_at desc, id limit $1`,
      [limit],
    );
    return result.rows;
  });
}

/**
 * One conversation with its messages in order: every question, and for each the newest finished
 * answer (a regenerated answer replaces the one before it, as useChat shows it).
 */
export function readConversation(
  pool: Pool,
  user: RequestUser,
  input: { conversationId: string; limit: number },
): Promise<{ conversation: ConversationSummary; messages: SavedMessage[] } | null> {
  return withUser(pool, user, async (client) => {
    const found = await client.query(`select ${summaryColumns} from chat.conversations where id = $1`, [
      input.conversationId,
    ]);
    const conversation = found.rows[0];
    if (!conversation) return null;
    const messages = await client.query(
      `select id, role, parts, metadata, created_at as "createdAt" from (
         select distinct on (role, coalesce(reply_to, id)) *
           from chat.messages
          where conversation_id = $1 and (role = 'user' or (status = 'completed' and parts <> '[]'))
          order by role, coalesce(reply_to, id), attempt desc
       ) latest
       order by position limit $2`,
      [input.conversationId, input.limit],
    );
    return { conversation, messages: messages.rows };
  });
}

/**
 * One answer of the user's, however it ended, by its id or as the latest answer to a question of
 * theirs: how the UI learns what a stopped answer cost, also one stopped before its first word
 * (charged for the prompt, but with no text for the conversation to show), and one stopped before
 * the server's first chunk, whose id the page never learned. Null when the user has no such answer
 * in this conversation.
 */
export function readAnswer(
  pool: Pool,
  user: RequestUser,
  input: { conversationId: string } & ({ answerId: string } | { questionId: string }),
): Promise<{ id: string; status: AnswerStatus; metadata: Record<string, unknown> | null } | null> {
  const [column, value] = "answerId" in input ? ["id", input.answerId] : ["reply_to", input.questionId];
  return withUser(pool, user, async (client) => {
    const found = await client.query(
      `select id, status, metadata from chat.messages
        where conversation_id = $1 and ${column} = $2 and role = 'assistant'
        order by attempt desc limit 1`,
      [input.conversationId, value],
    );
    return found.rows[0] ?? null;
  });
}
