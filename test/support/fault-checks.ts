import { performance } from "node:perf_hooks";
import type { Pool } from "../../src/db/pool.js";
import type { Answer } from "./fault-client.js";
import type { Purchase } from "./fault-world.js";

/**
 * What the ledger must show after the fault history, each check returning the problems it found
 * (empty when all holds), so one run reports every broken promise at once.
 */

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Waits until no hold is open, bounded by the latest open hold's expiry plus two sweeps; then names
 * every hold still open past its expiry.
 */
export async function holdsLeftOpen(pool: Pool, sweepIntervalMs: number): Promise<string[]> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `select extract(epoch from (max(expires_at) - now())) * 1000 as ms from credits.holds where status = 'open'`,
  );
  const until = performance.now() + Math.max(Number(rows[0]?.ms ?? 0), 0) + 2 * sweepIntervalMs + 2_000;
  while (performance.now() < until) {
    const open = await pool.query("select 1 from credits.holds where status = 'open' limit 1");
    if (open.rowCount === 0) break;
    await sleep(250);
  }
  const late = await pool.query(
    `select id, user_id, amount_cents, expires_at from credits.holds
      where status = 'open' and expires_at < now() limit 5`,
  );
  return late.rows.map((row) => `hold open past its expiry: ${JSON.stringify(row)}`);
}

type Entries = Map<string, { count: number; cents: number }>;

async function entriesByReference(pool: Pool, kind: string): Promise<Entries> {
  const { rows } = await pool.query<{ reference: string; count: number; cents: number }>(
    `select reference, count(*)::int as count, sum(amount_cents)::bigint as cents
       from credits.entries where kind = $1 and reference is not null group by reference`,
    [kind],
  );
  return new Map(rows.map((row) => [row.reference, { count: row.count, cents: row.cents }]));
}

/**
 * Every session whose completion was sent is credited exactly once, for the amount Coinslot recorded
 * when it created the session; nothing else is credited; refunds claw back exactly the highest
 * cumulative refund Stripe reported.
 */
export async function paymentProblems(pool: Pool, purchases: Purchase[]): Promise<string[]> {
  const problems: string[] = [];
  const credited = await entriesByReference(pool, "purchase");
  const refunded = await entriesByReference(pool, "refund");
  const payments = await pool.query<{ id: string; refunded: number; credited: boolean }>(
    `select checkout_session_id as id, refunded_cents as refunded, credited_at is not null as credited
       from credits.payments`,
  );
  const paymentOf = new Map(payments.rows.map((row) => [row.id, row]));
  for (const purchase of purchases) {
    const id = purchase.checkoutSessionId;
    const entry = credited.get(id);
    if (entry?.count !== 1 || entry.cents !== purchase.amountCents) {
      problems.push(
        `session ${id} of ${purchase.amountCents} cents credited as ${JSON.stringify(entry ?? null)}`,
      );
    }
    const clawedBack = -(refunded.get(id)?.cents ?? 0);
    const payment = paymentOf.get(id);
    if (clawedBack !== purchase.refundedCents || payment?.refunded !== purchase.refundedCents) {
      problems.push(
        `session ${id} refunded ${purchase.refundedCents} cents at Stripe, ledger ${clawedBack}, payment ${JSON.stringify(payment ?? null)}`,
      );
    }
  }
  const sent = new Set(purchases.map((purchase) => purchase.checkoutSessionId));
  for (const [id, entry] of credited) {
    if (!sent.has(id)) problems.push(`session ${id} credited without a completion: ${JSON.stringify(entry)}`);
  }
  const bonuses = await pool.query(
    `select user_id, count(*)::int as count from credits.entries where kind = 'signup_bonus'
      group by user_id having count(*) <> 1`,
  );
  for (const row of bonuses.rows) problems.push(`signup bonus not exactly once: ${JSON.stringify(row)}`);
  return problems;
}

