import { type FormEvent, useState } from "react";
import { api } from "../shared/api.js";
import { Field } from "../shared/Field.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";

type Redemption = { code: string; amountCents: number; creditExpiresAt: string };

/** A box for a promo code: redeems it (any letter case) and says what it added and until when. */
export function RedeemCode({ currency, onRedeemed }: { currency: string; onRedeemed: () => void }) {
  const [code, setCode] = useState("");
  const [codeError, setCodeError] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function redeem(event: FormEvent) {
    event.preventDefault();
    setOutcome(null);
    if (!code.trim()) {
      setCodeError("Type the code you were given.");
      return;
    }
    setCodeError(undefined);
    setBusy(true);
    const result = await api<{ redemption: Redemption }>("/api/promo-codes/redeem", { body: { code } });
    setBusy(false);
    if (result.error) {
      setOutcome({ tone: "error", text: result.error.message });
      return;
    }
    const { amountCents, creditExpiresAt } = result.data.redemption;
    const until = new Date(creditExpiresAt).toLocaleDateString(undefined, { dateStyle: "medium" });
    setOutcome({ tone: "success", text: `${formatCents(amountCents, currency)} added. Use it by ${until}.` });
    setCode("");
    onRedeemed();
  }

  return (
    <section className="card" aria-labelledby="redeem-title">
      <h2 id="redeem-title" className="card-title">
        Have a code?
      </h2>
      <form onSubmit={redeem} noValidate>
        <Field
          label="Promo code"
          name="promo-code"
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          maxLength={64}
          value={code}
          onChange={(event) => setCode(event.target.value)}
          error={codeError}
        />
        <button type="submit" className="button-secondary button-wide" disabled={busy}>
          {busy ? "Redeeming…" : "Redeem"}
        </button>
      </form>
      {outcome ? (
        <Notice tone={outcome.tone} onDismiss={() => setOutcome(null)}>
          {outcome.text}
        </Notice>
      ) : null}
    </section>
  );
}
