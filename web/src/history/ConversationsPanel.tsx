import { useEffect, useState } from "react";
import { type ApiError, api } from "../shared/api.js";
import { Notice } from "../shared/Notice.js";
import type { ConversationSummary } from "../shared/types.js";
import { ConversationRow } from "./ConversationRow.js";

type Props = {
  currency: string;
  onOpen: (conversationId: string) => void;
  /** After a delete: the chat may have this conversation open. */
  onDeleted: (conversationId: string) => void;
};

/** The user's saved conversations with what each cost; open, rename or delete one. */
export function ConversationsPanel({ currency, onOpen, onDeleted }: Props) {
  const [conversations, setConversations] = useState<ConversationSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    let active = true;
    void api<{ conversations: ConversationSummary[] }>("/api/conversations?limit=50").then((result) => {
      if (!active) return;
      if (result.error) setError(result.error);
      else setConversations(result.data.conversations);
    });
    return () => {
      active = false;
    };
  }, []);

  return (
    <section className="card" aria-labelledby="conversations-title">
      <h2 id="conversations-title" className="card-title">
        Conversations
      </h2>
      {error ? <Notice tone="error">{error.message}</Notice> : null}
      {!conversations && !error ? <p className="muted small">Loading…</p> : null}
      {conversations?.length === 0 ? (
        <p className="empty">No conversations yet. Ask the AI something to start one.</p>
      ) : null}
      {conversations && conversations.length > 0 ? (
        <ul className="conversation-list">
          {conversations.map((conversation) => (
            <ConversationRow
              key={conversation.id}
              conversation={conversation}
              currency={currency}
              onOpen={onOpen}
              onRenamed={(renamed) =>
                setConversations((list) =>
                  (list ?? []).map((entry) => (entry.id === renamed.id ? { ...entry, ...renamed } : entry)),
                )
              }
              onDeleted={(conversationId) => {
                setConversations((list) => (list ?? []).filter((entry) => entry.id !== conversationId));
                onDeleted(conversationId);
              }}
            />
          ))}
        </ul>
      ) : null}
    </section>
  );
}
