import { describe, expect, it } from "vitest";
import { costCents } from "./pricing.js";

const flash = { inputPerMillion: 0.1, outputPerMillion: 0.4 };

describe("costCents", () => {
  it("charges at least one cent, even for nothing", () => {
    expect(costCents({ inputTokens: 0, outputTokens: 0 }, flash, 4)).toBe(1);
    expect(costCents({ inputTokens: 10, outputTokens: 10 }, flash, 4)).toBe(1);
  });

  it("rounds a fraction of a cent up, never down", () => {
    // 1,000,000 output tokens at 0.40 × 4 = 1.60 USD = 160 cents exactly; one more token tips it to 161.
    expect(costCents({ inputTokens: 0, outputTokens: 1_000_000 }, flash, 4)).toBe(160);
    expect(costCents({ inputTokens: 0, outputTokens: 1_000_001 }, flash, 4)).toBe(161);
  });

  it("has no floating-point drift on prices like 0.10 and markups like 1.1", () => {
    // 0.1 × 1.1 × 100 in floats is 11.000000000000002, whose ceiling would be 12.
    expect(costCents({ inputTokens: 1_000_000, outputTokens: 0 }, flash, 1.1)).toBe(11);
    expect(costCents({ inputTokens: 3_000_000, outputTokens: 0 }, flash, 1)).toBe(30);
  });

  it("adds input and output at their own prices", () => {
    const price = { inputPerMillion: 2.5, outputPerMillion: 10 };
    // (200,000 × 2.5 + 100,000 × 10) / 1e6 = 1.50 USD; × 2 = 3.00 USD = 300 cents.
    expect(costCents({ inputTokens: 200_000, outputTokens: 100_000 }, price, 2)).toBe(300);
  });

  it("refuses negative or fractional token counts", () => {
    expect(() => costCents({ inputTokens: -1, outputTokens: 0 }, flash, 4)).toThrow(RangeError);
    expect(() => costCents({ inputTokens: 1.5, outputTokens: 0 }, flash, 4)).toThrow(RangeError);
  });
});
