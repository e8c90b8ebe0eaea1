import { type FormEvent, useEffect, useState } from "react";
import { type ApiError, api } from "../shared/api.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { AccountDetail } from "./AccountDetail.js";
import { PromoCodes } from "./PromoCodes.js";
import { ServiceKeys } from "./ServiceKeys.js";
import { WebhookDeliveries } from "./WebhookDeliveries.js";

export type AccountSummary = { userId: string; email: string; balanceCents: number; heldCents: number };

/** Admins find an account by email or id, then read its ledger and adjust or refund; manage service keys; and follow webhook deliveries. */
export function AdminPage({ currency }: { currency: string }) {
  const [query, setQuery] = useState("");
  const [accounts, setAccounts] = useState<AccountSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  // From the latest search, so an adjustment shows the new balance at once.
  const selected = accounts?.find((account) => account.userId === selectedId) ?? null;

  async function search(event?: FormEvent) {
    event?.preventDefault();
    setError(null);
    const result = await api<{ accounts: AccountSummary[] }>(
      `/api/admin/accounts?${new URLSearchParams({ query: query.trim() })}`,
    );
    if (result.error) setError(result.error);
    else setAccounts(result.data.accounts);
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: the newest accounts, once, on opening.
  useEffect(() => {
    void search();
  }, []);

  return (
    <div className="admin">
      <section className="card" aria-labelledby="accounts-title">
        <h2 id="accounts-title" className="card-title">
          Accounts
        </h2>
        <form className="search-row" onSubmit={search}>
          <label htmlFor="account-search" className="visually-hidden">
            Search accounts by email or user id
          </label>
          <input
            id="account-search"
            type="search"
            placeholder="Email or user id"
            value={query}
            onChange={(event) => setQuery(event.target.value)}
          />
          <button type="submit" className="button-primary">
            Search
          </button>
        </form>
        {error ? <Notice tone="error">{error.message}</Notice> : null}
        {accounts === null && !error ? <p className="muted small">Loading…</p> : null}
        {accounts?.length === 0 ? <p className="empty">No account matches “{query}”.</p> : null}
        {accounts && accounts.length > 0 ? (
          <ul className="account-list">
            {accounts.map((account) => (
              <li key={account.userId}>
                <button
                  type="button"
                  className="account"
                  aria-current={selected?.userId === account.userId ? true : undefined}
                  onClick={() => setSelectedId(account.userId)}
                >
                  <span className="account-email">{account.email}</span>
                  <span className="account-balance">{formatCents(account.balanceCents, currency)}</span>
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      {selected ? (
        <AccountDetail
          key={selected.userId}
          account={selected}
          currency={currency}
          onChanged={() => void search()}
        />
      ) : (
        <section className="card">
          <p className="empty">Choose an account to see its balance and history.</p>
        </section>
      )}
      <PromoCodes currency={currency} />
      <ServiceKeys />
      <WebhookDeliveries />
    </div>
  );
}
