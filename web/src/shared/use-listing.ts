import { useCallback, useEffect, useState } from "react";
import { type ApiError, api } from "./api.js";

export type Listing<Item> = {
  /** Null until the first answer. */
  items: Item[] | null;
  error: ApiError | null;
  /** Reads the list again (after a change); resolves once it is shown. */
  reload: () => Promise<void>;
};

/**
 * A list read from `path` on opening, taken from its answer's `field` (`GET /api/keys` answers
 * `{keys: [...]}`): the list, the error of the last read, and a way to read it again.
 *
 * @example
 * const { items: keys, error, reload } = useListing<PersonalKey>("/api/keys", "keys");
 */
export function useListing<Item>(path: string, field: string): Listing<Item> {
  const [items, setItems] = useState<Item[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const reload = useCallback(async () => {
    const result = await api<Record<string, Item[]>>(path);
    if (result.error) setError(result.error);
    else {
      setError(null);
      setItems(result.data[field] ?? []);
    }
  }, [path, field]);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { items, error, reload };
}
