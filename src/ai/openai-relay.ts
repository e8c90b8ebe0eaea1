import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { APICallError } from "@ai-sdk/provider";
import { createParser } from "eventsource-parser";
import { type CompletionRequest, type Generation, runGeneration } from "./completion.js";

/**
 * An upstream that speaks OpenAI's chat completions itself (`openai:` and `compatible:` models), which
 * the gateway can call in that format directly. Reading its stream through the AI SDK provider (fetch's
 * web streams, SSE parsing, schema validation, the provider's transform) costs about 4 ms of CPU per
 * 40-chunk completion, more than the whole rest of a gateway call; the same stream read from Node's own
 * socket with the AI SDK's SSE parser costs a fraction of it (bench/gateway.ts).
 */
export type OpenAiRelay = {
  /** The upstream's chat completions endpoint. */
  url: URL;
  apiKey: string | undefined;
  /** The model's name at the upstream. */
  modelName: string;
  /** OpenAI's API refuses `max_tokens` for its reasoning models; other servers know only `max_tokens`. */
  maxTokensField: "max_tokens" | "max_completion_tokens";
  agent: HttpAgent;
};

/** A relay to `baseUrl`'s chat completions, with its own kept-alive connections. */
export function openAiRelay(input: {
  baseUrl: string;
  apiKey: string | undefined;
  modelName: string;
  maxTokensField: OpenAiRelay["maxTokensField"];
}): OpenAiRelay {
  const url = new URL(`${input.baseUrl.replace(/\/+$/, "")}/chat/completions`);
  const Agent = url.protocol === "https:" ? HttpsAgent : HttpAgent;
  return {
    url,
    apiKey: input.apiKey,
    modelName: input.modelName,
    maxTokensField: input.maxTokensField,
    agent: new Agent({ keepAlive: true }),
  };
}

// An upstream's error answer is read for its message, never without bound.
const errorBodyLimitBytes = 16 * 1024;
// A single event larger than this is not a chat completion chunk: the stream is refused, not buffered.
const eventLimitBytes = 1024 * 1024;

function requestBody(relay: OpenAiRelay, request: CompletionRequest): Record<string, unknown> {
  return {
    model: relay.modelName,
    messages: request.messages.map((message) => ({ role: message.role, content: message.text })),
    [relay.maxTokensField]: request.maxOutputTokens,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    stream: true,
    stream_options: { include_usage: true },
  };
}

function readBounded(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    response.setEncoding("utf8");
    response.on("data", (piece: string) => {
      if (text.length < errorBodyLimitBytes) text += piece;
    });
    response.on("end", () => resolve(text.slice(0, errorBodyLimitBytes)));
    response.on("error", () => resolve(text));
    response.on("close", () => resolve(text));
  });
}

// As the AI SDK's providers judge it: a timeout, a conflict, a rate limit or the server's own failure
// may pass on a second try; anything else would fail the same way again.
const isRetryableStatus = (status: number) =>
  status === 408 || status === 409 || status === 429 || status >= 500;

/** Sends the request; resolves with the streaming response, or rejects with an APICallError. */
function open(
  relay: OpenAiRelay,
  body: Record<string, unknown>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const payload = JSON.stringify(body);
  const send = relay.url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const failed = (
      message: string,
      extra: { statusCode?: number; responseBody?: string; cause?: unknown },
    ) =>
      reject(
        new APICallError({
          message,
          url: relay.url.href,
          requestBodyValues: body,
          isRetryable: extra.statusCode === undefined || isRetryableStatus(extra.statusCode),
          ...extra,
        }),
      );
    const outgoing = send(
      relay.url,
      {
        method: "POST",
        agent: relay.agent,
        signal,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          accept: "text/event-stream",
          ...(relay.apiKey ? { authorization: `Bearer ${relay.apiKey}` } : {}),
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status === 200) return resolve(response);
        void readBounded(response).then((text) =>
          failed(`The model's provider answered ${status}: ${text || "(no body)"}`, {
            statusCode: status,
            responseBody: text,
          }),
        );
      },
    );
    outgoing.on("error", (error) =>
      failed(`Cannot reach the model's provider: ${error.message}`, { cause: error }),
    );
    outgoing.end(payload);
  });
}