export type AnswerTally = {
  charged: number;
  lostToKill: number;
  replayed: number;
  /** Answers that reached their client while PostgreSQL was down or restarting. */
  throughPostgresRestart: number;
  problems: string[];
};

/**
 * Whether a SIGKILL may have stopped the server before it wrote this answer's settlement: one landed
 * after the request was sent and before the stream ended (the finish chunk is sent only after the
 * settlement is written). A client that hung up does not see the settlement, which the server still
 * writes later, at the latest before the hold expires: that whole time counts as in flight.
 */
function cutByKill(answer: Answer, killsAtMs: number[], holdTtlMs: number): boolean {
  const until = answer.abortedByClient ? answer.startedAtMs + holdTtlMs : answer.endedAtMs;
  return killsAtMs.some((killedAtMs) => killedAtMs >= answer.startedAtMs && killedAtMs <= until + 1_000);
}

function describe(answer: Answer): string {
  const how = answer.abortedByClient
    ? "the client hung up"
    : (answer.failure ?? (answer.errorText ? `error chunk "${answer.errorText}"` : "no finish chunk"));
  return `answer ${answer.answerId} (user ${answer.userId}, message ${answer.messageId}, ${how})`;
}

/**
 * Every answer that reached its client (words or the finish chunk) is charged once, exactly what its
 * finish chunk said, and saved as completed with that charge; unless the server process was killed
 * while the answer was in flight, which is the one way an answer may go unpaid.
 */
export async function answerProblems(
  pool: Pool,
  input: {
    answers: Answer[];
    killsAtMs: number[];
    postgresOutages: { fromMs: number; toMs: number }[];
    holdTtlMs: number;
  },
): Promise<AnswerTally> {
  const problems: string[] = [];
  const usage = await entriesByReference(pool, "usage");
  const charged = new Set<string>();
  const lost = new Set<string>();
  let replayed = 0;
  let throughPostgresRestart = 0;
  for (const answer of input.answers) {
    const answerId = answer.answerId;
    // A finish charging nothing, with no words before it, is a provider failure: nothing reached anyone.
    const reached = answer.textReceived || answer.finish?.replayed || (answer.finish?.chargedCents ?? 0) > 0;
    if (!answerId || !reached) continue;
    const entry = usage.get(answerId);
    const overlaps = (outage: { fromMs: number; toMs: number }) =>
      outage.fromMs <= answer.endedAtMs && outage.toMs >= answer.startedAtMs;
    if (input.postgresOutages.some(overlaps)) throughPostgresRestart += 1;
    if (answer.finish?.replayed) {
      replayed += 1;
      if (!entry) problems.push(`${describe(answer)} was replayed, but never charged`);
      continue;
    }
    if (answer.finish && (entry?.cents ?? 0) !== -(answer.finish.chargedCents ?? 0)) {
      problems.push(
        `${describe(answer)} said it charged ${answer.finish.chargedCents}, ledger ${entry?.cents}`,
      );
    }
    if (entry) charged.add(answerId);
    else if (!answer.finish && cutByKill(answer, input.killsAtMs, input.holdTtlMs)) lost.add(answerId);
    else problems.push(`${describe(answer)} reached the client but was never charged`);
  }
  for (const [reference, entry] of usage) {
    if (entry.count !== 1) problems.push(`answer ${reference} charged ${entry.count} times`);
  }
  const unsaved = await pool.query(
    `select e.reference, e.amount_cents, m.status, m.charged_cents
       from credits.entries e left join chat.messages m on m.user_id = e.user_id and m.id = e.reference
      where e.kind = 'usage' and (m.id is null or m.status <> 'completed' or m.charged_cents <> -e.amount_cents)
      limit 5`,
  );
  for (const row of unsaved.rows)
    problems.push(`charged answer not saved as charged: ${JSON.stringify(row)}`);
  return { charged: charged.size, lostToKill: lost.size, replayed, throughPostgresRestart, problems };
}
