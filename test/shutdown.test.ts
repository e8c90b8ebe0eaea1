import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/db/embedded.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { findInvariantViolations } from "./support/ledger-invariants.js";
import { startServer } from "./support/process.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

describe("graceful shutdown", () => {
  it("finishes a chat that is streaming when SIGTERM arrives, settles its hold, then exits 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const origin = `http://localhost:${port}`;
    const server = await startServer({
      PORT: String(port),
      DATABASE_URL: database.url,
      DATA_DIR: mkdtempSync(join(tmpdir(), "coinslot-shutdown-")),
    });
    const signUp = await fetch(`${base}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ email: "stream@example.com", password: "long enough password", name: "Stream" }),
    });
    expect(signUp.status).toBe(200);
    const cookie = signUp.headers
      .getSetCookie()
      .map((value) => value.split(";")[0])
      .join("; ");

    const response = await fetch(`${base}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", origin, cookie },
      body: JSON.stringify({
        id: "chat-shutdown",
        trigger: "submit-message",
        messages: [
          { id: "msg-shutdown", role: "user", parts: [{ type: "text", text: "Tell me about shutdowns" }] },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);

    // The answer is still streaming (the demo model paces its words); stop the server now.
    server.child.kill("SIGTERM");
    let rest = new TextDecoder().decode(first.value);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toContain('"type":"finish"');
    expect(await server.exited).toBe(0);

    const holds = await database.pool.query("select status, settled_cents from credits.holds");
    expect(holds.rows).toEqual([{ status: "settled", settled_cents: expect.any(Number) }]);
    expect(holds.rows[0].settled_cents).toBeGreaterThan(0);
    expect(await findInvariantViolations(database.pool)).toEqual([]);
  });
});
