import type { Pool } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { unwrap } from "../ledger/index.js";
import type { Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import { type CompletionMessage, generationWindow } from "./completion.js";
import type * as conversations from "./conversations.js";
import { type ChatMetadata, streamMetered } from "./metered-stream.js";
import type { ChatModel } from "./models.js";
import { maxCostCents } from "./pricing.js";
import { reserveAnswer } from "./reserve.js";
import { countPromptTokens } from "./tokens.js";
import { streamResponse } from "./ui-stream.js";

export type ChatService = {
  pool: Pool;
  ledger: Ledger;
  logger: Logger;
  model: ChatModel;
  creditMarkup: number;
  maxOutputTokens: number;
  holdTtlSeconds: number;
};

export type ChatRequest = {
  user: { id: string; email: string };
  conversationId: string;
  messages: { id: string; role: "user" | "assistant"; text: string }[];
  trigger: "submit-message" | "regenerate-message";
  abortSignal: AbortSignal;
};

/** What a chat may cost at most: the counted prompt plus the whole output limit. */
export function holdCents(service: ChatService, estimatedInputTokens: number): number {
  return maxCostCents(
    { estimatedInputTokens, maxOutputTokens: service.maxOutputTokens },
    service.model.price,
    service.creditMarkup,
  );
}

function replay(service: ChatService, request: ChatRequest, saved: conversations.Attempt): Response {
  const metadata: ChatMetadata = {
    model: service.model.id,
    isDemo: service.model.isDemo,
    chargedCents: 0,
    replayed: true,
  };
  const text = saved.parts.map((part) => part.text).join("");
  return streamResponse(
    async (send) => {
      const balance = unwrap(await service.ledger.getBalance(request.user.id));
      send({ type: "start", messageId: saved.id, messageMetadata: metadata });
      send({ type: "text-start", id: "answer" });
      send({ type: "text-delta", id: "answer", delta: text });
      send({ type: "text-end", id: "answer" });
      send({
        type: "finish",
        messageMetadata: {
          ...metadata,
          balanceCents: balance.balanceCents,
          availableCents: balance.availableCents,
        },
      });
    },
    { logger: service.logger, onCancel: () => {} },
  );
}

/**
 * Answers the last user message as a UI message stream, metered: the hold is placed before the model
 * is called (402 INSUFFICIENT_CREDITS otherwise), and resolved exactly once when the stream ends.
 * The user message id is the idempotency key: sending it again replays the saved answer for free;
 * `regenerate-message` asks for (and pays for) a new attempt.
 */
export async function answerChat(service: ChatService, request: ChatRequest): Promise<Response> {
  const question = request.messages.at(-1);
  if (question?.role !== "user") {
    throw new AppError("INVALID_REQUEST", "The last message must be the user's question.");
  }
  const estimatedInputTokens = countPromptTokens(request.messages);
  const heldCents = holdCents(service, estimatedInputTokens);
  // The hold is placed (and starts to expire) a moment after this, so a deadline counted from here
  // errs early.
  const holdPlacedAtMs = Date.now();
  const started = await reserveAnswer(service, request, { question, heldCents });
  if ("replay" in started) return replay(service, request, started.replay);
  const timing = generationWindow({
    holdTtlSeconds: service.holdTtlSeconds,
    holdPlacedAtMs,
    clientSignal: request.abortSignal,
  });
  const messages: CompletionMessage[] = request.messages.map((message) => ({
    role: message.role,
    text: message.text,
  }));
  const run = {
    ...service,
    userId: request.user.id,
    holdId: started.holdId,
    heldCents,
    estimatedInputTokens,
    answerId: started.answerId,
    messages,
    abortSignal: timing.signal,
    settleByMs: timing.settleByMs,
  };
  return streamResponse(
    async (send) => {
      try {
        await streamMetered(run, send);
      } finally {
        timing.close();
      }
    },
    // A client that goes away stops the model, so it stops costing; the answer is still settled.
    { logger: service.logger, onCancel: timing.stop },
  );
}
