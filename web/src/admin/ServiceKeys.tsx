import { useState } from "react";
import { api } from "../shared/api.js";
import { formatDate } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { useListing } from "../shared/use-listing.js";
import { NewServiceKey } from "./NewServiceKey.js";

/** A key as `GET /api/admin/service-keys` lists it: never its secret. Dates are ISO strings. */
export type ServiceKey = {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

/**
 * The service keys other apps' backends call `/v1/*` with: list them, make one, revoke one after a
 * confirmation (refused from the app's next request on).
 */
export function ServiceKeys() {
  const { items: keys, error, reload: load } = useListing<ServiceKey>("/api/admin/service-keys", "keys");
  const [confirming, setConfirming] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);

  async function revoke(key: ServiceKey) {
    const result = await api(`/api/admin/service-keys/${encodeURIComponent(key.id)}/revoke`, {
      method: "POST",
    });
    setConfirming(null);
    if (result.error) setMessage({ tone: "error", text: result.error.message });
    else setMessage({ tone: "success", text: `Revoked “${key.name}”; its next request is refused.` });
    await load();
  }

  function actions(key: ServiceKey) {
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
        <button type="button" className="button-danger button-small" onClick={() => void revoke(key)}>
          Confirm revoke
        </button>
        <button type="button" className="button-quiet button-small" onClick={() => setConfirming(null)}>
          Cancel
        </button>
      </span>
    );
  }

  return (
    <section className="card service-keys" aria-labelledby="service-keys-title">
      <h2 id="service-keys-title" className="card-title">
        Service keys
      </h2>
      <p className="muted small service-keys-intro">
        Your apps' backends call <code>/v1/*</code> with <code>Authorization: Bearer &lt;secret&gt;</code>.
      </p>
      <NewServiceKey
        onCreated={() => {
          setMessage(null);
          void load();
        }}
      />
      {message ? (
        <Notice tone={message.tone} onDismiss={() => setMessage(null)}>
          {message.text}
        </Notice>
      ) : null}
      {error ? <Notice tone="error">{error.message}</Notice> : null}
      {keys === null && !error ? <p className="muted small">Loading…</p> : null}
      {keys?.length === 0 ? <p className="empty">No service keys yet.</p> : null}
      {keys && keys.length > 0 ? (
        <div className="table-scroll">
          <table className="entries">
            <caption className="visually-hidden">Service keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
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
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td className="nowrap muted">{formatDate(key.createdAt)}</td>
                  <td className="nowrap muted">{key.lastUsedAt ? formatDate(key.lastUsedAt) : "Never"}</td>
                  <td className="nowrap">
                    {key.revokedAt ? `Revoked ${formatDate(key.revokedAt)}` : "Active"}
                  </td>
                  <td>{actions(key)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
