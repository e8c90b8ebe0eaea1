import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server speaking the providers' streaming wire formats (OpenAI chat completions SSE
 * and Gemini streamGenerateContent SSE), so the real provider packages run against it. The model
 * name picks the behaviour: `normal`, `slow`, `nousage`, `fail500`, `endless`; `slow-<ms>` waits that
 * long after each word; `hesitant-<ms>` sends nothing at all, not even its headers, for that long
 * (a provider still reading a long prompt), then answers as `normal`.
 */
export type FakeProvider = {
  url: string;
  requests: { path: string; body: Record<string, unknown> }[];
  /** Streams the client closed before the answer ended. */
  closedEarly: number;
  close: () => Promise<void>;
};

export const fakeAnswerWords = ["Paris", " is", " the", " capital", " of", " France."];

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function openAiChunk(delta: Record<string, unknown>, finishReason: string | null = null) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const piece of request) text += piece;
  return text === "" ? {} : JSON.parse(text);
}

/** The number after `prefix-` in a model name such as `slow-500`, or undefined. */
function numberAfter(prefix: string, model: string): number | undefined {
  const match = new RegExp(`^${prefix}-(\\d+)$`).exec(model);
  return match ? Number(match[1]) : undefined;
}

function plan(model: string) {
  if (model === "endless")
    return { words: Array.from({ length: 400 }, (_, index) => ` word${index}`), delayMs: 20 };
  return { words: fakeAnswerWords, delayMs: model === "slow" ? 300 : (numberAfter("slow", model) ?? 0) };
}

/** Waits `milliseconds`, or less if the client goes away first. */
async function waitWhileOpen(milliseconds: number, isOpen: () => boolean) {
  for (let waited = 0; waited < milliseconds && isOpen(); waited += 10) await sleep(10);
}

async function streamOpenAi(model: string, response: ServerResponse, isOpen: () => boolean) {
  const { words, delayMs } = plan(model);
  const send = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
  for (const [index, word] of words.entries()) {
    if (!isOpen()) return;
    send(openAiChunk(index === 0 ? { role: "assistant", content: word } : { content: word }));
    await sleep(delayMs);
  }
  send(openAiChunk({}, "stop"));
  if (model !== "nousage")
    send({
      ...openAiChunk({}),
      choices: [],
      usage: { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 },
    });
  response.end("data: [DONE]\n\n");
}

async function streamGemini(response: ServerResponse) {
  for (const [index, word] of fakeAnswerWords.entries()) {
    const last = index === fakeAnswerWords.length - 1;
    const chunk = {
      candidates: [
        {
          content: { role: "model", parts: [{ text: word }] },
          index: 0,
          ...(last ? { finishReason: "STOP" } : {}),
        },
      ],
      ...(last
        ? { usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 6, totalTokenCount: 17 } }
        : {}),
    };
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  response.end();
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const requests: FakeProvider["requests"] = [];
  const state = { closedEarly: 0 };
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    const path = request.url ?? "";
    requests.push({ path, body });
    let open = true;
    response.on("close", () => {
      if (!response.writableFinished) state.closedEarly += 1;
      open = false;
    });
    const model = typeof body.model === "string" ? body.model : "";
    if (model === "fail500") {
      response.writeHead(500, { "content-type": "application/json" });
      return response.end(JSON.stringify({ error: { message: "upstream exploded", type: "server_error" } }));
    }
    const hesitationMs = numberAfter("hesitant", model);
    if (hesitationMs !== undefined) {
      await waitWhileOpen(hesitationMs, () => open);
      if (!open) return;
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    if (path.includes(":streamGenerateContent")) return streamGemini(response);
    return streamOpenAi(model, response, () => open);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get closedEarly() {
      return state.closedEarly;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
