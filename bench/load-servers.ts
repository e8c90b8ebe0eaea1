import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { serve } from "@hono/node-server";
import { convertToModelMessages, streamText, type UIMessage } from "ai";
import { Hono } from "hono";

/**
 * The two servers bench/chat-load.ts measures Coinslot against, each run as a process of its own so
 * that its CPU is its own: `upstream <chunks> <delayMs>`, an OpenAI-compatible chat completions server
 * streaming `chunks` words `delayMs` apart and then its usage (the bare upstream); and
 * `plain <upstream url>`, the plain AI SDK route with no credits (`streamText` →
 * `toUIMessageStreamResponse()` on Hono); and `pipe <upstream url>`, the least any relay in front of
 * the upstream can do: each request's body sent on to the upstream over kept-alive connections and
 * its answer's bytes piped back untouched (no key, no ledger, no parsing), the floor under what a
 * gateway costs on this machine (bench/gateway.ts). Each prints `listening <port>` once it listens.
 */

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function drain(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const piece of request) text += piece;
  return text;
}

function completionChunk(delta: Record<string, unknown>, finishReason: string | null = null) {
  return {
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1,
    model: "bench",
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

async function answer(response: ServerResponse, chunks: number, delayMs: number) {
  let open = true;
  response.on("close", () => {
    open = false;
  });
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
  for (let index = 0; index < chunks && open; index++) {
    send(
      completionChunk(index === 0 ? { role: "assistant", content: "Word0" } : { content: ` word${index}` }),
    );
    if (delayMs > 0) await sleep(delayMs);
  }
  send(completionChunk({}, "stop"));
  send({
    ...completionChunk({}),
    choices: [],
    usage: { prompt_tokens: 20, completion_tokens: chunks, total_tokens: 20 + chunks },
  });
  response.end("data: [DONE]\n\n");
}

function startUpstream(chunks: number, delayMs: number): Promise<number> {
  const server = createServer(async (request, response) => {
    await drain(request);
    await answer(response, chunks, delayMs);
  });
  server.listen(0, "127.0.0.1");
  return listening(server);
}

function startPlain(upstreamUrl: string): Promise<number> {
  const model = createOpenAICompatible({ name: "compatible", baseURL: upstreamUrl, includeUsage: true })(
    "bench",
  );
  const app = new Hono();
  app.post("/api/chat", async (context) => {
    const { messages } = (await context.req.json()) as { messages: UIMessage[] };
    return streamText({
      model,
      messages: await convertToModelMessages(messages),
      maxOutputTokens: 1024,
    }).toUIMessageStreamResponse();
  });
  return listening(serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server);
}

function startPipe(upstreamUrl: string): Promise<number> {
  const target = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  const server = createServer(async (request, response) => {
    const body = await drain(request);
    const outgoing = httpRequest(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: request.url,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on("error", () => response.destroy());
    response.on("close", () => {
      // The client left before the end: so does the upstream call.
      if (!response.writableFinished) outgoing.destroy();
    });
    outgoing.end(body);
  });
  server.listen(0, "127.0.0.1");
  return listening(server);
}

function listening(server: Server): Promise<number> {
  const port = () => (server.address() as AddressInfo).port;
  if (server.listening) return Promise.resolve(port());
  return new Promise((resolve) => server.once("listening", () => resolve(port())));
}

async function main() {
  const [role, first, second] = process.argv.slice(2);
  const port =
    role === "upstream"
      ? await startUpstream(Number(first ?? 40), Number(second ?? 0))
      : role === "pipe"
        ? await startPipe(first ?? "")
        : await startPlain(first ?? "");
  process.stdout.write(`listening ${port}\n`);
  process.on("SIGTERM", () => process.exit(0));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
