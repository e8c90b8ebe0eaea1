import { useEffect, useState } from "react";
import { type ApiError, api } from "../shared/api.js";
import { formatDate } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { ConversationSummary } from "../shared/types.js";

/** The user's saved conversations; opening one continues it in the chat. */
export function ConversationsPanel({ onOpen }: { onOpen: (conversationId: string) => void }) {
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
            <li key={conversation.id}>
              <button type="button" className="conversation" onClick={() => onOpen(conversation.id)}>
                <span className="conversation-title">{conversation.title}</span>
                <span className="muted small">{formatDate(conversation.updatedAt)}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
