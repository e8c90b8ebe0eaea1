import type { Me, PublicConfig } from "../shared/types.js";
import { AlertsSettings } from "./AlertsSettings.js";
import { AutoTopUp } from "./AutoTopUp.js";
import { ChangePassword } from "./ChangePassword.js";
import { DeleteAccount } from "./DeleteAccount.js";
import { Purchases } from "./Purchases.js";
import { SpendLimit } from "./SpendLimit.js";
import { VerifyEmailNotice } from "./VerifyEmailNotice.js";

/** `/account`: who the person is, their purchases and receipts, password, and deleting the account. */
export function AccountPage({
  me,
  config,
  onDeleted,
}: {
  me: Me;
  config: PublicConfig;
  onDeleted: () => void;
}) {
  return (
    <div className="stack">
      <section className="card" aria-labelledby="account-title">
        <h1 id="account-title">Your account</h1>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{me.user.name}</dd>
          <dt>Email</dt>
          <dd data-testid="account-email">
            {me.user.email} {me.user.emailVerified ? <span className="badge">confirmed</span> : null}
          </dd>
        </dl>
      </section>
      {me.user.emailVerified ? null : (
        <VerifyEmailNotice email={me.user.email} localMailbox={config.localMailbox} />
      )}
      <AutoTopUp />
      <Purchases currency={config.currency} />
      <SpendLimit currency={config.currency} />
      <AlertsSettings currency={config.currency} />
      <ChangePassword />
      <DeleteAccount onDeleted={onDeleted} />
    </div>
  );
}
