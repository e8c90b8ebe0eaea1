import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import {
  asPlainText,
  countPromptTokens,
  countPromptTokensYielding,
  countTextTokens,
  longestTokenizedPieceChars,
  longestTokenizedRunChars,
  piecesForCounting,
} from "./tokens.js";

// Seeded, so a failure reproduces.
function randomText(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const letters = (length: number) =>
    Array.from({ length }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join("");
  return { next, letters };
}

const paragraph =
  "The committee met on Tuesday to discuss the city's infrastructure budget for 2025. After three " +
  "hours of deliberation, members agreed to fund 12 new bridges, repave Main Street, and study a " +
  'light-rail line (estimated at $1.2 billion). "We can\'t wait any longer," said the chair.\n\n';
const code =
  'function add(a, b) {\n    return a + b; // sum\n}\n\nconst url = "https://example.com/a?b=c";\n';
const multilingual = "Grüße aus Köln! 東京は今日も晴れです。Привет, мир! مرحبا بالعالم 🙂 naïve café\n";

describe("piecesForCounting", () => {
  const adversarial = (() => {
    const { next, letters } = randomText(7);
    return [
      letters(1_000_000),
      " ".repeat(50_000),
      "\n".repeat(5_000) + "9".repeat(5_000) + "!".repeat(5_000),
      Array.from({ length: 3_000 }, () => letters(1 + Math.floor(next() * 400))).join(" "),
      `${letters(longestTokenizedRunChars)} ${letters(longestTokenizedRunChars + 1)}`,
      "東京".repeat(20_000),
      paragraph.repeat(500),
    ];
  })();

  it("never gives the tokenizer a piece longer than the limit, nor a longer run, and loses no character", () => {
    for (const text of adversarial) {
      const pieces = [...piecesForCounting(text)];
      expect(pieces.map((piece) => piece.text).join("")).toBe(text);
      for (const piece of pieces) {
        expect(piece.text.length).toBeGreaterThan(0);
        if (piece.countedBy === "bytes") {
          expect(piece.text.length).toBeGreaterThan(longestTokenizedRunChars);
          continue;
        }
        expect(piece.text.length).toBeLessThanOrEqual(longestTokenizedPieceChars);
        for (const run of piece.text.match(/\s+|[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]+/gu) ?? []) {
          expect(run.length).toBeLessThanOrEqual(longestTokenizedRunChars);
        }
      }
    }
  });

  it("cuts ordinary text before whitespace, where the tokenizer cuts too", () => {
    const pieces = [...piecesForCounting(paragraph.repeat(50))];
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces.slice(1)) expect(piece.text).toMatch(/^\s/);
  });
});

describe("countTextTokens", () => {
  it("counts ordinary text as the tokenizer does", () => {
    for (const text of [paragraph.repeat(200), code.repeat(300), multilingual.repeat(200)]) {
      const exact = countTokens(text);
      const counted = countTextTokens(text);
      expect(counted).toBeGreaterThanOrEqual(exact);
      expect(counted).toBeLessThanOrEqual(exact * 1.01);
    }
    expect(countTextTokens("")).toBe(0);
    expect(countPromptTokens([{ role: "user", text: "Hello" }])).toBe(7);
  });

  it("counts a megabyte of letters without a space by its bytes: at once, and never below the tokenizer", () => {
    const { letters } = randomText(11);
    const huge = letters(1_000_000);
    expect(countTextTokens(huge)).toBe(1_000_000);
    // What the tokenizer says of a prefix short enough to ask it.
    const sample = huge.slice(0, 5_000);
    expect(countTextTokens(sample)).toBeGreaterThanOrEqual(countTokens(sample));
  });

  it("never counts below the tokenizer where it cuts a long run or many rare words", () => {
    const { next, letters } = randomText(13);
    const rareWords = Array.from({ length: 2_000 }, () => letters(1 + Math.floor(next() * 300))).join(" ");
    const base64 = Buffer.from(letters(30_000)).toString("base64");
    for (const text of [rareWords, base64, `${"=".repeat(300)}\n${"9".repeat(1_000)}`]) {
      expect(countTextTokens(text)).toBeGreaterThanOrEqual(countTokens(text, asPlainText));
    }
  });

  it("counts text that spells a special token as text instead of throwing", () => {
    const text = "Ignore this: <|endoftext|> and <|im_start|>";
    expect(() => countTokens(text)).toThrow(/special token/);
    expect(countTextTokens(text)).toBe(countTokens(text, asPlainText));
    expect(countTextTokens(text.repeat(100))).toBe(countTokens(text.repeat(100), asPlainText));
  });
});

describe("countPromptTokensYielding", () => {
  it("counts like countPromptTokens, letting other work run while it counts a long prompt", async () => {
    const { next, letters } = randomText(17);
    const messages = [
      {
        role: "user",
        text: Array.from({ length: 30_000 }, () => letters(2 + Math.floor(next() * 8))).join(" "),
      },
      { role: "assistant", text: paragraph },
      { role: "user", text: "And then?" },
    ];
    let ranMeanwhile = false;
    setImmediate(() => {
      ranMeanwhile = true;
    });
    const counted = await countPromptTokensYielding(messages).then((count) => ({ count, ranMeanwhile }));
    expect(counted.ranMeanwhile).toBe(true);
    expect(counted.count).toBe(countPromptTokens(messages));
    const exact = 3 + messages.reduce((sum, message) => sum + 3 + countTokens(message.text), 0);
    expect(counted.count).toBe(exact);
  });
});
