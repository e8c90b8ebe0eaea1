import type { Pages } from "./use-pages.js";

/** Below a paged list: "Loading…" while a page loads, then a button for the next page while there is one. */
export function PagingFooter({ pages }: { pages: Pick<Pages, "loading" | "nextCursor" | "loadMore"> }) {
  if (pages.loading) return <p className="muted small">Loading…</p>;
  if (!pages.nextCursor) return null;
  return (
    <button type="button" className="button-secondary" onClick={pages.loadMore}>
      Show older entries
    </button>
  );
}
