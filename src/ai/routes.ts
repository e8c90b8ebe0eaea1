import { Hono } from "hono";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import type { Config } from "../config.js";
import type { Dependencies } from "../dependencies.js";
import { limitBody } from "../kit/body-limit.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import { answerChat, type ChatService, holdCents } from "./chat.js";
import { deleteConversation, renameConversation } from "./conversation-edits.js";
import { listConversations, readAnswer, readConversation } from "./conversations.js";
import { type ChatModel, resolveModel } from "./models.js";
import { countPromptTokens, countPromptTokensYielding } from "./tokens.js";

const id = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, "must be 1 to 100 letters, digits, _ or -");
// Limits on everything a client sends: at most 200 messages of 100 parts; how much text they carry is
// bounded by CHAT_MAX_MESSAGE_CHARS and CHAT_MAX_PROMPT_CHARS (see `checkLengths`).
const part = z.looseObject({ type: z.string().max(100), text: z.string().optional() });
const message = z.looseObject({
  id,
  role: z.enum(["user", "assistant"]),
  parts: z.array(part).max(100),
});
const chatBody = z.looseObject({
  id,
  messages: z.array(message).min(1).max(200),
  trigger: z.enum(["submit-message", "regenerate-message"]).default("submit-message"),
});
const renameBody = z.object({
  title: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters"),
});
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) });
const longestConversation = 1_000;
// The limits count characters as JavaScript does (UTF-16 units): each is at most 3 bytes of UTF-8, and
// an escape such as \n or \" 2, so 4 bytes a character always fits (only \u escapes of control
// characters take 6: a conversation of those meets the body's 413 instead). The rest is room for ids,
// part types and useChat's metadata on 200 messages.
const chatBodyBytesPerChar = 4;
const chatBodyOverheadBytes = 256 * 1024;

type TextMessage = { id: string; role: "user" | "assistant"; text: string };

function textOf(parts: z.infer<typeof part>[]): string {
  return parts.map((piece) => (piece.type === "text" ? (piece.text ?? "") : "")).join("");
}

/**
 * Refuses a question longer than CHAT_MAX_MESSAGE_CHARS (400) or a conversation longer than
 * CHAT_MAX_PROMPT_CHARS (413) before anything counts its tokens. Only the person's own messages have
 * the first limit: an answer the model wrote must never make its conversation unusable.
 */
function checkLengths(config: Config, messages: TextMessage[]): void {
  const tooLong = messages.findIndex(
    (message) => message.role === "user" && message.text.length > config.chatMaxMessageChars,
  );
  if (tooLong !== -1) {
    throw new AppError(
      "MESSAGE_TOO_LONG",
      `Message ${tooLong + 1} has ${messages[tooLong]?.text.length} characters; a question may have at most ${config.chatMaxMessageChars} (CHAT_MAX_MESSAGE_CHARS). Shorten it or split it into several questions.`,
      { limitChars: config.chatMaxMessageChars, setting: "CHAT_MAX_MESSAGE_CHARS" },
    );
  }
  const promptChars = messages.reduce((sum, message) => sum + message.text.length, 0);
  if (promptChars > config.chatMaxPromptChars) {
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `This conversation has ${promptChars} characters; a chat may send at most ${config.chatMaxPromptChars} (CHAT_MAX_PROMPT_CHARS). Start a new conversation.`,
      { limitChars: config.chatMaxPromptChars, setting: "CHAT_MAX_PROMPT_CHARS" },
    );
  }
}

/**
 * POST /api/chat (the UI message stream protocol useChat speaks), GET /api/chat/model, and the saved
 * conversations. `options.model` replaces the configured model (tests pass a mock).
 *
 * @example
 * app.route("/", chatRoutes(dependencies));
 */
