import { performance } from "node:perf_hooks";
import { signedDelivery } from "./billing-fixtures.js";

/**
 * What the clients of the fault history do, over real HTTP against a server that may vanish at any
 * moment: every call resolves to what the client saw (a status, a stream, or why nothing came),
 * never throws, and is bounded in time.
 */

export type Outcome = { status?: number; failure?: string };

/** One chat request as the client saw it. */
export type Answer = {
  userId: string;
  chatId: string;
  messageId: string;
  startedAtMs: number;
  endedAtMs: number;
  status?: number;
  /** The answer's id, from the stream's `start` chunk: the `reference` of its usage entry. */
  answerId?: string;
  textReceived: boolean;
  /** The `finish` chunk's metadata: sent only once the answer's settlement was written. */
  finish?: { chargedCents?: number; replayed?: boolean };
  errorText?: string;
  /** The client hung up (on purpose, or when its time ran out) before the stream ended. */
  abortedByClient: boolean;
  failure?: string;
};

const requestTimeoutMs = 10_000;

export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.name;
}

async function request(url: string, init: RequestInit): Promise<Outcome & { body?: unknown }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(requestTimeoutMs) });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
    return { status: response.status, body, ...(response.ok ? {} : { failure: code ?? "no error code" }) };
  } catch (error) {
    return { failure: describeFailure(error) };
  }
}

function jsonPost(baseUrl: string, body: unknown, cookie = ""): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", origin: baseUrl, cookie },
    body: JSON.stringify(body),
  };
}

function cookieOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0] ?? "")
    .filter((pair) => pair !== "" && !pair.endsWith("="))
    .join("; ");
}

/** Signs a person up through Better Auth and opens their account with a first `GET /api/me`. */
export async function signUp(baseUrl: string, email: string): Promise<{ userId: string; cookie: string }> {
  const response = await fetch(`${baseUrl}/api/auth/sign-up/email`, {
    ...jsonPost(baseUrl, { email, password: "fault history password", name: "Fault" }),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  if (response.status !== 200)
    throw new Error(`sign-up answered ${response.status}: ${await response.text()}`);
  const cookie = cookieOf(response);
  const { user } = (await response.json()) as { user: { id: string } };
  const me = await request(`${baseUrl}/api/me`, { headers: { cookie } });
  if (me.status !== 200) throw new Error(`GET /api/me answered ${me.status ?? me.failure}`);
  return { userId: user.id, cookie };
}

/** `POST /api/checkout`; the session id Coinslot recorded is the last segment of the URL it answers. */
export async function startCheckout(
  baseUrl: string,
  input: { cookie: string; amountCents: number },
): Promise<Outcome & { checkoutSessionId?: string }> {
  const answered = await request(
    `${baseUrl}/api/checkout`,
    jsonPost(baseUrl, { amountCents: input.amountCents }, input.cookie),
  );
  const url = (answered.body as { url?: unknown } | undefined)?.url;
  const checkoutSessionId = typeof url === "string" ? url.match(/\/(cs_\w+)$/)?.[1] : undefined;
  return { status: answered.status, failure: answered.failure, checkoutSessionId };
}

/** Delivers a Stripe event as Stripe does: freshly signed with the endpoint's secret. */
export async function deliverEvent(baseUrl: string, event: unknown, secret: string): Promise<Outcome> {
  const { status, failure } = await request(
    `${baseUrl}/api/stripe/webhook`,
    signedDelivery(event, { secret }),
  );
  return { status, failure };
}

export async function health(baseUrl: string): Promise<number | undefined> {
  return (await request(`${baseUrl}/healthz`, {})).status;
}

function readEvent(answer: Answer, event: string): void {
  const data = event.replace(/^data: /, "").trim();
  if (data === "" || data === "[DONE]") return;
  let chunk: { type?: string; messageId?: string; messageMetadata?: Answer["finish"]; errorText?: string };
  try {
    chunk = JSON.parse(data);
  } catch {
    return;
  }
  if (chunk.type === "start" && chunk.messageId) answer.answerId = chunk.messageId;
  if (chunk.type === "text-delta") answer.textReceived = true;
  if (chunk.type === "finish") answer.finish = chunk.messageMetadata ?? {};
  if (chunk.type === "error") answer.errorText = chunk.errorText;
}

/**
 * Asks one question through `POST /api/chat` and reads the UI message stream with a plain fetch.
 * `hangUpAfterText`: the client leaves once the first words arrived, as a closed browser tab does.
 */
export async function askQuestion(
  baseUrl: string,
  input: {
    cookie: string;
    userId: string;
    chatId: string;
    messageId: string;
    text: string;
    hangUpAfterText: boolean;
    timeoutMs: number;
    /** Holds the answer while its stream is open, for the fault injector to aim at. */
    live: Set<Answer>;
  },
): Promise<Answer> {
  const answer: Answer = {
    userId: input.userId,
    chatId: input.chatId,
    messageId: input.messageId,
    startedAtMs: performance.now(),
    endedAtMs: 0,
    textReceived: false,
    abortedByClient: false,
  };
  const controller = new AbortController();
  const hangUp = () => {
    answer.abortedByClient = true;
    controller.abort();
  };
  const timer = setTimeout(hangUp, input.timeoutMs);
  input.live.add(answer);
  const body = {
    id: input.chatId,
    trigger: "submit-message",
    messages: [{ id: input.messageId, role: "user", parts: [{ type: "text", text: input.text }] }],
  };
  try {
    const response = await fetch(`${baseUrl}/api/chat`, {
      ...jsonPost(baseUrl, body, input.cookie),
      signal: controller.signal,
    });
    answer.status = response.status;
    if (response.status !== 200 || !response.body) {
      const text = await response.text();
      answer.errorText = text.match(/"code":"(\w+)"/)?.[1] ?? text.slice(0, 100);
      return answer;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffered += decoder.decode(read.value, { stream: true });
      for (let cut = buffered.indexOf("\n\n"); cut !== -1; cut = buffered.indexOf("\n\n")) {
        readEvent(answer, buffered.slice(0, cut));
        buffered = buffered.slice(cut + 2);
      }
      if (input.hangUpAfterText && answer.textReceived && !answer.finish) {
        hangUp();
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (error) {
    if (!answer.abortedByClient) answer.failure = describeFailure(error);
  } finally {
    clearTimeout(timer);
    input.live.delete(answer);
    answer.endedAtMs = performance.now();
  }
  return answer;
}
