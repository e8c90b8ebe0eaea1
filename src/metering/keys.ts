import { createHash, randomBytes } from "node:crypto";
import type { Pool } from "../db/pool.js";

/** A service key as lists show it: never its secret, which exists only in the answer that made it. */
export type ServiceKey = {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

type ServiceKeyRow = {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

// `csk_` + mode + 32 random bytes in base64url (43 characters): enough entropy that the hash alone
// identifies a key and guessing one is hopeless; the mode tells a person which server it belongs to.
const secretPattern = /^csk_(live|test)_[A-Za-z0-9_-]{43}$/;
const prefixLength = "csk_test_".length + 8;
const maxNameLength = 100;
const columns = "id, name, prefix, created_at, last_used_at, revoked_at";

function toServiceKey(row: ServiceKeyRow): ServiceKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Whether `secret` has the shape of a service key (checked before any database work). */
export function isServiceKeySecret(secret: string): boolean {
  return secretPattern.test(secret);
}

export function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** The name a key is created with, trimmed, or null when it is empty or longer than 100 characters. */
export function cleanKeyName(name: unknown): string | null {
  if (typeof name !== "string") return null;
  const trimmed = name.trim();
  return trimmed.length >= 1 && trimmed.length <= maxNameLength ? trimmed : null;
}

/**
 * Makes a key named `name`; the answer carries the secret, which is stored only as its SHA-256, so
 * this is the one time anyone sees it. Production keys start `csk_live_`, every other `csk_test_`.
 *
 * @example
 * const { key, secret } = await createServiceKey(pool, { name: "prompt app", production: false });
 */
export async function createServiceKey(
  pool: Pool,
  input: { name: string; production: boolean },
): Promise<{ key: ServiceKey; secret: string }> {
  const secret = `csk_${input.production ? "live" : "test"}_${randomBytes(32).toString("base64url")}`;
  const result = await pool.query<ServiceKeyRow>(
    `insert into metering.service_keys (name, prefix, secret_sha256) values ($1, $2, $3) returning ${columns}`,
    [input.name, secret.slice(0, prefixLength), hashSecret(secret)],
  );
  const row = result.rows[0];
  if (!row) throw new Error("creating a service key returned no row");
  return { key: toServiceKey(row), secret };
}

/** Every key, newest first, revoked ones included (they explain past spending). */
export async function listServiceKeys(pool: Pool): Promise<ServiceKey[]> {
  const result = await pool.query<ServiceKeyRow>(
    `select ${columns} from metering.service_keys order by created_at desc, id`,
  );
  return result.rows.map(toServiceKey);
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Revokes the key with this id or prefix; revoking twice keeps the first time. Null when no key
 * matches. A revoked key is refused from its next request on.
 */
export async function revokeServiceKey(pool: Pool, idOrPrefix: string): Promise<ServiceKey | null> {
  const byId = uuidPattern.test(idOrPrefix);
  const result = await pool.query<ServiceKeyRow>(
    `update metering.service_keys set revoked_at = coalesce(revoked_at, now())
      where ${byId ? "id = $1::uuid" : "prefix = $1"}
     returning ${columns}`,
    [idOrPrefix],
  );
  const row = result.rows[0];
  return row ? toServiceKey(row) : null;
}

/**
 * The key whose secret this is, if it exists and is not revoked, marking it used. `last_used_at` is
 * written at most once a minute per key, so a busy key does not turn every request into a row update.
 */
export async function findUsableKey(pool: Pool, secret: string): Promise<{ id: string } | null> {
  const result = await pool.query<{ id: string; revoked: boolean }>(
    `with found as (
       select id, revoked_at is not null as revoked from metering.service_keys where secret_sha256 = $1
     ), touched as (
       update metering.service_keys k set last_used_at = now()
         from found
        where k.id = found.id and not found.revoked
          and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')
     )
     select id, revoked from found`,
    [hashSecret(secret)],
  );
  const row = result.rows[0];
  return row && !row.revoked ? { id: row.id } : null;
}
