import { formatCents } from "../shared/money.js";
import type { ChatMessageWithCost } from "./ChatPanel.js";

function textOf(message: ChatMessageWithCost): string {
  return message.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
}

function costLine(message: ChatMessageWithCost, currency: string, streaming: boolean): string | null {
  const metadata = message.metadata;
  if (streaming) {
    return metadata?.heldCents
      ? `Answering… up to ${formatCents(metadata.heldCents, currency)} reserved`
      : "Answering…";
  }
  if (metadata?.chargedCents === undefined) return null;
  if (metadata.replayed) return "Already answered — not charged again";
  const parts = [`Cost ${formatCents(metadata.chargedCents, currency)}`];
  if (metadata.interrupted) parts.push("stopped early, charged for what was written");
  return parts.join(" · ");
}

/** One turn of the chat; an answer carries what it cost underneath. */
export function ChatMessage({
  message,
  currency,
  streaming,
}: {
  message: ChatMessageWithCost;
  currency: string;
  streaming: boolean;
}) {
  const mine = message.role === "user";
  const cost = mine ? null : costLine(message, currency, streaming);
  return (
    <article className={`message ${mine ? "message-user" : "message-assistant"}`}>
      <h3 className="visually-hidden">{mine ? "You" : "AI"}</h3>
      <div className="bubble">{textOf(message) || (streaming ? "…" : "")}</div>
      {cost ? (
        <p className="cost" data-testid={streaming ? undefined : "answer-cost"}>
          {cost}
        </p>
      ) : null}
    </article>
  );
}
