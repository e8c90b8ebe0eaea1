import { Hono } from "hono";
import type { AuthedEnv } from "../auth/types.js";
import { withUser } from "../db/with-user.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { escapeHtml } from "../kit/html.js";
import { formatCents } from "../kit/money.js";

/** A credited purchase as the person's own pages show it. */
export type Purchase = {
  id: string;
  amountCents: number;
  currency: string;
  /** The payment's reference at Stripe (its PaymentIntent), or the Checkout Session when it has none. */
  reference: string;
  refundedCents: number;
  paidAt: string;
  receiptUrl: string;
};

type PurchaseRow = {
  id: string;
  amount_cents: number;
  currency: string;
  reference: string;
  refunded_cents: number;
  credited_at: Date;
};

const purchaseLimit = 100;

function toPurchase(row: PurchaseRow): Purchase {
  return {
    id: row.id,
    amountCents: row.amount_cents,
    currency: row.currency,
    reference: row.reference,
    refundedCents: row.refunded_cents,
    paidAt: row.credited_at.toISOString(),
    receiptUrl: `/api/purchases/${encodeURIComponent(row.id)}/receipt`,
  };
}

// Read as the signed-in person (withUser): row-level security, not the WHERE clause, keeps other
// people's payments out, so an id of someone else's payment finds nothing.
const purchaseSelect = `
  select checkout_session_id as id, amount_cents, currency,
         coalesce(payment_intent_id, checkout_session_id) as reference, refunded_cents, credited_at
    from credits.payments
   where user_id = $1 and credited_at is not null`;

function receiptPage(purchase: Purchase, email: string): string {
  const paid = new Date(purchase.paidAt).toUTCString();
  const rows = [
    ["Amount", formatCents(purchase.amountCents, purchase.currency)],
    ["Currency", purchase.currency.toUpperCase()],
    ["Paid", paid],
    ["Payment reference", purchase.reference],
    ["Billed to", email],
    ...(purchase.refundedCents > 0
      ? [["Refunded", formatCents(purchase.refundedCents, purchase.currency)]]
      : []),
  ];
  const cells = rows
    .map(([name, value]) => `<tr><th>${escapeHtml(name ?? "")}</th><td>${escapeHtml(value ?? "")}</td></tr>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Coinslot receipt</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1a1a2e}
th{text-align:left;padding:.4rem 1rem .4rem 0;color:#555;font-weight:500}td{padding:.4rem 0}</style></head>
<body><h1>Receipt</h1><p>Credits bought on Coinslot.</p><table>${cells}</table></body></html>`;
}

/**
 * The signed-in person's purchases: `GET /api/purchases` (credited ones, newest first, at most 100)
 * and `GET /api/purchases/:id/receipt`, a printable receipt page. Behind auth's session gate.
 *
 * @example
 * app.route("/", purchaseRoutes(dependencies));
 */
export function purchaseRoutes({ pool }: Pick<Dependencies, "pool">): Hono<AuthedEnv> {
  const routes = new Hono<AuthedEnv>();

  routes.get("/api/purchases", async (context) => {
    const user = context.get("user");
    const rows = await withUser(pool, user, async (client) => {
      const result = await client.query<PurchaseRow>(
        `${purchaseSelect} order by credited_at desc limit ${purchaseLimit}`,
        [user.id],
      );
      return result.rows;
    });
    return context.json({ purchases: rows.map(toPurchase) });
  });

  routes.get("/api/purchases/:id/receipt", async (context) => {
    const user = context.get("user");
    const id = context.req.param("id");
    const [row] = await withUser(pool, user, async (client) => {
      const result = await client.query<PurchaseRow>(`${purchaseSelect} and checkout_session_id = $2`, [
        user.id,
        id,
      ]);
      return result.rows;
    });
    if (!row) {
      throw new AppError(
        "PAYMENT_NOT_FOUND",
        "No purchase of yours has this id; open the receipt from your account page.",
      );
    }
    context.header("cache-control", "private, no-store");
    return context.html(receiptPage(toPurchase(row), user.email));
  });

  return routes;
}
