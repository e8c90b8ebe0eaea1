import { useEffect, useState } from "react";
import type { AutoTopUpView } from "../../../src/billing/auto-topup-settings.js";
import { focusBuyCredits } from "../account/BuyCredits.js";
import { api } from "../shared/api.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

type AlertNotice = { id: string; kind: string; data: { availableCents?: number; thresholdCents?: number } };

/** A failed auto top-up that waits for the person (GET /api/auto-topup's `notice`). */
type TopUpNotice = NonNullable<AutoTopUpView["notice"]>;

/**
 * The person's open notices as banners (low balance, and a failed auto top-up that waits for them),
 * each dismissable. Reads them again when
 * `balanceCents` changes, since a spend may have just crossed the threshold (or credit re-armed it).
 */
export function AlertsBanner({
  currency,
  balanceCents,
  showTopUpNotice,
}: {
  currency: string;
  balanceCents: number;
  /** False on the account page, whose auto top-up section shows the same notice with its button. */
  showTopUpNotice: boolean;
}) {
  const [notices, setNotices] = useState<AlertNotice[]>([]);
  const [topUpNotice, setTopUpNotice] = useState<TopUpNotice | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: read again whenever the balance moves.
  useEffect(() => {
    const controller = new AbortController();
    void api<{ autoTopUp: { notice: TopUpNotice | null } }>("/api/auto-topup", {
      signal: controller.signal,
    }).then((result) => setTopUpNotice(result.data?.autoTopUp.notice ?? null));
    return () => controller.abort();
  }, [balanceCents]);

  async function dismissTopUp(topUpId: string) {
    setTopUpNotice(null);
    await api(`/api/auto-topup/top-ups/${encodeURIComponent(topUpId)}/dismiss`, { method: "POST" });
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: read again whenever the balance moves.
  useEffect(() => {
    const controller = new AbortController();
    void api<{ notices: AlertNotice[] }>("/api/notices", { signal: controller.signal }).then((result) => {
      if (result.data) setNotices(result.data.notices.filter((notice) => notice.kind === "low_balance"));
    });
    return () => controller.abort();
  }, [balanceCents]);

  async function dismiss(id: string) {
    setNotices((open) => open.filter((notice) => notice.id !== id));
    await api(`/api/notices/${encodeURIComponent(id)}/dismiss`, { method: "POST" });
  }

  return (
    <>
      {topUpNotice && showTopUpNotice ? (
        <div className="layout-notice" data-testid="auto-topup-banner">
          <Notice
            tone="warning"
            title={
              topUpNotice.turnedOff
                ? "Auto top-up is off after three failed payments"
                : `Your auto top-up of ${formatCents(topUpNotice.amountCents, topUpNotice.currency)} did not go through`
            }
            onDismiss={() => void dismissTopUp(topUpNotice.topUpId)}
          >
            {topUpNotice.message} <a href="/account#auto-top-up">Pay it in your account</a>.
          </Notice>
        </div>
      ) : null}
      {notices.map((notice) => (
        <div className="layout-notice" key={notice.id} data-testid="low-balance-banner">
          <Notice tone="warning" title="Your credit is running low" onDismiss={() => void dismiss(notice.id)}>
            Available credit fell below {formatCents(notice.data.thresholdCents ?? 0, currency)}.{" "}
            <button type="button" className="button-link" onClick={focusBuyCredits}>
              Buy credits
            </button>{" "}
            or change the alert in <a href="/account">your account</a>.
          </Notice>
        </div>
      ))}
    </>
  );
}
