import type { Config } from "../config.js";
import type { Check } from "../kit/check.js";
import { ModelConfigError, resolveModel } from "./models.js";
import { costCents } from "./pricing.js";

/**
 * `npm run doctor`'s view of the AI settings: whether the model resolves and is priced (the same
 * test the server runs at start), and what the most expensive answer would cost.
 */
export function aiChecks(config: Config): Check[] {
  let model: ReturnType<typeof resolveModel>;
  try {
    model = resolveModel(config);
  } catch (error) {
    if (error instanceof ModelConfigError)
      return [{ level: "problem", name: "ai model", message: error.message }];
    throw error;
  }
  const { inputPerMillion, outputPerMillion } = model.price;
  const longestAnswerCents = costCents(
    { inputTokens: 0, outputTokens: config.maxOutputTokens },
    model.price,
    config.creditMarkup,
  );
  const checks: Check[] = [
    {
      level: "ok",
      name: "ai price",
      message: `${model.id} at ${inputPerMillion} / ${outputPerMillion} USD per million input / output tokens, × ${config.creditMarkup}; a ${config.maxOutputTokens}-token answer costs ${longestAnswerCents} cents`,
    },
  ];
  checks.push(
    model.isDemo
      ? {
          level: "warning",
          name: "ai model",
          message: "the offline demo model answers: set AI_MODEL and a provider key for real answers",
        }
      : { level: "ok", name: "ai model", message: model.id },
  );
  return checks;
}
