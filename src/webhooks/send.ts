import { signatureHeader, signWebhook } from "./signature.js";

/** The JSON body of an event: the same bytes on every attempt, so a receiver can dedupe by `id`. */
export function eventBody(event: {
  eventId: string;
  type: string;
  createdAt: Date;
  data: Record<string, unknown>;
}): string {
  return JSON.stringify({
    id: event.eventId,
    type: event.type,
    createdAt: event.createdAt.toISOString(),
    data: event.data,
  });
}

export type SendResult =
  | { delivered: true; status: number }
  | { delivered: false; status: number | null; error: string };

/** Why a request failed, without anything but the failure: no URL query, header or secret. */
function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  if (error instanceof Error && error.name === "AbortError") return "cut off: the server was shutting down";
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return `could not connect (${cause.code})`;
  return error instanceof Error ? error.message.slice(0, 200) : "request failed";
}

/**
 * POSTs `body` to `url`, signed with `secret`, and says whether the endpoint took it (any 2xx).
 * Redirects are not followed (a 3xx is a failure naming the status): the signed body goes only to
 * the URL the operator configured. The answer's body is never read, so an endpoint cannot make the
 * server buffer anything; the whole attempt is cut off after `timeoutMs`.
 *
 * @example
 * const result = await sendWebhook({ url, secret, body: eventBody(delivery), timeoutMs: 10_000 });
 */
export async function sendWebhook(input: {
  url: string;
  secret: string;
  body: string;
  timeoutMs: number;
  /** Aborts the attempt early (shutdown); it then fails like a timeout and is retried later. */
  signal?: AbortSignal;
  nowMs?: number;
}): Promise<SendResult> {
  const timestampSeconds = Math.floor((input.nowMs ?? Date.now()) / 1000);
  let response: Response;
  try {
    response = await fetch(input.url, {
      method: "POST",
      redirect: "manual",
      signal: input.signal
        ? AbortSignal.any([input.signal, AbortSignal.timeout(input.timeoutMs)])
        : AbortSignal.timeout(input.timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": "Coinslot-Webhooks/1",
        [signatureHeader]: signWebhook({ secret: input.secret, body: input.body, timestampSeconds }),
      },
      body: input.body,
    });
  } catch (error) {
    return { delivered: false, status: null, error: describeFailure(error, input.timeoutMs) };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
  const redirect = response.status >= 300 && response.status < 400;
  const error = redirect
    ? `answered ${response.status}; redirects are not followed, so configure the final URL`
    : `answered ${response.status}`;
  return { delivered: false, status: response.status, error };
}
