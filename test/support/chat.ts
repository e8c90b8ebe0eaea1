import type { LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { MockLanguageModelV3 } from "ai/test";
import { Hono } from "hono";
import type { ChatModel } from "../../src/ai/models.js";
import { chatRoutes } from "../../src/ai/routes.js";
import type { AuthedEnv, SessionUser } from "../../src/auth/types.js";
import { type Config, loadConfig } from "../../src/config.js";
import type { Pool } from "../../src/db/pool.js";
import { AppError, errorBody } from "../../src/kit/errors.js";
import { createLedger } from "../../src/ledger/index.js";
import { createLogger } from "../../src/logger.js";

export const testConfig = (environment: Record<string, string> = {}): Config =>
  loadConfig({
    NODE_ENV: "test",
    AUTH_SECRET: "x".repeat(32),
    STRIPE_WEBHOOK_SECRET: "whsec_test",
    ...environment,
  });

/**
 * The chat routes on a real database and ledger, with the signed-in user taken from an `x-test-user`
 * header instead of a session, so model and metering tests need no sign-up round trip.
 */
export function chatApp(options: { pool: Pool; config?: Config; model?: ChatModel }) {
  const config = options.config ?? testConfig();
  const ledger = createLedger({ pool: options.pool, holdTtlSeconds: config.holdTtlSeconds, lotDays: config });
  const logger = createLogger("silent");
  const app = new Hono<AuthedEnv>();
  app.use("*", async (context, next) => {
    const id = context.req.header("x-test-user") ?? "";
    context.set("user", { id, email: `${id}@example.com`, name: id, emailVerified: true, isAdmin: false });
    await next();
  });
  app.route("/", chatRoutes({ config, pool: options.pool, logger, ledger }, { model: options.model }));
  app.onError((error, context) => {
    if (error instanceof AppError)
      return context.json(errorBody(error.code, error.message, error.details), error.status);
    throw error;
  });
  return { app, ledger, config };
}

/** A user with an account holding exactly `balanceCents`. */
export async function userWithBalance(
  ledger: ReturnType<typeof createLedger>,
  id: string,
  balanceCents: number,
): Promise<SessionUser> {
  const created = await ledger.ensureAccount({
    userId: id,
    email: `${id}@example.com`,
    signupBonusCents: balanceCents,
  });
  if (created.error) throw new Error(created.error.message);
  return { id, email: `${id}@example.com`, name: id, emailVerified: true, isAdmin: false };
}

let counter = 0;
export const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export function chatBody(input: {
  chatId: string;
  messageId: string;
  text: string;
  history?: { id: string; role: "user" | "assistant"; text: string }[];
  trigger?: "submit-message" | "regenerate-message";
}) {
  const messages = [
    ...(input.history ?? []),
    { id: input.messageId, role: "user" as const, text: input.text },
  ];
  return {
    id: input.chatId,
    trigger: input.trigger ?? "submit-message",
    messageId: undefined,
    messages: messages.map((message) => ({
      id: message.id,
      role: message.role,
      parts: [{ type: "text", text: message.text }],
    })),
  };
}

export function postChat(app: Hono<AuthedEnv>, userId: string, body: unknown, signal?: AbortSignal) {
  return app.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json", "x-test-user": userId },
    body: JSON.stringify(body),
    signal,
  });
}

export type Chunk = { type: string; [key: string]: unknown };

/** The UI message stream's chunks, parsed from the SSE body. */
export async function readChunks(response: Response): Promise<Chunk[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((event) => event.replace(/^data: /, "").trim())
    .filter((data) => data !== "" && data !== "[DONE]")
    .map((data) => JSON.parse(data));
}

export const answerText = (chunks: Chunk[]) =>
  chunks
    .filter((chunk) => chunk.type === "text-delta")
    .map((chunk) => chunk.delta)
    .join("");

export const finishMetadata = (chunks: Chunk[]) =>
  chunks.find((chunk) => chunk.type === "finish")?.messageMetadata as Record<string, unknown> | undefined;

/** A mock model streaming `words`, reporting `usage` (or none), or failing before any output. */
export function mockModel(options: {
  words?: string[];
  usage?: { input: number; output: number } | null;
  fail?: boolean;
  /** Fails with a stream error after this many words. */
  failAfterWords?: number;
  price?: ChatModel["price"];
}): { model: ChatModel; mock: MockLanguageModelV3 } {
  const words = options.words ?? ["Paris", " is", " the", " capital."];
  const usage = options.usage === undefined ? { input: 12, output: words.length } : options.usage;
  const mock = new MockLanguageModelV3({
    doStream: async () => {
      if (options.fail) throw new Error("provider exploded");
      const parts: LanguageModelV3StreamPart[] = [
        { type: "stream-start", warnings: [] },
        { type: "text-start", id: "t" },
        ...words.map((delta) => ({ type: "text-delta" as const, id: "t", delta })),
        { type: "text-end", id: "t" },
        {
          type: "finish",
          finishReason: { unified: "stop", raw: "stop" },
          usage: {
            inputTokens: {
              total: usage?.input,
              noCache: undefined,
              cacheRead: undefined,
              cacheWrite: undefined,
            },
            outputTokens: { total: usage?.output, text: undefined, reasoning: undefined },
          },
        },
      ];
      if (options.failAfterWords !== undefined) {
        parts.splice(2 + options.failAfterWords, parts.length, {
          type: "error",
          error: new Error("connection reset"),
        });
      }
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        start(controller) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      });
      return { stream };
    },
  });
  const price = options.price ?? { inputPerMillion: 0.1, outputPerMillion: 0.4 };
  return { model: { id: "mock:model", isDemo: false, price, languageModel: mock }, mock };
}

/** Invariants of DESIGN.md for one account: balance equals its entries, no open hold, held is 0. */
export async function ledgerState(pool: Pool, userId: string) {
  const result = await pool.query(
    `select a.balance_cents as "balanceCents", a.held_cents as "heldCents",
            (select coalesce(sum(amount_cents), 0)::bigint from credits.entries e where e.user_id = a.user_id) as "entriesCents",
            (select count(*)::int from credits.holds h where h.user_id = a.user_id and h.status = 'open') as "openHolds",
            (select count(*)::int from credits.entries e where e.user_id = a.user_id and e.kind = 'usage') as "usageEntries"
       from credits.accounts a where a.user_id = $1`,
    [userId],
  );
  return result.rows[0] as {
    balanceCents: number;
    heldCents: number;
    entriesCents: number;
    openHolds: number;
    usageEntries: number;
  };
}
