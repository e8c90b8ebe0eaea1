import type { Config } from "../config.js";
import { formatCents } from "../kit/money.js";

// Billing's descriptions and the command line are plain text: the shared formatter's default hyphen-minus.
export { formatCents };

/**
 * Why `amountCents` is not a top-up amount the settings allow, or null when it is. The message says
 * which amounts are allowed, so the client can fix the request without reading the settings.
 */
export function topupProblem(amountCents: number, config: Pick<Config, "topup" | "currency">): string | null {
  const { minCents, maxCents, stepCents } = config.topup;
  const fits =
    Number.isSafeInteger(amountCents) &&
    amountCents >= minCents &&
    amountCents <= maxCents &&
    (amountCents - minCents) % stepCents === 0;
  if (fits) return null;
  const money = (cents: number) => formatCents(cents, config.currency);
  return `Choose an amount from ${money(minCents)} to ${money(maxCents)} in steps of ${money(stepCents)} (amountCents from ${minCents} to ${maxCents}, a multiple of ${stepCents} above ${minCents}).`;
}
