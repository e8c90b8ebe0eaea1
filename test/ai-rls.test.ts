import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PoolClient, transaction } from "../src/db/pool.js";
import { withUser } from "../src/db/with-user.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { errorCodeOf, tablesIn } from "./support/rls.js";

// The pattern of rls.test.ts, for the chat schema: whatever a later migration adds to `chat` must
// keep these properties, or this file fails.

let database: TestDatabase;
const alice = { id: "user-alice", email: "alice@example.com" };
const bob = { id: "user-bob", email: "bob@example.com" };

async function seed(user: { id: string }) {
  await database.pool.query(
    `insert into chat.conversations (user_id, id, title, model) values ($1, 'shared-id', 'Mine', 'demo');
     insert into chat.messages (user_id, id, conversation_id, role, parts)
       values ($1, $1 || '-q', 'shared-id', 'user', '[{"type":"text","text":"secret"}]');
     insert into chat.messages (user_id, id, conversation_id, role, parts, reply_to, attempt, status)
       values ($1, $1 || '-a', 'shared-id', 'assistant', '[]', $1 || '-q', 0, 'completed');`.replaceAll(
      "$1",
      `'${user.id}'`,
    ),
  );
}

beforeAll(async () => {
  database = await createTestDatabase();
  await seed(alice);
  await seed(bob);
});
afterAll(() => database.drop());

describe("row-level security on chat", () => {
  it("is enabled and forced on every table", async () => {
    const tables = await tablesIn(database.pool, "chat");
    expect(tables.map((table) => table.name)).toEqual(["conversations", "messages"]);
    for (const table of tables) expect(table).toEqual({ name: table.name, rls: true, forced: true });
  });

  it("shows a signed-in user only their own rows, even under the same conversation id", async () => {
    for (const { name } of await tablesIn(database.pool, "chat")) {
      const rows = await withUser(database.pool, alice, (client) =>
        client.query(`select user_id from chat.${name}`),
      );
      expect(rows.rows.length).toBeGreaterThan(0);
      expect(new Set(rows.rows.map((row) => row.user_id))).toEqual(new Set([alice.id]));
    }
  });

  it("shows nothing to the authenticated role without claims", async () => {
    const rows = await transaction(database.pool, async (client) => {
      await client.query("set local role authenticated");
      return client.query("select * from chat.messages");
    });
    expect(rows.rowCount).toBe(0);
  });

  it("lets a user insert, update or delete nothing, not even their own rows", async () => {
    const writes = [
      "insert into chat.conversations (user_id, id, title, model) values ('user-alice', 'new', 't', 'demo')",
      "update chat.messages set parts = '[]' where user_id = 'user-alice'",
      "delete from chat.messages where user_id = 'user-alice'",
      "update chat.conversations set title = 'x' where user_id = 'user-alice'",
    ];
    for (const sql of writes) {
      const code = await errorCodeOf(() => withUser(database.pool, alice, (client) => client.query(sql)));
      expect({ sql, code }).toEqual({ sql, code: "42501" });
    }
  });

  it("gives anon nothing at all", async () => {
    for (const { name } of await tablesIn(database.pool, "chat")) {
      const code = await errorCodeOf(() =>
        transaction(database.pool, async (client: PoolClient) => {
          await client.query("set local role anon");
          return client.query(`select * from chat.${name}`);
        }),
      );
      expect(code).toBe("42501");
    }
  });

  it("grants no write privilege on any chat table to anon or authenticated", async () => {
    const result = await database.pool.query(
      `select grantee, table_name, privilege_type from information_schema.role_table_grants
        where grantee in ('anon', 'authenticated', 'public') and table_schema = 'chat' and privilege_type <> 'SELECT'`,
    );
    expect(result.rows).toEqual([]);
  });

  it("refuses a second answer to start the same attempt", async () => {
    const code = await errorCodeOf(() =>
      database.pool.query(
        `insert into chat.messages (user_id, id, conversation_id, role, parts, reply_to, attempt, status)
         values ('user-alice', 'again', 'shared-id', 'assistant', '[]', 'user-alice-q', 0, 'streaming')`,
      ),
    );
    expect(code).toBe("23505");
  });
});
