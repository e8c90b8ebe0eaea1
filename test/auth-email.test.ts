import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { startMailSender } from "../src/mail/sender.js";
import { cookieFrom, createTestApp, type TestApp, testPassword, uniqueEmail } from "./support/app.js";
import { type SmtpSink, startSmtpSink } from "./support/smtp.js";
import { waitFor } from "./support/wait.js";

// The account lifecycle with REQUIRE_EMAIL_VERIFICATION=true, as in production: verification links,
// starter credits once verified, password reset, enumeration-safe answers, change and deletion.
// Mail goes out through the sender to a real SMTP server that this suite starts, and the links are
// read from what that server received; the outbox, where every message is written first, is what
// says that a message was (or was not) sent at all.

const admin = uniqueEmail("boss");
let test: TestApp;
let origin: string;
let sink: SmtpSink;
let sender: { stop: () => Promise<void> };

beforeAll(async () => {
  sink = await startSmtpSink();
  test = await createTestApp({
    REQUIRE_EMAIL_VERIFICATION: "true",
    ADMIN_EMAILS: admin,
    SMTP_URL: sink.url,
  });
  origin = new URL(test.config.appUrl).origin;
  sender = startMailSender({
    pool: test.database.pool,
    logger: createLogger("silent"),
    config: test.config,
    intervalMs: 20,
  });
});
afterAll(async () => {
  await sender?.stop();
  await sink?.close();
  await test?.close();
});

type Mail = { kind: string; data: Record<string, string>; user_id: string | null };

async function mailTo(email: string): Promise<Mail[]> {
  const result = await test.database.pool.query<Mail>(
    "select kind, data, user_id from mail.outbox where to_address = $1 order by id",
    [email.toLowerCase()],
  );
  return result.rows;
}

const subjects: Record<string, RegExp> = {
  "verify-email": /^Confirm your email address/,
  "reset-password": /^Reset your Coinslot password/,
};

/** The link in the newest `kind` mail to `email`, once the SMTP server has every one written so far. */
async function lastLink(email: string, kind: "verify-email" | "reset-password"): Promise<string> {
  const written = (await mailTo(email)).filter((message) => message.kind === kind).length;
  const received = await waitFor(() => {
    const matching = sink
      .to(email.toLowerCase())
      .filter((mail) => subjects[kind]?.test(mail.parsed.subject ?? ""));
    return written > 0 && matching.length >= written && matching;
  }, `${written} ${kind} mail to ${email} at the SMTP server`);
  const text = received.at(-1)?.text ?? "";
  const link = new RegExp(`${origin}/api/auth/[^\\s>)]+`).exec(text)?.[0];
  if (!link) throw new Error(`no link in the ${kind} mail to ${email}: ${text}`);
  return link;
}

