import { useEffect, useState } from "react";
import { api } from "../shared/api.js";

export type CheckoutOutcome =
  | { state: "confirming" }
  | { state: "credited"; amountCents: number }
  | { state: "pending" }
  | { state: "cancelled" }
  | { state: "failed"; message: string };

type Payment = { amountCents: number; credited: boolean; status: string };

const pollIntervalMs = 1_000;
// The webhook usually lands before the person is back; past this, say it will come and stop asking.
const pollAttempts = 15;

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function confirmUntilCredited(sessionId: string): Promise<CheckoutOutcome> {
  for (let attempt = 0; attempt < pollAttempts; attempt += 1) {
    const result = await api<{ payment: Payment }>("/api/checkout/confirm", { body: { sessionId } });
    if (result.data?.payment.credited)
      return { state: "credited", amountCents: result.data.payment.amountCents };
    if (result.error && result.error.status >= 400 && result.error.status < 500) {
      return { state: "failed", message: result.error.message };
    }
    await wait(pollIntervalMs);
  }
  return { state: "pending" };
}

/**
 * Reads `?checkout=success&session_id=…` or `?checkout=cancel` once, confirms the payment (polling
 * briefly until the webhook has credited it), then cleans the address so a reload does not repeat it.
 * `onCredited` refreshes the balance.
 */
export function useCheckoutReturn(onCredited: () => void) {
  const [outcome, setOutcome] = useState<CheckoutOutcome | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, for the address the page opened with.
  useEffect(() => {
    const params = new URLSearchParams(window.location.search);
    const checkout = params.get("checkout");
    const sessionId = params.get("session_id");
    if (!checkout) return;
    window.history.replaceState(null, "", window.location.pathname);
    if (checkout === "cancel") {
      setOutcome({ state: "cancelled" });
      return;
    }
    if (checkout !== "success" || !sessionId) return;
    setOutcome({ state: "confirming" });
    let active = true;
    void confirmUntilCredited(sessionId).then((found) => {
      if (!active) return;
      setOutcome(found);
      onCredited();
    });
    return () => {
      active = false;
    };
  }, []);

  return { outcome, dismiss: () => setOutcome(null) };
}
