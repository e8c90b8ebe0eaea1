import { randomUUID } from "node:crypto";
import { markEmailVerified } from "../auth/email-verification.js";
import { formatCents } from "../billing/amount.js";
import { migrate } from "../db/migrate.js";
import type { Pool } from "../db/pool.js";
import { findUserIdByEmail } from "../ledger/index.js";
import type { Entry, Ledger } from "../ledger/types.js";

/** What a command prints, and its exit code. Commands never call process.exit, so they can be tested. */
export type Outcome = { code: number; output: string };

export type CommandContext = { pool: Pool; ledger: Ledger; currency: string };

const ok = (output: string): Outcome => ({ code: 0, output });
const failure = (output: string): Outcome => ({ code: 1, output });

const userIdByEmail = (pool: Pool, email: string) => findUserIdByEmail({ pool }, email.trim());

const unknownEmail = (email: string) =>
  failure(`No account has the email ${email}. The person must sign in once before credits can be given.`);

export async function migrateCommand({ pool }: CommandContext): Promise<Outcome> {
  const result = await migrate(pool);
  if (result.error) return failure(`Migration failed: ${result.error.message}`);
  return ok(
    result.applied.length === 0 ? "Migrations are up to date." : `Applied ${result.applied.join(", ")}.`,
  );
}

export async function grantCommand(
  context: CommandContext,
  input: { email: string; cents: string; reason: string | undefined; key: string | undefined },
): Promise<Outcome> {
  if (
    !/^-?\d+$/.test(input.cents) ||
    Number(input.cents) === 0 ||
    Math.abs(Number(input.cents)) > 100_000_000
  ) {
    return failure(
      `cents must be a whole number from 1 to 100000000 (or negative to remove), got "${input.cents}"; 500 means $5.00.`,
    );
  }
  if (!input.reason || input.reason.trim().length < 3) {
    return failure('Say why with --reason "..." (at least 3 characters); it is kept in the ledger.');
  }
  const userId = await userIdByEmail(context.pool, input.email);
  if (!userId) return unknownEmail(input.email);
  const cents = Number(input.cents);
  const change = {
    userId,
    amountCents: Math.abs(cents),
    kind: "adjustment" as const,
    // A given --key makes a retried command safe; without one each run is a new adjustment.
    idempotencyKey: `cli:${input.key ?? randomUUID()}`,
    reference: "cli",
    description: `${input.reason.trim()} (by command line)`,
  };
  const result = cents > 0 ? await context.ledger.grant(change) : await context.ledger.spend(change);
  if (result.error) return failure(`Refused: ${result.error.message}`);
  const { balance, replayed } = result.data;
  const verb = replayed ? "Already applied earlier" : cents > 0 ? "Granted" : "Removed";
  return ok(
    `${verb} ${formatCents(Math.abs(cents), context.currency)} for ${input.email}; balance ${formatCents(balance.balanceCents, context.currency)}.`,
  );
}

export async function balanceCommand(context: CommandContext, email: string): Promise<Outcome> {
  const userId = await userIdByEmail(context.pool, email);
  if (!userId) return unknownEmail(email);
  const result = await context.ledger.getBalance(userId);
  if (result.error) return failure(result.error.message);
  const { balanceCents, heldCents, availableCents } = result.data;
  return ok(
    [
      `${email}: balance ${formatCents(balanceCents, context.currency)}`,
      `held ${formatCents(heldCents, context.currency)}`,
      `available ${formatCents(availableCents, context.currency)}`,
    ].join(", "),
  );
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function entryLine(entry: Entry, csv: boolean, currency: string): string {
  const fields = [entry.createdAt.toISOString(), entry.kind, String(entry.amountCents), entry.description];
  return csv
    ? fields.map(csvField).join(",")
    : `${fields[0]}  ${entry.kind.padEnd(16)} ${formatCents(entry.amountCents, currency).padStart(10)}  ${entry.description}`;
}

/** Every entry of the account, newest first, paging through the ledger (bounded pages, no giant query). */
export async function ledgerCommand(
  context: CommandContext,
  input: { email: string; csv: boolean },
): Promise<Outcome> {
  const userId = await userIdByEmail(context.pool, input.email);
  if (!userId) return unknownEmail(input.email);
  const lines = input.csv ? ["created_at,kind,amount_cents,description"] : [];
  let cursor: string | undefined;
  do {
    const page = await context.ledger.listEntries({ userId, limit: 100, cursor });
    if (page.error) return failure(page.error.message);
    lines.push(...page.data.entries.map((entry) => entryLine(entry, input.csv, context.currency)));
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);
  return ok(lines.join("\n"));
}

/**
 * Marks a password account's email verified, which ADMIN_EMAILS needs before it grants admin rights.
 * Only for an address whose owner the operator knows: Coinslot sends no verification mail yet.
 */
export async function verifyEmailCommand({ pool }: CommandContext, email: string): Promise<Outcome> {
  const outcome = await markEmailVerified(pool, email);
  if (outcome === "unknown-email") {
    return failure(
      `No sign-in account has the email ${email}. The person must sign up first (or sign in with Google, whose emails are already verified).`,
    );
  }
  if (outcome === "already-verified") return ok(`${email} is already verified; nothing changed.`);
  return ok(
    `Marked ${email} as verified. If it is listed in ADMIN_EMAILS, its sessions have admin rights from their next request.`,
  );
}

export async function sweepHoldsCommand(context: CommandContext): Promise<Outcome> {
  const { expired } = await context.ledger.sweepExpiredHolds();
  return ok(`Released ${expired} expired hold(s).`);
}