function post(path: string, body: unknown, cookie?: string) {
  return test.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

const signUp = (email: string, password = testPassword) =>
  post("/api/auth/sign-up/email", { email, password, name: "Ada" });
const signIn = (email: string, password = testPassword) =>
  post("/api/auth/sign-in/email", { email, password });
const me = (cookie: string) => test.app.request("/api/me", { headers: { cookie } });

/** Follows an emailed link as a browser would (the link is absolute, on APP_URL). */
const follow = (url: string) => test.app.request(url, { redirect: "manual" });

async function signupBonuses(userId: string): Promise<number> {
  const result = await test.database.pool.query(
    "select 1 from credits.entries where user_id = $1 and kind = 'signup_bonus'",
    [userId],
  );
  return result.rowCount ?? 0;
}

/** Signs up and follows the verification link; returns the session the link signs in. */
async function verifiedPerson(email = uniqueEmail()) {
  expect((await signUp(email)).status).toBe(200);
  const followed = await follow(await lastLink(email, "verify-email"));
  expect(followed.status).toBe(302);
  const cookie = cookieFrom(followed);
  const body = (await (await me(cookie)).json()) as { user: { id: string } };
  return { email, cookie, userId: body.user.id };
}

describe("email verification", () => {
  it("sends a link at sign-up, refuses password sign-in until it is followed, then signs in with the starter credits", async () => {
    const email = uniqueEmail("new");
    const signedUp = await signUp(email);
    expect(signedUp.status).toBe(200);
    expect(cookieFrom(signedUp)).toBe("");
    expect(await lastLink(email, "verify-email")).toMatch(
      new RegExp(`^${origin}/api/auth/verify-email\\?token=`),
    );

    const refused = await signIn(email);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: "EMAIL_NOT_VERIFIED" } });
    // The refusal sent a fresh link.
    expect((await mailTo(email)).filter((mail) => mail.kind === "verify-email")).toHaveLength(2);

    const followed = await follow(await lastLink(email, "verify-email"));
    expect(followed.status).toBe(302);
    const cookie = cookieFrom(followed);
    const answer = (await (await me(cookie)).json()) as {
      user: { id: string; emailVerified: boolean };
      balanceCents: number;
    };
    expect(answer.user.emailVerified).toBe(true);
    expect(answer.balanceCents).toBe(50);
    expect((await signIn(email)).status).toBe(200);
  });

  it("grants the starter credits exactly once when one link is followed ten times at once", async () => {
    const email = uniqueEmail("clicks");
    await signUp(email);
    const link = await lastLink(email, "verify-email");
    const followed = await Promise.all(Array.from({ length: 10 }, () => follow(link)));
    expect(followed.every((response) => response.status === 302)).toBe(true);
    const cookie = followed.map(cookieFrom).find(Boolean) as string;
    const answer = (await (await me(cookie)).json()) as { user: { id: string }; balanceCents: number };
    expect(answer.balanceCents).toBe(50);
    expect(await signupBonuses(answer.user.id)).toBe(1);
    // And again later: still once.
    await follow(link);
    expect(await signupBonuses(answer.user.id)).toBe(1);
  });

  it("refuses a forged or tampered link and changes nothing", async () => {
    const email = uniqueEmail("forged");
    await signUp(email);
    const link = new URL(await lastLink(email, "verify-email"));
    link.searchParams.set("token", `${link.searchParams.get("token")}x`);
    const followed = await follow(link.toString());
    expect(followed.headers.get("location")).toContain("error=INVALID_TOKEN");
    expect((await signIn(email)).status).toBe(403);
  });

  it("sends the link again when asked, and limits how often", async () => {
    const limited = await createTestApp({ REQUIRE_EMAIL_VERIFICATION: "true", AUTH_RATE_LIMIT_MAX: "3" });
    try {
      const email = uniqueEmail("again");
      const ask = () =>
        limited.app.request("/api/auth/send-verification-email", {
          method: "POST",
          headers: { "content-type": "application/json", origin },
          body: JSON.stringify({ email }),
        });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await ask()).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toEqual([429, 429]);
    } finally {
      await limited.close();
    }
  });

  it("makes an ADMIN_EMAILS account admin only once its email is verified", async () => {
    expect((await signUp(admin)).status).toBe(200);
    expect((await signIn(admin)).status).toBe(403);
    const followed = await follow(await lastLink(admin, "verify-email"));
    const answer = (await (await me(cookieFrom(followed))).json()) as { user: { isAdmin: boolean } };
    expect(answer.user.isAdmin).toBe(true);
  });
});

describe("sign-up of an address that is already registered", () => {
  it("answers exactly as for a new address, creates nothing and emails the owner instead", async () => {
    const { email, userId } = await verifiedPerson();
    const again = await signUp(email, "another password entirely");
    const fresh = await signUp(uniqueEmail("fresh"), "another password entirely");
    expect(again.status).toBe(fresh.status);
    const shape = (body: { token: unknown; user: Record<string, unknown> }) => ({
      token: body.token,
      keys: Object.keys(body.user).sort(),
      emailVerified: body.user.emailVerified,
    });
    expect(shape(await again.json())).toEqual(shape(await fresh.json()));
    expect(cookieFrom(again)).toBe("");

    const notice = (await mailTo(email)).filter((mail) => mail.kind === "existing-account");
    expect(notice).toHaveLength(1);
    expect(notice[0]?.data.resetUrl).toBe(`${origin}/forgot-password`);
    const delivered = await waitFor(
      () => sink.to(email).find((mail) => mail.parsed.subject === "You already have a Coinslot account"),
      "the notice at the SMTP server",
    );
    expect(delivered.text).toContain(`${origin}/forgot-password`);
    const users = await test.database.pool.query(`select id from auth_coinslot."user" where email = $1`, [
      email,
    ]);
    expect(users.rows).toEqual([{ id: userId }]);
    // The old password still works; the new one was not set.
    expect((await signIn(email)).status).toBe(200);
    expect((await signIn(email, "another password entirely")).status).toBe(401);
  });
});

