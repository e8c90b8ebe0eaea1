import type { ReactNode } from "react";
import { formatChange, formatDate, kindInWords } from "../shared/money.js";
import type { Entry } from "../shared/types.js";

/** Ledger entries as a table: when, what, kind in words, and the signed amount. */
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
              <td>{entry.description}</td>
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
