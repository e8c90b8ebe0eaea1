import { type UIMessage, useChat } from "@ai-sdk/react";
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { focusBuyCredits } from "../account/BuyCredits.js";
import { chatError } from "../shared/api.js";
import { formatCents } from "../shared/money.js";
import { Notice } from "../shared/Notice.js";
import type { ChatMetadata, ModelInfo } from "../shared/types.js";
import { ChatMessage, loadMarkdown } from "./ChatMessage.js";
import { settledAnswer } from "./settled-answer.js";

export type ChatMessageWithCost = UIMessage<ChatMetadata>;

type ChatPanelProps = {
  conversationId: string;
  initialMessages: ChatMessageWithCost[];
  model: ModelInfo | null;
  currency: string;
  /** After each answer: the balance the server reports, so the card updates without a reload. */
  onBalance: (balance: { balanceCents: number; heldCents: number } | null) => void;
  /** While an answer streams: what it holds, so the balance card can say so. */
  onHeld: (heldCents: number) => void;
  onNewChat: () => void;
};

/** `list` with an empty answer (its charge in `metadata`) right after question `questionId`, unless one is there. */
function withAnswerAfter(
  list: ChatMessageWithCost[],
  questionId: string,
  answer: { id: string; metadata: ChatMessageWithCost["metadata"] },
): ChatMessageWithCost[] {
  const at = list.findIndex((message) => message.id === questionId);
  if (at === -1 || list[at + 1]?.role === "assistant") return list;
  const stopped: ChatMessageWithCost = {
    id: answer.id,
    role: "assistant",
    parts: [],
    metadata: { ...answer.metadata, stoppedBeforeStart: true },
  };
  return [...list.slice(0, at + 1), stopped, ...list.slice(at + 1)];
}

/** Streaming chat with the cost of each answer under it, and a way out when credit runs out. */
export function ChatPanel(props: ChatPanelProps) {
  const { conversationId, initialMessages, model, currency, onBalance, onHeld } = props;
  const [input, setInput] = useState("");
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const endRef = useRef<HTMLDivElement>(null);
  const [stoppedId, setStoppedId] = useState<string | null>(null);
  const { messages, setMessages, sendMessage, status, error, stop, regenerate, clearError } =
    useChat<ChatMessageWithCost>({
      id: conversationId,
      messages: initialMessages,
      onFinish: ({ message }) => {
        const metadata = message.metadata;
        if (metadata?.balanceCents !== undefined && metadata.availableCents !== undefined) {
          onBalance({
            balanceCents: metadata.balanceCents,
            heldCents: metadata.balanceCents - metadata.availableCents,
          });
        } else onBalance(null);
      },
      onError: () => onBalance(null),
    });
  const busy = status === "submitted" || status === "streaming";
  const last = messages.at(-1);
  const heldNow = busy && last?.role === "assistant" ? (last.metadata?.heldCents ?? 0) : 0;

  useEffect(() => {
    void loadMarkdown();
  }, []);
  useEffect(() => {
    onHeld(heldNow);
  }, [heldNow, onHeld]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: follow the conversation as it grows.
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [messages]);

  function send(event?: FormEvent) {
    event?.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    clearError();
    void sendMessage({ text });
    setInput("");
  }

  // Stopping closes the stream before its finish, so what the answer cost is read back from the
  // conversation the server saved once it settled the hold.
  async function stopAnswer() {
    const last = messages.at(-1);
    const answer = status === "streaming" && last?.role === "assistant" ? last : undefined;
    await stop();
    if (answer) {
      setStoppedId(answer.id);
      const settled = await settledAnswer({ conversationId, answerId: answer.id });
      if (settled) {
        setMessages((list) =>
          list.map((message) =>
            message.id === answer.id
              ? { ...message, metadata: { ...message.metadata, ...settled.metadata } }
              : message,
          ),
        );
      }
      setStoppedId(null);
    } else if (last?.role === "user") {
      // Stopped before the server's first chunk: the page never learned the answer's id, yet the
      // server may have begun and charged for reading the question. If it did, its answer shows
      // under the question with what it cost.
      const settled = await settledAnswer({ conversationId, questionId: last.id });
      if (settled) setMessages((list) => withAnswerAfter(list, last.id, settled));
    }
    onBalance(null);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) send(event);
  }

  const problem = error ? chatError(error) : null;
  return (
    <section className="card chat-card" aria-labelledby="chat-title">
      <header className="chat-header">
        <h2 id="chat-title" className="card-title">
          Ask the AI
        </h2>
        <div className="chat-header-side">
          {model ? (
            <span className="muted small">
              Up to {formatCents(model.maxCentsPerAnswer, currency)} per answer
            </span>
          ) : null}
          <button
            type="button"
            className="button-secondary button-small"
            onClick={props.onNewChat}
            disabled={busy}
          >
            New chat
          </button>
        </div>
      </header>
      {model?.isDemo ? (
        <p className="demo-banner">
          <strong>Demo model.</strong> Answers are sample text, but tokens are counted and charged exactly as
          with a real model.
        </p>
      ) : null}
      <div className="messages" aria-live="polite" aria-busy={busy}>
        {messages.length === 0 ? (
          <p className="empty">Ask anything to start. Each answer shows what it cost.</p>
        ) : null}
        {messages.map((message, index) => (
          <ChatMessage
            key={message.id}
            message={message}
            currency={currency}
            streaming={busy && index === messages.length - 1}
            settling={message.id === stoppedId}
          />
        ))}
        {status === "submitted" ? (
          <p className="thinking muted small">Reserving credit and thinking…</p>
        ) : null}
        <div ref={endRef} />
      </div>
      {problem?.code === "INSUFFICIENT_CREDITS" ? (
        <Notice tone="warning" title="Not enough credit for an answer">
          <p>
            {problem.neededCents !== undefined && problem.availableCents !== undefined
              ? `This answer needs up to ${formatCents(problem.neededCents, currency)} and ${formatCents(Math.max(0, problem.availableCents), currency)} is available. Buy credits to continue.`
              : problem.message}
          </p>
          <button type="button" className="button-primary button-small" onClick={focusBuyCredits}>
            Buy credits
          </button>
        </Notice>
      ) : problem ? (
        <Notice tone="error" title="The answer failed">
          <p>{problem.message}</p>
          <button type="button" className="button-secondary button-small" onClick={() => void regenerate()}>
            Try again
          </button>
        </Notice>
      ) : null}
      <form className="composer" onSubmit={send}>
        <label htmlFor="chat-input" className="visually-hidden">
          Your question
        </label>
        <textarea
          id="chat-input"
          ref={inputRef}
          rows={2}
          placeholder="Ask a question…"
          value={input}
          onChange={(event) => setInput(event.target.value)}
          onKeyDown={onKeyDown}
          maxLength={32_000}
        />
        {busy ? (
          <button type="button" className="button-secondary" onClick={() => void stopAnswer()}>
            Stop
          </button>
        ) : (
          <button type="submit" className="button-primary" disabled={!input.trim()}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}
