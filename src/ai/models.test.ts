import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { knownPrices, ModelConfigError, resolveModel } from "./models.js";

const base = { AUTH_SECRET: "x".repeat(32), STRIPE_WEBHOOK_SECRET: "whsec_test" };
const configWith = (environment: Record<string, string>) => loadConfig({ ...base, ...environment });

function refusal(environment: Record<string, string>): string {
  try {
    resolveModel(configWith(environment));
  } catch (error) {
    if (error instanceof ModelConfigError) return error.message;
    throw error;
  }
  throw new Error("the model was accepted");
}

describe("resolveModel", () => {
  it("uses the demo model when nothing is configured, priced as the default real model", () => {
    const model = resolveModel(configWith({}));
    expect(model).toMatchObject({ id: "demo", isDemo: true, price: knownPrices["google:gemini-2.0-flash"] });
    expect(model.languageModel.modelId).toBe("demo");
  });

  it("picks Gemini 2.0 Flash at the tutorial's price when a Google key is set", () => {
    const model = resolveModel(configWith({ GEMINI_API_KEY: "test-key" }));
    expect(model).toMatchObject({
      id: "google:gemini-2.0-flash",
      isDemo: false,
      price: { inputPerMillion: 0.1, outputPerMillion: 0.4 },
    });
    expect(model.languageModel.provider).toContain("google");
    expect(model.languageModel.modelId).toBe("gemini-2.0-flash");
  });

  it("lets AI_PRICE_* override a known price one side at a time", () => {
    const model = resolveModel(
      configWith({ AI_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "k", AI_PRICE_OUTPUT_PER_MILLION: "1.5" }),
    );
    expect(model.price).toEqual({ inputPerMillion: 0.15, outputPerMillion: 1.5 });
  });

  it("refuses an unknown model without a price rather than charging nothing", () => {
    const message = refusal({ AI_MODEL: "compatible:llama3", OPENAI_BASE_URL: "http://localhost:11434/v1" });
    expect(message).toContain("AI_MODEL=compatible:llama3 has no known price");
    expect(message).toContain("AI_PRICE_INPUT_PER_MILLION and AI_PRICE_OUTPUT_PER_MILLION");
    // Half a price is no price.
    expect(
      refusal({
        AI_MODEL: "compatible:llama3",
        OPENAI_BASE_URL: "http://localhost:11434/v1",
        AI_PRICE_INPUT_PER_MILLION: "0.2",
      }),
    ).toContain("has no known price");
  });

  it("accepts an unknown model once both prices are set", () => {
    const model = resolveModel(
      configWith({
        AI_MODEL: "compatible:llama3",
        OPENAI_BASE_URL: "http://localhost:11434/v1",
        AI_PRICE_INPUT_PER_MILLION: "0.2",
        AI_PRICE_OUTPUT_PER_MILLION: "0.6",
      }),
    );
    expect(model).toMatchObject({
      id: "compatible:llama3",
      price: { inputPerMillion: 0.2, outputPerMillion: 0.6 },
    });
  });

  it("relays to OpenAI-format upstreams directly, at their chat completions URL, and to no other", () => {
    const compatible = resolveModel(
      configWith({
        AI_MODEL: "compatible:llama3",
        OPENAI_BASE_URL: "http://localhost:11434/v1/",
        OPENAI_API_KEY: "ollama",
        AI_PRICE_INPUT_PER_MILLION: "0.2",
        AI_PRICE_OUTPUT_PER_MILLION: "0.6",
      }),
    );
    expect(compatible.openAiRelay).toMatchObject({
      modelName: "llama3",
      apiKey: "ollama",
      maxTokensField: "max_tokens",
    });
    expect(compatible.openAiRelay?.url.href).toBe("http://localhost:11434/v1/chat/completions");
    const openai = resolveModel(configWith({ AI_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "k" }));
    expect(openai.openAiRelay?.url.href).toBe("https://api.openai.com/v1/chat/completions");
    expect(openai.openAiRelay?.maxTokensField).toBe("max_completion_tokens");
    expect(resolveModel(configWith({})).openAiRelay).toBeUndefined();
    expect(resolveModel(configWith({ GEMINI_API_KEY: "k" })).openAiRelay).toBeUndefined();
  });

  it("names the missing key or URL for each provider", () => {
    expect(refusal({ AI_MODEL: "google:gemini-2.0-flash" })).toContain("GOOGLE_GENERATIVE_AI_API_KEY");
    expect(refusal({ AI_MODEL: "openai:gpt-4o-mini" })).toContain("OPENAI_API_KEY");
    expect(
      refusal({
        AI_MODEL: "compatible:x",
        AI_PRICE_INPUT_PER_MILLION: "1",
        AI_PRICE_OUTPUT_PER_MILLION: "1",
      }),
    ).toContain("OPENAI_BASE_URL");
  });
});
