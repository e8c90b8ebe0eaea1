import { useCallback, useEffect, useState } from "react";
import { BalanceCard } from "./account/BalanceCard.js";
import { BuyCredits } from "./account/BuyCredits.js";
import { CheckoutNotice } from "./account/CheckoutNotice.js";
import { useCheckoutReturn } from "./account/checkout-return.js";
import { RedeemCode } from "./account/RedeemCode.js";
import { AdminPage } from "./admin/AdminPage.js";
import { type ChatMessageWithCost, ChatPanel } from "./chat/ChatPanel.js";
import { ConversationsPanel } from "./history/ConversationsPanel.js";
import { HistoryPanel } from "./history/HistoryPanel.js";
import { KeysPage } from "./keys/KeysPage.js";
import { AccountPage } from "./settings/AccountPage.js";
import { AlertsBanner } from "./settings/AlertsBanner.js";
import { VerifyEmailNotice } from "./settings/VerifyEmailNotice.js";
import { api } from "./shared/api.js";
import { Notice } from "./shared/Notice.js";
import { usePath } from "./shared/router.js";
import type { Me, ModelInfo, PublicConfig } from "./shared/types.js";
import { TopBar } from "./TopBar.js";

type OpenChat = { id: string; messages: ChatMessageWithCost[] };

function newChat(): OpenChat {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return { id: Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(""), messages: [] };
}

type Props = {
  config: PublicConfig;
  me: Me;
  onMe: (me: Me) => void;
  onRefresh: () => Promise<void>;
  onSignedOut: () => void;
};

/** The signed-in app: balance and buying on the side, chat, history, conversations, API keys and admin. */
export function SignedInApp({ config, me, onMe, onRefresh, onSignedOut }: Props) {
  const [path, navigate] = usePath();
  const [chat, setChat] = useState<OpenChat>(newChat);
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [streamingHeldCents, setStreamingHeldCents] = useState(0);
  const [openError, setOpenError] = useState<string | null>(null);
  const checkout = useCheckoutReturn(() => void onRefresh());
  const { currency } = config;

  // The checkout notice belongs to the page the person came back to; elsewhere it would go stale.
  const dismissCheckout = checkout.dismiss;
  useEffect(() => {
    if (path !== "/") dismissCheckout();
  }, [path, dismissCheckout]);

  useEffect(() => {
    void api<ModelInfo>("/api/chat/model").then((result) => setModel(result.data));
  }, []);

  const onBalance = useCallback(
    (balance: { balanceCents: number; heldCents: number } | null) => {
      if (balance) onMe({ ...me, ...balance });
      else void onRefresh();
    },
    [me, onMe, onRefresh],
  );

  async function openConversation(conversationId: string) {
    setOpenError(null);
    const result = await api<{ messages: ChatMessageWithCost[] }>(
      `/api/conversations/${encodeURIComponent(conversationId)}`,
    );
    if (result.error) {
      setOpenError(result.error.message);
      return;
    }
    const messages = result.data.messages.map((message) => ({
      id: message.id,
      role: message.role,
      parts: message.parts,
      metadata: message.metadata ?? undefined,
    }));
    setChat({ id: conversationId, messages });
    navigate("/");
  }

  async function signOut() {
    await api("/api/auth/sign-out", { body: {} });
    window.history.replaceState(null, "", "/");
    onSignedOut();
  }

  function deleted() {
    window.history.replaceState(null, "", "/");
    onSignedOut();
  }

  const isAdminPage = path === "/admin";
  const awaitingVerification = config.requireEmailVerification && !me.user.emailVerified;
  return (
    <div className="shell">
      <TopBar me={me} path={path} navigate={navigate} onSignOut={signOut} />
      <div className={`layout ${isAdminPage ? "layout-wide" : ""}`}>
        {checkout.outcome ? (
          <div className="layout-notice">
            <CheckoutNotice outcome={checkout.outcome} currency={currency} onDismiss={checkout.dismiss} />
          </div>
        ) : null}
        <AlertsBanner
          currency={currency}
          balanceCents={me.balanceCents}
          showTopUpNotice={path !== "/account"}
        />
        {awaitingVerification && path !== "/account" ? (
          <div className="layout-notice">
            <VerifyEmailNotice email={me.user.email} localMailbox={config.localMailbox} />
          </div>
        ) : null}
        {isAdminPage ? null : (
          <aside className="side" aria-label="Your credits">
            <BalanceCard
              balanceCents={me.balanceCents}
              heldCents={Math.max(me.heldCents, streamingHeldCents)}
              nextExpiry={me.nextExpiry ?? null}
              currency={currency}
            />
            <BuyCredits config={config} />
            <RedeemCode currency={currency} onRedeemed={() => void onRefresh()} />
          </aside>
        )}
        <main className="content" id="main">
          {openError ? <Notice tone="error">{openError}</Notice> : null}
          <div hidden={path !== "/"}>
            <ChatPanel
              key={chat.id}
              conversationId={chat.id}
              initialMessages={chat.messages}
              model={model}
              currency={currency}
              onBalance={onBalance}
              onHeld={setStreamingHeldCents}
              onNewChat={() => setChat(newChat())}
            />
          </div>
          {path === "/history" ? <HistoryPanel currency={currency} /> : null}
          {path === "/conversations" ? (
            <ConversationsPanel
              currency={currency}
              onOpen={(id) => void openConversation(id)}
              onDeleted={(id) => setChat((open) => (open.id === id ? newChat() : open))}
            />
          ) : null}
          {isAdminPage ? (
            me.user.isAdmin ? (
              <AdminPage currency={currency} />
            ) : (
              <Notice tone="warning">Only admins (listed in ADMIN_EMAILS) can see this page.</Notice>
            )
          ) : null}
          {path === "/keys" ? <KeysPage currency={currency} model={model?.model ?? null} /> : null}
          {path === "/account" ? <AccountPage me={me} config={config} onDeleted={deleted} /> : null}
          {!["/", "/history", "/conversations", "/keys", "/admin", "/account"].includes(path) ? (
            <Notice tone="info" title="Page not found">
              <button type="button" className="button-link" onClick={() => navigate("/")}>
                Back to the chat
              </button>
            </Notice>
          ) : null}
        </main>
      </div>
    </div>
  );
}