describe("password reset", () => {
  const askReset = (email: string) =>
    post("/api/auth/request-password-reset", { email, redirectTo: "/reset-password" });

  it("answers alike whether or not the address is registered, and mails only the owner", async () => {
    const { email } = await verifiedPerson();
    const stranger = uniqueEmail("nobody");
    const known = await askReset(email);
    const unknown = await askReset(stranger);
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(await known.json()).toEqual(await unknown.json());
    expect((await mailTo(email)).filter((mail) => mail.kind === "reset-password")).toHaveLength(1);
    expect(await mailTo(stranger)).toEqual([]);
  });

  it("sets a new password once per link, signs out every session, and then the old password fails", async () => {
    const { email, cookie } = await verifiedPerson();
    const otherDevice = cookieFrom(await signIn(email));
    expect((await me(otherDevice)).status).toBe(200);
    await askReset(email);

    // The emailed link leads to the web app's reset page with the token.
    const landed = await follow(await lastLink(email, "reset-password"));
    expect(landed.status).toBe(302);
    const page = new URL(landed.headers.get("location") ?? "");
    expect(page.origin + page.pathname).toBe(`${origin}/reset-password`);
    const token = page.searchParams.get("token");

    const reset = await post("/api/auth/reset-password", { token, newPassword: "a brand new password" });
    expect(reset.status).toBe(200);
    const again = await post("/api/auth/reset-password", { token, newPassword: "yet another password" });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: { code: "INVALID_OR_EXPIRED_LINK" } });

    expect((await me(cookie)).status).toBe(401);
    expect((await me(otherDevice)).status).toBe(401);
    expect((await signIn(email)).status).toBe(401);
    expect((await signIn(email, "a brand new password")).status).toBe(200);
    expect((await mailTo(email)).map((mail) => mail.kind)).toContain("password-changed");
  });

  it("refuses an expired link and leaves the password as it was", async () => {
    const { email } = await verifiedPerson();
    await askReset(email);
    const landed = await follow(await lastLink(email, "reset-password"));
    const token = new URL(landed.headers.get("location") ?? "").searchParams.get("token");
    // An hour passes: the link's row in auth's table says it expired.
    await test.database.pool.query(
      `update auth_coinslot.verification set "expiresAt" = now() - interval '1 second'
        where identifier = $1`,
      [`reset-password:${token}`],
    );
    const reset = await post("/api/auth/reset-password", { token, newPassword: "a brand new password" });
    expect(reset.status).toBe(400);
    expect(await reset.json()).toMatchObject({ error: { code: "INVALID_OR_EXPIRED_LINK" } });
    expect((await signIn(email)).status).toBe(200);
  });

  it("names the field when the new password is too short, and the token still works after", async () => {
    const { email } = await verifiedPerson();
    await askReset(email);
    const landed = await follow(await lastLink(email, "reset-password"));
    const token = new URL(landed.headers.get("location") ?? "").searchParams.get("token");
    const short = await post("/api/auth/reset-password", { token, newPassword: "short" });
    expect(short.status).toBe(400);
    expect(JSON.stringify(await short.json())).toContain("newPassword");
    expect((await post("/api/auth/reset-password", { token, newPassword: "long enough now" })).status).toBe(
      200,
    );
  });
});

