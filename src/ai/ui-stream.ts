import { UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from "ai";
import { eventStreamResponse } from "../kit/event-stream.js";
import type { Logger } from "../logger.js";

/** Sends one chunk of the UI message stream; a no-op once the client has gone away. */
export type SendChunk = (chunk: UIMessageChunk) => void;

const failedText = "Something went wrong on our side. Try again in a moment.";

/**
 * The response useChat reads: the AI SDK's UI message stream as server-sent events (`data: <json>`
 * per chunk, `data: [DONE]` at the end), written by `produce`. One stream instead of the SDK's chain of
 * four (createUIMessageStream, SSE, text encoding): each hop costs every chunk a few promise turns,
 * which is most of a chat's metering overhead. `produce` runs to its end even when the client goes
 * away, so the answer is still settled; `onCancel` hears of it first (to stop the model).
 *
 * @example
 * return streamResponse(async (send) => send({ type: "start" }), { logger, onCancel: () => {} });
 */
export function streamResponse(
  produce: (send: SendChunk) => Promise<void>,
  options: { logger: Logger; onCancel: (reason: unknown) => void },
): Response {
  return eventStreamResponse((send) => produce(send), {
    headers: UI_MESSAGE_STREAM_HEADERS,
    onCancel: options.onCancel,
    onFailure: (error, send) => {
      options.logger.error({ err: error }, "chat stream failed");
      send({ type: "error", errorText: failedText });
    },
  });
}
