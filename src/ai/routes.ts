import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { AuthedEnv } from "../auth/types.js";
import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { AppError } from "../http/errors.js";
import { parseInput, readJson } from "../http/validation.js";
import type { Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import { answerChat, type ChatService, holdCents } from "./chat.js";
import { listConversations, readConversation } from "./conversations.js";
import { type ChatModel, resolveModel } from "./models.js";
import { countPromptTokens } from "./tokens.js";

export type ChatDependencies = { config: Config; pool: Pool; logger: Logger; ledger: Ledger };

const id = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, "must be 1 to 100 letters, digits, _ or -");
// Limits on everything a client sends: a chat is at most 200 messages of 32,000 characters each.
const part = z.looseObject({ type: z.string().max(100), text: z.string().max(32_000).optional() });
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
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) });
const longestConversation = 1_000;
const longestChatBodyBytes = 2 * 1024 * 1024;

function textOf(parts: z.infer<typeof part>[]): string {
  return parts.map((piece) => (piece.type === "text" ? (piece.text ?? "") : "")).join("");
}

/**
 * POST /api/chat (the UI message stream protocol useChat speaks), GET /api/chat/model, and the saved
 * conversations. `options.model` replaces the configured model (tests pass a mock).
 *
 * @example
 * app.route("/", chatRoutes(dependencies));
 */
export function chatRoutes(
  dependencies: ChatDependencies,
  options: { model?: ChatModel } = {},
): Hono<AuthedEnv> {
  const { config, pool, logger, ledger } = dependencies;
  const model =
    options.model ?? resolveModel(config, { demoWordDelayMs: config.nodeEnv === "test" ? 0 : 20 });
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

  const chatBodyLimit = bodyLimit({
    maxSize: longestChatBodyBytes,
    onError: () => {
      throw new AppError(
        "PAYLOAD_TOO_LARGE",
        413,
        "This chat is too long to send: start a new conversation.",
      );
    },
  });

  routes.post("/api/chat", chatBodyLimit, async (context) => {
    const body = parseInput(chatBody, await readJson(context));
    const messages = body.messages.map((entry) => ({
      id: entry.id,
      role: entry.role,
      text: textOf(entry.parts),
    }));
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
    if (!found) throw new AppError("NOT_FOUND", 404, "No conversation of yours has this id.");
    return context.json(found);
  });

  return routes;
}
