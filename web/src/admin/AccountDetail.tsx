import { useState } from "react";
import { EntryTable } from "../history/EntryTable.js";
import { api } from "../shared/api.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { PagingFooter } from "../shared/PagingFooter.js";
import type { Entry } from "../shared/types.js";
import { useEntryPages } from "../shared/use-pages.js";
import { AdjustmentForm } from "./AdjustmentForm.js";
import type { AccountSummary } from "./AdminPage.js";

const simulatedSessionPrefix = "cs_sim_";

/** One account for an admin: balance, ledger, a credit adjustment, and refunds of test payments. */
export function AccountDetail({
  account,
  currency,
  onChanged,
}: {
  account: AccountSummary;
  currency: string;
  onChanged: () => void;
}) {
  const pages = useEntryPages(`/api/admin/accounts/${encodeURIComponent(account.userId)}/entries`);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);

  function changed(text: string) {
    setMessage({ tone: "success", text });
    pages.reload();
    onChanged();
  }

  async function refund(entry: Entry) {
    const result = await api(`/api/admin/payments/${encodeURIComponent(entry.reference ?? "")}/refund`, {
      method: "POST",
    });
    setConfirming(null);
    if (result.error) setMessage({ tone: "error", text: result.error.message });
    else changed(`Refunded ${formatCents(entry.amountCents, currency)} to ${account.email}.`);
  }

  function refundAction(entry: Entry) {
    if (entry.kind !== "purchase" || !entry.reference?.startsWith(simulatedSessionPrefix)) return null;
    if (confirming === entry.id) {
      return (
        <button type="button" className="button-danger button-small" onClick={() => void refund(entry)}>
          Confirm refund
        </button>
      );
    }
    return (
      <button type="button" className="button-secondary button-small" onClick={() => setConfirming(entry.id)}>
        Refund
      </button>
    );
  }

  return (
    <section className="card" aria-labelledby="account-title">
      <h2 id="account-title" className="card-title">
        {account.email}
      </h2>
      <p className="muted small">User id {account.userId}</p>
      <p className="balance-amount" data-testid="admin-balance">
        {formatCents(account.balanceCents, currency)}
      </p>
      {account.heldCents > 0 ? (
        <p className="muted small">{formatCents(account.heldCents, currency)} held</p>
      ) : null}
      {message ? (
        <Notice tone={message.tone} onDismiss={() => setMessage(null)}>
          {message.text}
        </Notice>
      ) : null}
      <AdjustmentForm userId={account.userId} currency={currency} onDone={changed} />
      <h3 className="section-title">Ledger</h3>
      {pages.error ? <Notice tone="error">{pages.error.message}</Notice> : null}
      {pages.entries.length > 0 ? (
        <EntryTable
          entries={pages.entries}
          currency={currency}
          caption={`Credit history of ${account.email}`}
          action={refundAction}
        />
      ) : !pages.loading ? (
        <p className="empty">No entries.</p>
      ) : null}
      <PagingFooter pages={pages} />
    </section>
  );
}
