import type { LanguageModelV3StreamPart } from "@ai-sdk/provider";
import type { UIMessageChunk } from "ai";

export type ChunkOptions = {
  /** What the client reads when the provider fails; the error itself stays in the server's log. */
  errorText: () => string;
};

/**
 * The UI message chunk for one part of the provider's own stream (the language model's `doStream`),
 * the one `streamText(...).toUIMessageStream()` would send for a chat without tools or sources;
 * undefined for what the client does not see (the finish, sent after settlement with the charge,
 * raw provider data, response metadata). Mapped here rather than through streamText and
 * toUIMessageStream: their stream hops cost about as much CPU as the provider's own parsing
 * (bench/gateway.ts, bench/chat-load.ts). `UIMessageChunk` types every chunk, so a protocol change
 * fails the type check. The caller sends `start`, `start-step` and `finish-step` around them.
 *
 * @example
 * const chunk = uiChunkOf(part, { errorText: () => "It failed." }); if (chunk) send(chunk);
 */
export function uiChunkOf(
  part: LanguageModelV3StreamPart,
  options: ChunkOptions,
): UIMessageChunk | undefined {
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
      return { type: part.type, id: part.id, delta: part.delta, ...providerMetadata };
    case "file": {
      const data = typeof part.data === "string" ? part.data : Buffer.from(part.data).toString("base64");
      return { type: "file", mediaType: part.mediaType, url: `data:${part.mediaType};base64,${data}` };
    }
    case "error":
      return { type: "error", errorText: options.errorText() };
    default:
      // finish (sent after settlement), stream-start, response metadata, raw provider data, and
      // tools and sources, which no chat uses.
      return undefined;
  }
}
