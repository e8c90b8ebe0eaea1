import {
  APICallError,
  type LanguageModelV3CallOptions,
  type LanguageModelV3Prompt,
  type LanguageModelV3StreamPart,
} from "@ai-sdk/provider";
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
  /** Every part of the provider's stream, text included, for a caller that passes more on (the chat). */
  onPart?: (part: LanguageModelV3StreamPart) => void;
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

function toPrompt(messages: CompletionMessage[]): LanguageModelV3Prompt {
  return messages.map((message) =>
    message.role === "system"
      ? { role: "system", content: message.text }
      : { role: message.role, content: [{ type: "text", text: message.text }] },
  );
}

const finishReasons = new Set(["stop", "length"]);

/**
 * Starts the provider's stream, with one quick retry when the start fails in a way the provider calls
 * retryable (a 429 or 5xx before any output); retrying later would repeat output already charged.
 */
async function startStream(request: CompletionRequest): Promise<ReadableStream<LanguageModelV3StreamPart>> {
  const options: LanguageModelV3CallOptions = {
    prompt: toPrompt(request.messages),
    maxOutputTokens: request.maxOutputTokens,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    abortSignal: request.abortSignal,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return (await request.model.languageModel.doStream(options)).stream;
    } catch (error) {
      const retryable = APICallError.isInstance(error) && error.isRetryable;
      if (attempt >= 2 || !retryable || request.abortSignal.aborted) throw error;
    }
  }
}

/**
 * Runs one generation on the provider's own stream (the language model's `doStream`), passing text
 * on as it comes, and says how it ended. Not `streamText`: the gateway needs none of what it adds
 * (tools, steps, transforms), and reading through it costs about twice the CPU per completion
 * (bench/gateway.ts). Never throws: a provider failure is part of the answer, since what it costs
 * depends on it.
 *
 * @example
 * const generation = await generateCompletion({ model, messages, maxOutputTokens: 256, abortSignal, onText });
 */
export function generateCompletion(request: CompletionRequest): Promise<Generation> {
  return runGeneration(request.abortSignal, async (generation, fail) => {
    const reader = (await startStream(request)).getReader();
    for (;;) {
      const { done, value: part } = await reader.read();
      if (done) break;
      request.onPart?.(part);
      if (part.type === "text-delta") {
        if (part.delta === "") continue;
        generation.text += part.delta;
        request.onText(part.delta);
      } else if (part.type === "finish") {
        generation.usage = {
          inputTokens: part.usage.inputTokens.total,
          outputTokens: part.usage.outputTokens.total,
        };
        const reason = part.finishReason.unified;
        generation.finishReason = finishReasons.has(reason)
          ? (reason as "stop" | "length")
          : reason === "content-filter"
            ? "content_filter"
            : "other";
      } else if (part.type === "error") {
        fail(part.error);
      }
    }
  });
}

/**
 * The frame of every way a generation is read (the provider's stream here, the relay in
 * openai-relay.ts): `read` fills a fresh Generation; what it throws or hands to `fail` is the
 * provider's failure, unless `abortSignal` fired first (the client left, or the deadline passed);
 * either way the generation ended in error. Never throws.
 */
export async function runGeneration(
  abortSignal: AbortSignal,
  read: (generation: Generation, fail: (error: unknown) => void) => Promise<void>,
): Promise<Generation> {
  const generation: Generation = {
    text: "",
    usage: undefined,
    finishReason: "error",
    providerFailed: false,
    failure: undefined,
  };
  const fail = (error: unknown) => {
    generation.failure ??= error;
    if (!abortSignal.aborted) generation.providerFailed = true;
  };
  try {
    await read(generation, fail);
  } catch (error) {
    fail(error);
  }
  if (generation.failure !== undefined || abortSignal.aborted) generation.finishReason = "error";
  return generation;
}

// Generation stops well before its hold could expire, so it is always settled, never free; and
// settlement is retried while the database is unreachable, but stops this much before the hold
// expires: past it the ledger refuses the charge, and the clocks of this process and PostgreSQL may
// disagree a little.
const generationShareOfHold = 0.8;
const settlementMarginSeconds = (holdTtlSeconds: number) => Math.min(10, holdTtlSeconds * 0.1);

/**
 * The time a metered generation has, for the chat and the gateway alike: a signal that fires when the
 * client leaves (or `stop` is called) or the generation deadline passes, and the moment until which
 * settlement is worth retrying. `holdPlacedAtMs` is taken just before the hold is placed, so both
 * deadlines err early. `close` once the generation has ended.
 *
 * @example
 * const window = generationWindow({ holdTtlSeconds: 300, holdPlacedAtMs, clientSignal: request.signal });
 * try { await generateCompletion({ ..., abortSignal: window.signal }); } finally { window.close(); }
 */
export function generationWindow(input: {
  holdTtlSeconds: number;
  holdPlacedAtMs: number;
  clientSignal: AbortSignal;
}): { signal: AbortSignal; stop: (reason?: unknown) => void; settleByMs: number; close: () => void } {
  const { holdTtlSeconds, holdPlacedAtMs, clientSignal } = input;
  const abort = new AbortController();
  const stop = (reason?: unknown) => abort.abort(reason);
  const clientLeft = () => abort.abort();
  // A client may have left while the hold was being placed: its signal has fired already.
  if (clientSignal.aborted) abort.abort();
  else clientSignal.addEventListener("abort", clientLeft, { once: true });
  const deadline = setTimeout(clientLeft, holdTtlSeconds * generationShareOfHold * 1000);
  deadline.unref();
  return {
    signal: abort.signal,
    stop,
    settleByMs: holdPlacedAtMs + (holdTtlSeconds - settlementMarginSeconds(holdTtlSeconds)) * 1000,
    close: () => {
      clearTimeout(deadline);
      clientSignal.removeEventListener("abort", clientLeft);
    },
  };
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
