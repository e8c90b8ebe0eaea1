import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPersonalKey } from "../src/gateway/personal-keys.js";
import { type FakeProvider, fakeAnswerWords, startFakeProvider } from "./support/fake-provider.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";
import { waitFor } from "./support/wait.js";

// The gateway as apps meet it: the official `openai` package and the AI SDK's OpenAI-compatible
// provider pointed at Coinslot, which forwards to a local OpenAI-compatible upstream (the fake
// provider: its model name picks how it behaves). Every call is held first and charged once.

const answer = fakeAnswerWords.join("");
let upstream: FakeProvider;
let server: MeteringServer;

beforeAll(async () => {
  upstream = await startFakeProvider();
  server = await startMeteringServer({
    AI_MODEL: "compatible:normal",
    AI_MODELS:
      "compatible:normal,compatible:fail500,compatible:endless,compatible:slow-40,compatible:hesitant-30000,demo",
    DEMO_WORD_DELAY_MS: "0",
    OPENAI_BASE_URL: `${upstream.url}/v1`,
    AI_PRICE_INPUT_PER_MILLION: "1000",
    AI_PRICE_OUTPUT_PER_MILLION: "2000",
    MAX_OUTPUT_TOKENS: "20",
    NEW_USER_CREDITS_CENTS: "50",
    METERING_RATE_LIMIT_MAX: "100000",
  });
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
});

const query = async (text: string, values: unknown[] = []) =>
  (await server.test.database.pool.query(text, values)).rows;

