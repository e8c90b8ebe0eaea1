import { z } from "zod";
import type { CompletionMessage } from "../ai/completion.js";
import { AppError } from "../kit/errors.js";

// OpenAI's Chat Completions request, as much of it as the gateway serves. Unknown fields (tools,
// n, logprobs...) are refused by name rather than silently ignored, so a client never believes a
// feature was applied that was not.
const textPart = z.object({ type: z.literal("text"), text: z.string() });
const content = z.union([z.string(), z.array(textPart).max(100)]);
const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([content, z.null()]),
  name: z.string().max(100).optional(),
});

export const completionRequest = z
  .object({
    model: z.string().min(1, "must name a model").max(200),
    messages: z.array(message).min(1, "must have at least one message").max(500),
    max_tokens: z.number().int().min(1).nullish(),
    max_completion_tokens: z.number().int().min(1).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    user: z.string().max(128).optional(),
    // Accepted for compatibility; they change nothing here.
    n: z.literal(1).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
  })
  .strict();

export type CompletionBody = z.infer<typeof completionRequest>;

/** The messages as the completion core takes them: text only, a developer message counted as system. */
export function toCompletionMessages(body: CompletionBody): CompletionMessage[] {
  return body.messages.map((item) => ({
    role: item.role === "developer" ? "system" : item.role,
    text:
      typeof item.content === "string"
        ? item.content
        : (item.content ?? []).map((part) => part.text).join(""),
  }));
}

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export type OpenAiError = { message: string; type: string; param: string | null; code: string | null };

// Coinslot's codes in OpenAI's words, so existing clients show them as they show OpenAI's own.
const openAiShapes: Partial<Record<string, { type: string; code: string }>> = {
  INVALID_API_KEY: { type: "invalid_request_error", code: "invalid_api_key" },
  INVALID_SERVICE_KEY: { type: "invalid_request_error", code: "invalid_api_key" },
  RATE_LIMITED: { type: "requests", code: "rate_limit_exceeded" },
  INSUFFICIENT_CREDITS: { type: "insufficient_quota", code: "insufficient_credits" },
  MONTHLY_LIMIT_REACHED: { type: "insufficient_quota", code: "monthly_limit_reached" },
  SPEND_LIMIT_REACHED: { type: "insufficient_quota", code: "spend_limit_reached" },
  MODEL_NOT_FOUND: { type: "invalid_request_error", code: "model_not_found" },
  CUSTOMER_NOT_FOUND: { type: "invalid_request_error", code: "customer_not_found" },
  CUSTOMER_CONFLICT: { type: "invalid_request_error", code: "customer_conflict" },
  REQUEST_IN_PROGRESS: { type: "invalid_request_error", code: "request_in_progress" },
  IDEMPOTENCY_KEY_REUSED: { type: "invalid_request_error", code: "idempotency_key_reused" },
  INVALID_IDEMPOTENCY_KEY: { type: "invalid_request_error", code: "invalid_idempotency_key" },
  PAYLOAD_TOO_LARGE: { type: "invalid_request_error", code: "context_length_exceeded" },
};

/** An AppError (or anything thrown) as OpenAI would answer it, with its status. */
export function asOpenAiError(error: unknown): { status: number; body: { error: OpenAiError } } {
  if (!(error instanceof AppError)) {
    return {
      status: 500,
      body: {
        error: {
          message: "Something went wrong on our side. Try again in a moment.",
          type: "server_error",
          param: null,
          code: null,
        },
      },
    };
  }
  const fields = (error.details as { fields?: string[] } | undefined)?.fields;
  const shape = openAiShapes[error.code] ?? {
    type: error.status >= 500 ? "server_error" : "invalid_request_error",
    code: error.code.toLowerCase(),
  };
  return {
    status: error.status,
    body: {
      error: {
        message: error.message,
        type: shape.type,
        param: fields?.[0]?.replace(/^body\./, "") ?? (error.code === "MODEL_NOT_FOUND" ? "model" : null),
        code: shape.code,
      },
    },
  };
}

/** 404 model_not_found, naming the models this server serves. */
export function modelNotFound(model: string, served: string[]): AppError {
  return new AppError(
    "MODEL_NOT_FOUND",
    `The model ${JSON.stringify(model)} is not served here. Use one of: ${served.join(", ")} (GET /v1/models lists them).`,
  );
}

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

export function usageOf(tokens: { inputTokens: number; outputTokens: number }): Usage {
  return {
    prompt_tokens: tokens.inputTokens,
    completion_tokens: tokens.outputTokens,
    total_tokens: tokens.inputTokens + tokens.outputTokens,
  };
}

/** A `chat.completion` object, as a non-streaming call answers. */
export function completionObject(input: {
  id: string;
  created: number;
  model: string;
  text: string;
  finishReason: string;
  usage: Usage;
}) {
  return {
    id: input.id,
    object: "chat.completion" as const,
    created: input.created,
    model: input.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant" as const, content: input.text, refusal: null },
        logprobs: null,
        finish_reason: input.finishReason,
      },
    ],
    usage: input.usage,
  };
}

/** A `chat.completion.chunk`, as a streaming call sends them. */
export function chunkObject(
  input: { id: string; created: number; model: string },
  choice: { delta: { role?: "assistant"; content?: string }; finishReason: string | null } | null,
  usage?: Usage | null,
) {
  return {
    id: input.id,
    object: "chat.completion.chunk" as const,
    created: input.created,
    model: input.model,
    choices: choice
      ? [{ index: 0, delta: choice.delta, logprobs: null, finish_reason: choice.finishReason }]
      : [],
    ...(usage === undefined ? {} : { usage }),
  };
}

/** OpenAI's finish reason for how a generation ended; an interrupted one (there is no such reason) reads as `stop`. */
export function openAiFinishReason(finishReason: string): string {
  return finishReason === "error" ? "stop" : finishReason;
}

/**
 * The chunks of one streamed completion in OpenAI's order: the role, the text, then the finish and,
 * when `include_usage` asked for it, the usage (every chunk before it then carries `usage: null`).
 */
export function completionChunks(
  identity: { id: string; created: number; model: string },
  includeUsage: boolean,
) {
  const usageField = includeUsage ? null : undefined;
  return {
    opening: () =>
      chunkObject(identity, { delta: { role: "assistant", content: "" }, finishReason: null }, usageField),
    text: (content: string) => chunkObject(identity, { delta: { content }, finishReason: null }, usageField),
    ending: (finishReason: string, usage: Usage) => [
      chunkObject(identity, { delta: {}, finishReason }, usageField),
      ...(includeUsage ? [chunkObject(identity, null, usage)] : []),
    ],
  };
}

/**
 * `completionChunks` as JSON text, the same bytes `JSON.stringify` makes of them, for the live stream:
 * a text chunk is its stream's fixed head and tail around the text, so each word costs one string
 * escape instead of building and serializing five objects.
 */
export function completionChunkTexts(
  identity: { id: string; created: number; model: string },
  includeUsage: boolean,
) {
  const chunks = completionChunks(identity, includeUsage);
  const marker = "\u0000text\u0000";
  const [head, tail] = JSON.stringify(chunks.text(marker)).split(JSON.stringify(marker)) as [string, string];
  return {
    opening: () => JSON.stringify(chunks.opening()),
    text: (content: string) => head + JSON.stringify(content) + tail,
    ending: (finishReason: string, usage: Usage) =>
      chunks.ending(finishReason, usage).map((chunk) => JSON.stringify(chunk)),
  };
}
