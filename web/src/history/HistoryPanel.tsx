import { Notice } from "../shared/Notice.js";
import { PagingFooter } from "../shared/PagingFooter.js";
import { useEntryPages } from "../shared/use-pages.js";
import { EntryTable } from "./EntryTable.js";

/** Usage history: every change to the balance, newest first, a page at a time. */
export function HistoryPanel({ currency }: { currency: string }) {
  const pages = useEntryPages("/api/ledger");
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title" className="card-title">
        Usage history
      </h2>
      {pages.error ? (
        <Notice tone="error" title="History could not load">
          <p>{pages.error.message}</p>
          <button type="button" className="button-secondary button-small" onClick={pages.reload}>
            Try again
          </button>
        </Notice>
      ) : null}
      {pages.entries.length > 0 ? (
        <EntryTable entries={pages.entries} currency={currency} caption="Your credit history" />
      ) : !pages.loading && !pages.error ? (
        <p className="empty">No activity yet. Purchases and AI usage will appear here.</p>
      ) : null}
      <PagingFooter pages={pages} />
    </section>
  );
}
