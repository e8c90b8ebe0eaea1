import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServer } from "./support/process.js";

describe("starting with an AI model that cannot be charged for", () => {
  it("refuses to start, naming the settings to fix, before touching the database", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "coinslot-ai-start-"));
    const start = startServer({
      DATA_DIR: dataDir,
      AI_MODEL: "compatible:llama3",
      OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
    });
    const error = await start
      .then(
        () => new Error("the server started"),
        (failure: Error) => failure,
      )
      .finally(() => rmSync(dataDir, { recursive: true, force: true }));
    expect(error.message).toContain("server exited with 1 before starting");
    expect(error.message).toContain("AI_MODEL=compatible:llama3 has no known price");
    expect(error.message).toContain("AI_PRICE_INPUT_PER_MILLION and AI_PRICE_OUTPUT_PER_MILLION");
    expect(error.message).not.toContain("embedded PostgreSQL is running");
  });
});
