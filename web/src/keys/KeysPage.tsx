import { useState } from "react";
import { api } from "../shared/api.js";
import { Notice } from "../shared/Notice.js";
import { useListing } from "../shared/use-listing.js";
import { KeysHowTo } from "./KeysHowTo.js";
import { KeyTable } from "./KeyTable.js";
import { NewPersonalKey } from "./NewPersonalKey.js";
import type { PersonalKey } from "./types.js";

/**
 * `/keys`: the person's own API keys for their scripts and apps, which call the OpenAI-compatible
 * gateway on their credits. Make one (its secret shown once), see them all, revoke one.
 */
export function KeysPage({ currency, model }: { currency: string; model: string | null }) {
  const { items: keys, error, reload: load } = useListing<PersonalKey>("/api/keys", "keys");
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);

  async function revoke(key: PersonalKey) {
    const result = await api(`/api/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    if (result.error) setMessage({ tone: "error", text: result.error.message });
    else setMessage({ tone: "success", text: `Revoked “${key.name}”; its next call is refused.` });
    await load();
  }

  return (
    <div className="stack">
      <section className="card" aria-labelledby="keys-title">
        <h1 id="keys-title" className="card-title">
          API keys
        </h1>
        <p className="muted small keys-intro">
          Keys let your own scripts and apps call AI models through Coinslot, paid from your credits. Give
          each one its own key, so you can revoke it alone, and a monthly limit if you like.
        </p>
        <NewPersonalKey
          currency={currency}
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
        {keys?.length === 0 ? <p className="empty">No API keys yet.</p> : null}
        {keys && keys.length > 0 ? <KeyTable keys={keys} currency={currency} onRevoke={revoke} /> : null}
      </section>
      <KeysHowTo model={model} />
    </div>
  );
}
