import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { AutoTopUpView, TopUpView } from "../../../src/billing/auto-topup-settings.js";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents, formatDate, parseCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

/** GET /api/auto-topup's answer, as the server types it. */
type TopUp = TopUpView;

const statusWords: Record<TopUp["status"], string> = {
  pending: "starting",
  processing: "in progress",
  succeeded: "paid",
  failed: "failed",
  canceled: "canceled",
};

type Amounts = { threshold: string; amount: string; monthly: string };

function amountsOf(view: AutoTopUpView): Amounts {
  const dollars = (cents: number) => (cents / 100).toFixed(2);
  return {
    threshold: dollars(view.thresholdCents),
    amount: dollars(view.amountCents),
    monthly: dollars(view.monthlyLimitCents),
  };
}

/** What the section says of the state, in one sentence. */
function stateInWords(view: AutoTopUpView): string {
  const money = (cents: number) => formatCents(cents, view.currency);
  const rule = `below ${money(view.thresholdCents)} of available credit, ${money(view.amountCents)} is bought with your saved card, at most ${money(view.monthlyLimitCents)} a month (${money(view.monthTotalCents)} so far this month).`;
  if (view.state === "on" && view.pausedUntil)
    return `On: ${rule} After the failed payment, the next top-up waits until ${formatDate(view.pausedUntil)}.`;
  if (view.state === "on") return `On: ${rule}`;
  if (view.state === "awaiting_card")
    return "Waiting for your card: finish the checkout to save it and turn auto top-up on.";
  if (view.state === "turned_off_after_failures")
    return "Off: it turned itself off after three failed payments in a row. Turn it on again once your card works.";
  return "Off. Turn it on to buy credits by yourself before they run out.";
}

function FailureNotice({
  notice,
  onFinish,
  onDismiss,
  busy,
}: {
  notice: NonNullable<AutoTopUpView["notice"]>;
  onFinish: () => void;
  onDismiss: () => void;
  busy: boolean;
}) {
  const amount = formatCents(notice.amountCents, notice.currency);
  return (
    <Notice
      tone="warning"
      title={
        notice.turnedOff
          ? "Auto top-up turned itself off"
          : `Your auto top-up of ${amount} did not go through`
      }
      onDismiss={onDismiss}
    >
      <p data-testid="auto-topup-notice">
        {notice.message}{" "}
        {notice.turnedOff ? "After three failed payments in a row it stopped trying. " : null}
        Pay it yourself now; your bank can ask you to confirm it on the payment page.
      </p>
      <button type="button" className="button-primary" onClick={onFinish} disabled={busy}>
        {busy ? "Opening checkout…" : `Pay ${amount} now`}
      </button>
    </Notice>
  );
}

