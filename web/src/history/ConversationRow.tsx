import { type FormEvent, useId, useState } from "react";
import { type ApiError, api } from "../shared/api.js";
import { formatCents, formatDate } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { ConversationSummary } from "../shared/types.js";

const longestTitle = 200;

type Mode = "view" | "renaming" | "confirming-delete";

type Props = {
  conversation: ConversationSummary;
  currency: string;
  onOpen: (conversationId: string) => void;
  onRenamed: (conversation: ConversationSummary) => void;
  onDeleted: (conversationId: string) => void;
};

/** One saved conversation: open it, rename it, or delete it after a confirmation. */
export function ConversationRow({ conversation, currency, onOpen, onRenamed, onDeleted }: Props) {
  const [mode, setMode] = useState<Mode>("view");
  const [title, setTitle] = useState(conversation.title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const titleId = useId();
  const path = `/api/conversations/${encodeURIComponent(conversation.id)}`;

  function switchTo(next: Mode) {
    setError(null);
    setTitle(conversation.title);
    setMode(next);
  }

  async function rename(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const result = await api<{ conversation: ConversationSummary }>(path, {
      method: "PATCH",
      body: { title: title.trim() },
    });
    setBusy(false);
    if (result.error) return setError(result.error);
    onRenamed(result.data.conversation);
    setMode("view");
  }

  async function remove() {
    setBusy(true);
    const result = await api(path, { method: "DELETE" });
    setBusy(false);
    if (result.error) return setError(result.error);
    onDeleted(conversation.id);
  }

  return (
    <li className="conversation-row" data-testid="conversation">
      {mode === "renaming" ? (
        <form className="conversation-rename" onSubmit={(event) => void rename(event)}>
          <label htmlFor={`${titleId}-input`} className="visually-hidden">
            New title
          </label>
          <input
            id={`${titleId}-input`}
            value={title}
            maxLength={longestTitle}
            onChange={(event) => setTitle(event.target.value)}
            // biome-ignore lint/a11y/noAutofocus: the person just asked to type a new title.
            autoFocus
          />
          <button type="submit" className="button-primary button-small" disabled={busy || !title.trim()}>
            Save
          </button>
          <button type="button" className="button-secondary button-small" onClick={() => switchTo("view")}>
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" className="conversation" onClick={() => onOpen(conversation.id)}>
          <span className="conversation-title" id={titleId}>
            {conversation.title}
          </span>
          <span className="conversation-meta muted small">
            <span data-testid="conversation-cost">{formatCents(conversation.totalCostCents, currency)}</span>
            {" · "}
            {formatDate(conversation.updatedAt)}
          </span>
        </button>
      )}
      {mode === "view" ? (
        <div className="conversation-actions">
          <button
            type="button"
            className="button-quiet button-small"
            aria-describedby={titleId}
            onClick={() => switchTo("renaming")}
          >
            Rename
          </button>
          <button
            type="button"
            className="button-quiet button-small"
            aria-describedby={titleId}
            onClick={() => switchTo("confirming-delete")}
          >
            Delete
          </button>
        </div>
      ) : null}
      {mode === "confirming-delete" ? (
        <div className="conversation-confirm">
          <p className="small">
            Delete this conversation and its messages? What its answers cost stays in your history.
          </p>
          <button
            type="button"
            className="button-danger button-small"
            disabled={busy}
            onClick={() => void remove()}
          >
            Delete conversation
          </button>
          <button type="button" className="button-secondary button-small" onClick={() => switchTo("view")}>
            Keep it
          </button>
        </div>
      ) : null}
      {error ? <Notice tone="error">{error.message}</Notice> : null}
    </li>
  );
}
