import { findOrCreateUser, findUserEmail } from "../auth/users.js";
import type { Pool } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { unwrap } from "../ledger/index.js";
import type { Ledger } from "../ledger/types.js";

/** An app's user as the metering API knows them: the app's id, and the Coinslot user behind it. */
export type Customer = { id: string; userId: string };

/** The ids an app may use for its users: 1 to 128 characters that need no escaping in a URL. */
export const customerIdPattern = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** The customer with the app's id `id`, or null. */
export async function findCustomer(pool: Pool, id: string): Promise<Customer | null> {
  const result = await pool.query<{ user_id: string }>(
    "select user_id from metering.customers where id = $1",
    [id],
  );
  const row = result.rows[0];
  return row ? { id, userId: row.user_id } : null;
}

/** The customer, or 404 CUSTOMER_NOT_FOUND saying how to make one. */
export async function requireCustomer(pool: Pool, id: string): Promise<Customer> {
  const customer = customerIdPattern.test(id) ? await findCustomer(pool, id) : null;
  if (customer) return customer;
  throw new AppError(
    "CUSTOMER_NOT_FOUND",
    `No customer "${id}". Create it first with PUT /v1/customers/{id} and the person's email.`,
  );
}

/** Whether the Coinslot user `userId` is some app's customer (its holds may be resolved through /v1). */
export async function isCustomerUser(pool: Pool, userId: string): Promise<boolean> {
  const result = await pool.query("select 1 from metering.customers where user_id = $1", [userId]);
  return result.rows.length > 0;
}

async function claimCustomer(pool: Pool, id: string, userId: string): Promise<boolean> {
  const result = await pool.query(
    "insert into metering.customers (id, user_id) values ($1, $2) on conflict do nothing",
    [id, userId],
  );
  return result.rowCount === 1;
}

function conflict(message: string): AppError {
  return new AppError("CUSTOMER_CONFLICT", message);
}

/**
 * Makes the app's user `id` a customer on first use, or answers the one it already is. The customer
 * is a Coinslot user (found by email, or created password-less), so a person who later signs in
 * with that email sees the same balance; their credits account opens with `signupBonusCents`
 * exactly once, however many calls race (the ledger's `signup:<userId>` key). Every call ensures the
 * account, so one cut short between the two writes is completed by the next.
 *
 * @example
 * const { customer, created } = await putCustomer({ pool, ledger, signupBonusCents: 50 }, { id: "u_42", email: "ada@example.com" });
 */
export async function putCustomer(
  context: { pool: Pool; ledger: Ledger; signupBonusCents: number },
  input: { id: string; email: string; name?: string },
): Promise<{ customer: Customer; email: string; created: boolean }> {
  const { pool, ledger } = context;
  const email = input.email.trim().toLowerCase();
  let customer = await findCustomer(pool, input.id);
  let created = false;
  if (!customer) {
    const user = await findOrCreateUser(pool, { email, name: input.name ?? email.split("@")[0] ?? email });
    created = await claimCustomer(pool, input.id, user.id);
    customer = await findCustomer(pool, input.id);
    if (!customer) {
      throw conflict(
        `The email ${email} already belongs to another customer; one Coinslot account serves one customer id.`,
      );
    }
  }
  const customerEmail = await findUserEmail(pool, customer.userId);
  if (customerEmail?.toLowerCase() !== email) {
    throw conflict(
      `Customer "${input.id}" exists with another email; send the email it was created with, or use a new customer id.`,
    );
  }
  unwrap(
    await ledger.ensureAccount({
      userId: customer.userId,
      email,
      signupBonusCents: context.signupBonusCents,
    }),
  );
  return { customer, email, created };
}

/**
 * Forgets which app customer a Coinslot user was, for a person deleting their account: the app's id
 * then names nobody, and a later PUT /v1/customers/:id with it opens a new account.
 */
export async function forgetCustomer(pool: Pool, userId: string): Promise<void> {
  await pool.query("delete from metering.customers where user_id = $1", [userId]);
}