/** A signed-up person with a credits account of `balanceCents`, and a personal key of theirs. */
async function person(balanceCents = 50, monthlyLimitCents?: number) {
  const { user, cookie } = await server.test.signUp();
  await server.test.app.request("/api/me", { headers: { cookie } });
  if (balanceCents !== 50) {
    const change = balanceCents - 50;
    const moved =
      change > 0
        ? await server.test.ledger.grant({
            userId: user.id,
            amountCents: change,
            kind: "adjustment",
            idempotencyKey: `top:${user.id}`,
          })
        : await server.test.ledger.spend({
            userId: user.id,
            amountCents: -change,
            kind: "adjustment",
            idempotencyKey: `take:${user.id}`,
          });
    expect(moved.error).toBeNull();
  }
  const { secret } = await createPersonalKey(server.test.database.pool, {
    userId: user.id,
    name: "my script",
    ...(monthlyLimitCents === undefined ? {} : { monthlyLimitCents }),
  });
  const client = new OpenAI({ apiKey: secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
  return { userId: user.id, secret, client };
}

async function account(userId: string) {
  const [row] = await query(
    `select balance_cents::int as balance, held_cents::int as held,
            (select coalesce(sum(amount_cents), 0)::int from credits.entries e where e.user_id = a.user_id) as total
       from credits.accounts a where a.user_id = $1`,
    [userId],
  );
  return row as { balance: number; held: number; total: number };
}

async function usageEntries(userId: string) {
  return (await query(
    "select amount_cents::int as cents, description from credits.entries where user_id = $1 and kind = 'usage' order by id",
    [userId],
  )) as { cents: number; description: string }[];
}

const ask = { messages: [{ role: "user" as const, content: "What is the capital of France?" }] };

describe("the openai package pointed at Coinslot", () => {
  it("answers a completion with its usage, and charges it once as a usage entry naming model, key and tokens", async () => {
    const { client, userId } = await person();
    const completion = await client.chat.completions.create({ model: "compatible:normal", ...ask });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content).toBe(answer);
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toEqual({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
    const [entry] = await usageEntries(userId);
    // ceil((11 × 1000 + 6 × 2000) / 1e6 × 4 × 100) = 10 cents.
    expect(entry?.cents).toBe(-10);
    expect(entry?.description).toBe(
      'Gateway: compatible:normal for key "my script": 11 input + 6 output tokens',
    );
    expect(await account(userId)).toEqual({ balance: 40, held: 0, total: 40 });
  });

  it("streams chunks ending with a usage chunk when asked, and charges the stream once", async () => {
    const { client, userId } = await person();
    const stream = await client.chat.completions.create({
      model: "compatible:normal",
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(answer);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
    expect(await account(userId)).toEqual({ balance: 40, held: 0, total: 40 });
  });

  it("serves a model that does not speak OpenAI's format (the demo) through its AI SDK provider, streamed and not, charged once each", async () => {
    const { client, userId } = await person();
    const before = upstream.requests.length;
    const completion = await client.chat.completions.create({ model: "demo", ...ask });
    const reply = completion.choices[0]?.message.content ?? "";
    expect(reply).toContain("demo model");
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({
      model: "demo",
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = "";
    let usage: { completion_tokens: number } | null | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta.content ?? "";
      usage ??= chunk.usage;
    }
    expect(streamed).toContain("demo model");
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    // Neither call went to the OpenAI-compatible upstream.
    expect(upstream.requests.length).toBe(before);
    const entries = await usageEntries(userId);
    expect(entries.map((entry) => entry.description.startsWith("Gateway: demo for key"))).toEqual([
      true,
      true,
    ]);
    const { balance, held, total } = await account(userId);
    expect({ held, total }).toEqual({ held: 0, total: balance });
    expect(balance).toBe(50 + entries.reduce((sum, entry) => sum + entry.cents, 0));
  });

  it("refuses with 402 insufficient_quota when the hold does not fit, and never calls the model", async () => {
    const { client, userId } = await person(3);
    const before = upstream.requests.length;
    const refused = await client.chat.completions
      .create({ model: "compatible:normal", ...ask })
      .catch((error) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect(refused.status).toBe(402);
    expect(refused.error).toMatchObject({
      type: "insufficient_quota",
      code: "insufficient_credits",
      param: null,
    });
    expect(refused.message).toContain("Not enough credits");
    expect(upstream.requests.length).toBe(before);
    expect(await account(userId)).toEqual({ balance: 3, held: 0, total: 3 });
  });

  it("refuses an unknown or revoked key with 401 invalid_api_key", async () => {
    const client = new OpenAI({
      apiKey: `cpk_${"A".repeat(43)}`,
      baseURL: `${server.url}/v1`,
      maxRetries: 0,
    });
    const refused = await client.chat.completions
      .create({ model: "compatible:normal", ...ask })
      .catch((error) => error);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(refused.error).toMatchObject({ code: "invalid_api_key" });
    const models = await client.models.list().catch((error) => error);
    expect(models.status).toBe(401);
  });

  it("refuses a request with two Authorization headers, even when the first is a good key", async () => {
    const { secret, userId } = await person();
    const body = JSON.stringify({ model: "compatible:normal", ...ask });
    const target = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname, () =>
        socket.end(
          [
            "POST /v1/chat/completions HTTP/1.1",
            `Host: ${target.host}`,
            `Authorization: Bearer ${secret}`,
            "Authorization: Bearer someone-else",
            "Content-Type: application/json",
            `Content-Length: ${Buffer.byteLength(body)}`,
            "Connection: close",
            "",
            body,
          ].join("\r\n"),
        ),
      );
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (piece: string) => {
        text += piece;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer.startsWith("HTTP/1.1 401")).toBe(true);
    expect(answer).toContain('"code":"invalid_api_key"');
    expect(await usageEntries(userId)).toEqual([]);
  });

  it("answers a retried call with the same Idempotency-Key from the first, charged once; another request with that key is 409", async () => {
    const { client, userId } = await person();
    const key = randomUUID();
    const first = await client.chat.completions.create(
      { model: "compatible:normal", ...ask },
      { headers: { "Idempotency-Key": key } },
    );
    const again = await client.chat.completions.create(
      { model: "compatible:normal", ...ask },
      { headers: { "Idempotency-Key": key } },
    );
    expect(again.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(again.usage).toEqual(first.usage);
    const streamed = await client.chat.completions.create(
      { model: "compatible:normal", ...ask, stream: true },
      { headers: { "Idempotency-Key": randomUUID() } },
    );
    for await (const _ of streamed) {
      // read to the end
    }
    expect(await usageEntries(userId)).toHaveLength(2);
    const other = await client.chat.completions
      .create(
        { model: "compatible:normal", messages: [{ role: "user", content: "Another question" }] },
        { headers: { "Idempotency-Key": key } },
      )
      .catch((error) => error);
    expect(other.status).toBe(409);
    expect(other.error).toMatchObject({ code: "idempotency_key_reused" });
    expect(await usageEntries(userId)).toHaveLength(2);
  });

  it("refuses a body over its limit, and messages over CHAT_MAX_PROMPT_CHARS, with 413 before any hold", async () => {
    const { client, userId, secret } = await person();
    const before = upstream.requests.length;
    // 4 bytes a character of CHAT_MAX_PROMPT_CHARS (200,000) plus 256 KiB: this body is larger. Sent
    // in process: over a socket, the server closes the connection it stopped reading, which the
    // client's shared connection pool would then hand to the next test.
    const oversized = await server.test.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "compatible:normal",
        messages: [{ role: "user", content: "x".repeat(1_200_000) }],
      }),
    });
    expect(oversized.status).toBe(413);
    expect((await oversized.json()).error).toMatchObject({
      type: "invalid_request_error",
      code: "context_length_exceeded",
    });
    const long = await client.chat.completions
      .create({ model: "compatible:normal", messages: [{ role: "user", content: "y".repeat(200_001) }] })
      .catch((error) => error);
    expect(long.status).toBe(413);
    expect(long.error).toMatchObject({ code: "context_length_exceeded", param: "messages" });
    expect(long.message).toContain("CHAT_MAX_PROMPT_CHARS");
    expect(upstream.requests.length).toBe(before);
    expect(await account(userId)).toEqual({ balance: 50, held: 0, total: 50 });
  });

  it("counts a body over a socket too: a stated length over the limit or a chunked body that grows past it is 413, a chunked one within it is served", async () => {
    const { userId, secret } = await person();
    const before = upstream.requests.length;
    // One connection per request (no shared pool): the server stops reading a refused body.
    const send = (body: string, chunked: boolean) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const target = new URL(`${server.url}/v1/chat/completions`);
        const outgoing = request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: "POST",
            agent: false,
            headers: {
              authorization: `Bearer ${secret}`,
              "content-type": "application/json",
              ...(chunked ? {} : { "content-length": String(Buffer.byteLength(body)) }),
            },
          },
          (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (piece: string) => {
              text += piece;
            });
            response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
          },
        );
        // The server may answer and close before the whole body is sent.
        outgoing.on("error", (error) => (String(error).includes("EPIPE") ? undefined : reject(error)));
        if (chunked) {
          for (let at = 0; at < body.length; at += 64 * 1024) outgoing.write(body.slice(at, at + 64 * 1024));
          outgoing.end();
        } else outgoing.end(body);
      });
    // Over the byte limit with a short prompt: only the body limit can refuse it.
    const oversized = JSON.stringify({
      model: "compatible:normal",
      ...ask,
      metadata: { pad: "x".repeat(1_200_000) },
    });
    for (const chunked of [false, true]) {
      const refused = await send(oversized, chunked);
      expect(refused.status).toBe(413);
      const { error } = JSON.parse(refused.text);
      expect(error).toMatchObject({ code: "context_length_exceeded" });
      expect(error.message).toContain("The request body is larger than");
    }
    expect(upstream.requests.length).toBe(before);
    const served = await send(JSON.stringify({ model: "compatible:normal", ...ask }), true);
    expect(served.status).toBe(200);
    expect(JSON.parse(served.text).choices[0].message.content).toBe(answer);
    expect((await usageEntries(userId)).length).toBe(1);
  });

  it("lists the models it serves, and answers 404 model_not_found for another", async () => {
    const { client } = await person();
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain("compatible:normal");
    const refused = await client.chat.completions
      .create({ model: "gpt-nope", ...ask })
      .catch((error) => error);
    expect(refused.status).toBe(404);
    expect(refused.error).toMatchObject({ code: "model_not_found", param: "model" });
  });

  it("names the parameter of a bad request, OpenAI style", async () => {
    const { client } = await person();
    const refused = await client.chat.completions
      .create({ model: "compatible:normal", messages: [], temperature: 9 })
      .catch((error) => error);
    expect(refused.status).toBe(400);
    expect(refused.error.type).toBe("invalid_request_error");
    expect(refused.error.param).toMatch(/messages|temperature/);
  });
});

