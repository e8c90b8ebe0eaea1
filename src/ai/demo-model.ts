import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import { decode, encode } from "gpt-tokenizer/encoding/cl100k_base";
import { asPlainText, countPromptTokens, countTextTokens, type TextMessage } from "./tokens.js";

export const demoModelId = "demo";

const longestQuotedQuestion = 200;

function promptMessages(prompt: LanguageModelV3Prompt): TextMessage[] {
  return prompt.map((message) => {
    if (typeof message.content === "string") return { role: message.role, text: message.content };
    const text = message.content
      .map((part) => (part.type === "text" || part.type === "reasoning" ? part.text : ""))
      .join("");
    return { role: message.role, text };
  });
}

function lastQuestion(messages: TextMessage[]): string {
  const question = messages.findLast((message) => message.role === "user")?.text.trim() ?? "";
  const oneLine = question.replace(/\s+/g, " ");
  return oneLine.length > longestQuotedQuestion ? `${oneLine.slice(0, longestQuotedQuestion)}…` : oneLine;
}

/**
 * The demo's answer: deterministic, built from the question, and honest about what it is. Written in
 * Markdown (bold, a list, code), as real models answer, so the chat's rendering shows offline too.
 */
export function demoAnswer(question: string): string {
  const words = question === "" ? 0 : question.split(" ").length;
  return [
    `This is Coinslot's **demo model**, not a real AI, so it cannot really answer "${question}".`,
    "",
    `- Your question has ${words} ${words === 1 ? "word" : "words"} and ${countTextTokens(question)} tokens.`,
    "- This answer is counted and charged exactly as a real model's would be, so you can try credits offline.",
    "",
    "For real answers, put a model and its key in `.env` and restart:",
    "",
    "```sh",
    "AI_MODEL=google:gemini-2.0-flash",
    "GOOGLE_GENERATIVE_AI_API_KEY=your-key",
    "```",
    "",
    "Or `AI_MODEL=openai:gpt-4o-mini` with `OPENAI_API_KEY`.",
  ].join("\n");
}

// Counting goes through tokens.ts, linear in any input; encoding here only ever sees the demo's own
// answer, which quotes at most `longestQuotedQuestion` characters of the question.
function truncateToTokens(text: string, maxTokens: number | undefined): string {
  if (maxTokens === undefined) return text;
  const tokens = encode(text, asPlainText);
  return tokens.length <= maxTokens ? text : decode(tokens.slice(0, maxTokens));
}

function usageOf(inputTokens: number, outputTokens: number): LanguageModelV3Usage {
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
  };
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  if (milliseconds <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    // The listener is removed when the timer fires; otherwise every word of a long answer would
    // leave one behind on the request's signal (Node warns past ten).
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, milliseconds);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function answerFor(options: LanguageModelV3CallOptions) {
  const messages = promptMessages(options.prompt);
  const answer = truncateToTokens(demoAnswer(lastQuestion(messages)), options.maxOutputTokens);
  return { answer, inputTokens: countPromptTokens(messages) };
}

/**
 * A language model that works offline: it streams a deterministic answer word by word and reports
 * real token counts, so pricing, holds and settlement run exactly as with a real provider.
 *
 * @example
 * streamText({ model: createDemoModel({ wordDelayMs: 0 }), prompt: "Hello" });
 */
export function createDemoModel(options: { wordDelayMs: number }): LanguageModelV3 {
  return {
    specificationVersion: "v3",
    provider: "coinslot",
    modelId: demoModelId,
    supportedUrls: {},
    async doGenerate(call) {
      const { answer, inputTokens } = answerFor(call);
      return {
        content: [{ type: "text", text: answer }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: usageOf(inputTokens, countTextTokens(answer)),
        warnings: [],
      };
    },
    async doStream(call) {
      const { answer, inputTokens } = answerFor(call);
      const words = answer.match(/\s*\S+/g) ?? [];
      const signal = call.abortSignal;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async start(controller) {
          controller.enqueue({ type: "stream-start", warnings: [] });
          controller.enqueue({ type: "text-start", id: "answer" });
          let sent = "";
          for (const word of words) {
            await sleep(options.wordDelayMs, signal);
            // Like a provider whose connection was closed: stop generating, report nothing more.
            if (signal?.aborted) return controller.close();
            sent += word;
            controller.enqueue({ type: "text-delta", id: "answer", delta: word });
          }
          controller.enqueue({ type: "text-end", id: "answer" });
          controller.enqueue({
            type: "finish",
            finishReason: { unified: "stop", raw: "stop" },
            usage: usageOf(inputTokens, countTextTokens(sent)),
          });
          controller.close();
        },
      });
      return { stream };
    },
  };
}
