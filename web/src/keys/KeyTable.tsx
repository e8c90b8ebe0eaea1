import { useState } from "react";
import { formatCents, formatDate } from "../shared/money.js";
import type { PersonalKey } from "./types.js";

/**
 * The person's keys, newest first, each revocable after a confirmation. Revoked keys stay listed,
 * marked so, because they explain past spending.
 */
export function KeyTable({
  keys,
  currency,
  onRevoke,
}: {
  keys: PersonalKey[];
  currency: string;
  onRevoke: (key: PersonalKey) => Promise<void>;
}) {
  const [confirming, setConfirming] = useState<string | null>(null);

  function actions(key: PersonalKey) {
    if (key.revokedAt) return null;
    if (confirming !== key.id) {
      return (
        <button type="button" className="button-secondary button-small" onClick={() => setConfirming(key.id)}>
          Revoke
        </button>
      );
    }
    return (
      <span className="confirm-row">
        <button
          type="button"
          className="button-danger button-small"
          onClick={() => void onRevoke(key).then(() => setConfirming(null))}
        >
          Confirm revoke
        </button>
        <button type="button" className="button-quiet button-small" onClick={() => setConfirming(null)}>
          Cancel
        </button>
      </span>
    );
  }

  return (
    <div className="table-scroll">
      <table className="entries">
        <caption className="visually-hidden">Your API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Monthly limit</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id} data-key-prefix={key.prefix} data-revoked={key.revokedAt ? true : undefined}>
              <td>{key.name}</td>
              <td className="nowrap">
                <code>{key.prefix}…</code>
              </td>
              <td className="nowrap">
                {key.monthlyLimitCents === null ? "No limit" : formatCents(key.monthlyLimitCents, currency)}
              </td>
              <td className="nowrap muted">{formatDate(key.createdAt)}</td>
              <td className="nowrap muted">{key.lastUsedAt ? formatDate(key.lastUsedAt) : "Never"}</td>
              <td>{key.revokedAt ? `Revoked ${formatDate(key.revokedAt)}` : "Active"}</td>
              <td>{actions(key)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
