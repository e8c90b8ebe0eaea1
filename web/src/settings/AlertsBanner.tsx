import { useEffect, useState } from "react";
import { focusBuyCredits } from "../account/BuyCredits.js";
import { api } from "../shared/api.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

type AlertNotice = { id: string; kind: string; data: { availableCents?: number; thresholdCents?: number } };

/**
 * The person's open notices as banners (today: low balance), each dismissable. Reads them again when
 * `balanceCents` changes, since a spend may have just crossed the threshold (or credit re-armed it).
 */
export function AlertsBanner({ currency, balanceCents }: { currency: string; balanceCents: number }) {
  const [notices, setNotices] = useState<AlertNotice[]>([]);

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
