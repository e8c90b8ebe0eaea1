import { useEffect, useState } from "react";
import { type ApiError, api } from "../shared/api.js";
import { formatDate } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

/** A delivery as `GET /api/admin/webhook-deliveries` lists it. Dates are ISO strings. */
export type WebhookDelivery = {
  id: string;
  eventId: string;
  type: string;
  customer: string;
  endpointUrl: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
};

type Listing = { endpoints: string[]; deliveries: WebhookDelivery[] };

/** What the last attempt came to: its HTTP status, its error, or nothing yet. */
function lastOutcome(delivery: WebhookDelivery): string {
  if (delivery.lastError) {
    return delivery.lastStatus === null
      ? delivery.lastError
      : `${delivery.lastStatus}: ${delivery.lastError}`;
  }
  if (delivery.lastStatus !== null) return String(delivery.lastStatus);
  return "Not tried yet";
}

/**
 * Outgoing webhooks as the admin sees them: the endpoints from WEBHOOK_ENDPOINTS (active while the
 * setting lists them) and the newest deliveries with their attempts, refreshed on demand.
 */
export function WebhookDeliveries() {
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(false);

  async function load() {
    setLoading(true);
    const result = await api<Listing>("/api/admin/webhook-deliveries");
    setLoading(false);
    if (result.error) setError(result.error);
    else {
      setError(null);
      setListing(result.data);
    }
  }

  // biome-ignore lint/correctness/useExhaustiveDependencies: the deliveries, once, on opening.
  useEffect(() => {
    void load();
  }, []);

  // Deliveries to an endpoint no longer configured stay listed; their endpoint shows as inactive.
  const endpoints = listing
    ? [
        ...listing.endpoints.map((url) => ({ url, active: true })),
        ...[...new Set(listing.deliveries.map((delivery) => delivery.endpointUrl))]
          .filter((url) => !listing.endpoints.includes(url))
          .map((url) => ({ url, active: false })),
      ]
    : [];

  return (
    <section className="card webhook-deliveries" aria-labelledby="webhook-deliveries-title">
      <div className="card-title-row">
        <h2 id="webhook-deliveries-title" className="card-title">
          Webhook deliveries
        </h2>
        <button
          type="button"
          className="button-secondary button-small"
          disabled={loading}
          onClick={() => void load()}
        >
          {loading ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      {error ? <Notice tone="error">{error.message}</Notice> : null}
      {listing === null && !error ? <p className="muted small">Loading…</p> : null}
      {listing && endpoints.length === 0 ? (
        <p className="empty">
          No webhook endpoints. List your app's URLs in <code>WEBHOOK_ENDPOINTS</code> (comma-separated) and
          restart Coinslot; <code>npm run cli -- webhook-secret &lt;url&gt;</code> prints the secret each
          endpoint checks signatures with.
        </p>
      ) : null}
      {endpoints.length > 0 ? (
        <ul className="webhook-endpoints">
          {endpoints.map((endpoint) => (
            <li key={endpoint.url} data-endpoint={endpoint.url}>
              <code>{endpoint.url}</code>{" "}
              <span className="muted small">
                {endpoint.active ? "Active" : "Inactive (no longer in WEBHOOK_ENDPOINTS)"}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {listing && endpoints.length > 0 && listing.deliveries.length === 0 ? (
        <p className="empty">No deliveries yet: events are sent as purchases, refunds and alerts happen.</p>
      ) : null}
      {listing && listing.deliveries.length > 0 ? (
        <div className="table-scroll">
          <table className="entries">
            <caption className="visually-hidden">Newest webhook deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Customer</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last result</th>
                <th scope="col">Next attempt</th>
              </tr>
            </thead>
            <tbody>
              {listing.deliveries.map((delivery) => (
                <tr
                  key={delivery.id}
                  data-delivery-type={delivery.type}
                  data-customer={delivery.customer}
                  data-status={delivery.status}
                >
                  <td className="nowrap muted">{formatDate(delivery.createdAt)}</td>
                  <td>
                    <code>{delivery.type}</code>
                  </td>
                  <td>{delivery.customer}</td>
                  <td>
                    <code>{delivery.endpointUrl}</code>
                  </td>
                  <td className="nowrap">
                    {delivery.status === "delivered"
                      ? "Delivered"
                      : delivery.status === "pending"
                        ? "Pending"
                        : "Failed"}
                  </td>
                  <td>{delivery.attempts}</td>
                  <td>{lastOutcome(delivery)}</td>
                  <td className="nowrap muted">
                    {delivery.nextAttemptAt ? formatDate(delivery.nextAttemptAt) : "—"}
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
