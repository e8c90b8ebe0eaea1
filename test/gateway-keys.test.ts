import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyCreationLimit } from "../src/gateway/key-routes.js";
import {
  createPersonalKey,
  findPersonalKeyCounted,
  maxLiveKeysPerPerson,
  type PersonalKey,
  revokePersonalKey,
} from "../src/gateway/personal-keys.js";
import { createServiceKey } from "../src/metering/keys.js";
import { createTestApp, type TestApp, testPassword } from "./support/app.js";
import { usablePersonalKey } from "./support/metering.js";

// A person's own API keys (cpk_...) for the gateway: made, listed and revoked through /api/keys
// behind the session, stored only as hashes, at most 20 live ones and 20 made an hour, never another
// person's; and the lookup the gateway makes with a bearer secret.

let test: TestApp;
let origin: string;

beforeAll(async () => {
  test = await createTestApp();
  origin = new URL(test.config.appUrl).origin;
});
afterAll(() => test?.close());

type KeyJson = Omit<PersonalKey, "createdAt" | "lastUsedAt" | "revokedAt"> & {
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

async function call(method: string, path: string, cookie: string | undefined, body?: unknown) {
  const response = await test.app.request(path, {
    method,
    headers: {
      origin,
      ...(cookie ? { cookie } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields its answer has.
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const create = (cookie: string, body: unknown) => call("POST", "/api/keys", cookie, body);
const list = async (cookie: string): Promise<KeyJson[]> => (await call("GET", "/api/keys", cookie)).body.keys;
const revoke = (cookie: string, id: string) => call("DELETE", `/api/keys/${id}`, cookie);

describe("creating and listing keys", () => {
  it("shows the secret once, lists the key by its prefix and limit, and stores only a hash", async () => {
    const { cookie, user } = await test.signUp();
    expect(await list(cookie)).toEqual([]);

    const created = await create(cookie, { name: "  laptop script ", monthlyLimitCents: 1000 });
    expect(created.status).toBe(201);
    const { key, secret } = created.body as { key: KeyJson; secret: string };
    expect(secret).toMatch(/^cpk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({
      name: "laptop script",
      monthlyLimitCents: 1000,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(key.prefix).toHaveLength(12);
    expect(secret.startsWith(key.prefix)).toBe(true);

    const second = await create(cookie, { name: "no limit", monthlyLimitCents: null });
    expect(second.status).toBe(201);
    expect(second.body.key.monthlyLimitCents).toBeNull();
    expect((await create(cookie, { name: "limit left out" })).body.key.monthlyLimitCents).toBeNull();

    const listed = await call("GET", "/api/keys", cookie);
    expect(listed.body.keys.map((listedKey: KeyJson) => listedKey.name)).toEqual([
      "limit left out",
      "no limit",
      "laptop script",
    ]);
    expect(listed.body.keys[2]).toEqual(key);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    // Stored hashed: the table holds the SHA-256 of the secret and nothing else of what follows the prefix.
    const { pool } = test.database;
    const stored = await pool.query(
      "select *, encode(secret_hash, 'hex') as hex from metering.personal_keys",
    );
    expect(stored.rows.filter((row) => row.user_id === user.id)).toHaveLength(3);
    expect(JSON.stringify(stored.rows)).not.toContain(secret.slice(key.prefix.length));
    const hashed = await pool.query(
      "select 1 from metering.personal_keys where id = $1 and secret_hash = sha256(convert_to($2, 'UTF8'))",
      [key.id, secret],
    );
    expect(hashed.rowCount).toBe(1);
  });

  it("lists only the person's own keys", async () => {
    const ada = await test.signUp();
    const bob = await test.signUp();
    const adaKey = (await create(ada.cookie, { name: "ada's app" })).body.key as KeyJson;
    const bobKey = (await create(bob.cookie, { name: "bob's app" })).body.key as KeyJson;
    expect((await list(ada.cookie)).map((key) => key.id)).toEqual([adaKey.id]);
    expect((await list(bob.cookie)).map((key) => key.id)).toEqual([bobKey.id]);
  });
});

describe("revoking a key", () => {
  it("revokes one's own key (the gateway refuses it next), and never another person's", async () => {
    const ada = await test.signUp();
    const bob = await test.signUp();
    const adaKey = await create(ada.cookie, { name: "ada's app" });
    const bobKey = await create(bob.cookie, { name: "bob's app", monthlyLimitCents: 500 });
    const bobId = bobKey.body.key.id as string;

    const refused = await revoke(ada.cookie, bobId);
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe("KEY_NOT_FOUND");
    expect(await revokePersonalKey(test.database.pool, { userId: ada.user.id, id: bobId })).toBeNull();
    expect((await list(bob.cookie))[0]?.revokedAt).toBeNull();
    expect(await usablePersonalKey(test.database.pool, bobKey.body.secret)).toMatchObject({ id: bobId });

    const revoked = await revoke(ada.cookie, adaKey.body.key.id);
    expect(revoked.status).toBe(200);
    expect(revoked.body.key).toMatchObject({ id: adaKey.body.key.id, name: "ada's app" });
    expect(revoked.body.key.revokedAt).toEqual(expect.any(String));
    expect(await usablePersonalKey(test.database.pool, adaKey.body.secret)).toBeNull();
    // Revoking again keeps the first time; the list keeps the key, marked revoked.
    expect((await revoke(ada.cookie, adaKey.body.key.id)).body.key.revokedAt).toBe(
      revoked.body.key.revokedAt,
    );
    expect(await list(ada.cookie)).toEqual([revoked.body.key]);

    for (const id of ["abc", "0", "-1", "1.5", "99999999999999999999", "999999999999"]) {
      const missing = await revoke(ada.cookie, id);
      expect([id, missing.status, missing.body.error.code]).toEqual([id, 404, "KEY_NOT_FOUND"]);
    }
  });

  it("deletes every key of a person who deletes their account", async () => {
    const { cookie } = await test.signUp();
    const { secret } = (await create(cookie, { name: "soon gone" })).body as { secret: string };
    expect(await usablePersonalKey(test.database.pool, secret)).not.toBeNull();
    expect((await call("POST", "/api/auth/delete-user", cookie, { password: testPassword })).status).toBe(
      200,
    );
    expect(await usablePersonalKey(test.database.pool, secret)).toBeNull();
  });
});

describe("the limits on keys", () => {
  it(`refuses a ${maxLiveKeysPerPerson + 1}st live key with a message to revoke one`, async () => {
    const { cookie, user } = await test.signUp();
    const { pool } = test.database;
    for (let index = 0; index < maxLiveKeysPerPerson; index++) {
      await createPersonalKey(pool, { userId: user.id, name: `key ${index}` });
    }
    const refused = await create(cookie, { name: "one too many" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("TOO_MANY_KEYS");
    expect(refused.body.error.message).toMatch(/Revoke one/);
    expect(await list(cookie)).toHaveLength(maxLiveKeysPerPerson);

    const [newest] = await list(cookie);
    expect((await revoke(cookie, newest?.id ?? "")).status).toBe(200);
    expect((await create(cookie, { name: "in its place" })).status).toBe(201);
  });

  it("holds the cap under concurrent creation", async () => {
    const { user } = await test.signUp();
    const attempts = await Promise.allSettled(
      Array.from({ length: maxLiveKeysPerPerson + 5 }, (_, index) =>
        createPersonalKey(test.database.pool, { userId: user.id, name: `racer ${index}` }),
      ),
    );
    const refusals = attempts.filter((attempt) => attempt.status === "rejected");
    expect(attempts.length - refusals.length).toBe(maxLiveKeysPerPerson);
    expect(refusals.map((refusal) => refusal.reason.code)).toEqual(Array(5).fill("TOO_MANY_KEYS"));
  });

  it(`answers 429 with Retry-After past ${keyCreationLimit.max} keys made in an hour`, async () => {
    const { cookie } = await test.signUp();
    let lastId = "";
    for (let index = 0; index < keyCreationLimit.max; index++) {
      const created = await create(cookie, { name: `churn ${index}` });
      expect(created.status).toBe(201);
      lastId = created.body.key.id;
    }
    // Room for one more live key, so only the rate limit refuses it.
    expect((await revoke(cookie, lastId)).status).toBe(200);
    const limited = await create(cookie, { name: "one more" });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Someone else is counted on their own.
    expect((await create((await test.signUp()).cookie, { name: "mine" })).status).toBe(201);
  });
});

describe("what is refused", () => {
  it("answers 401 without a session and 403 from another site", async () => {
    const { cookie } = await test.signUp();
    const id = (await create(cookie, { name: "kept" })).body.key.id as string;
    for (const [method, path, body] of [
      ["GET", "/api/keys", undefined],
      ["POST", "/api/keys", { name: "x" }],
      ["DELETE", `/api/keys/${id}`, undefined],
    ] as const) {
      const answer = await call(method, path, undefined, body);
      expect([method, answer.status, answer.body.error.code]).toEqual([method, 401, "UNAUTHENTICATED"]);
    }
    const crossSite = await test.app.request(`/api/keys/${id}`, {
      method: "DELETE",
      headers: { cookie, origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
    expect((await list(cookie))[0]?.revokedAt).toBeNull();
  });

  it("answers 400 naming the field for a bad name or limit", async () => {
    const { cookie } = await test.signUp();
    const cases: [unknown, string][] = [
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "   " }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ name: 7 }, "name"],
      [{ name: "ok", monthlyLimitCents: 0 }, "monthlyLimitCents"],
      [{ name: "ok", monthlyLimitCents: -5 }, "monthlyLimitCents"],
      [{ name: "ok", monthlyLimitCents: 1.5 }, "monthlyLimitCents"],
      [{ name: "ok", monthlyLimitCents: "1000" }, "monthlyLimitCents"],
      [{ name: "ok", monthlyLimitCents: 100_000_001 }, "monthlyLimitCents"],
    ];
    for (const [body, field] of cases) {
      const answer = await create(cookie, body);
      expect([body, answer.status, answer.body.error.code, answer.body.error.fields]).toEqual([
        body,
        400,
        "INVALID_REQUEST",
        [field],
      ]);
      expect(answer.body.error.message).toContain(`${field}:`);
    }
    const notJson = await create(cookie, "{name:");
    expect([notJson.status, notJson.body.error.code]).toEqual([400, "INVALID_JSON"]);
    expect(await list(cookie)).toEqual([]);
  });
});

describe("the gateway's key lookup (findPersonalKeyCounted's key)", () => {
  it("finds a live key and marks it used at most once a minute; not a revoked, unknown or service key", async () => {
    const { pool } = test.database;
    const { user } = await test.signUp();
    const { key, secret } = await createPersonalKey(pool, {
      userId: user.id,
      name: "script",
      monthlyLimitCents: 250,
    });
    expect(await usablePersonalKey(pool, secret)).toEqual({
      id: key.id,
      userId: user.id,
      name: "script",
      monthlyLimitCents: 250,
    });
    const lastUsed = async () =>
      (await pool.query("select last_used_at from metering.personal_keys where id = $1", [key.id])).rows[0]
        ?.last_used_at as Date | null;
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await usablePersonalKey(pool, secret);
    expect(await lastUsed()).toEqual(first);

    const service = await createServiceKey(pool, { name: "an app", production: false });
    expect(await usablePersonalKey(pool, service.secret)).toBeNull();
    expect(await usablePersonalKey(pool, `cpk_${"A".repeat(43)}`)).toBeNull();
    expect(await usablePersonalKey(pool, `${secret}x`)).toBeNull();

    await revokePersonalKey(pool, { userId: user.id, id: key.id });
    expect(await usablePersonalKey(pool, secret)).toBeNull();
  });
});

describe("findPersonalKeyCounted (the gateway's lookup with its rate limit, one statement)", () => {
  it("counts a live key's calls in a fixed window and refuses past the limit; an unknown or revoked key counts nothing", async () => {
    const { pool } = test.database;
    const { user } = await test.signUp();
    const { key, secret } = await createPersonalKey(pool, { userId: user.id, name: "busy script" });
    const limit = { action: "gateway", max: 2, windowSeconds: 60 };
    const attempts = async () =>
      (
        await pool.query(
          "select attempts from coinslot_private.rate_limits where user_id = $1 and action = 'gateway'",
          [`personal_key:${key.id}`],
        )
      ).rows[0]?.attempts as number | undefined;

    expect(await findPersonalKeyCounted(pool, secret, limit)).toEqual({
      key: { id: key.id, userId: user.id, name: "busy script", monthlyLimitCents: null },
      attempt: { allowed: true },
    });
    const lastUsed = (
      await pool.query("select last_used_at from metering.personal_keys where id = $1", [key.id])
    ).rows[0]?.last_used_at;
    expect(lastUsed).toBeInstanceOf(Date);
    expect((await findPersonalKeyCounted(pool, secret, limit))?.attempt).toEqual({ allowed: true });
    const third = await findPersonalKeyCounted(pool, secret, limit);
    expect(third?.attempt.allowed).toBe(false);
    expect(third?.attempt.allowed === false && third.attempt.retryAfterSeconds).toBeGreaterThan(0);
    expect(await attempts()).toBe(3);

    // A window that has passed starts again at one.
    await pool.query(
      "update coinslot_private.rate_limits set window_started_at = now() - interval '61 seconds' where user_id = $1",
      [`personal_key:${key.id}`],
    );
    expect((await findPersonalKeyCounted(pool, secret, limit))?.attempt).toEqual({ allowed: true });
    expect(await attempts()).toBe(1);

    expect(await findPersonalKeyCounted(pool, `cpk_${"A".repeat(43)}`, limit)).toBeNull();
    await revokePersonalKey(pool, { userId: user.id, id: key.id });
    expect(await findPersonalKeyCounted(pool, secret, limit)).toBeNull();
    expect(await attempts()).toBe(1);
  });
});
