/**
 * How a negative amount is signed. Plain text (the command line, stored entry descriptions, error
 * messages) keeps the ASCII hyphen-minus, so it can be typed, searched for and parsed back; the web
 * page uses the true minus sign U+2212, which is as wide as `+`, so a column of changes lines up.
 */
export type MinusSign = "hyphen" | "typographic";

/**
 * Integer cents as money: `"usd"` as `$12.34`, other currencies as `12.34 EUR`. Cents stay integers
 * until here. This module is pure and imports nothing, because the web app bundles it too.
 *
 * @example
 * formatCents(1234, "usd"); // "$12.34"
 * formatCents(-2, "usd"); // "-$0.02"
 * formatCents(-2, "usd", { minus: "typographic" }); // "−$0.02"
 * formatCents(350, "eur"); // "3.50 EUR"
 */
export function formatCents(
  amountCents: number,
  currency: string,
  options: { minus?: MinusSign } = {},
): string {
  const minus = options.minus === "typographic" ? "\u2212" : "-";
  const sign = amountCents < 0 ? minus : "";
  const units = (Math.abs(amountCents) / 100).toFixed(2);
  return currency.toLowerCase() === "usd" ? `${sign}$${units}` : `${sign}${units} ${currency.toUpperCase()}`;
}
