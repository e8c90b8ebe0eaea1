import { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";

/** Sends one server-sent event's `data:` (JSON-encoded); a no-op once the client has gone away. */
export type SendEvent = (data: unknown) => void;

/** Sends one event whose `data:` is JSON text already (a caller that builds it cheaper than JSON.stringify). */
export type SendEventText = (json: string) => void;

type Produce = (send: SendEvent, sendText: SendEventText) => Promise<void>;

type EventStreamOptions = {
  headers: Record<string, string>;
  onCancel: (reason: unknown) => void;
  onFailure: (error: unknown, send: SendEvent) => void;
};

/**
 * Runs `produce` and feeds what it sends to `write`, `end` at the end: events that arrive within one
 * turn of the event loop (a burst from the provider) leave as one write, so per-write costs are paid
 * per burst, not per word. `isOpen` false (the client left, the stream is closed) drops later sends.
 */
function pump(
  produce: Produce,
  options: EventStreamOptions,
  sink: { write: (text: string) => void; end: () => void; isOpen: () => boolean },
): void {
  let pending = "";
  const flush = () => {
    if (pending !== "" && sink.isOpen()) sink.write(pending);
    pending = "";
  };
  const sendRaw = (text: string) => {
    if (!sink.isOpen()) return;
    if (pending === "") setImmediate(flush);
    pending += text;
  };
  const sendText: SendEventText = (json) => sendRaw(`data: ${json}\n\n`);
  const send: SendEvent = (data) => sendRaw(`data: ${JSON.stringify(data)}\n\n`);
  void produce(send, sendText)
    .catch((error: unknown) => options.onFailure(error, send))
    .finally(() => {
      sendRaw("data: [DONE]\n\n");
      flush();
      sink.end();
    });
}

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
export function eventStreamResponse(produce: Produce, options: EventStreamOptions): Response {
  const encoder = new TextEncoder();
  // False once the client has gone away or the stream is closed: later sends are dropped, never thrown.
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      pump(produce, options, {
        write: (text) => controller.enqueue(encoder.encode(text)),
        end: () => {
          if (open) controller.close();
          open = false;
        },
        isOpen: () => open,
      });
    },
    cancel(reason) {
      open = false;
      options.onCancel(reason);
    },
  });
  return new Response(body, { headers: options.headers });
}

/**
 * `eventStreamResponse`, written straight to Node's response when the request came through
 * @hono/node-server (`outgoing`, its `context.env.outgoing`): no web stream between the events and
 * the socket, and no adapter reading one, which costs every event a few promise turns and a copy.
 * Answers the marker that tells the adapter the response is sent; without a Node response (Hono's
 * `app.request`, another runtime), the web stream as before.
 *
 * @example
 * return eventStreamTo(context.env?.outgoing, async (send) => send({ hello: "world" }), options);
 */
export function eventStreamTo(outgoing: unknown, produce: Produce, options: EventStreamOptions): Response {
  if (!(outgoing instanceof ServerResponse) || outgoing.headersSent) {
    return eventStreamResponse(produce, options);
  }
  const response = outgoing;
  let open = true;
  response.on("close", () => {
    // Closed before the end was written: the client went away.
    if (!open) return;
    open = false;
    options.onCancel(new Error("The client closed the connection."));
  });
  // Writes after the socket failed are dropped by `open`; the failure itself is the client leaving.
  response.on("error", () => {});
  response.writeHead(200, options.headers);
  pump(produce, options, {
    write: (text) => {
      response.write(text);
    },
    end: () => {
      if (open) response.end();
      open = false;
    },
    isOpen: () => open && !response.destroyed,
  });
  return RESPONSE_ALREADY_SENT;
}
