/**
 * A SQL statement with a name, sent as a prepared statement: PostgreSQL parses and plans it once per
 * connection instead of on every call (a third of a millisecond each for the ledger's statements).
 * A pool made with `preparedStatements: false` sends it unnamed, for poolers that cannot keep them.
 *
 * @example
 * const balance = statement("ledger_balance", "select balance_cents from credits.accounts where user_id = $1");
 * await client.query({ ...balance, values: [userId] });
 */
export type Statement = { name: string; text: string };

export function statement(name: string, text: string): Statement {
  return { name, text };
}

/** The query config pg takes for `sql`, a plain string or a named statement. */
export function queryConfig(sql: string | Statement, values: unknown[]) {
  return typeof sql === "string" ? { text: sql, values } : { name: sql.name, text: sql.text, values };
}
