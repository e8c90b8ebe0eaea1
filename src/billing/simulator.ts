import { type Context, Hono } from "hono";
import { formatCents } from "./amount.js";
import { cardSavingSessionOwner, findSettings, saveSettings } from "./auto-topup-repo.js";
import { simulatedPaymentMethod } from "./auto-topup-simulated.js";
import type { BillingContext } from "./context.js";
import { findPayment, type Payment } from "./payments.js";
import { allowedReturnUrl, returnUrlFor } from "./return-url.js";
import { simulatedSessionPrefix } from "./simulated-checkout.js";
import { completedSessionEvent, deliverEvent } from "./simulated-events.js";

const sessionIdPattern = /^cs_sim_[0-9a-f]{32}$/;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<p style="background:#fff3cd;border:1px solid #e0c36c;padding:.75rem;border-radius:.5rem">
<strong>Test checkout — no real payment.</strong> Coinslot runs without STRIPE_SECRET_KEY, so this
simulator stands in for Stripe Checkout. Nothing is charged to any card.</p>
${body}
</body>
</html>`;
}

// Stripe's test numbers, as Checkout in test mode takes them; see auto-topup-simulated.ts.
const cardField = `<p><label>Card number (saved for auto top-up)<br>
<input name="card" value="4242 4242 4242 4242" autocomplete="off" inputmode="numeric" maxlength="23"
 style="font-size:1rem;padding:.4rem;width:16rem"></label></p>
<p style="font-size:.9rem;color:#555">4242 4242 4242 4242 always pays; 4000 0027 6000 3184 always asks
the cardholder to authenticate (here, on the page, that succeeds; later, without you, it cannot);
4000 0000 0000 0002 is always declined later.</p>`;

function checkoutPage(payment: Payment, returnUrl: string | null, savesCard: boolean): string {
  const id = escapeHtml(payment.checkoutSessionId);
  const query = returnUrl ? escapeHtml(`?return=${encodeURIComponent(returnUrl)}`) : "";
  const amount = escapeHtml(formatCents(payment.amountCents, payment.currency));
  const action = (verb: string, label: string, style: string, fields = "") =>
    `<form method="post" action="/simulator/checkout/${id}/${verb}${query}" style="display:inline">${fields}
<button type="submit" style="${style};padding:.6rem 1.4rem;border-radius:.4rem;font-size:1rem">${label}</button></form>`;
  return page(
    "Test checkout — no real payment",
    `<h1>Test checkout</h1>
