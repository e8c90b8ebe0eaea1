import { deleteEveryConversation } from "../ai/conversation-edits.js";
import { forgetAlerts } from "../alerts/notices.js";
import { forgetAutoTopUp } from "../billing/auto-topup-repo.js";
import type { Pool } from "../db/pool.js";
import { forgetPersonalKeys } from "../gateway/personal-keys.js";
import { forgetMail } from "../mail/forget.js";
import { forgetCustomer } from "../metering/customers.js";

/**
 * Removes what Coinslot keeps about a person outside auth's tables and the ledger, when they delete
 * their account: conversations, which app customer they were, their API keys, and their mail. Auth deletes the user
 * and sessions; the ledger keeps the entries but forgets the email (Ledger.closeAccount).
 *
 * @example
 * app.route("/", authRoutes(dependencies, { eraseUser: (user) => eraseUser(pool, user.id) }));
 */
export async function eraseUser(pool: Pool, userId: string): Promise<void> {
  await deleteEveryConversation(pool, userId);
  await forgetCustomer(pool, userId);
  await forgetPersonalKeys(pool, userId);
  await forgetMail(pool, userId);
  await forgetAlerts(pool, userId);
  await forgetAutoTopUp(pool, userId);
}
