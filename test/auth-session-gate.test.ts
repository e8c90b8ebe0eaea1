import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "./support/app.js";

// The lean session gate (src/auth/session-lookup.ts) must answer exactly as Better Auth's getSession:
// these are the cases where a shortcut would be tempting and wrong.
let test: TestApp;
beforeAll(async () => {
  test = await createTestApp();
});
afterAll(() => test.close());

const origin = "http://localhost:3000";
const dayMs = 24 * 60 * 60 * 1000;
const me = (cookie: string) => test.app.request("/api/me", { headers: { cookie } });

/** The session cookie split into its token and its signature, decoded as the browser sends them. */
function partsOf(cookie: string) {
  const pair = cookie.split("; ").find((piece) => piece.startsWith("coinslot.session_token=")) as string;
  const signed = decodeURIComponent(pair.slice("coinslot.session_token=".length));
  const dot = signed.lastIndexOf(".");
  return { token: signed.slice(0, dot), signature: signed.slice(dot + 1) };
}
const sessionCookie = (token: string, signature: string) =>
  `coinslot.session_token=${encodeURIComponent(`${token}.${signature}`)}`;

async function expiresAtOf(token: string): Promise<Date | undefined> {
  const { rows } = await test.database.pool.query(
    `select "expiresAt" from auth_coinslot."session" where "token" = $1`,
    [token],
  );
  return rows[0]?.expiresAt;
}

async function expectRefused(response: Response) {
  expect(response.status).toBe(401);
  expect((await response.json()).error.code).toBe("UNAUTHENTICATED");
}

describe("the lean session gate", () => {
  it("refuses a cookie whose signature was tampered with, or whose token was swapped", async () => {
    const { cookie } = await test.signUp();
    const { token, signature } = partsOf(cookie);
    expect((await me(cookie)).status).toBe(200);
    const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    await expectRefused(await me(sessionCookie(token, flipped)));
    const other = await test.signUp();
    await expectRefused(await me(sessionCookie(partsOf(other.cookie).token, signature)));
    await expectRefused(await me(sessionCookie(token, "")));
    await expectRefused(await me(`coinslot.session_token=${token}`));
  });

  it("refuses an expired session and lets Better Auth delete its row", async () => {
    const { cookie } = await test.signUp();
    const { token } = partsOf(cookie);
    await test.database.pool.query(
      `update auth_coinslot."session" set "expiresAt" = now() - interval '1 second' where "token" = $1`,
      [token],
    );
    await expectRefused(await me(cookie));
    expect(await expiresAtOf(token)).toBeUndefined();
  });

  it("refuses a signed-out session on the very next request", async () => {
    const { cookie } = await test.signUp();
    expect((await me(cookie)).status).toBe(200);
    const out = await test.app.request("/api/auth/sign-out", {
      method: "POST",
      headers: { "content-type": "application/json", origin, cookie },
      body: "{}",
    });
    expect(out.status).toBe(200);
    await expectRefused(await me(cookie));
  });

  it("refuses the session of a deleted user on the very next request", async () => {
    const { cookie, user } = await test.signUp();
    expect((await me(cookie)).status).toBe(200);
    await test.database.pool.query(`delete from auth_coinslot."user" where "id" = $1`, [user.id]);
    await expectRefused(await me(cookie));
  });

  it("extends a session once it is a day old, and renews its cookie, as Better Auth does", async () => {
    const { cookie } = await test.signUp();
    const { token } = partsOf(cookie);
    // Signed in a day and a minute ago: seven days' life, minus that.
    const dueAt = new Date(Date.now() + 6 * dayMs - 60_000);
    await test.database.pool.query(`update auth_coinslot."session" set "expiresAt" = $2 where "token" = $1`, [
      token,
      dueAt,
    ]);
    const response = await me(cookie);
    expect(response.status).toBe(200);
    const renewed = response.headers
      .getSetCookie()
      .find((value) => value.startsWith("coinslot.session_token="));
    expect(renewed).toMatch(/Max-Age=604800/);
    const extended = (await expiresAtOf(token)) as Date;
    expect(extended.getTime()).toBeGreaterThan(Date.now() + 7 * dayMs - 60_000);
  });

  it("neither writes nor renews a cookie for a session not yet due", async () => {
    const { cookie } = await test.signUp();
    const { token } = partsOf(cookie);
    const before = await expiresAtOf(token);
    const response = await me(cookie);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await expiresAtOf(token)).toEqual(before);
  });

  it("lets Better Auth clear a leftover cookie-cache cookie, as before", async () => {
    const { cookie } = await test.signUp();
    const response = await me(`${cookie}; coinslot.session_data=stale`);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie().join("\n")).toMatch(/coinslot\.session_data=;.*Max-Age=0/i);
  });

  it("shows a verified admin email as admin at the next request, with no cache in between", async () => {
    const admin = await createTestApp({ ADMIN_EMAILS: "gate-boss@example.com" });
    try {
      const { cookie } = await admin.signUp("gate-boss@example.com");
      const before = await (await admin.app.request("/api/me", { headers: { cookie } })).json();
      expect(before.user.isAdmin).toBe(false);
      await admin.verifyEmail("gate-boss@example.com");
      const after = await (await admin.app.request("/api/me", { headers: { cookie } })).json();
      expect(after.user.isAdmin).toBe(true);
    } finally {
      await admin.close();
    }
  });
});