describe("change password", () => {
  it("asks for the current password, and then the new one signs in", async () => {
    const { email, cookie } = await verifiedPerson();
    const wrong = await post(
      "/api/auth/change-password",
      { currentPassword: "not my password", newPassword: "my new password" },
      cookie,
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: { code: "WRONG_PASSWORD" } });
    const changed = await post(
      "/api/auth/change-password",
      { currentPassword: testPassword, newPassword: "my new password", revokeOtherSessions: true },
      cookie,
    );
    expect(changed.status).toBe(200);
    expect((await signIn(email)).status).toBe(401);
    expect((await signIn(email, "my new password")).status).toBe(200);
  });

  it("is refused without a session", async () => {
    const response = await post("/api/auth/change-password", {
      currentPassword: testPassword,
      newPassword: "my new password",
    });
    expect(response.status).toBe(401);
  });
});

describe("delete my account", () => {
  it("releases open holds, removes sessions, conversations and the email, and keeps the ledger's entries", async () => {
    const { email, cookie, userId } = await verifiedPerson();
    const hold = await test.ledger.placeHold({ userId, amountCents: 20, idempotencyKey: `hold:${userId}` });
    expect(hold.error).toBeNull();
    await test.database.pool.query(
      "insert into chat.conversations (id, user_id, title, model) values ('c1', $1, 'my private question', 'demo')",
      [userId],
    );

    const wrong = await post("/api/auth/delete-user", { password: "not my password" }, cookie);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: { code: "WRONG_PASSWORD" } });
    // A fresh session alone is not enough for an account that has a password.
    const unconfirmed = await post("/api/auth/delete-user", {}, cookie);
    expect(unconfirmed.status).toBe(400);
    expect(await unconfirmed.json()).toMatchObject({ error: { code: "PASSWORD_REQUIRED" } });
    expect((await me(cookie)).status).toBe(200);
    const deleted = await post("/api/auth/delete-user", { password: testPassword }, cookie);
    expect(deleted.status).toBe(200);

    expect((await me(cookie)).status).toBe(401);
    expect((await signIn(email)).status).toBe(401);
    const { pool } = test.database;
    const account = await pool.query(
      "select email, balance_cents, held_cents from credits.accounts where user_id = $1",
      [userId],
    );
    expect(account.rows[0]).toMatchObject({ balance_cents: 50, held_cents: 0 });
    expect(account.rows[0]?.email).not.toContain(email.split("@")[0]);
    const holds = await pool.query("select status from credits.holds where user_id = $1", [userId]);
    expect(holds.rows).toEqual([{ status: "released" }]);
    expect(await signupBonuses(userId)).toBe(1);
    const conversations = await pool.query("select 1 from chat.conversations where user_id = $1", [userId]);
    expect(conversations.rowCount).toBe(0);
    const sessions = await pool.query(`select 1 from auth_coinslot.session where "userId" = $1`, [userId]);
    expect(sessions.rowCount).toBe(0);
    const mailAboutThem = await pool.query("select 1 from mail.outbox where user_id = $1", [userId]);
    expect(mailAboutThem.rowCount).toBe(0);
    expect((await mailTo(email)).map((mail) => mail.kind)).toEqual(["account-deleted"]);
  });

  it("gives an address whose account was deleted no second starter grant when it signs up again", async () => {
    const first = await verifiedPerson();
    expect((await (await me(first.cookie)).json()).balanceCents).toBe(50);
    expect((await post("/api/auth/delete-user", { password: testPassword }, first.cookie)).status).toBe(200);

    // The same address, in another letter case, verified again: a new account, without credits. (The
    // SMTP server forgets the first account's mail, so the new link is the one read.)
    for (let index = sink.received.length - 1; index >= 0; index--) {
      if (sink.received[index]?.envelopeTo.includes(first.email)) sink.received.splice(index, 1);
    }
    const again = await verifiedPerson(first.email.toUpperCase());
    expect(again.userId).not.toBe(first.userId);
    expect((await (await me(again.cookie)).json()).balanceCents).toBe(0);
    expect(await signupBonuses(again.userId)).toBe(0);
    // The first account keeps its history and its one bonus.
    expect(await signupBonuses(first.userId)).toBe(1);
    const [closed] = (
      await test.database.pool.query(
        "select email, closed_email_sha256 is not null as fingerprinted from credits.accounts where user_id = $1",
        [first.userId],
      )
    ).rows;
    expect(closed).toMatchObject({ fingerprinted: true });
    expect(closed.email).toMatch(/@deleted\.invalid$/);
  });
});
