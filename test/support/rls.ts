import type { Pool } from "../../src/db/pool.js";

export type TableSecurity = { name: string; rls: boolean; forced: boolean };

/** Every table of `schema` with whether row-level security is enabled and forced on it. */
export async function tablesIn(pool: Pool, schema: string): Promise<TableSecurity[]> {
  const result = await pool.query<TableSecurity>(
    `select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p') order by 1`,
    [schema],
  );
  return result.rows;
}

/** The SQLSTATE `work` fails with, or undefined when it succeeds. */
export async function errorCodeOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}
