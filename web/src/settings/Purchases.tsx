import { useEffect, useState } from "react";
import { api } from "../shared/api.js";
import { formatCents, formatDate } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

type Purchase = {
  id: string;
  amountCents: number;
  currency: string;
  reference: string;
  refundedCents: number;
  paidAt: string;
  receiptUrl: string;
};

/** The person's credited purchases, newest first, each with its receipt. */
export function Purchases({ currency }: { currency: string }) {
  const [purchases, setPurchases] = useState<Purchase[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void api<{ purchases: Purchase[] }>("/api/purchases").then((result) => {
      if (result.error) setError(result.error.message);
      else setPurchases(result.data.purchases);
    });
  }, []);

  return (
    <section className="card" aria-labelledby="purchases-title">
      <h2 id="purchases-title">Purchases</h2>
      {error ? <Notice tone="error">{error}</Notice> : null}
      {purchases === null && !error ? <p className="muted">Loading…</p> : null}
      {purchases?.length === 0 ? (
        <p className="muted">No purchases yet. Credits you buy are listed here, each with a receipt.</p>
      ) : null}
      {purchases && purchases.length > 0 ? (
        <div className="table-scroll">
          <table className="entries">
            <caption className="visually-hidden">Your purchases</caption>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col" className="amount">
                  Amount
                </th>
                <th scope="col">Reference</th>
                <th scope="col">Receipt</th>
              </tr>
            </thead>
            <tbody>
              {purchases.map((purchase) => (
                <tr key={purchase.id} data-testid="purchase">
                  <td className="nowrap muted">{formatDate(purchase.paidAt)}</td>
                  <td className="amount">
                    {formatCents(purchase.amountCents, purchase.currency || currency)}
                    {purchase.refundedCents > 0
                      ? ` (${formatCents(purchase.refundedCents, purchase.currency)} refunded)`
                      : null}
                  </td>
                  <td className="muted reference">{purchase.reference}</td>
                  <td>
                    <a href={purchase.receiptUrl} target="_blank" rel="noopener">
                      Receipt
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
