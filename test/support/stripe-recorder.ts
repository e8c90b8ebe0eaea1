import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP server standing in for api.stripe.com: stripe-node talks to it through the real
 * client (STRIPE_API_URL), and it records every request and answers Stripe-shaped JSON. It keeps
 * Stripe's idempotency behaviour: the same Idempotency-Key returns the first session.
 */
export type RecordedRequest = {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  form: Record<string, string>;
};

type Session = Record<string, unknown> & { id: string };

export type StripeRecorder = {
  url: string;
  requests: RecordedRequest[];
  sessions: Map<string, Session>;
  /** Marks a session paid, as Stripe does when the customer completes Checkout. */
  pay(sessionId: string): Session;
  close(): Promise<void>;
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => done(body));
    request.on("error", fail);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json", "request-id": "req_recorded" });
  response.end(JSON.stringify(body));
}

export async function startStripeRecorder(): Promise<StripeRecorder> {
  const requests: RecordedRequest[] = [];
  const sessions = new Map<string, Session>();
  const byIdempotencyKey = new Map<string, Session>();
  let counter = 0;

  function createSession(form: Record<string, string>): Session {
    counter += 1;
    const id = `cs_test_recorded_${counter}`;
    const session: Session = {
      id,
      object: "checkout.session",
      mode: form.mode,
      status: "open",
      payment_status: "unpaid",
      amount_total: Number(form["line_items[0][price_data][unit_amount]"]),
      currency: form["line_items[0][price_data][currency]"],
      client_reference_id: form.client_reference_id ?? null,
      customer_email: form.customer_email ?? null,
      metadata: { user_id: form["metadata[user_id]"] },
      payment_intent: null,
      success_url: form.success_url,
      cancel_url: form.cancel_url,
      url: `https://checkout.stripe.test/c/pay/${id}`,
      livemode: false,
    };
    sessions.set(id, session);
    return session;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const path = (request.url ?? "").split("?")[0] ?? "";
    const idempotencyKey = request.headers["idempotency-key"] as string | undefined;
    requests.push({
      method: request.method ?? "",
      path,
      idempotencyKey,
      authorization: request.headers.authorization,
      form: Object.fromEntries(new URLSearchParams(raw)),
    });
    const form = requests.at(-1)?.form ?? {};
    if (request.method === "POST" && path === "/v1/checkout/sessions") {
      const existing = idempotencyKey ? byIdempotencyKey.get(idempotencyKey) : undefined;
      const session = existing ?? createSession(form);
      if (idempotencyKey) byIdempotencyKey.set(idempotencyKey, session);
      return send(response, 200, session);
    }
    const retrieve = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path);
    if (request.method === "GET" && retrieve) {
      const session = sessions.get(decodeURIComponent(retrieve[1] ?? ""));
      if (session) return send(response, 200, session);
      return send(response, 404, {
        error: {
          type: "invalid_request_error",
          code: "resource_missing",
          message: "No such checkout.session",
        },
      });
    }
    send(response, 404, {
      error: { type: "invalid_request_error", message: `Unrecognized request URL (${path})` },
    });
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) =>
      send(response, 500, { error: { message: String(error) } }),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    sessions,
    pay(sessionId) {
      const session = sessions.get(sessionId);
      if (!session) throw new Error(`no recorded session ${sessionId}`);
      Object.assign(session, {
        status: "complete",
        payment_status: "paid",
        payment_intent: `pi_for_${sessionId}`,
      });
      return session;
    },
    close: () => new Promise((done) => server.close(() => done())),
  };
}
