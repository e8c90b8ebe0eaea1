import type { Pool } from "../db/pool.js";
import type { MailKind } from "./outbox.js";
import type { Delivery } from "./queue.js";

/** A message as the local mailbox shows it. */
export type StoredMail = {
  id: string;
  kind: MailKind;
  to: string;
  data: unknown;
  createdAt: Date;
  status: "pending" | "sent" | "failed";
  delivery: Delivery | null;
  lastError: string | null;
};

const columns = `id::text as "id", kind, to_address as "to", data, created_at as "createdAt", status,
  delivery, last_error as "lastError"`;

/** The newest `limit` messages of the outbox, newest first. */
export async function listMail(pool: Pool, limit: number): Promise<StoredMail[]> {
  const { rows } = await pool.query<StoredMail>(
    `select ${columns} from mail.outbox order by id desc limit $1`,
    [limit],
  );
  return rows;
}

/** The message `id`, or null (also for an id that is not a number). */
export async function findMail(pool: Pool, id: string): Promise<StoredMail | null> {
  if (!/^[1-9][0-9]{0,17}$/.test(id)) return null;
  const { rows } = await pool.query<StoredMail>(`select ${columns} from mail.outbox where id = $1`, [id]);
  return rows[0] ?? null;
}