<p>Coinslot credits: <strong>${amount}</strong></p>
${action("pay", `Pay ${amount} (simulated)`, "background:#2563eb;color:white;border:0", savesCard ? cardField : "")}
${action("cancel", "Cancel", "background:white;border:1px solid #999")}`,
  );
}

function problemPage(message: string): string {
  return page("Test checkout — no real payment", `<h1>Test checkout</h1><p>${escapeHtml(message)}</p>`);
}

/**
 * A Checkout that saves a card (auto top-up) records the typed test card as the person's saved one,
 * as Stripe attaches it to the customer. Answers why not, for a number that is not a test card.
 */
async function saveSimulatedCard(
  context: BillingContext,
  payment: Payment,
  httpContext: Context,
): Promise<string | null> {
  const owner = await cardSavingSessionOwner(context.pool, payment.checkoutSessionId);
  if (!owner) return null;
  const form = await httpContext.req.parseBody();
  const card = typeof form.card === "string" ? form.card.slice(0, 40) : "4242 4242 4242 4242";
  const paymentMethodId = simulatedPaymentMethod(card, owner);
  if (!paymentMethodId) {
    return "Use one of the test cards listed on the page (4242 4242 4242 4242, 4000 0027 6000 3184 or 4000 0000 0000 0002). Go back and try again.";
  }
  const settings = await findSettings(context.pool, owner);
  if (settings) {
    await saveSettings(context.pool, {
      userId: owner,
      currency: settings.currency,
      change: { paymentMethodId },
    });
  }
  return null;
}

/**
 * The offline stand-in for Stripe Checkout, served only without STRIPE_SECRET_KEY and only where
 * `config.stripeSimulator` allows it (404 elsewhere). Pay sends a
 * signed `checkout.session.completed` through HTTP to the real webhook route, then returns to the
 * success URL, exactly as Stripe would; Cancel returns to the cancel URL. A checkout started through
 * `POST /v1/checkout` carries its `return` URL in the query, checked against CHECKOUT_RETURN_ORIGINS
 * again here, so the page never redirects anywhere else.
 */
export function simulatorRoutes(context: BillingContext): Hono {
  const { config } = context;
  const app = new Hono();
  // The simulator hands out credits for nothing: only on a loopback APP_URL, or STRIPE_SIMULATOR=on.
  const enabled = () => !context.stripe && config.stripeSimulator;

  async function simulatedPayment(id: string): Promise<Payment | null> {
    if (!enabled() || !sessionIdPattern.test(id) || !id.startsWith(simulatedSessionPrefix)) return null;
    return findPayment(context.pool, id);
  }

  /** The `return` query as a checked URL; null without one; "refused" for one off the allowlist. */
  function returnUrlOf(httpContext: Context): string | null | "refused" {
    const returnUrl = httpContext.req.query("return");
    if (returnUrl === undefined) return null;
    return allowedReturnUrl(returnUrl, config.checkoutReturnOrigins)?.href ?? "refused";
  }
  const refusedPage = problemPage(
    "This return URL is not in CHECKOUT_RETURN_ORIGINS. Start again from the app.",
  );

  app.get("/simulator/checkout/:id", async (httpContext) => {
    const payment = await simulatedPayment(httpContext.req.param("id"));
    if (!payment)
      return httpContext.html(problemPage("No such test checkout. Start again from Coinslot."), 404);
    const returnUrl = returnUrlOf(httpContext);
    if (returnUrl === "refused") return httpContext.html(refusedPage, 400);
    if (payment.status !== "pending") {
      return httpContext.html(problemPage(`This test checkout is already ${payment.status}.`), 409);
    }
    const savesCard = (await cardSavingSessionOwner(context.pool, payment.checkoutSessionId)) !== null;
    return httpContext.html(checkoutPage(payment, returnUrl, savesCard));
  });

  app.post("/simulator/checkout/:id/pay", async (httpContext) => {
    const payment = await simulatedPayment(httpContext.req.param("id"));
    if (!payment)
      return httpContext.html(problemPage("No such test checkout. Start again from Coinslot."), 404);
    const returnUrl = returnUrlOf(httpContext);
    if (returnUrl === "refused") return httpContext.html(refusedPage, 400);
    const saved = await saveSimulatedCard(context, payment, httpContext);
    if (saved) return httpContext.html(problemPage(saved), 400);
    // Paying twice sends a second event for the same session; the webhook credits the session once.
    const delivery = await deliverEvent(config, completedSessionEvent(payment, config));
    if (!delivery.ok) {
      context.logger.error(
        { delivery, checkoutSessionId: payment.checkoutSessionId },
        "simulated webhook failed",
      );
      return httpContext.html(
        problemPage(`The webhook answered ${delivery.status}; nothing was credited. Try Pay again.`),
        502,
      );
    }
    if (returnUrl) return httpContext.redirect(returnUrlFor(returnUrl, "success"), 303);
    return httpContext.redirect(
      `${config.appUrl}/?checkout=success&session_id=${encodeURIComponent(payment.checkoutSessionId)}`,
      303,
    );
  });

  app.post("/simulator/checkout/:id/cancel", async (httpContext) => {
    const payment = await simulatedPayment(httpContext.req.param("id"));
    if (!payment)
      return httpContext.html(problemPage("No such test checkout. Start again from Coinslot."), 404);
    const returnUrl = returnUrlOf(httpContext);
    if (returnUrl === "refused") return httpContext.html(refusedPage, 400);
    if (returnUrl) return httpContext.redirect(returnUrlFor(returnUrl, "cancel"), 303);
    return httpContext.redirect(`${config.appUrl}/?checkout=cancel`, 303);
  });

  return app;
}
