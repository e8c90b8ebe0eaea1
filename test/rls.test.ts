import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PoolClient, transaction } from "../src/db/pool.js";
import { withUser } from "../src/db/with-user.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { errorCodeOf, tablesIn } from "./support/rls.js";

// Row-level security is proven against the real schema: whatever a future migration adds to
// `credits` must keep these properties, or this file fails.

let database: TestDatabase;
const alice = { id: "user-alice", email: "alice@example.com" };
const bob = { id: "user-bob", email: "bob@example.com" };

async function seed(user: { id: string; email: string }) {
  const sql = `
    insert into credits.accounts (user_id, email, balance_cents) values ($1, $2, 500);
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values ($1, 500, 'purchase', $1 || '-purchase');
    insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values ($1, -5, 'usage', $1 || '-usage');
    insert into credits.holds (user_id, amount_cents, idempotency_key, expires_at) values ($1, 10, $1 || '-hold', now() + interval '5 minutes');
    insert into credits.payments (checkout_session_id, user_id, amount_cents, currency, status) values ($1 || '-cs', $1, 500, 'usd', 'paid');
    insert into credits.stripe_events (event_id, type, user_id) values ($1 || '-evt', 'checkout.session.completed', $1);
    insert into credits.refund_reports (payment_intent_id, user_id, refunded_cents) values ($1 || '-pi', $1, 100);
    insert into credits.disputes (dispute_id, payment_intent_id, user_id, amount_cents, status) values ($1 || '-dp', $1 || '-pi', $1, 100, 'lost');
    insert into credits.auto_topup_settings (user_id, threshold_cents, amount_cents, monthly_limit_cents, currency) values ($1, 100, 300, 900, 'usd');
    insert into credits.auto_topups (user_id, amount_cents, currency) values ($1, 300, 'usd');`;
  // Parameters cannot be bound in a multi-statement query, so inline the fixed test ids.
  await database.pool.query(sql.replaceAll("$1", `'${user.id}'`).replaceAll("$2", `'${user.email}'`));
}

beforeAll(async () => {
  database = await createTestDatabase();
  await seed(alice);
  await seed(bob);
});
afterAll(() => database.drop());

describe("row-level security on credits", () => {
  it("is enabled and forced on every table, including ones added later", async () => {
    const tables = await tablesIn(database.pool, "credits");
    expect(tables.map((table) => table.name)).toEqual(
      expect.arrayContaining(["accounts", "entries", "holds", "payments", "stripe_events"]),
    );
    for (const table of [...tables, ...(await tablesIn(database.pool, "coinslot_private"))]) {
      expect({ table: table.name, rls: table.rls, forced: table.forced }).toEqual({
        table: table.name,
        rls: true,
        forced: true,
      });
    }
  });

  it("shows a signed-in user exactly their own rows in every table", async () => {
    const tables = await tablesIn(database.pool, "credits");
    for (const { name } of tables) {
      const rows = await withUser(database.pool, alice, (client) =>
        client.query(`select user_id from credits.${name}`),
      );
      expect({ name, users: [...new Set(rows.rows.map((row) => row.user_id))] }).toEqual({
        name,
        users: [alice.id],
      });
    }
  });

  it("shows nothing without claims, even to the authenticated role", async () => {
    const rows = await transaction(database.pool, async (client) => {
      await client.query("set local role authenticated");
      return client.query("select * from credits.accounts");
    });
    expect(rows.rowCount).toBe(0);
  });

  it("lets a user insert, update or delete nothing, not even their own rows", async () => {
    const writes = (table: string) => [
      `insert into credits.${table} (user_id) values ('${alice.id}')`,
      `update credits.${table} set user_id = user_id where user_id = '${alice.id}'`,
      `delete from credits.${table} where user_id = '${alice.id}'`,
    ];
    for (const { name } of await tablesIn(database.pool, "credits")) {
      for (const sql of writes(name)) {
        const code = await errorCodeOf(() => withUser(database.pool, alice, (client) => client.query(sql)));
        expect({ sql, code }).toEqual({ sql, code: "42501" });
      }
    }
    const balance = await database.pool.query(
      "select balance_cents from credits.accounts where user_id = $1",
      [alice.id],
    );
    expect(balance.rows[0].balance_cents).toBe(500);
  });

  it("gives anon nothing at all", async () => {
    const asAnon = (sql: string) =>
      transaction(database.pool, async (client: PoolClient) => {
        await client.query("set local role anon");
        await client.query("select set_config('request.jwt.claims', $1, true)", [
          JSON.stringify({ sub: alice.id }),
        ]);
        return client.query(sql);
      });
    for (const { name } of await tablesIn(database.pool, "credits")) {
      expect(await errorCodeOf(() => asAnon(`select * from credits.${name}`))).toBe("42501");
    }
    expect(await errorCodeOf(() => asAnon("select * from coinslot_private.migrations"))).toBe("42501");
  });

  it("grants no write privilege on any credits table to anon or authenticated", async () => {
    const result = await database.pool.query(
      `select grantee, table_schema, table_name, privilege_type from information_schema.role_table_grants
        where grantee in ('anon', 'authenticated', 'public') and table_schema in ('credits', 'coinslot_private')
          and privilege_type <> 'SELECT'`,
    );
    expect(result.rows).toEqual([]);
  });
});

describe("credits.entries", () => {
  it("refuses UPDATE, DELETE and TRUNCATE even from the owner", async () => {
    const update = await errorCodeOf(() =>
      database.pool.query("update credits.entries set description = 'x'"),
    );
    const remove = await errorCodeOf(() => database.pool.query("delete from credits.entries"));
    const truncate = await errorCodeOf(() => database.pool.query("truncate credits.entries cascade"));
    expect([update, remove, truncate]).toEqual(["23001", "23001", "23001"]);
    const count = await database.pool.query("select count(*)::int as n from credits.entries");
    expect(count.rows[0].n).toBe(4);
  });

  it("refuses a zero amount and negative held credit", async () => {
    const zero = await errorCodeOf(() =>
      database.pool.query(
        `insert into credits.entries (user_id, amount_cents, kind, idempotency_key) values ('${alice.id}', 0, 'adjustment', 'zero')`,
      ),
    );
    const negativeHeld = await errorCodeOf(() =>
      database.pool.query(`update credits.accounts set held_cents = -1 where user_id = '${alice.id}'`),
    );
    expect([zero, negativeHeld]).toEqual(["23514", "23514"]);
  });
});
