import type { TextStreamPart, ToolSet, UIMessageChunk } from "ai";

type Part = TextStreamPart<ToolSet>;

export type ChunkOptions = {
  messageId: string;
  /** Sent with the `start` chunk. */
  startMetadata: Record<string, unknown>;
  /** What the client reads when the provider fails; the error itself stays in the server's log. */
  errorText: () => string;
};

/**
 * The UI message chunk for one part of streamText's `fullStream`, the same one toUIMessageStream sends
 * for a chat without tools or sources; undefined for what the client does not see (the `finish`,
 * sent after settlement with the charge, raw provider data). Mapped here rather than through
 * toUIMessageStream: its three stream hops per part cost a short answer about 1.5 ms, a third of the
 * metering budget. `UIMessageChunk` types every chunk, so a protocol change fails the type check.
 *
 * @example
 * for await (const part of result.fullStream) { const chunk = uiChunkOf(part, options); if (chunk) send(chunk); }
 */
export function uiChunkOf(part: Part, options: ChunkOptions): UIMessageChunk | undefined {
  const providerMetadata =
    "providerMetadata" in part && part.providerMetadata != null
      ? { providerMetadata: part.providerMetadata }
      : {};
  switch (part.type) {
    case "text-start":
    case "text-end":
    case "reasoning-start":
    case "reasoning-end":
      return { type: part.type, id: part.id, ...providerMetadata };
    case "text-delta":
    case "reasoning-delta":
      return { type: part.type, id: part.id, delta: part.text, ...providerMetadata };
    case "file":
      return {
        type: "file",
        mediaType: part.file.mediaType,
        url: `data:${part.file.mediaType};base64,${part.file.base64}`,
        ...providerMetadata,
      };
    case "start":
      return { type: "start", messageId: options.messageId, messageMetadata: options.startMetadata };
    case "start-step":
    case "finish-step":
      return { type: part.type };
    case "error":
      return { type: "error", errorText: options.errorText() };
    case "abort":
      return { type: "abort", ...(part.reason != null ? { reason: part.reason } : {}) };
    default:
      // finish (sent after settlement), raw provider data, and tools and sources, which no chat uses.
      return undefined;
  }
}