describe("when the upstream misbehaves or the client leaves", () => {
  it("charges nothing when the provider fails before any output", async () => {
    const { client, userId } = await person();
    const refused = await client.chat.completions
      .create({ model: "compatible:fail500", ...ask })
      .catch((error) => error);
    expect(refused.status).toBe(502);
    expect(await account(userId)).toEqual({ balance: 50, held: 0, total: 50 });
    expect(await usageEntries(userId)).toEqual([]);
  });

  it("stops the provider when the client leaves mid-stream, and charges what was generated", async () => {
    const { client, userId } = await person();
    const closedBefore = upstream.closedEarly;
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "compatible:endless", ...ask, stream: true },
      { signal: controller.signal },
    );
    let words = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) words += 1;
        if (words === 5) controller.abort();
      }
    } catch {
      // the abort
    }
    await waitFor(async () => (await account(userId)).held === 0, "the hold resolved");
    const [entry] = await usageEntries(userId);
    expect(entry?.cents).toBeLessThan(0);
    expect(await account(userId)).toMatchObject({ held: 0, total: 50 + (entry?.cents ?? 0) });
    await waitFor(() => upstream.closedEarly > closedBefore, "the upstream stream closed early");
  });

  it("charges the prompt when a stalled provider is left by a client that timed out", async () => {
    const { userId, secret } = await person();
    const client = new OpenAI({ apiKey: secret, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 500 });
    const refused = await client.chat.completions
      .create({ model: "compatible:hesitant-30000", ...ask })
      .catch((error) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await waitFor(async () => (await usageEntries(userId)).length === 1, "the call settled");
    expect(await account(userId)).toMatchObject({ held: 0 });
  });
});

