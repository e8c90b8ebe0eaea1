/** USD per million tokens, as providers publish them. */
export type Price = { inputPerMillion: number; outputPerMillion: number };

export type Usage = { inputTokens: number; outputTokens: number };

// Exact arithmetic in integers: prices in micro-dollars per million tokens and the markup in
// thousandths, so a price of 0.10 never becomes 0.1000000000000000055 and a ceiling never rounds a
// whole cent up by accident. Finer prices than these units are not published by anyone.
const microPerDollar = 1_000_000n;
const milliPerUnit = 1_000n;
const tokensPerMillion = 1_000_000n;
const centsPerDollar = 100n;

function toUnits(value: number, perUnit: bigint): bigint {
  return BigInt(Math.round(value * Number(perUnit)));
}

function ceilDivide(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

/**
 * What an answer costs the user, in whole cents:
 * ceil((input × input price + output × output price) / 1e6 × markup × 100), and at least 1 cent,
 * because a generation is never free to run.
 *
 * @example
 * costCents({ inputTokens: 1000, outputTokens: 500 }, { inputPerMillion: 0.1, outputPerMillion: 0.4 }, 4); // 1
 */
export function costCents(usage: Usage, price: Price, markup: number): number {
  if (!Number.isSafeInteger(usage.inputTokens) || !Number.isSafeInteger(usage.outputTokens)) {
    throw new RangeError(`token counts must be whole numbers, got ${JSON.stringify(usage)}`);
  }
  if (usage.inputTokens < 0 || usage.outputTokens < 0) {
    throw new RangeError(`token counts must not be negative, got ${JSON.stringify(usage)}`);
  }
  const microDollarsTimesMillion =
    BigInt(usage.inputTokens) * toUnits(price.inputPerMillion, microPerDollar) +
    BigInt(usage.outputTokens) * toUnits(price.outputPerMillion, microPerDollar);
  const numerator = microDollarsTimesMillion * toUnits(markup, milliPerUnit) * centsPerDollar;
  const denominator = tokensPerMillion * microPerDollar * milliPerUnit;
  const cents = ceilDivide(numerator, denominator);
  return Number(cents > 1n ? cents : 1n);
}

// Providers tokenize differently from the tokenizer counted here; the margin keeps a hold above what
// they report, so settlement rarely has to cap the charge at the hold.
const inputEstimateMargin = 1.25;

/**
 * What a generation may cost at most, and so what to hold: the counted prompt, with a margin, plus
 * the whole output limit.
 *
 * @example
 * maxCostCents({ estimatedInputTokens: 90, maxOutputTokens: 1024 }, price, 4);
 */
export function maxCostCents(
  tokens: { estimatedInputTokens: number; maxOutputTokens: number },
  price: Price,
  markup: number,
): number {
  const inputTokens = Math.ceil(tokens.estimatedInputTokens * inputEstimateMargin);
  return costCents({ inputTokens, outputTokens: tokens.maxOutputTokens }, price, markup);
}
