/** Sends one server-sent event's `data:` (JSON-encoded); a no-op once the client has gone away. */
export type SendEvent = (data: unknown) => void;

/**
 * A server-sent event stream (`data: <json>` per event, `data: [DONE]` at the end, as both the AI
 * SDK's UI message stream and OpenAI's streaming completions end), written by `produce`. Events that
 * arrive within one turn of the event loop (a burst from the provider) leave as one write, so
 * per-write costs are paid per burst, not per word. `produce` runs to its end even when the client
 * goes away (so what it started is still settled); `onCancel` hears of the leaving first, and
 * `onFailure` turns an error thrown by `produce` into a last event.
 *
 * @example
 * return eventStreamResponse(async (send) => send({ hello: "world" }), { headers, onCancel, onFailure });
 */
export function eventStreamResponse(
  produce: (send: SendEvent) => Promise<void>,
  options: {
    headers: Record<string, string>;
    onCancel: (reason: unknown) => void;
    onFailure: (error: unknown, send: SendEvent) => void;
  },
): Response {
  const encoder = new TextEncoder();
  // False once the client has gone away or the stream is closed: later sends are dropped, never thrown.
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
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
      const send: SendEvent = (data) => sendText(`data: ${JSON.stringify(data)}\n\n`);
      // Not returned: the stream must not wait for the whole answer before it is read.
      void produce(send)
        .catch((error: unknown) => options.onFailure(error, send))
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
  return new Response(body, { headers: options.headers });
}
