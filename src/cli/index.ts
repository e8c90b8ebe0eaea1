import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { openDatabaseForCommand } from "../db/database.js";
import { readEnvironment } from "../environment.js";
import { createLedger } from "../ledger/index.js";
import { createLogger } from "../logger.js";
import {
  balanceCommand,
  type CommandContext,
  grantCommand,
  ledgerCommand,
  migrateCommand,
  type Outcome,
  sweepHoldsCommand,
  verifyEmailCommand,
} from "./commands.js";
import { serviceKeyCreateCommand, serviceKeyListCommand, serviceKeyRevokeCommand } from "./service-keys.js";
import { webhookSecretCommand } from "./webhooks.js";

const usage = `Usage: npm run cli -- <command>
  migrate                                   apply pending migrations
  grant <email> <cents> --reason "..." [--key K]  add credits (negative cents remove them)
  balance <email>                           show balance, held and available credit
  ledger <email> [--csv]                    every ledger entry, newest first
  sweep-holds                               release holds past their expiry
  verify-email <email>                      mark a password account's email verified (ADMIN_EMAILS needs it)
  service-key create --name "..."           make a key for /v1/* (its secret is printed once)
  service-key list                          every key: prefix, name, created, last used, revoked
  service-key revoke <prefix-or-id>         refuse the key from its next request on
  webhook-secret <url>                      the signing secret of a WEBHOOK_ENDPOINTS URL (from AUTH_SECRET)`;

// parseArgs would read "-100" as short flags; negative amounts are always the last positional, so
// move them behind "--", where everything is positional.
function withNegativeNumbersLast(args: string[]): string[] {
  const negatives = args.filter((arg) => /^-\d+$/.test(arg));
  if (negatives.length === 0) return args;
  return [...args.filter((arg) => !/^-\d+$/.test(arg)), "--", ...negatives];
}

async function run(args: string[], context: CommandContext & { production: boolean }): Promise<Outcome> {
  const { positionals, values } = parseArgs({
    args: withNegativeNumbersLast(args),
    allowPositionals: true,
    allowNegative: false,
    options: {
      reason: { type: "string" },
      key: { type: "string" },
      csv: { type: "boolean" },
      name: { type: "string" },
    },
  });
  const [command, ...rest] = positionals;
  const needs = (count: number) => rest.length === count;
  if (command === "migrate" && needs(0)) return migrateCommand(context);
  if (command === "grant" && needs(2)) {
    return grantCommand(context, {
      email: rest[0] as string,
      cents: rest[1] as string,
      reason: values.reason,
      key: values.key,
    });
  }
  if (command === "balance" && needs(1)) return balanceCommand(context, rest[0] as string);
  if (command === "ledger" && needs(1))
    return ledgerCommand(context, { email: rest[0] as string, csv: values.csv ?? false });
  if (command === "sweep-holds" && needs(0)) return sweepHoldsCommand(context);
  if (command === "verify-email" && needs(1)) return verifyEmailCommand(context, rest[0] as string);
  if (command === "service-key") return serviceKeyCommand(rest, { ...context, name: values.name });
  return { code: 1, output: usage };
}

function serviceKeyCommand(
  rest: string[],
  context: CommandContext & { production: boolean; name: string | undefined },
): Promise<Outcome> | Outcome {
  const [action, ...operands] = rest;
  if (action === "create" && operands.length === 0) {
    return serviceKeyCreateCommand(context.pool, { name: context.name, production: context.production });
  }
  if (action === "list" && operands.length === 0) return serviceKeyListCommand(context.pool);
  if (action === "revoke" && operands.length === 1)
    return serviceKeyRevokeCommand(context.pool, operands[0] as string);
  return { code: 1, output: usage };
}

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.problems.join("\n")}\n`);
    return 1;
  }
  const [command, ...operands] = process.argv.slice(2);
  // Derived from the settings alone: no reason to start a database for it.
  if (command === "webhook-secret" && operands.length === 1) {
    const outcome = webhookSecretCommand(config, operands[0] as string);
    (outcome.code === 0 ? process.stdout : process.stderr).write(`${outcome.output}\n`);
    return outcome.code;
  }
  const database = await openDatabaseForCommand(config, createLogger("silent"));
  try {
    const ledger = createLedger({
      pool: database.pool,
      holdTtlSeconds: config.holdTtlSeconds,
      lotDays: config,
    });
    const outcome = await run(process.argv.slice(2), {
      pool: database.pool,
      ledger,
      currency: config.currency,
      production: config.nodeEnv === "production",
    }).catch((error: Error) => ({
      code: 1,
      output:
        error.message.includes("Unknown option") || error.message.includes("argument")
          ? `${error.message}\n${usage}`
          : error.message,
    }));
    (outcome.code === 0 ? process.stdout : process.stderr).write(`${outcome.output}\n`);
    return outcome.code;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