/** Settings › Auto top-up: on or off, the threshold, the amount, the monthly cap, and what happened. */
export function AutoTopUp() {
  const [view, setView] = useState<AutoTopUpView | null>(null);
  const [amounts, setAmounts] = useState<Amounts>({ threshold: "", amount: "", monthly: "" });
  const [enabled, setEnabled] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = useCallback((next: AutoTopUpView) => {
    setView(next);
    setAmounts(amountsOf(next));
    setEnabled(next.state === "on" || next.state === "awaiting_card");
  }, []);

  useEffect(() => {
    void api<{ autoTopUp: AutoTopUpView }>("/api/auto-topup").then((result) => {
      if (result.error) setError(result.error.message);
      else show(result.data.autoTopUp);
    });
  }, [show]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const thresholdCents = parseCents(amounts.threshold);
    const amountCents = parseCents(amounts.amount);
    const monthlyLimitCents = parseCents(amounts.monthly);
    if (thresholdCents === null || amountCents === null || monthlyLimitCents === null) {
      setError("Enter each amount in dollars and cents, such as 5.00.");
      return;
    }
    setBusy(true);
    const result = await api<{ autoTopUp: AutoTopUpView; checkoutUrl: string | null }>("/api/auto-topup", {
      method: "PUT",
      body: { enabled, thresholdCents, amountCents, monthlyLimitCents },
    });
    if (result.error) {
      setBusy(false);
      setError(result.error.message);
      return;
    }
    // Saving the card: Checkout buys the first amount and comes back; auto top-up is on once it is paid.
    if (result.data.checkoutUrl) {
      window.location.assign(result.data.checkoutUrl);
      return;
    }
    setBusy(false);
    show(result.data.autoTopUp);
  }

  async function finish(topUpId: string) {
    setBusy(true);
    const result = await api<{ url: string }>(`/api/auto-topup/top-ups/${topUpId}/finish`, {
      method: "POST",
    });
    if (result.error) {
      setBusy(false);
      setError(result.error.message);
      return;
    }
    window.location.assign(result.data.url);
  }

  async function dismiss(topUpId: string) {
    const result = await api<{ autoTopUp: AutoTopUpView }>(`/api/auto-topup/top-ups/${topUpId}/dismiss`, {
      method: "POST",
    });
    if (result.error) setError(result.error.message);
    else show(result.data.autoTopUp);
  }

  const money = (cents: number) => formatCents(cents, view?.currency ?? "usd");
  return (
    <section className="card" id="auto-top-up" aria-labelledby="auto-top-up-title">
      <h2 id="auto-top-up-title">Auto top-up</h2>
      {view?.notice ? (
        <FailureNotice
          notice={view.notice}
          busy={busy}
          onFinish={() => void finish(view.notice?.topUpId ?? "")}
          onDismiss={() => void dismiss(view.notice?.topUpId ?? "")}
        />
      ) : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
      {view === null && !error ? <p className="muted">Loading…</p> : null}
      {view ? (
        <>
          <p data-testid="auto-topup-state">{stateInWords(view)}</p>
          <form onSubmit={save} noValidate>
            <p>
              <label style={{ display: "inline-flex", alignItems: "center", gap: "0.5rem", fontWeight: 600 }}>
                <input
                  type="checkbox"
                  name="auto-top-up-enabled"
                  // The form's input rule makes every input a full-width box; a checkbox stays a checkbox.
                  style={{ width: "1.1rem", height: "1.1rem", margin: 0 }}
                  checked={enabled}
                  onChange={(event) => setEnabled(event.target.checked)}
                />
                Top up automatically
              </label>
            </p>
            <Field
              label="When available credit falls below ($)"
              name="auto-top-up-threshold"
              inputMode="decimal"
              value={amounts.threshold}
              onChange={(event) => setAmounts({ ...amounts, threshold: event.target.value })}
              hint={`${money(view.limits.minCents)} to ${money(view.limits.maxCents)}`}
            />
            <Field
              label="Buy this much ($)"
              name="auto-top-up-amount"
              inputMode="decimal"
              value={amounts.amount}
              onChange={(event) => setAmounts({ ...amounts, amount: event.target.value })}
              hint={`${money(view.limits.minCents)} to ${money(view.limits.maxCents)}, in steps of ${money(view.limits.stepCents)}`}
            />
            <Field
              label="At most this much a month ($)"
              name="auto-top-up-monthly-limit"
              inputMode="decimal"
              value={amounts.monthly}
              onChange={(event) => setAmounts({ ...amounts, monthly: event.target.value })}
              hint={`Up to ${money(view.limits.maxMonthlyLimitCents)}; a calendar month, UTC.`}
            />
            {enabled && !view.cardSaved ? (
              <p className="muted small">
                Saving turns it on through the checkout page: it buys the amount now and saves your card for
                the next top-ups.
              </p>
            ) : null}
            <button type="submit" className="button-primary" disabled={busy}>
              {busy ? "Saving…" : "Save auto top-up"}
            </button>
          </form>
          {view.topUps.length > 0 ? (
            <ul className="plain-list" aria-label="Recent auto top-ups">
              {view.topUps.map((topUp) => (
                <li key={topUp.id} data-testid="auto-topup">
                  {formatDate(topUp.createdAt)}: {formatCents(topUp.amountCents, topUp.currency)}{" "}
                  {statusWords[topUp.status]}
                  {topUp.failureMessage && topUp.status === "failed" ? ` (${topUp.failureMessage})` : null}
                </li>
              ))}
            </ul>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
