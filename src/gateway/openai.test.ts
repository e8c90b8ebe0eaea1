import { describe, expect, it } from "vitest";
import { completionChunks, completionChunkTexts, usageOf } from "./openai.js";

describe("completionChunkTexts", () => {
  const identity = { id: "chatcmpl-abc", created: 1_700_000_000, model: 'compatible:"odd" \u00e9 model' };
  const texts = ["Hello", "", " wörld", 'quote " and \\ back', "line\nbreak\u0000\u2028", "🙂"];

  for (const includeUsage of [true, false]) {
    it(`writes the very bytes JSON.stringify makes of each chunk (include_usage ${includeUsage})`, () => {
      const objects = completionChunks(identity, includeUsage);
      const written = completionChunkTexts(identity, includeUsage);
      expect(written.opening()).toBe(JSON.stringify(objects.opening()));
      for (const text of texts) expect(written.text(text)).toBe(JSON.stringify(objects.text(text)));
      const usage = usageOf({ inputTokens: 11, outputTokens: 6 });
      expect(written.ending("length", usage)).toEqual(
        objects.ending("length", usage).map((chunk) => JSON.stringify(chunk)),
      );
    });
  }
});
