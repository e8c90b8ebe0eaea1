import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type SignedUp, type TestApp } from "./support/app.js";
import { chatBody, ledgerState, newId, readChunks } from "./support/chat.js";

// Renaming and deleting saved conversations through the whole app: real sessions, the demo model,
// the ledger and the database. Each answer of the demo model charges 1 cent.

let test: TestApp;
let alice: SignedUp;
let bob: SignedUp;

beforeAll(async () => {
  test = await createTestApp({ AI_MODEL: "demo", NEW_USER_CREDITS_CENTS: "20" });
  [alice, bob] = await Promise.all([test.signUp(), test.signUp()]);
  for (const person of [alice, bob]) {
    // The first signed-in request opens the credits account with the starter credits.
    expect((await test.app.request("/api/me", { headers: { cookie: person.cookie } })).status).toBe(200);
  }
});
afterAll(() => test.close());

function request(person: SignedUp, path: string, init: { method?: string; body?: unknown } = {}) {
  return test.app.request(path, {
    method: init.method ?? "GET",
    headers: {
      cookie: person.cookie,
      origin: new URL(test.config.appUrl).origin,
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

/** A saved conversation with `questions` answered questions; returns its id. */
async function conversationOf(person: SignedUp, questions: string[]): Promise<string> {
  const chatId = newId("chat");
  const history: { id: string; role: "user" | "assistant"; text: string }[] = [];
  for (const text of questions) {
    const messageId = newId("question");
    const response = await request(person, "/api/chat", {
      method: "POST",
      body: chatBody({ chatId, messageId, text, history }),
    });
    expect(response.status).toBe(200);
    await readChunks(response);
    history.push(
      { id: messageId, role: "user", text },
      { id: newId("answer"), role: "assistant", text: "…" },
    );
  }
  return chatId;
}

type Summary = { id: string; title: string; totalCostCents: number };

async function listed(person: SignedUp): Promise<Summary[]> {
  const response = await request(person, "/api/conversations");
  expect(response.status).toBe(200);
  return (await response.json()).conversations;
}

describe("GET /api/conversations", () => {
  it("shows what each conversation cost in total", async () => {
    const two = await conversationOf(alice, ["First question?", "Second question?"]);
    const one = await conversationOf(alice, ["Only question?"]);
    const conversations = await listed(alice);
    expect(conversations.find((conversation) => conversation.id === two)?.totalCostCents).toBe(2);
    expect(conversations.find((conversation) => conversation.id === one)?.totalCostCents).toBe(1);
  });
});

describe("PATCH /api/conversations/:id", () => {
  it("renames the person's own conversation, trimmed", async () => {
    const chatId = await conversationOf(alice, ["Name me later"]);
    const response = await request(alice, `/api/conversations/${chatId}`, {
      method: "PATCH",
      body: { title: "  Ledger questions  " },
    });
    expect(response.status).toBe(200);
    expect((await response.json()).conversation).toMatchObject({
      id: chatId,
      title: "Ledger questions",
      totalCostCents: 1,
    });
    expect((await listed(alice)).find((conversation) => conversation.id === chatId)?.title).toBe(
      "Ledger questions",
    );
  });

  it("refuses an empty, blank or too long title, or no title, with 400", async () => {
    const chatId = await conversationOf(alice, ["Keep my name"]);
    for (const body of [{ title: "" }, { title: "   " }, { title: "x".repeat(201) }, {}, { title: 7 }]) {
      const response = await request(alice, `/api/conversations/${chatId}`, { method: "PATCH", body });
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect((await response.json()).error.code).toBe("INVALID_REQUEST");
    }
    expect((await listed(alice)).find((conversation) => conversation.id === chatId)?.title).toBe(
      "Keep my name",
    );
  });

  it("answers 404 for another person's conversation and for an unknown id, and changes nothing", async () => {
    const chatId = await conversationOf(alice, ["Private title"]);
    for (const [person, id] of [
      [bob, chatId],
      [alice, "no-such-conversation"],
    ] as const) {
      const response = await request(person, `/api/conversations/${id}`, {
        method: "PATCH",
        body: { title: "Taken over" },
      });
      expect(response.status).toBe(404);
      expect((await response.json()).error.code).toBe("NOT_FOUND");
    }
    expect((await listed(alice)).find((conversation) => conversation.id === chatId)?.title).toBe(
      "Private title",
    );
  });
});

describe("DELETE /api/conversations/:id", () => {
  it("deletes the conversation and its messages, and never the ledger's entries", async () => {
    const chatId = await conversationOf(alice, ["Forget me", "And me"]);
    const before = await ledgerState(test.database.pool, alice.user.id);
    const response = await request(alice, `/api/conversations/${chatId}`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect((await listed(alice)).some((conversation) => conversation.id === chatId)).toBe(false);
    expect((await request(alice, `/api/conversations/${chatId}`)).status).toBe(404);
    const messages = await test.database.pool.query(
      "select count(*)::int as count from chat.messages where user_id = $1 and conversation_id = $2",
      [alice.user.id, chatId],
    );
    expect(messages.rows[0].count).toBe(0);
    // The answers were paid for: their charges stay in the ledger and the balance is unchanged.
    expect(await ledgerState(test.database.pool, alice.user.id)).toEqual(before);
    // Deleting again finds nothing.
    expect((await request(alice, `/api/conversations/${chatId}`, { method: "DELETE" })).status).toBe(404);
  });

  it("answers 404 for another person's conversation and leaves it alone", async () => {
    const chatId = await conversationOf(alice, ["Not Bob's to delete"]);
    const response = await request(bob, `/api/conversations/${chatId}`, { method: "DELETE" });
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("NOT_FOUND");
    expect((await listed(alice)).some((conversation) => conversation.id === chatId)).toBe(true);
  });

  it("refuses with 409 while an answer in it is streaming, and deletes once it is stale", async () => {
    const chatId = await conversationOf(alice, ["Still answering"]);
    const { pool } = test.database;
    // As the chat does when an answer starts: a `streaming` attempt, here written directly.
    await pool.query(
      `insert into chat.messages (user_id, id, conversation_id, role, parts, reply_to, attempt, status)
       select user_id, $3, conversation_id, 'assistant', '[]', id, 99, 'streaming'
         from chat.messages where user_id = $1 and conversation_id = $2 and role = 'user'`,
      [alice.user.id, chatId, newId("streaming")],
    );
    const refused = await request(alice, `/api/conversations/${chatId}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect((await refused.json()).error.code).toBe("CHAT_IN_PROGRESS");
    expect((await listed(alice)).some((conversation) => conversation.id === chatId)).toBe(true);

    // An answer left `streaming` by a process that died holds nothing back once its hold has expired.
    await pool.query(
      `update chat.messages set updated_at = now() - make_interval(secs => $3 + 1)
        where user_id = $1 and conversation_id = $2 and status = 'streaming'`,
      [alice.user.id, chatId, test.config.holdTtlSeconds],
    );
    expect((await request(alice, `/api/conversations/${chatId}`, { method: "DELETE" })).status).toBe(204);
  });

  it("needs a session", async () => {
    const response = await test.app.request("/api/conversations/anything", { method: "DELETE" });
    expect(response.status).toBe(401);
  });
});

describe("GET /api/conversations/:id/answers/:answerId", () => {
  it("says how one's own answer ended and what it cost, and finds nothing of another person's", async () => {
    const chatId = await conversationOf(alice, ["What does this answer cost?"]);
    const [saved] = (
      await test.database.pool.query<{ id: string }>(
        "select id from chat.messages where conversation_id = $1 and role = 'assistant'",
        [chatId],
      )
    ).rows;
    const path = `/api/conversations/${chatId}/answers/${saved?.id}`;
    const mine = await request(alice, path);
    expect(mine.status).toBe(200);
    const { answer } = await mine.json();
    expect(answer).toMatchObject({ id: saved?.id, status: "completed", metadata: { chargedCents: 1 } });
    const theirs = await request(bob, path);
    expect(theirs.status).toBe(404);
    expect((await request(alice, `/api/conversations/${chatId}/answers/not-an-answer`)).status).toBe(404);
    expect((await request(alice, `/api/conversations/${chatId}/answers/bad%20id`)).status).toBe(400);
  });
});

describe("GET /api/conversations/:id/questions/:questionId/answer", () => {
  it("finds the answer to one's own question, the latest attempt, and nothing of another person's", async () => {
    const chatId = await conversationOf(alice, ["Which answer goes with this question?"]);
    const { rows } = await test.database.pool.query<{ id: string; role: string }>(
      "select id, role from chat.messages where conversation_id = $1 order by position",
      [chatId],
    );
    const question = rows.find((row) => row.role === "user");
    const answer = rows.find((row) => row.role === "assistant");
    const path = `/api/conversations/${chatId}/questions/${question?.id}/answer`;
    const mine = await request(alice, path);
    expect(mine.status).toBe(200);
    expect((await mine.json()).answer).toMatchObject({
      id: answer?.id,
      status: "completed",
      metadata: { chargedCents: 1 },
    });
    expect((await request(bob, path)).status).toBe(404);
    const unanswered = await request(alice, `/api/conversations/${chatId}/questions/no-such-question/answer`);
    expect(unanswered.status).toBe(404);
    expect((await unanswered.json()).error.message).toBe(
      "This question of yours has no answer in this conversation.",
    );
    expect((await request(alice, `/api/conversations/${chatId}/questions/bad%20id/answer`)).status).toBe(400);
    expect((await test.app.request(path)).status).toBe(401);
  });
});
