import { describe, expect, it } from "vitest";
import { testConfig } from "../../test/support/chat.js";
import { aiChecks } from "./checks.js";

describe("doctor's AI checks", () => {
  it("reports an unpriced model as a problem, with the settings to fix", () => {
    const checks = aiChecks(
      testConfig({ AI_MODEL: "compatible:llama3", OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" }),
    );
    expect(checks).toEqual([
      { level: "problem", name: "ai model", message: expect.stringContaining("AI_PRICE_INPUT_PER_MILLION") },
    ]);
  });

  it("warns that the demo model gives no real answers, and prices the longest answer", () => {
    const checks = aiChecks(testConfig({ MAX_OUTPUT_TOKENS: "1000000" }));
    expect(checks).toEqual([
      {
        level: "ok",
        name: "ai price",
        // 1,000,000 output tokens × 0.40 USD × 4 = 160 cents.
        message: expect.stringContaining("a 1000000-token answer costs 160 cents"),
      },
      { level: "warning", name: "ai model", message: expect.stringContaining("demo model") },
    ]);
  });

  it("is ok for a priced, configured real model", () => {
    const checks = aiChecks(testConfig({ AI_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "k" }));
    expect(checks.map((check) => check.level)).toEqual(["ok", "ok"]);
  });
});
