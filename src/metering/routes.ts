import { createHash, randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { createBillingContext } from "../billing/context.js";
import type { Dependencies } from "../dependencies.js";
import { apiBodyLimitBytes, limitBody } from "../kit/body-limit.js";
import { AppError } from "../kit/errors.js";
import { parseInput, readJson } from "../kit/validation.js";
import { createSpendBatcher, findAccount, publicEntryPage, readEntryPage, unwrap } from "../ledger/index.js";
import { type MeteringEnv, requireServiceKey } from "./authenticate.js";
import { startCustomerCheckout } from "./checkout.js";
import { putCustomer, requireCustomer } from "./customers.js";
import { apiDocsRoutes } from "./docs-routes.js";
import {
  checkoutInput,
  customerId,
  customerInput,
  holdInput,
  idempotencyKeyHeader,
  pageInput,
  settleInput,
  spendLimitInput,
  usageInput,
} from "./schemas.js";
import { chargeUsage, ledgerKey, release, requireMeteringHold, settle } from "./spending.js";

/** The caller's Idempotency-Key header: required on every call that spends, 1 to 255 characters. */
function idempotencyKey(context: Context): string {
  const key = idempotencyKeyHeader.safeParse(context.req.header("idempotency-key"));
  if (key.success) return key.data;
  throw new AppError(
    "INVALID_IDEMPOTENCY_KEY",
    "Send an Idempotency-Key header of 1 to 255 characters, unique per operation (a retry sends the same one).",
  );
}

/**
 * The metering API: an app's backend, holding a service key, puts Coinslot credits in front of its
 * own AI feature. Customers are created as they connect; holds reserve before a model call and
 * settle after it; usage charges a known price. Server to server: no session, no Origin check
 * (those guard `/api/*` only); the service key is the credential.
 *
 * @example
 * app.route("/", meteringRoutes(dependencies));
 */
export function meteringRoutes(dependencies: Dependencies): Hono<MeteringEnv> {
  const { pool, ledger, config } = dependencies;
  // One per app: the batcher coalesces the concurrent usage charges of every request it serves.
  const batcher = createSpendBatcher({ pool, ledger });
  const routes = new Hono<MeteringEnv>();

  // Before the service key: the API's description is public, like any API reference.
  routes.route("/", apiDocsRoutes());
  routes.use("/v1/*", limitBody({ maxBytes: apiBodyLimitBytes }));
  routes.use("/v1/*", requireServiceKey({ pool, config }));

  routes.put("/v1/customers/:id", async (context) => {
    const id = parseInput(customerId, context.req.param("id"));
    const input = parseInput(customerInput, await readJson(context));
    const signupBonusCents = config.newUserCreditsCents;
    const { customer, created } = await putCustomer({ pool, ledger, signupBonusCents }, { id, ...input });
    return context.json(await customerView(customer.id, customer.userId), created ? 201 : 200);
  });

  const customerView = async (id: string, userId: string) => {
    const account = await findAccount({ pool }, userId);
    if (!account)
      throw new AppError("CUSTOMER_NOT_FOUND", `Customer "${id}" has no credits account yet; PUT it again.`);
    const { email, balanceCents, heldCents } = account;
    return { id, email, balanceCents, heldCents, availableCents: balanceCents - heldCents };
  };

  routes.get("/v1/customers/:id", async (context) => {
    const customer = await requireCustomer(pool, context.req.param("id"));
    return context.json(await customerView(customer.id, customer.userId));
  });

  routes.get("/v1/customers/:id/entries", async (context) => {
    const customer = await requireCustomer(pool, context.req.param("id"));
    const { limit, cursor } = parseInput(pageInput, context.req.query());
    const page = await readEntryPage({ pool }, { userId: customer.userId, limit, cursor });
    return context.json(publicEntryPage(page));
  });

  routes.put("/v1/customers/:id/spend-limit", async (context) => {
    const customer = await requireCustomer(pool, context.req.param("id"));
    const { monthlyLimitCents } = parseInput(spendLimitInput, await readJson(context));
    const set = unwrap(await ledger.setSpendLimit({ userId: customer.userId, monthlyLimitCents }));
    return context.json({
      customer: customer.id,
      monthlyLimitCents: set.spendLimitCents,
      monthUsageCents: set.monthUsageCents,
    });
  });

  routes.post("/v1/holds", async (context) => {
    const key = idempotencyKey(context);
    const input = parseInput(holdInput, await readJson(context));
    const customer = await requireCustomer(pool, input.customer);
    const { hold, replayed } = unwrap(
      await ledger.placeHold({
        userId: customer.userId,
        amountCents: input.amountCents,
        idempotencyKey: ledgerKey("hold", customer.userId, key),
        description: input.description ?? `hold for ${customer.id}`,
        ttlSeconds: input.ttlSeconds,
      }),
    );
    const body = {
      id: hold.id,
      amountCents: hold.amountCents,
      expiresAt: hold.expiresAt,
      status: hold.status,
    };
    return context.json(body, replayed ? 200 : 201);
  });

  routes.post("/v1/holds/:id/settle", async (context) => {
    const hold = await requireMeteringHold({ pool, ledger }, context.req.param("id"));
    const input = parseInput(settleInput, await readJson(context));
    const { settlement } = await settle({ pool, ledger }, { hold, ...input });
    return context.json(settlement);
  });

  routes.post("/v1/holds/:id/release", async (context) => {
    const hold = await requireMeteringHold({ pool, ledger }, context.req.param("id"));
    const { settlement } = await release({ pool, ledger }, hold);
    return context.json(settlement);
  });

  routes.post("/v1/usage", async (context) => {
    const key = idempotencyKey(context);
    const input = parseInput(usageInput, await readJson(context));
    const customer = await requireCustomer(pool, input.customer);
    const change = await chargeUsage(batcher, { userId: customer.userId, ...input, idempotencyKey: key });
    const body = {
      entryId: change.entry.id,
      chargedCents: -change.entry.amountCents,
      balanceCents: change.balance.balanceCents,
      availableCents: change.balance.availableCents,
    };
    return context.json(body, change.replayed ? 200 : 201);
  });

  const billing = createBillingContext(dependencies);
  routes.post("/v1/checkout", async (context) => {
    const input = parseInput(checkoutInput, await readJson(context));
    // Optional: billing names the session after the key and the arguments, so a retry opens the same
    // session and the same key with another amount or returnUrl opens a new one (Stripe would refuse it).
    const key = context.req.header("idempotency-key") === undefined ? randomUUID() : idempotencyKey(context);
    const requestKey = `v1:${createHash("sha256")
      .update(JSON.stringify([key, input]))
      .digest("hex")
      .slice(0, 40)}`;
    const onRateLimited = (seconds: number) => context.header("Retry-After", String(seconds));
    const { url } = await startCustomerCheckout(billing, { ...input, requestKey }, onRateLimited);
    return context.json({ url }, 201);
  });

  return routes;
}
