import { randomBytes } from "node:crypto";
import type { Pool } from "../db/pool.js";
import { transaction } from "../db/pool.js";
import { type AttemptCount, attemptCountOf, countInWindowSql } from "../db/rate-limit.js";
import { queryConfig, statement } from "../db/statement.js";
import { AppError } from "../kit/errors.js";
import { cleanKeyName, hashSecret } from "../metering/keys.js";

/** A personal key as its owner's list shows it: never its secret, which exists only in the answer that made it. */
export type PersonalKey = {
  id: string;
  name: string;
  prefix: string;
  /** The most the key may spend in a month; null: no limit beyond the balance. */
  monthlyLimitCents: number | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

/** What the gateway needs of a live key: whose credits it spends, what to call it, and its limit. */
export type UsablePersonalKey = {
  id: string;
  userId: string;
  name: string;
  monthlyLimitCents: number | null;
};

type PersonalKeyRow = {
  id: string;
  name: string;
  prefix: string;
  monthly_limit_cents: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

/** Live (unrevoked) keys one person may hold at once: enough for every app they run, few to audit. */
export const maxLiveKeysPerPerson = 20;
/** The largest monthly limit, the same bound as any single amount in the ledger. */
export const maxMonthlyLimitCents = 100_000_000;
// Revoked keys stay listed (they explain past spending), but only this many of the newest, so the
// list stays bounded however often a person churns keys.
const listedRevokedKeys = 100;

// `cpk_` + 32 random bytes in base64url (43 characters): enough entropy that the hash alone identifies
// a key and guessing one is hopeless.
const secretPattern = /^cpk_[A-Za-z0-9_-]{43}$/;
const prefixLength = "cpk_".length + 8;
// An identity column's id as the text it is shown as; also keeps a huge number from reaching a bigint cast.
const idPattern = /^[1-9]\d{0,17}$/;
// bigint ids leave as text: JSON and the gateway's idempotency keys carry them as strings.
const columns = "id::text as id, name, prefix, monthly_limit_cents, created_at, last_used_at, revoked_at";

function toPersonalKey(row: PersonalKeyRow): PersonalKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    monthlyLimitCents: row.monthly_limit_cents,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Whether `secret` has the shape of a personal key (checked before any database work). */
export function isPersonalKeySecret(secret: string): boolean {
  return secretPattern.test(secret);
}

function checkedLimit(monthlyLimitCents: number | null | undefined): number | null {
  if (monthlyLimitCents === undefined || monthlyLimitCents === null) return null;
  const inRange = monthlyLimitCents >= 1 && monthlyLimitCents <= maxMonthlyLimitCents;
  if (Number.isInteger(monthlyLimitCents) && inRange) return monthlyLimitCents;
  throw new AppError(
    "INVALID_REQUEST",
    `Fix these fields and send again: monthlyLimitCents: must be a whole number of cents from 1 to ${maxMonthlyLimitCents}, or null for no limit.`,
    { fields: ["monthlyLimitCents"] },
  );
}

// Counted and inserted in one statement, behind a lock on the person, so that concurrent requests
// cannot each see 19 live keys and both add one.
const insertUnderCap = `
  insert into metering.personal_keys (user_id, name, prefix, secret_hash, monthly_limit_cents)
  select $1, $2, $3, $4, $5
   where (select count(*) from metering.personal_keys where user_id = $1 and revoked_at is null) < $6
  returning ${columns}`;

/**
 * Makes a key for `userId`; the answer carries the secret, which is stored only as its SHA-256, so
 * this is the one time anyone sees it. Refused with TOO_MANY_KEYS (409) when the person already holds
 * `maxLiveKeysPerPerson` live keys, and with INVALID_REQUEST (400) for an empty or over-long name or a
 * limit out of range.
 *
 * @example
 * const { key, secret } = await createPersonalKey(pool, { userId, name: "laptop script", monthlyLimitCents: 1000 });
 */
export async function createPersonalKey(
  pool: Pool,
  input: { userId: string; name: string; monthlyLimitCents?: number | null },
): Promise<{ key: PersonalKey; secret: string }> {
  const name = cleanKeyName(input.name);
  if (name === null) {
    throw new AppError(
      "INVALID_REQUEST",
      "Fix these fields and send again: name: must be 1 to 100 characters.",
      { fields: ["name"] },
    );
  }
  const monthlyLimitCents = checkedLimit(input.monthlyLimitCents);
  const secret = `cpk_${randomBytes(32).toString("base64url")}`;
  const row = await transaction(pool, async (client) => {
    await client.query("select pg_advisory_xact_lock(hashtextextended('personal_keys:' || $1, 0))", [
      input.userId,
    ]);
    const result = await client.query<PersonalKeyRow>(insertUnderCap, [
      input.userId,
      name,
      secret.slice(0, prefixLength),
      hashSecret(secret),
      monthlyLimitCents,
      maxLiveKeysPerPerson,
    ]);
    return result.rows[0];
  });
  if (!row) {
    throw new AppError(
      "TOO_MANY_KEYS",
      `You already have ${maxLiveKeysPerPerson} active API keys, the most one person may hold. Revoke one you no longer use, then create the new one.`,
    );
  }
  return { key: toPersonalKey(row), secret };
}

/**
 * The person's keys, newest first: every live one and the newest revoked ones (they explain past
 * spending). Never another person's, never a secret.
 */
export async function listPersonalKeys(pool: Pool, userId: string): Promise<PersonalKey[]> {
  const result = await pool.query<PersonalKeyRow>(
    `select ${columns} from metering.personal_keys
      where user_id = $1
        and (revoked_at is null or id in (
              select id from metering.personal_keys
               where user_id = $1 and revoked_at is not null
               order by id desc limit $2))
      order by created_at desc, id desc`,
    [userId, listedRevokedKeys],
  );
  return result.rows.map(toPersonalKey);
}

/**
 * Revokes the person's key with this id; revoking twice keeps the first time. Null when that person
 * has no such key, which includes every other person's key: the answer never tells them apart. A
 * revoked key is refused from its next request on.
 */
export async function revokePersonalKey(
  pool: Pool,
  input: { userId: string; id: string },
): Promise<PersonalKey | null> {
  if (!idPattern.test(input.id)) return null;
  const result = await pool.query<PersonalKeyRow>(
    `update metering.personal_keys set revoked_at = coalesce(revoked_at, now())
      where id = $1::bigint and user_id = $2
     returning ${columns}`,
    [input.id, input.userId],
  );
  const row = result.rows[0];
  return row ? toPersonalKey(row) : null;
}

// The gateway's one statement before the hold, run on every call: the key, marked used (at most once
// a minute per key, so a busy key does not turn every request into a row update), and its rate-limit
// count (`countAttempt`'s window, in the same row of coinslot_private.rate_limits), counted only for
// a live key so an unknown or revoked one costs no write.
const findAndCountStatement = statement(
  "personal_key_find_and_count",
  `with found as (
     select id, user_id, name, monthly_limit_cents, revoked_at is not null as revoked
       from metering.personal_keys where secret_hash = $1
   ), touched as (
     update metering.personal_keys k set last_used_at = now()
       from found
      where k.id = found.id and not found.revoked
        and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')
   ), counted as (
     insert into coinslot_private.rate_limits as limits (user_id, action, window_started_at, attempts)
     select 'personal_key:' || found.id, $2, now(), 1 from found where not found.revoked
     ${countInWindowSql("$3")}
   )
   select found.id::text as id, user_id, name, monthly_limit_cents, revoked, attempts, retry_after_seconds
     from found left join counted on true`,
);

/**
 * The live key whose secret this is, marked used, with its rate-limit count (`countAttempt` on
 * `personal_key:<id>`/`action`) in one statement: null for anything else (a malformed secret, a
 * service key's, an unknown or revoked one; nothing is counted then), else the key and whether this
 * attempt is within `max` per `windowSeconds`.
 *
 * @example
 * const found = await findPersonalKeyCounted(pool, secret, { action: "gateway", max: 600, windowSeconds: 60 });
 */
export async function findPersonalKeyCounted(
  pool: Pool,
  secret: string,
  limit: { action: string; max: number; windowSeconds: number },
): Promise<{ key: UsablePersonalKey; attempt: AttemptCount } | null> {
  if (!isPersonalKeySecret(secret)) return null;
  const result = await pool.query<{
    id: string;
    user_id: string;
    name: string;
    monthly_limit_cents: number | null;
    revoked: boolean;
    attempts: number | null;
    retry_after_seconds: number | null;
  }>(queryConfig(findAndCountStatement, [hashSecret(secret), limit.action, limit.windowSeconds]));
  const row = result.rows[0];
  if (!row || row.revoked) return null;
  if (row.attempts === null) {
    throw new Error(`counting ${limit.action} of personal key ${row.id} returned no row`);
  }
  const key = { id: row.id, userId: row.user_id, name: row.name, monthlyLimitCents: row.monthly_limit_cents };
  const counted = { attempts: row.attempts, retry_after_seconds: row.retry_after_seconds };
  return { key, attempt: attemptCountOf(counted, limit.max) };
}

/** Deletes every key of a person who deletes their account, so none of them spends again. */
export async function forgetPersonalKeys(pool: Pool, userId: string): Promise<void> {
  await pool.query("delete from metering.personal_keys where user_id = $1", [userId]);
}
