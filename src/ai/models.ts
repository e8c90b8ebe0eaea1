import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV3 } from "@ai-sdk/provider";
import type { Config } from "../config.js";
import { createDemoModel, demoModelId } from "./demo-model.js";
import type { Price } from "./pricing.js";

/** The model every chat uses, with the price it is charged at. */
export type ChatModel = {
  /** As configured: `demo` or `provider:model`. */
  id: string;
  isDemo: boolean;
  price: Price;
  languageModel: LanguageModelV3;
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

function priceFor(config: Config): Price {
  const known = knownPrices[config.aiModel];
  const inputPerMillion = config.aiPriceInputPerMillion ?? known?.inputPerMillion;
  const outputPerMillion = config.aiPriceOutputPerMillion ?? known?.outputPerMillion;
  if (inputPerMillion === undefined || outputPerMillion === undefined) {
    throw new ModelConfigError(
      `AI_MODEL=${config.aiModel} has no known price, and Coinslot will not charge nothing for it. ` +
        "Set AI_PRICE_INPUT_PER_MILLION and AI_PRICE_OUTPUT_PER_MILLION (USD per million tokens, " +
        `as the provider publishes them), or use one of: ${Object.keys(knownPrices).join(", ")}.`,
    );
  }
  return { inputPerMillion, outputPerMillion };
}

function required(value: string | undefined, message: string): string {
  if (!value) throw new ModelConfigError(message);
  return value;
}

function languageModelFor(config: Config, options: ModelOptions): LanguageModelV3 {
  const separator = config.aiModel.indexOf(":");
  const provider = separator === -1 ? config.aiModel : config.aiModel.slice(0, separator);
  const modelName = config.aiModel.slice(separator + 1);
  switch (provider) {
    case demoModelId:
      return createDemoModel({ wordDelayMs: options.demoWordDelayMs ?? 20 });
    case "google": {
      const apiKey = required(
        config.googleApiKey,
        `AI_MODEL=${config.aiModel} needs GOOGLE_GENERATIVE_AI_API_KEY (or GEMINI_API_KEY) from Google AI Studio.`,
      );
      return createGoogleGenerativeAI({ apiKey, baseURL: options.googleBaseUrl })(modelName);
    }
    case "openai": {
      const apiKey = required(config.openaiApiKey, `AI_MODEL=${config.aiModel} needs OPENAI_API_KEY.`);
      return createOpenAI({ apiKey, baseURL: config.openaiBaseUrl })(modelName);
    }
    case "compatible": {
      const baseURL = required(
        config.openaiBaseUrl,
        `AI_MODEL=${config.aiModel} needs OPENAI_BASE_URL, the server's OpenAI-compatible API (for example http://localhost:11434/v1 for Ollama).`,
      );
      // includeUsage asks the server for the usage chunk that settlement charges on.
      return createOpenAICompatible({
        name: "compatible",
        baseURL,
        apiKey: config.openaiApiKey,
        includeUsage: true,
      })(modelName);
    }
    default:
      throw new ModelConfigError(
        `AI_MODEL must be demo or provider:model with provider google, openai or compatible, got ${config.aiModel}.`,
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
  const price = priceFor(config);
  const languageModel = languageModelFor(config, options);
  return { id: config.aiModel, isDemo: config.aiModel === demoModelId, price, languageModel };
}
