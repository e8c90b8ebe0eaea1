import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { APICallError } from "@ai-sdk/provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompletionRequest } from "./completion.js";
import { knownPrices } from "./models.js";
import { openAiRelay, relayCompletion } from "./openai-relay.js";

// The relay against a local server speaking OpenAI's chat completions, whose behaviour the request's
// model name picks, as an upstream's would vary: every way a stream can end, and what each costs.

type Seen = { headers: IncomingMessage["headers"]; body: Record<string, unknown> };
const seen: Seen[] = [];
let closedEarly = 0;
let server: Server;
let baseUrl: string;

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
const usage = (input: number, output: number) =>
  `data: ${JSON.stringify({ id: "c", choices: [], usage: { prompt_tokens: input, completion_tokens: output } })}\n\n`;
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function answer(model: string, response: ServerResponse) {
  const failures = seen.filter((one) => one.body.model === model).length;
  if (model === "fail500") return response.writeHead(500).end('{"error":{"message":"overloaded"}}');
  if (model === "fail-once" && failures === 1) return response.writeHead(503).end("busy");
  if (model === "bad400") return response.writeHead(400).end('{"error":{"message":"bad messages"}}');
  if (model === "not-a-stream") {
    return response.writeHead(200, { "content-type": "application/json" }).end('{"choices":[]}');
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.write(chunk({ role: "assistant", content: "Hello" }));
  if (model === "garbled") return response.end("data: {not json\n\n");
  if (model === "error-event") return response.end(`data: {"error":{"message":"the model crashed"}}\n\n`);
  if (model === "cut") {
    // After the first chunk has surely left: a destroy discards what is still buffered.
    await sleep(30);
    return response.socket?.destroy();
  }
  if (model === "huge") return response.end(`data: ${"x".repeat(1_200_000)}`);
  if (model === "endless") {
    for (let index = 0; index < 500 && !response.destroyed; index++) {
      response.write(chunk({ content: ` w${index}` }));
      await sleep(10);
    }
    return response.end();
  }
  // Split across writes mid-event, as a real socket may deliver it.
  const rest = chunk({ content: " world" });
  response.write(rest.slice(0, 10));
  await sleep(5);
  response.write(rest.slice(10));
  response.write(chunk({}, model === "long" ? "length" : "stop"));
  if (model !== "nousage") response.write(usage(12, 2));
  response.end(model === "nodone" ? "" : "data: [DONE]\n\n");
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    let text = "";
    for await (const piece of request) text += piece;
    const body = JSON.parse(text) as Record<string, unknown>;
    seen.push({ headers: request.headers, body });
    response.on("close", () => {
      if (!response.writableFinished) closedEarly += 1;
    });
    await answer(String(body.model), response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function relayTo(modelName: string, options: { url?: string; apiKey?: string; openai?: boolean } = {}) {
  return openAiRelay({
    baseUrl: options.url ?? baseUrl,
    apiKey: options.apiKey,
    modelName,
    maxTokensField: options.openai ? "max_completion_tokens" : "max_tokens",
  });
}

function request(overrides: Partial<CompletionRequest> = {}): CompletionRequest & { texts: string[] } {
  const texts: string[] = [];
  return {
    model: {
      id: "compatible:m",
      isDemo: false,
      price: knownPrices.demo ?? { inputPerMillion: 1, outputPerMillion: 1 },
    } as CompletionRequest["model"],
    messages: [
      { role: "system", text: "Be brief." },
      { role: "user", text: "Say hello" },
    ],
    maxOutputTokens: 64,
    abortSignal: new AbortController().signal,
    onText: (text) => texts.push(text),
    texts,
    ...overrides,
  };
}

describe("relayCompletion", () => {
  it("asks for a stream with usage and passes the text on, ending with the upstream's usage and finish", async () => {
    const call = request({ temperature: 0.3 });
    const generation = await relayCompletion(relayTo("normal", { apiKey: "sk-test" }), call);
    expect(call.texts).toEqual(["Hello", " world"]);
    expect(generation).toMatchObject({
      text: "Hello world",
      usage: { inputTokens: 12, outputTokens: 2 },
      finishReason: "stop",
      providerFailed: false,
      failure: undefined,
    });
    const sent = seen.at(-1);
    expect(sent?.headers.authorization).toBe("Bearer sk-test");
    expect(sent?.body).toEqual({
      model: "normal",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
      max_tokens: 64,
      temperature: 0.3,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("sends OpenAI's own API max_completion_tokens, and no Authorization without a key", async () => {
    await relayCompletion(relayTo("normal", { openai: true }), request());
    const sent = seen.at(-1);
    expect(sent?.body.max_completion_tokens).toBe(64);
    expect(sent?.body.max_tokens).toBeUndefined();
    expect(sent?.headers.authorization).toBeUndefined();
  });

  it("reports a stream without usage as finished with no counts, and one cut short by length as length", async () => {
    const noUsage = await relayCompletion(relayTo("nousage"), request());
    expect(noUsage.usage).toEqual({ inputTokens: undefined, outputTokens: undefined });
    expect(noUsage.providerFailed).toBe(false);
    expect(noUsage.finishReason).toBe("stop");
    expect((await relayCompletion(relayTo("long"), request())).finishReason).toBe("length");
    const noDone = await relayCompletion(relayTo("nodone"), request());
    expect(noDone).toMatchObject({ text: "Hello world", finishReason: "stop", providerFailed: false });
  });

  it("retries a retryable failure once before any output, and not a bad request", async () => {
    const before = seen.length;
    const failed = await relayCompletion(relayTo("fail500"), request());
    expect(seen.length - before).toBe(2);
    expect(failed).toMatchObject({ text: "", providerFailed: true, finishReason: "error" });
    expect(APICallError.isInstance(failed.failure) && failed.failure.statusCode).toBe(500);

    const retried = await relayCompletion(relayTo("fail-once"), request());
    expect(retried).toMatchObject({ text: "Hello world", providerFailed: false });

    const between = seen.length;
    const refused = await relayCompletion(relayTo("bad400"), request());
    expect(seen.length - between).toBe(1);
    expect(refused.providerFailed).toBe(true);
    expect(String((refused.failure as Error).message)).toContain("bad messages");
  });

  it("fails a provider it cannot reach, after one retry", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const generation = await relayCompletion(
      relayTo("normal", { url: `http://127.0.0.1:${port}/v1` }),
      request(),
    );
    expect(generation).toMatchObject({ text: "", providerFailed: true, finishReason: "error" });
    expect(String((generation.failure as Error).message)).toMatch(/Cannot reach the model's provider/);
  });

  it("fails on an event that is not JSON, an error event, a cut connection and an oversized event, keeping the text so far", async () => {
    for (const model of ["garbled", "error-event", "cut", "huge"]) {
      const generation = await relayCompletion(relayTo(model), request());
      expect(generation, model).toMatchObject({ text: "Hello", providerFailed: true, finishReason: "error" });
      expect(generation.usage, model).toBeUndefined();
    }
  });

  it("fails a 200 that is not an event stream, so nothing is charged for it", async () => {
    const generation = await relayCompletion(relayTo("not-a-stream"), request());
    expect(generation).toMatchObject({ text: "", providerFailed: true, finishReason: "error" });
    expect(String((generation.failure as Error).message)).toContain("without a single stream event");
  });

  it("stops the upstream when the signal fires, as a client that left: not the provider's failure", async () => {
    const stop = new AbortController();
    const call = request({ abortSignal: stop.signal });
    const closedBefore = closedEarly;
    const running = relayCompletion(relayTo("endless"), {
      ...call,
      onText: (text) => {
        call.texts.push(text);
        if (call.texts.length === 5) stop.abort();
      },
    });
    const generation = await running;
    expect(generation.text.startsWith("Hello w0 w1 w2 w3")).toBe(true);
    expect(generation).toMatchObject({ providerFailed: false, finishReason: "error", usage: undefined });
    await expect.poll(() => closedEarly).toBe(closedBefore + 1);
  });
});
