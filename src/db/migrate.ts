import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Pool } from "./pool.js";

export const migrationsDirectory = fileURLToPath(new URL("../../db/migrations/", import.meta.url));

export type Migration = { name: string; sql: string; checksum: string };
export type MigrationResult = { applied: string[]; error?: Error };

// Any constant shared by every Coinslot process on the database: whoever holds it migrates, the
// others wait and then find nothing left to do.
const migrationLockKey = 0x436f696e; // "Coin"

/** Reads `NNNN_name.sql` files in order. A name that breaks the pattern is refused, not skipped. */
export async function readMigrations(directory = migrationsDirectory): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => {
      if (!/^\d{4}_[a-z0-9_]+\.sql$/.test(file)) {
        throw new Error(`Migration file ${file} must be named NNNN_lower_snake_name.sql`);
      }
      const sql = await readFile(join(directory, file), "utf8");
      return {
        name: file.replace(/\.sql$/, ""),
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    }),
  );
}

const bookkeeping = `
  create schema if not exists coinslot_private;
  comment on schema coinslot_private is 'Coinslot bookkeeping; never exposed to anon or authenticated.';
  create table if not exists coinslot_private.migrations (
    name text primary key,
    checksum text not null,
    applied_at timestamptz not null default now()
  );`;

/**
 * Applies every migration not yet recorded, each in its own transaction together with its record,
 * under a session advisory lock. Returns what it applied; on failure, `error` names the file and
 * everything before it stays applied. An applied file whose text changed is an error: write a new
 * migration instead of editing an old one.
 */
export async function migrate(pool: Pool, migrations?: Migration[]): Promise<MigrationResult> {
  const applied: string[] = [];
  const client = await pool.connect();
  try {
    const all = migrations ?? (await readMigrations());
    await client.query("select pg_advisory_lock($1)", [migrationLockKey]);
    await client.query(bookkeeping);
    const done = await client.query<{ name: string; checksum: string }>(
      "select name, checksum from coinslot_private.migrations",
    );
    const recorded = new Map(done.rows.map((row) => [row.name, row.checksum]));
    for (const migration of all) {
      const checksum = recorded.get(migration.name);
      if (checksum === migration.checksum) continue;
      if (checksum !== undefined) {
        throw new Error(
          `Migration ${migration.name} was changed after it was applied; add a new migration instead`,
        );
      }
      try {
        await client.query("begin");
        await client.query(migration.sql);
        await client.query("insert into coinslot_private.migrations (name, checksum) values ($1, $2)", [
          migration.name,
          migration.checksum,
        ]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`Migration ${migration.name} failed: ${reason}`);
      }
      applied.push(migration.name);
    }
    return { applied };
  } catch (error) {
    return { applied, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    await client.query("select pg_advisory_unlock_all()").catch(() => undefined);
    client.release();
  }
}
