import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.js";
import { createLogger } from "../logger.js";
import { migrate, readMigrations } from "./migrate.js";
import { createPool } from "./pool.js";

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

async function appliedNames(db: TestDatabase): Promise<string[]> {
  const result = await db.pool.query<{ name: string }>(
    "select name from coinslot_private.migrations order by name",
  );
  return result.rows.map((row) => row.name);
}

describe("migrate", () => {
  it("applies every migration to an empty database, then finds nothing to do", async () => {
    database = await createTestDatabase({ migrated: false });
    const files = (await readMigrations()).map((migration) => migration.name);

    const first = await migrate(database.pool);
    expect(first.error).toBeUndefined();
    expect(first.applied).toEqual(files);
    expect(await appliedNames(database)).toEqual(files);

    const second = await migrate(database.pool);
    expect(second).toEqual({ applied: [] });
    expect(await appliedNames(database)).toEqual(files);
  });

  it("lets two processes start together without failing or applying twice", async () => {
    database = await createTestDatabase({ migrated: false });
    const otherPool = createPool({ url: database.url, logger: createLogger("silent") });
    try {
      const [one, two] = await Promise.all([migrate(database.pool), migrate(otherPool)]);
      expect(one.error).toBeUndefined();
      expect(two.error).toBeUndefined();
      const files = (await readMigrations()).map((migration) => migration.name);
      expect([...one.applied, ...two.applied].sort()).toEqual(files);
      expect(await appliedNames(database)).toEqual(files);
    } finally {
      await otherPool.end();
    }
  });

  it("refuses an applied migration whose text was edited", async () => {
    database = await createTestDatabase();
    const edited = (await readMigrations()).map((migration, index) =>
      index === 0 ? { ...migration, checksum: "edited" } : migration,
    );
    const result = await migrate(database.pool, edited);
    expect(result.error?.message).toMatch(/was changed after it was applied; add a new migration/);
  });

  it("rolls back a failing migration entirely and names it", async () => {
    database = await createTestDatabase();
    const broken = {
      name: "9999_broken",
      checksum: "x",
      sql: "create table credits.half (id int); select 1/0;",
    };
    const result = await migrate(database.pool, [...(await readMigrations()), broken]);
    expect(result.error?.message).toMatch(/Migration 9999_broken failed: division by zero/);
    const half = await database.pool.query("select to_regclass('credits.half') as found");
    expect(half.rows[0].found).toBeNull();
    expect(await appliedNames(database)).not.toContain("9999_broken");
  });
});
