import { useState } from "react";
import { api } from "../shared/api.js";
import { formatCents, formatDate } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import { useListing } from "../shared/use-listing.js";
import { NewPromoCode } from "./PromoCodesForm.js";

/** A code as `GET /api/admin/promo-codes` lists it; dates are ISO strings. */
export type PromoCode = {
  id: string;
  code: string;
  amountCents: number;
  expiresAt: string | null;
  maxRedemptions: number | null;
  creditDays: number | null;
  redemptions: number;
  disabledAt: string | null;
  createdBy: string;
  createdAt: string;
};

function status(code: PromoCode): string {
  if (code.disabledAt) return `Disabled ${formatDate(code.disabledAt)}`;
  if (code.expiresAt && Date.parse(code.expiresAt) <= Date.now()) return "Expired";
  if (code.maxRedemptions !== null && code.redemptions >= code.maxRedemptions) return "Used up";
  return "Active";
}

/** Promo codes: make one, see how often each was redeemed, disable one (refused from then on). */
export function PromoCodes({ currency }: { currency: string }) {
  const { items: codes, error, reload: load } = useListing<PromoCode>("/api/admin/promo-codes", "codes");
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);

  async function disable(code: PromoCode) {
    const result = await api(`/api/admin/promo-codes/${encodeURIComponent(code.id)}/disable`, {
      method: "POST",
    });
    if (result.error) setMessage({ tone: "error", text: result.error.message });
    else setMessage({ tone: "success", text: `Disabled ${code.code}; it is refused from now on.` });
    await load();
  }

  return (
    // The whole width of the admin grid, as the service keys and webhook cards below it (styles.css).
    <section className="card" style={{ gridColumn: "1 / -1" }} aria-labelledby="promo-codes-title">
      <h2 id="promo-codes-title" className="card-title">
        Promo codes
      </h2>
      <NewPromoCode
        currency={currency}
        onCreated={(code) => {
          setMessage({ tone: "success", text: `Created ${code.code}.` });
          void load();
        }}
      />
      {message ? (
        <Notice tone={message.tone} onDismiss={() => setMessage(null)}>
          {message.text}
        </Notice>
      ) : null}
      {error ? <Notice tone="error">{error.message}</Notice> : null}
      {codes === null && !error ? <p className="muted small">Loading…</p> : null}
      {codes?.length === 0 ? <p className="empty">No promo codes yet.</p> : null}
      {codes && codes.length > 0 ? (
        <div className="table-scroll">
          <table className="entries">
            <caption className="visually-hidden">Promo codes</caption>
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Credit</th>
                <th scope="col">Redeemed</th>
                <th scope="col">Code expires</th>
                <th scope="col">Status</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {codes.map((code) => (
                <tr key={code.id} data-promo-code={code.code}>
                  <td>
                    <code>{code.code}</code>
                  </td>
                  <td className="nowrap">
                    {formatCents(code.amountCents, currency)}
                    {code.creditDays ? <span className="muted small"> · {code.creditDays} days</span> : null}
                  </td>
                  <td className="nowrap" data-testid="redemptions">
                    {code.redemptions}
                    {code.maxRedemptions !== null ? ` of ${code.maxRedemptions}` : ""}
                  </td>
                  <td className="nowrap muted">{code.expiresAt ? formatDate(code.expiresAt) : "Never"}</td>
                  <td className="nowrap">{status(code)}</td>
                  <td>
                    {code.disabledAt ? null : (
                      <button
                        type="button"
                        className="button-secondary button-small"
                        onClick={() => void disable(code)}
                      >
                        Disable
                      </button>
                    )}
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
