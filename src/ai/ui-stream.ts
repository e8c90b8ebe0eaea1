import { UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from "ai";
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
  const encoder = new TextEncoder();
  // False once the client has gone away or the stream is closed: later sends are dropped, never thrown.
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // Chunks that arrive within one turn of the event loop (a burst from the provider) leave as one
      // write: per-write costs are paid per burst, not per word, and nothing waits past that turn.
      let pending = "";
      const flush = () => {
        if (pending !== "" && open) controller.enqueue(encoder.encode(pending));
        pending = "";
      };
      const sendText = (text: string) => {
        if (!open) return;
        if (pending === "") setImmediate(flush);
        pending += text;
      };
      const send: SendChunk = (chunk) => sendText(`data: ${JSON.stringify(chunk)}\n\n`);
      // Not returned: the stream must not wait for the whole answer before it is read.
      void produce(send)
        .catch((error: unknown) => {
          options.logger.error({ err: error }, "chat stream failed");
          send({ type: "error", errorText: failedText });
        })
        .finally(() => {
          sendText("data: [DONE]\n\n");
          flush();
          if (open) controller.close();
          open = false;
        });
    },
    cancel(reason) {
      open = false;
      options.onCancel(reason);
    },
  });
  return new Response(body, { headers: UI_MESSAGE_STREAM_HEADERS });
}
