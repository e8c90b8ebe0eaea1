import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { CheckoutOutcome } from "./checkout-return.js";

/** What happened at checkout, in one sentence; the balance card beside it shows the result. */
export function CheckoutNotice({
  outcome,
  currency,
  onDismiss,
}: {
  outcome: CheckoutOutcome;
  currency: string;
  onDismiss: () => void;
}) {
  const money = (cents: number) => formatCents(cents, currency);
  switch (outcome.state) {
    case "confirming":
      return (
        <Notice tone="info" title="Confirming your payment…">
          This takes a few seconds.
        </Notice>
      );
    case "credited":
      return (
        <Notice tone="success" title="Payment complete" onDismiss={onDismiss}>
          {money(outcome.amountCents)} of credit was added to your balance.
        </Notice>
      );
    case "pending":
      return (
        <Notice tone="info" title="Payment received" onDismiss={onDismiss}>
          Your credits will appear here within a minute, as soon as the payment provider confirms it.
        </Notice>
      );
    case "cancelled":
      return (
        <Notice tone="warning" title="Checkout cancelled" onDismiss={onDismiss}>
          Nothing was charged. You can buy credits whenever you are ready.
        </Notice>
      );
    case "failed":
      return (
        <Notice tone="error" title="We could not confirm this payment" onDismiss={onDismiss}>
          {outcome.message}
        </Notice>
      );
  }
}
