import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../shared/api.js";

export type CheckoutOutcome =
  | { state: "confirming" }
  | { state: "credited"; amountCents: number }
  | { state: "pending" }
  | { state: "cancelled" }
  | { state: "failed"; message: string };

type Payment = { amountCents: number; credited: boolean; status: string };
type Return = { checkout: "success"; sessionId: string } | { checkout: "cancel" } | null;

const pollIntervalMs = 1_000;
// The webhook usually lands before the person is back; past this, say it will come and stop asking.
const pollAttempts = 15;

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readReturn(): Return {
  const params = new URLSearchParams(window.location.search);
  const sessionId = params.get("session_id");
  if (params.get("checkout") === "success" && sessionId) return { checkout: "success", sessionId };
  if (params.get("checkout") === "cancel") return { checkout: "cancel" };
  return null;
}

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
  const [returned] = useState(readReturn);
  const [outcome, setOutcome] = useState<CheckoutOutcome | null>(() =>
    returned?.checkout === "cancel" ? { state: "cancelled" } : returned ? { state: "confirming" } : null,
  );
  // Confirming is idempotent on the server, but once per return is enough (StrictMode runs effects twice).
  const started = useRef(false);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, for the address the page opened with.
  useEffect(() => {
    if (!returned || started.current) return;
    started.current = true;
    window.history.replaceState(null, "", window.location.pathname);
    if (returned.checkout !== "success") return;
    void confirmUntilCredited(returned.sessionId).then((found) => {
      setOutcome(found);
      onCredited();
    });
  }, []);

  const dismiss = useCallback(() => setOutcome(null), []);
  return { outcome, dismiss };
}
