import { describe, expect, it } from "vitest";
import { formatCents } from "./money.js";

describe("formatCents", () => {
  it("writes dollars with a dollar sign and other currencies with their code", () => {
    expect(formatCents(1234, "usd")).toBe("$12.34");
    expect(formatCents(5, "USD")).toBe("$0.05");
    expect(formatCents(0, "usd")).toBe("$0.00");
    expect(formatCents(350, "eur")).toBe("3.50 EUR");
  });

  it("signs plain text with a hyphen-minus and a page with the true minus sign", () => {
    expect(formatCents(-2, "usd")).toBe("-$0.02");
    expect(formatCents(-2, "usd", { minus: "hyphen" })).toBe("-$0.02");
    expect(formatCents(-2, "usd", { minus: "typographic" })).toBe("\u2212$0.02");
    expect(formatCents(-350, "eur", { minus: "typographic" })).toBe("\u22123.50 EUR");
  });
});
