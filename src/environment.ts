import { existsSync, readFileSync } from "node:fs";
import { parse } from "dotenv";

/** process.env over `.env`: a variable set in the environment always wins over the file. */
export function readEnvironment(path = ".env"): Record<string, string | undefined> {
  const file = existsSync(path) ? parse(readFileSync(path)) : {};
  return { ...file, ...process.env };
}