/** The request, with one quick retry when it fails in a way the provider calls retryable, before any output. */
async function openWithRetry(relay: OpenAiRelay, request: CompletionRequest): Promise<IncomingMessage> {
  const body = requestBody(relay, request);
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(relay, body, request.abortSignal);
    } catch (error) {
      const retryable = APICallError.isInstance(error) && error.isRetryable;
      if (attempt >= 2 || !retryable || request.abortSignal.aborted) throw error;
    }
  }
}

type Chunk = {
  error?: unknown;
  choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
};

const finishReasons: Record<string, Generation["finishReason"]> = {
  stop: "stop",
  length: "length",
  content_filter: "content_filter",
};

const tokens = (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;

/** Reads the upstream's SSE into `generation`, passing text on; resolves when the stream has ended. */
function readStream(
  response: IncomingMessage,
  request: CompletionRequest,
  generation: Generation,
  fail: (error: unknown) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    let finishReason: Generation["finishReason"] = "other";
    let usage: Generation["usage"];
    let pendingBytes = 0;
    let events = 0;
    const refuse = (message: string) => {
      fail(new Error(message));
      response.destroy();
    };
    const parser = createParser({
      onEvent: (event) => {
        pendingBytes = 0;
        events += 1;
        if (event.data === "[DONE]") {
          finished = true;
          return;
        }
        let chunk: Chunk;
        try {
          chunk = JSON.parse(event.data) as Chunk;
        } catch {
          return refuse(`The model's provider sent an event that is not JSON: ${event.data.slice(0, 200)}`);
        }
        if (chunk.error)
          return refuse(
            `The model's provider failed mid-stream: ${JSON.stringify(chunk.error).slice(0, 500)}`,
          );
        const choice = chunk.choices?.[0];
        const delta = choice?.delta?.content;
        if (typeof delta === "string" && delta !== "") {
          generation.text += delta;
          request.onText(delta);
        }
        if (typeof choice?.finish_reason === "string")
          finishReason = finishReasons[choice.finish_reason] ?? "other";
        if (chunk.usage) {
          usage = {
            inputTokens: tokens(chunk.usage.prompt_tokens),
            outputTokens: tokens(chunk.usage.completion_tokens),
          };
        }
      },
    });
    response.setEncoding("utf8");
    response.on("data", (piece: string) => {
      pendingBytes += piece.length;
      if (pendingBytes > eventLimitBytes)
        return refuse("The model's provider sent an event over 1 MiB; refused.");
      parser.feed(piece);
    });
    response.on("end", () => {
      finished = true;
    });
    response.on("error", (error) => fail(error));
    response.on("close", () => {
      // Ended as a stream ends (its [DONE], or its end), not cut: then it finished, as the AI SDK's
      // providers report a stream that ends without a finish reason ("other").
      if (finished && events === 0 && generation.failure === undefined) {
        // A 200 that is no event stream (a server that ignored `stream`): nothing was generated.
        fail(
          new Error("The model's provider answered without a single stream event; is it OpenAI-compatible?"),
        );
      } else if (finished && generation.failure === undefined && !request.abortSignal.aborted) {
        generation.finishReason = finishReason;
        generation.usage = usage ?? { inputTokens: undefined, outputTokens: undefined };
      } else if (!request.abortSignal.aborted) {
        fail(generation.failure ?? new Error("The model's provider closed the stream before its end."));
      }
      resolve();
    });
  });
}

/**
 * `generateCompletion`'s contract (completion.ts) for a model whose upstream speaks OpenAI's format:
 * the same Generation, text passed on as it comes, the provider stopped when `abortSignal` fires, one
 * retry of a retryable start, and never a throw.
 *
 * @example
 * const generation = await relayCompletion(model.openAiRelay, { model, messages, maxOutputTokens: 256, abortSignal, onText });
 */
export function relayCompletion(relay: OpenAiRelay, request: CompletionRequest): Promise<Generation> {
  return runGeneration(request.abortSignal, async (generation, fail) => {
    const response = await openWithRetry(relay, request);
    await readStream(response, request, generation, fail);
  });
}
