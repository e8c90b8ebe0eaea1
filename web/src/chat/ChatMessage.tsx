import { lazy, Suspense } from "react";
import { formatCents } from "../shared/money.js";
import type { ChatMessageWithCost } from "./ChatPanel.js";

// The Markdown renderer is about as large as the rest of the app together, so it loads in its own
// file: signing in and buying never wait for it, and ChatPanel asks for it as soon as the chat shows.
export const loadMarkdown = () => import("./Markdown.js");
const Markdown = lazy(() => loadMarkdown().then((module) => ({ default: module.Markdown })));

function textOf(message: ChatMessageWithCost): string {
  return message.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
}

function costLine(
  message: ChatMessageWithCost,
  currency: string,
  state: { streaming: boolean; settling: boolean },
): string | null {
  const metadata = message.metadata;
  if (state.settling && metadata?.chargedCents === undefined) return "Stopped · working out what it cost…";
  if (state.streaming) {
    return metadata?.heldCents
      ? `Answering… up to ${formatCents(metadata.heldCents, currency)} reserved`
      : "Answering…";
  }
  if (metadata?.chargedCents === undefined) return null;
  if (metadata.replayed) return "Already answered — not charged again";
  // The server let the hold go: the model was never called.
  if (metadata.stoppedBeforeStart && metadata.chargedCents === 0)
    return "Stopped before the answer began — not charged";
  const parts = [`Cost ${formatCents(metadata.chargedCents, currency)}`];
  if (metadata.interrupted) {
    parts.push(
      textOf(message) === ""
        ? "stopped before the first word, charged for reading the question"
        : "stopped early, charged for what was written",
    );
  }
  return parts.join(" · ");
}

/** One turn of the chat; an answer carries what it cost underneath. */
export function ChatMessage({
  message,
  currency,
  streaming,
  settling = false,
}: {
  message: ChatMessageWithCost;
  currency: string;
  streaming: boolean;
  /** Stopped, and its charge not known yet. */
  settling?: boolean;
}) {
  const mine = message.role === "user";
  const cost = mine ? null : costLine(message, currency, { streaming, settling });
  const text = textOf(message);
  return (
    <article className={`message ${mine ? "message-user" : "message-assistant"}`}>
      <h3 className="visually-hidden">{mine ? "You" : "AI"}</h3>
      {mine ? (
        // The person's own words stay exactly as typed: plain text, never Markdown.
        <div className="bubble">{text}</div>
      ) : (
        <div className="bubble bubble-markdown">
          {text ? (
            <Suspense fallback={text}>
              <Markdown text={text} streaming={streaming} />
            </Suspense>
          ) : streaming ? (
            "…"
          ) : (
            ""
          )}
        </div>
      )}
      {cost ? (
        <p className="cost" data-testid={streaming || settling ? undefined : "answer-cost"}>
          {cost}
        </p>
      ) : null}
    </article>
  );
}
