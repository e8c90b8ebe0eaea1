import { ConfigError, loadConfig } from "../config.js";
import { openDatabaseForCommand } from "../db/database.js";
import { readEnvironment } from "../environment.js";
import type { Check } from "../kit/check.js";
import { createLogger } from "../logger.js";
import { mailChecks } from "../mail/checks.js";
import { configChecks, databaseChecks } from "./checks.js";

const labels = { ok: "ok     ", warning: "warning", problem: "problem" } as const;

function print(checks: Check[]): void {
  for (const check of checks)
    process.stdout.write(`${labels[check.level]}  ${check.name}: ${check.message}\n`);
}

/** `npm run doctor`: one line per check; exit 1 when any is a problem. */
async function doctor(): Promise<number> {
  const environment = readEnvironment();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    print(error.problems.map((message) => ({ level: "problem", name: "settings", message })));
    return 1;
  }
  const checks = [{ level: "ok", name: "settings", message: "every setting is valid" } as Check];
  checks.push(...configChecks(config, environment));
  checks.push(...(await mailChecks(config)));
  const database = await openDatabaseForCommand(config, createLogger("silent")).catch(
    (error: Error) => error,
  );
  if (database instanceof Error) {
    checks.push({ level: "problem", name: "database", message: `cannot be opened: ${database.message}` });
  } else {
    try {
      checks.push(...(await databaseChecks(database.pool, config.adminEmails)));
    } finally {
      await database.close();
    }
  }
  print(checks);
  const problems = checks.filter((check) => check.level === "problem").length;
  process.stdout.write(problems === 0 ? "Coinslot looks healthy.\n" : `${problems} problem(s) to fix.\n`);
  return problems === 0 ? 0 : 1;
}

doctor().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`doctor failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
