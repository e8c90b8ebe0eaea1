import { randomUUID } from "node:crypto";
import { errorCode, type PoolClient, together, transaction } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { unwrap } from "../ledger/index.js";
import type { ChatRequest, ChatService } from "./chat.js";
import * as conversations from "./conversations.js";
import { conflictAttempts } from "./metered-stream.js";

/** A saved answer to send again, or a new attempt whose hold is placed. */
export type Reserved = { replay: conversations.Attempt } | { answerId: string; holdId: string };

type Question = ChatRequest["messages"][number];
/** A new attempt reserved, or `taken`: a hold with its key exists, so the attempt does too. */
type Attempted = Reserved | { taken: true };
type Reservation = { question: Question; heldCents: number };

const uniqueViolation = "23505";

const inProgress = () =>
  new AppError("CHAT_IN_PROGRESS", "This message is already being answered. Wait for that answer.");

// The message id is the idempotency key of its answer; the same id with other words would be
// answered (or replayed) as the question it first named.
const keyReused = () =>
  new AppError(
    "IDEMPOTENCY_KEY_REUSED",
    "This message id was already used for a different question. Send the new question with a new message id.",
  );

/**
 * Starts answering `question`: the question, the attempt and its hold commit together or not at all,
 * so a refused hold (402) leaves no attempt behind, and two requests for one message cannot both start.
 * A question seen before is answered from what was saved: its answer replayed, 409 while it streams;
 * its id with different text is refused (409 IDEMPOTENCY_KEY_REUSED).
 */
export async function reserveAnswer(
  service: ChatService,
  request: ChatRequest,
  input: Reservation,
): Promise<Reserved> {
  // Durable before the model is called. Not waiting for the disk was measured (0.3 ms) and refused:
  // a reservation lost in a crash can give its hold id to someone else's next hold, which this
  // process, still streaming, would then settle; and the lost attempt no longer answers 409.
  if (request.trigger === "submit-message") {
    // The common case, a question never answered: attempt 0, all in one round trip with BEGIN and
    // COMMIT (see `commitWithWork`). Should the question have an attempt already, its hold reads as
    // `taken` (or a racer's unique key fails), and the question is read below.
    try {
      const first = await transaction(
        service.pool,
        (client) => startAttempt(service, request, client, { ...input, attempt: 0 }),
        { attempts: conflictAttempts, commitWithWork: true },
      );
      if (!("taken" in first)) return first;
    } catch (error) {
      if (errorCode(error) !== uniqueViolation) throw error;
    }
    // The question has an attempt already: read it below, and replay it or start the next one.
  }
  return transaction(service.pool, (client) => startNextAttempt(service, request, client, input), {
    attempts: conflictAttempts,
  }).catch((error: unknown) => {
    // Another request started this attempt, or placed its hold, a moment ago.
    throw errorCode(error) === uniqueViolation ? inProgress() : error;
  });
}

async function startNextAttempt(
  service: ChatService,
  request: ChatRequest,
  client: PoolClient,
  input: Reservation,
): Promise<Reserved> {
  // Sent together, so checking the saved question costs a replay no extra round trip.
  const [savedText, latest] = await together([
    conversations.savedQuestionText(client, { userId: request.user.id, messageId: input.question.id }),
    conversations.latestAttempt(client, {
      userId: request.user.id,
      replyTo: input.question.id,
      staleAfterSeconds: service.holdTtlSeconds,
    }),
  ]);
  if (savedText !== null && savedText !== input.question.text) throw keyReused();
  if (latest?.status === "streaming" && !latest.stale) throw inProgress();
  if (latest?.status === "completed" && request.trigger === "submit-message") return { replay: latest };
  const attempted = await startAttempt(service, request, client, {
    ...input,
    attempt: latest ? latest.attempt + 1 : 0,
  });
  // Another request placed this attempt's hold a moment ago.
  if ("taken" in attempted) throw inProgress();
  return attempted;
}

// The hold first, then the question and the attempt, written only if this transaction placed that
// hold (the ledger's hold protocol), so a refused hold (402) or one placed before (`taken`: the
// attempt exists) leaves nothing to commit. Every chat locks in this order (the account's row, then
// the conversation's), so two chats of one user cannot deadlock on each other. If another request
// started this attempt, its hold's or its attempt's unique key fails (23505), rolling back.
async function startAttempt(
  service: ChatService,
  request: ChatRequest,
  client: PoolClient,
  input: Reservation & { attempt: number },
): Promise<Attempted> {
  const userId = request.user.id;
  const answerId = randomUUID();
  const holdKey = holdKeyOf(request, input.question, input.attempt);
  const { result: placed } = await service.ledger.placeHoldThen({
    client,
    userId,
    amountCents: input.heldCents,
    idempotencyKey: holdKey,
    description: `Chat answer by ${service.model.id} (at most ${service.maxOutputTokens} output tokens)`,
    writes: [
      conversations.saveQuestionWrite({
        userId,
        conversationId: request.conversationId,
        title: titleOf(input.question.text),
        model: service.model.id,
        messageId: input.question.id,
        parts: [{ type: "text", text: input.question.text }],
        holdKey,
      }),
      conversations.startAnswerWrite({
        userId,
        id: answerId,
        conversationId: request.conversationId,
        replyTo: input.question.id,
        attempt: input.attempt,
        holdKey,
      }),
    ],
  });
  // Its key holds another amount: the same message id sent with another history (or other words),
  // so its attempt exists; what was saved decides whether it is replayed or refused.
  if (placed.error?.code === "IDEMPOTENCY_KEY_REUSED") return { taken: true };
  if (placed.error) unwrap(placed);
  if (placed.data === null) throw inProgress();
  // Its key was placed before: this attempt exists (or is being started by a racing request).
  if (placed.data.replayed) return { taken: true };
  return { answerId, holdId: placed.data.hold.id };
}

/** The hold's idempotency key: one per user, question and attempt. */
function holdKeyOf(request: ChatRequest, question: Question, attempt: number): string {
  return `chat:${request.user.id}:${question.id}:${attempt}`;
}

const longestTitle = 80;

function titleOf(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim() || "New chat";
  return oneLine.length > longestTitle ? `${oneLine.slice(0, longestTitle - 1)}…` : oneLine;
}
