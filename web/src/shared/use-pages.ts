import { useCallback, useEffect, useState } from "react";
import { type ApiError, api } from "./api.js";
import type { Entry, EntryPage } from "./types.js";

export type Pages = {
  entries: Entry[];
  nextCursor: string | null;
  loading: boolean;
  error: ApiError | null;
  loadMore: () => void;
  reload: () => void;
};

/** Ledger entries a page at a time from `path` (which answers `{entries, nextCursor}`). */
export function useEntryPages(path: string | null, pageSize = 20): Pages {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(
    async (cursor: string | null) => {
      if (!path) return;
      setLoading(true);
      setError(null);
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (cursor) query.set("cursor", cursor);
      const result = await api<EntryPage>(`${path}?${query}`);
      setLoading(false);
      if (result.error) {
        setError(result.error);
        return;
      }
      setEntries((current) => (cursor ? [...current, ...result.data.entries] : result.data.entries));
      setNextCursor(result.data.nextCursor);
    },
    [path, pageSize],
  );

  useEffect(() => {
    setEntries([]);
    void load(null);
  }, [load]);

  return {
    entries,
    nextCursor,
    loading,
    error,
    loadMore: () => void load(nextCursor),
    reload: () => void load(null),
  };
}
