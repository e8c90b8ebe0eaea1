import type { LanguageModelV3StreamPart } from "@ai-sdk/provider";
import {
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from "ai";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { uiChunkOf } from "./ui-chunks.js";
import { type SendChunk, streamResponse } from "./ui-stream.js";

const logger = createLogger("silent");
const ignoreCancel = () => {};

/** What useChat makes of a response: the same parsing and schema as its DefaultChatTransport. */
async function readAsUseChat(response: Response): Promise<{ message: UIMessage; errors: string[] }> {
  if (!response.body) throw new Error("the response has no body");
  const errors: string[] = [];
  const chunks = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (!result.success) throw result.error;
        const chunk = result.value as UIMessageChunk;
        if (chunk.type === "error") errors.push(chunk.errorText);
        else controller.enqueue(chunk);
      },
    }),
  );
  let message: UIMessage | undefined;
  for await (const state of readUIMessageStream({ stream: chunks })) message = state;
  if (!message) throw new Error("no message was read");
  return { message, errors };
}

const usage = {
  inputTokens: { total: 3, noCache: 3, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 4, text: 4, reasoning: 0 },
};

/** A provider's parts through uiChunkOf and streamResponse, framed and finished as the metered chat does. */
function answer(parts: LanguageModelV3StreamPart[]): Response {
  return streamResponse(
    async (send) => {
      const options = { errorText: () => "It failed." };
      send({ type: "start", messageId: "answer-1", messageMetadata: { model: "mock" } });
      send({ type: "start-step" });
      for (const part of parts) {
        const chunk = uiChunkOf(part, options);
        if (chunk) send(chunk);
      }
      send({ type: "finish-step" });
      send({ type: "finish", messageMetadata: { model: "mock", chargedCents: 2 } });
    },
    { logger, onCancel: ignoreCancel },
  );
}

describe("the chat's UI message stream", () => {
  it("is what the AI SDK's client reads into the message useChat shows", async () => {
    const response = answer([
      { type: "stream-start", warnings: [] },
      { type: "reasoning-start", id: "r" },
      { type: "reasoning-delta", id: "r", delta: "Thinking." },
      { type: "reasoning-end", id: "r" },
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: "Hello" },
      { type: "text-delta", id: "t", delta: " world" },
      { type: "text-end", id: "t" },
      { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
    ]);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    const { message, errors } = await readAsUseChat(response);
    expect(errors).toEqual([]);
    expect(message.id).toBe("answer-1");
    expect(message.metadata).toEqual({ model: "mock", chargedCents: 2 });
    const visible = message.parts.filter((part) => part.type === "text" || part.type === "reasoning");
    expect(visible).toMatchObject([
      { type: "reasoning", text: "Thinking.", state: "done" },
      { type: "text", text: "Hello world", state: "done" },
    ]);
  });

  it("tells the client when the provider fails, with our words rather than the provider's", async () => {
    const response = answer([
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: "Half" },
      { type: "error", error: new Error("upstream said something internal") },
    ]);
    const text = await response.clone().text();
    expect(text).not.toContain("upstream said");
    const { errors } = await readAsUseChat(response);
    expect(errors).toEqual(["It failed."]);
  });

  it("sends a burst of chunks as one write and ends with [DONE]", async () => {
    const response = streamResponse(
      async (send) => {
        send({ type: "start", messageId: "m" });
        send({ type: "text-start", id: "t" });
        send({ type: "text-delta", id: "t", delta: "one burst" });
        await new Promise((resolve) => setTimeout(resolve, 5));
        send({ type: "text-end", id: "t" });
      },
      { logger, onCancel: ignoreCancel },
    );
    const reader = response.body?.getReader();
    if (!reader) throw new Error("the response has no body");
    const writes: string[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      writes.push(new TextDecoder().decode(next.value));
    }
    expect(writes).toHaveLength(2);
    expect(writes[0]?.match(/^data: /gm)).toHaveLength(3);
    expect(writes[1]).toBe('data: {"type":"text-end","id":"t"}\n\ndata: [DONE]\n\n');
  });

  it("answers a failure of its own with an error chunk and still ends the stream", async () => {
    const response = streamResponse(
      async (send) => {
        send({ type: "start", messageId: "m" });
        throw new Error("the database went away");
      },
      { logger, onCancel: ignoreCancel },
    );
    const text = await response.text();
    expect(text).toContain('"type":"error"');
    expect(text).toContain("Try again in a moment.");
    expect(text).not.toContain("database");
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("drops a send that comes after the stream has ended instead of throwing", async () => {
    let late: SendChunk | undefined;
    const response = streamResponse(
      async (send) => {
        late = send;
        send({ type: "start", messageId: "m" });
      },
      { logger, onCancel: ignoreCancel },
    );
    const text = await response.text();
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    // A write to a closed stream throws, and would throw from a timer: the whole process would go.
    expect(() => late?.({ type: "text-delta", id: "t", delta: "too late" })).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("passes a file the model made on as a data URL, and leaves out what the client does not see", () => {
    const options = { errorText: () => "" };
    expect(
      uiChunkOf({ type: "file", mediaType: "image/png", data: new Uint8Array([1, 2]) }, options),
    ).toEqual({
      type: "file",
      mediaType: "image/png",
      url: "data:image/png;base64,AQI=",
    });
    expect(uiChunkOf({ type: "stream-start", warnings: [] }, options)).toBeUndefined();
    expect(
      uiChunkOf({ type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage }, options),
    ).toBeUndefined();
  });

  it("hears a client that goes away, and lets the answer run to its end", async () => {
    let cancelledWith: unknown;
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sendLater: SendChunk | undefined;
    const finished = new Promise<string>((resolve) => {
      const response = streamResponse(
        async (send) => {
          send({ type: "start", messageId: "m" });
          sendLater = send;
          await released;
          // After the client left: sending must neither throw nor reach anyone.
          send({ type: "text-delta", id: "t", delta: "unheard" });
          resolve("ran to its end");
        },
        {
          logger,
          onCancel: (reason) => {
            cancelledWith = reason;
          },
        },
      );
      const reader = response.body?.getReader();
      void reader?.read().then(() => reader.cancel("tab closed"));
    });
    await expect.poll(() => cancelledWith).toBe("tab closed");
    expect(sendLater).toBeDefined();
    release();
    expect(await finished).toBe("ran to its end");
  });
});
