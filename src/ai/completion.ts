import { type ModelMessage, streamText } from "ai";
import type { ChatModel } from "./models.js";
import { costCents } from "./pricing.js";
import { countTextTokens } from "./tokens.js";

/** A message as the gateway receives it, its content parts joined into text. */
export type CompletionMessage = { role: "system" | "user" | "assistant"; text: string };

export type CompletionRequest = {
  model: ChatModel;
  messages: CompletionMessage[];
  maxOutputTokens: number;
  temperature?: number;
  /** Fires when the client leaves or the deadline passes: the provider is stopped. */
  abortSignal: AbortSignal;
  /** Each piece of text as the provider writes it. */
  onText: (text: string) => void;
};

/** How a generation ended, before anyone decides what it costs. */
export type Generation = {
  text: string;
  /** What the provider reported, when it reported it (a finished generation). */
  usage: { inputTokens: number | undefined; outputTokens: number | undefined } | undefined;
  finishReason: "stop" | "length" | "content_filter" | "error" | "other";
  /** The provider failed (not the abort of a client that left or of the deadline). */
  providerFailed: boolean;
  failure: unknown;
};

function toModelMessages(messages: CompletionMessage[]): ModelMessage[] {
  return messages.map((message) => ({ role: message.role, content: message.text }));
}

/**
 * Runs one generation through the AI SDK, passing text on as it comes, and says how it ended. Never
 * throws: a provider failure is part of the answer, since what it costs depends on it.
 *
 * @example
 * const generation = await generateCompletion({ model, messages, maxOutputTokens: 256, abortSignal, onText });
 */
export async function generateCompletion(request: CompletionRequest): Promise<Generation> {
  const generation: Generation = {
    text: "",
    usage: undefined,
    finishReason: "error",
    providerFailed: false,
    failure: undefined,
  };
  const fail = (error: unknown) => {
    generation.failure ??= error;
    if (!request.abortSignal.aborted) generation.providerFailed = true;
  };
  try {
    const result = streamText({
      model: request.model.languageModel,
      messages: toModelMessages(request.messages),
      maxOutputTokens: request.maxOutputTokens,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      abortSignal: request.abortSignal,
      // One quick retry for a failed start; retrying later would repeat output already charged.
      maxRetries: 1,
      onFinish: (event) => {
        generation.usage = {
          inputTokens: event.totalUsage.inputTokens,
          outputTokens: event.totalUsage.outputTokens,
        };
        generation.finishReason =
          event.finishReason === "stop" ||
          event.finishReason === "length" ||
          event.finishReason === "content-filter"
            ? event.finishReason === "content-filter"
              ? "content_filter"
              : event.finishReason
            : "other";
      },
      onError: ({ error }) => fail(error),
    });
    for await (const part of result.fullStream) {
      if (part.type === "text-delta" && part.text !== "") {
        generation.text += part.text;
        request.onText(part.text);
      }
    }
  } catch (error) {
    fail(error);
  }
  if (generation.failure !== undefined || request.abortSignal.aborted) generation.finishReason = "error";
  return generation;
}

export type Charge = {
  /** Released: nothing charged (the provider failed before any output, or was never called). */
  hold: "settled" | "released";
  chargedCents: number;
  inputTokens: number;
  outputTokens: number;
};

/**
 * What a generation costs, by the chat's rule: nothing when the provider failed before any output;
 * otherwise the usage it reported or, when it reported none (stopped, failed midway), the prompt as
 * counted before the call and the output counted here; never more than was held.
 *
 * @example
 * chargeFor(generation, { model, creditMarkup: 4, heldCents: 12, estimatedInputTokens: 90 });
 */
export function chargeFor(
  generation: Generation,
  input: { model: ChatModel; creditMarkup: number; heldCents: number; estimatedInputTokens: number },
): Charge {
  if (generation.text === "" && generation.providerFailed) {
    return { hold: "released", chargedCents: 0, inputTokens: 0, outputTokens: 0 };
  }
  const inputTokens = generation.usage?.inputTokens ?? input.estimatedInputTokens;
  const outputTokens = generation.usage?.outputTokens ?? countTextTokens(generation.text);
  const cost = costCents({ inputTokens, outputTokens }, input.model.price, input.creditMarkup);
  return { hold: "settled", chargedCents: Math.min(cost, input.heldCents), inputTokens, outputTokens };
}
