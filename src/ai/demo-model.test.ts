import { streamText } from "ai";
import { describe, expect, it } from "vitest";
import { createDemoModel } from "./demo-model.js";
import { countPromptTokens, countTextTokens } from "./tokens.js";

async function ask(question: string, maxOutputTokens?: number) {
  const result = streamText({
    model: createDemoModel({ wordDelayMs: 0 }),
    prompt: question,
    maxOutputTokens,
  });
  const deltas: string[] = [];
  for await (const delta of result.textStream) deltas.push(delta);
  return { deltas, text: deltas.join(""), usage: await result.totalUsage };
}

describe("the demo model", () => {
  it("answers from the question, says it is a demo and how to configure a real model", async () => {
    const { text, deltas } = await ask("What is the capital of France?");
    expect(text).toContain('"What is the capital of France?"');
    expect(text).toContain("demo model");
    expect(text).toContain("AI_MODEL=google:gemini-2.0-flash");
    // Streamed word by word, like a real model.
    expect(deltas.length).toBeGreaterThan(20);
  });

  it("is deterministic", async () => {
    expect((await ask("Same question")).text).toBe((await ask("Same question")).text);
  });

  it("reports real token counts for what it read and wrote", async () => {
    const { text, usage } = await ask("Count me");
    expect(usage.outputTokens).toBe(countTextTokens(text));
    expect(usage.inputTokens).toBe(countPromptTokens([{ role: "user", text: "Count me" }]));
  });

  it("stops at the output token limit it is given", async () => {
    const { text, usage } = await ask("Be brief", 5);
    expect(usage.outputTokens).toBeLessThanOrEqual(5);
    expect(countTextTokens(text)).toBeLessThanOrEqual(5);
  });
});
