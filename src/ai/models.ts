import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV3 } from "@ai-sdk/provider";
import type { Config } from "../config.js";
import { createDemoModel, demoModelId } from "./demo-model.js";
import { type OpenAiRelay, openAiRelay } from "./openai-relay.js";
import type { Price } from "./pricing.js";

/** The model every chat uses, with the price it is charged at. */
export type ChatModel = {
  /** As configured: `demo` or `provider:model`. */
  id: string;
  isDemo: boolean;
  price: Price;
  languageModel: LanguageModelV3;
  /** Set when the upstream speaks OpenAI's chat completions itself: the gateway relays to it directly. */
  openAiRelay?: OpenAiRelay;
};

/**
 * Published prices in USD per million tokens (standard tier, text, short prompts). The demo model is
 * priced as the default real model, so what it costs in the demo is what real answers will cost.
 */
export const knownPrices: Record<string, Price> = {
  demo: { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "google:gemini-2.0-flash": { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "google:gemini-2.0-flash-lite": { inputPerMillion: 0.075, outputPerMillion: 0.3 },
  "google:gemini-2.5-flash": { inputPerMillion: 0.3, outputPerMillion: 2.5 },
  "google:gemini-2.5-flash-lite": { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "google:gemini-2.5-pro": { inputPerMillion: 1.25, outputPerMillion: 10 },
  "openai:gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  "openai:gpt-4o": { inputPerMillion: 2.5, outputPerMillion: 10 },
  "openai:gpt-4.1": { inputPerMillion: 2, outputPerMillion: 8 },
  "openai:gpt-4.1-mini": { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  "openai:gpt-4.1-nano": { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "openai:gpt-5": { inputPerMillion: 1.25, outputPerMillion: 10 },
  "openai:gpt-5-mini": { inputPerMillion: 0.25, outputPerMillion: 2 },
  "openai:gpt-5-nano": { inputPerMillion: 0.05, outputPerMillion: 0.4 },
};

/** Thrown at start when the model cannot be used; the message says which setting to change. */
export class ModelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelConfigError";
  }
}

export type ModelOptions = {
  /** Pause between the demo model's words; 0 in tests and benchmarks. */
  demoWordDelayMs?: number;
  /** Where `google:` models are served; tests point it at a local server. */
  googleBaseUrl?: string;
};

// AI_PRICE_* price AI_MODEL (over its published price, if any) and every model of AI_MODELS that
// has no published price (a local or self-hosted model); a published price is never overridden
// for a model that is not AI_MODEL.
function priceFor(config: Config, modelId: string): Price {
  const known = knownPrices[modelId];
  const overrides = modelId === config.aiModel || known === undefined;
  const inputPerMillion = (overrides ? config.aiPriceInputPerMillion : undefined) ?? known?.inputPerMillion;
  const outputPerMillion =
    (overrides ? config.aiPriceOutputPerMillion : undefined) ?? known?.outputPerMillion;
  if (inputPerMillion === undefined || outputPerMillion === undefined) {
    const setting = modelId === config.aiModel ? "AI_MODEL" : "AI_MODELS";
    throw new ModelConfigError(
      `${setting}=${modelId} has no known price, and Coinslot will not charge nothing for it. ` +
        "Set AI_PRICE_INPUT_PER_MILLION and AI_PRICE_OUTPUT_PER_MILLION (USD per million tokens, as the provider publishes them), " +
        `or use one of: ${Object.keys(knownPrices).join(", ")}.`,
    );
  }
  return { inputPerMillion, outputPerMillion };
}

function required(value: string | undefined, message: string): string {
  if (!value) throw new ModelConfigError(message);
  return value;
}

/**
 * The model's AI SDK provider and, for an upstream that speaks OpenAI's Chat Completions itself, the
 * relay the gateway calls instead (openai-relay.ts), both from the same settings.
 */
function clientsFor(
  config: Config,
  modelId: string,
  options: ModelOptions,
): Pick<ChatModel, "languageModel" | "openAiRelay"> {
  const separator = modelId.indexOf(":");
  const provider = separator === -1 ? modelId : modelId.slice(0, separator);
  const modelName = modelId.slice(separator + 1);
  switch (provider) {
    case demoModelId:
      return { languageModel: createDemoModel({ wordDelayMs: options.demoWordDelayMs ?? 20 }) };
    case "google": {
      const apiKey = required(
        config.googleApiKey,
        `${modelId} needs GOOGLE_GENERATIVE_AI_API_KEY (or GEMINI_API_KEY) from Google AI Studio.`,
      );
      return {
        languageModel: createGoogleGenerativeAI({ apiKey, baseURL: options.googleBaseUrl })(modelName),
      };
    }
    case "openai": {
      const apiKey = required(config.openaiApiKey, `${modelId} needs OPENAI_API_KEY.`);
      return {
        languageModel: createOpenAI({ apiKey, baseURL: config.openaiBaseUrl })(modelName),
        openAiRelay: openAiRelay({
          baseUrl: config.openaiBaseUrl ?? "https://api.openai.com/v1",
          apiKey,
          modelName,
          maxTokensField: "max_completion_tokens",
        }),
      };
    }
    case "compatible": {
      const baseURL = required(
        config.openaiBaseUrl,
        `${modelId} needs OPENAI_BASE_URL, the server's OpenAI-compatible API (for example http://localhost:11434/v1 for Ollama).`,
      );
      // includeUsage asks the server for the usage chunk that settlement charges on.
      return {
        languageModel: createOpenAICompatible({
          name: "compatible",
          baseURL,
          apiKey: config.openaiApiKey,
          includeUsage: true,
        })(modelName),
        openAiRelay: openAiRelay({
          baseUrl: baseURL,
          apiKey: config.openaiApiKey,
          modelName,
          maxTokensField: "max_tokens",
        }),
      };
    }
    default:
      throw new ModelConfigError(
        `AI_MODEL and AI_MODELS name demo or provider:model with provider google, openai or compatible, got ${modelId}.`,
      );
  }
}

/**
 * The configured model and its price. main.ts calls it at start so a model that cannot be priced or
 * reached refuses to start with a clear message, instead of failing (or charging nothing) per chat.
 *
 * @example
 * const model = resolveModel(config); // throws ModelConfigError naming the setting to fix
 */
export function resolveModel(config: Config, options: ModelOptions = {}): ChatModel {
  return modelOf(config, config.aiModel, options);
}

function modelOf(config: Config, modelId: string, options: ModelOptions): ChatModel {
  const price = priceFor(config, modelId);
  return { id: modelId, isDemo: modelId === demoModelId, price, ...clientsFor(config, modelId, options) };
}

/**
 * Every model of AI_MODELS (AI_MODEL first), by id, for the gateway. Like resolveModel, throws
 * ModelConfigError at start for a model that cannot be priced or reached.
 *
 * @example
 * const models = resolveModels(config); // Map { "demo" => {...}, "openai:gpt-4o-mini" => {...} }
 */
export function resolveModels(config: Config, options: ModelOptions = {}): Map<string, ChatModel> {
  return new Map(config.aiModels.map((modelId) => [modelId, modelOf(config, modelId, options)]));
}