export function chatRoutes(dependencies: Dependencies, options: { model?: ChatModel } = {}): Hono<AuthedEnv> {
  const { config, pool, logger, ledger } = dependencies;
  const model = options.model ?? resolveModel(config, { demoWordDelayMs: config.demoWordDelayMs });
  const service: ChatService = {
    pool,
    ledger,
    logger,
    model,
    creditMarkup: config.creditMarkup,
    maxOutputTokens: config.maxOutputTokens,
    holdTtlSeconds: config.holdTtlSeconds,
  };
  const routes = new Hono<AuthedEnv>();

  // Follows CHAT_MAX_PROMPT_CHARS, so a conversation within it fits; a larger body is refused as it
  // streams in, before it is buffered.
  const chatBodyLimit = limitBody({
    maxBytes: config.chatMaxPromptChars * chatBodyBytesPerChar + chatBodyOverheadBytes,
    advice: "This chat is too long to send: start a new conversation.",
  });

  routes.post("/api/chat", chatBodyLimit, async (context) => {
    const body = parseInput(chatBody, await readJson(context));
    const messages: TextMessage[] = body.messages.map((entry) => ({
      id: entry.id,
      role: entry.role,
      text: textOf(entry.parts),
    }));
    checkLengths(config, messages);
    // Counted here first, giving other requests a turn every few milliseconds (a long prompt of rare
    // words keeps the tokenizer busy for a good part of a second); answerChat's own count then finds
    // every message's count remembered.
    await countPromptTokensYielding(messages);
    return answerChat(service, {
      user: context.get("user"),
      conversationId: body.id,
      messages,
      trigger: body.trigger,
      abortSignal: context.req.raw.signal,
    });
  });

  // What the UI shows before a chat: which model, whether it is the demo, and what an answer costs.
  routes.get("/api/chat/model", (context) => {
    const typicalQuestion = countPromptTokens([
      { role: "user", text: "A typical question of about twenty words." },
    ]);
    return context.json({
      model: model.id,
      isDemo: model.isDemo,
      priceInputPerMillionUsd: model.price.inputPerMillion,
      priceOutputPerMillionUsd: model.price.outputPerMillion,
      creditMarkup: config.creditMarkup,
      maxOutputTokens: config.maxOutputTokens,
      maxCentsPerAnswer: holdCents(service, typicalQuestion),
      maxMessageChars: config.chatMaxMessageChars,
      maxPromptChars: config.chatMaxPromptChars,
    });
  });

  routes.get("/api/conversations", async (context) => {
    const { limit } = parseInput(listQuery, context.req.query());
    const conversations = await listConversations(pool, context.get("user"), limit);
    return context.json({ conversations });
  });

  routes.get("/api/conversations/:id", async (context) => {
    const conversationId = parseInput(id, context.req.param("id"));
    const found = await readConversation(pool, context.get("user"), {
      conversationId,
      limit: longestConversation,
    });
    if (!found) throw new AppError("NOT_FOUND", "No conversation of yours has this id.");
    return context.json(found);
  });

  routes.get("/api/conversations/:id/answers/:answerId", async (context) => {
    const conversationId = parseInput(id, context.req.param("id"));
    const answerId = parseInput(id, context.req.param("answerId"));
    const answer = await readAnswer(pool, context.get("user"), { conversationId, answerId });
    if (!answer) throw new AppError("NOT_FOUND", "No answer of yours has this id in this conversation.");
    return context.json({ answer });
  });

  routes.get("/api/conversations/:id/questions/:questionId/answer", async (context) => {
    const conversationId = parseInput(id, context.req.param("id"));
    const questionId = parseInput(id, context.req.param("questionId"));
    const answer = await readAnswer(pool, context.get("user"), { conversationId, questionId });
    if (!answer)
      throw new AppError("NOT_FOUND", "This question of yours has no answer in this conversation.");
    return context.json({ answer });
  });

  routes.patch("/api/conversations/:id", async (context) => {
    const conversationId = parseInput(id, context.req.param("id"));
    const { title } = parseInput(renameBody, await readJson(context));
    const conversation = await renameConversation(pool, {
      userId: context.get("user").id,
      conversationId,
      title,
    });
    if (!conversation) throw new AppError("NOT_FOUND", "No conversation of yours has this id.");
    return context.json({ conversation });
  });

  routes.delete("/api/conversations/:id", async (context) => {
    const conversationId = parseInput(id, context.req.param("id"));
    const outcome = await deleteConversation(pool, {
      userId: context.get("user").id,
      conversationId,
      staleAfterSeconds: config.holdTtlSeconds,
    });
    if (outcome === "not_found") throw new AppError("NOT_FOUND", "No conversation of yours has this id.");
    if (outcome === "answering") {
      throw new AppError(
        "CHAT_IN_PROGRESS",
        "An answer in this conversation is still being written. Stop it or let it finish, then delete.",
      );
    }
    return context.body(null, 204);
  });

  return routes;
}