describe("a service key paying for an app's customer", () => {
  it("charges the customer named in `user`, created as they connect; without `user` it is 400", async () => {
    const client = new OpenAI({ apiKey: server.secret, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const customer = `gw_${randomUUID()}`;
    const completion = await client.chat.completions.create({
      model: "compatible:normal",
      ...ask,
      user: customer,
    });
    expect(completion.choices[0]?.message.content).toBe(answer);
    const view = await server.call("GET", `/v1/customers/${customer}`);
    expect(view.body.balanceCents).toBe(40);
    const missing = await client.chat.completions
      .create({ model: "compatible:normal", ...ask })
      .catch((error) => error);
    expect(missing.status).toBe(400);
    expect(missing.error.param).toBe("user");
  });
});

describe("the AI SDK's OpenAI-compatible provider pointed at Coinslot", () => {
  it("generates and streams text as a downstream app would", async () => {
    const { secret, userId } = await person();
    const coinslot = createOpenAICompatible({
      name: "coinslot",
      baseURL: `${server.url}/v1`,
      apiKey: secret,
      includeUsage: true,
    });
    const generated = await generateText({
      model: coinslot("compatible:normal"),
      prompt: "Capital of France?",
      maxRetries: 0,
    });
    expect(generated.text).toBe(answer);
    expect(generated.usage.inputTokens).toBe(11);
    const streamed = streamText({
      model: coinslot("compatible:slow-40"),
      prompt: "Capital of France?",
      maxRetries: 0,
    });
    let text = "";
    for await (const piece of streamed.textStream) text += piece;
    expect(text).toBe(answer);
    expect((await streamed.usage).outputTokens).toBe(6);
    expect(await usageEntries(userId)).toHaveLength(2);
    expect(await account(userId)).toEqual({ balance: 30, held: 0, total: 30 });
  });
});

describe("under concurrency", () => {
  it("never overdraws: 50 streaming calls at once on a balance that covers 5", async () => {
    // Each call holds 26 cents (its prompt with a margin and 20 output tokens) and is charged 10.
    const { client, userId } = await person(130);
    const calls = await Promise.all(
      Array.from({ length: 50 }, async () => {
        try {
          const stream = await client.chat.completions.create({
            model: "compatible:slow-40",
            ...ask,
            stream: true,
          });
          let text = "";
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
          return text === answer ? "answered" : "broken";
        } catch (error) {
          return (error as { status?: number }).status === 402 ? "refused" : String(error);
        }
      }),
    );
    const answered = calls.filter((outcome) => outcome === "answered").length;
    expect(calls.filter((outcome) => outcome !== "answered" && outcome !== "refused")).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(5);
    const after = await account(userId);
    expect(after).toEqual({ balance: 130 - 10 * answered, held: 0, total: 130 - 10 * answered });
    expect(after.balance).toBeGreaterThanOrEqual(0);
  });

  it("keeps a personal key under its monthly limit when 20 calls race", async () => {
    const { client, userId } = await person(1000, 60);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.chat.completions
          .create({ model: "compatible:slow-40", ...ask })
          .then(() => "answered")
          .catch((error) => error.error?.code ?? String(error)),
      ),
    );
    expect(
      outcomes.filter((outcome) => outcome !== "answered" && outcome !== "monthly_limit_reached"),
    ).toEqual([]);
    const charged = -(await usageEntries(userId)).reduce((sum, entry) => sum + entry.cents, 0);
    expect(charged).toBeLessThanOrEqual(60);
    expect(charged).toBe(10 * outcomes.filter((outcome) => outcome === "answered").length);
    expect(await account(userId)).toMatchObject({ held: 0, balance: 1000 - charged });
  });
});

describe("a key over its rate limit", () => {
  it("answers 429 rate_limit_exceeded with Retry-After, and calls no model", async () => {
    const limited = await startMeteringServer({
      AI_MODEL: "compatible:normal",
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      AI_PRICE_INPUT_PER_MILLION: "1000",
      AI_PRICE_OUTPUT_PER_MILLION: "2000",
      MAX_OUTPUT_TOKENS: "20",
      METERING_RATE_LIMIT_MAX: "2",
    });
    try {
      const client = new OpenAI({ apiKey: limited.secret, baseURL: `${limited.url}/v1`, maxRetries: 0 });
      const call = () =>
        client.chat.completions
          .create({ model: "compatible:normal", ...ask, user: "rate-limited" })
          .then(() => 200)
          .catch((error) => error);
      expect(await call()).toBe(200);
      expect(await call()).toBe(200);
      const before = upstream.requests.length;
      const refused = await call();
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect(refused.error).toMatchObject({ code: "rate_limit_exceeded" });
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(upstream.requests.length).toBe(before);
    } finally {
      await limited.close();
    }
  });
});
