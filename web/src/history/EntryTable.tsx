import type { ReactNode } from "react";
import { formatCents, formatChange, formatDate, kindInWords } from "../shared/money.js";
import type { Entry, EntryLot } from "../shared/types.js";

const categoryWords = { paid: "paid credit", promo: "promotional credit" } as const;

/** Which credit an entry made or used: "promotional credit, expires Mar 2" or "from paid credit $0.20". */
function lotsInWords(entry: Entry, currency: string): string | null {
  const lots = entry.lots ?? [];
  if (lots.length === 0) return null;
  const expiry = (lot: EntryLot) =>
    lot.expiresAt ? `expires ${formatDate(lot.expiresAt)}` : "never expires";
  if (entry.amountCents > 0) {
    const [lot] = lots as [EntryLot];
    return `${categoryWords[lot.category]}, ${expiry(lot)}`;
  }
  return `from ${lots.map((lot) => `${categoryWords[lot.category]} ${formatCents(lot.amountCents, currency)}`).join(", ")}`;
}

/** Ledger entries as a table: when, what (and which credit it made or used), kind in words, and the signed amount. */
export function EntryTable({
  entries,
  currency,
  caption,
  action,
}: {
  entries: Entry[];
  currency: string;
  caption: string;
  action?: (entry: Entry) => ReactNode;
}) {
  return (
    <div className="table-scroll">
      <table className="entries">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Description</th>
            <th scope="col">Kind</th>
            <th scope="col" className="amount">
              Amount
            </th>
            {action ? <th scope="col">Action</th> : null}
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id} data-kind={entry.kind}>
              <td className="nowrap muted">{formatDate(entry.createdAt)}</td>
              <td>
                {entry.description}
                {lotsInWords(entry, currency) ? (
                  <span className="muted small entry-lots">{lotsInWords(entry, currency)}</span>
                ) : null}
              </td>
              <td>
                <span className={`kind kind-${entry.kind}`}>{kindInWords(entry.kind)}</span>
              </td>
              <td className={`amount ${entry.amountCents > 0 ? "positive" : "negative"}`}>
                {formatChange(entry.amountCents, currency)}
              </td>
              {action ? <td>{action(entry)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
