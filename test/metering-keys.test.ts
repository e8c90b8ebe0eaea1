import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceKey } from "../src/metering/keys.js";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// Service keys end to end: the per-key rate limit, the admin routes, and the command line.

const adminEmail = "keys-admin@example.com";
let metering: MeteringServer;

beforeAll(async () => {
  metering = await startMeteringServer({ METERING_RATE_LIMIT_MAX: "3", ADMIN_EMAILS: adminEmail });
});
afterAll(() => metering.close());

describe("the per-key rate limit", () => {
  it("answers 429 with Retry-After past the limit, counting each key on its own", async () => {
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push(await metering.call("GET", "/v1/customers/nobody"));
    expect(statuses.map((answer) => answer.status)).toEqual([404, 404, 404, 429]);
    const limited = statuses[3];
    expect(limited?.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    const other = await createServiceKey(metering.test.database.pool, { name: "other", production: false });
    expect((await metering.call("GET", "/v1/customers/nobody", { secret: other.secret })).status).toBe(404);
  });
});

describe("the admin's service-key routes", () => {
  it("creates (secret once), lists without secrets, revokes; only for admins", async () => {
    const admin = await metering.test.signUpVerified(adminEmail);
    const someone = await metering.test.signUp();
    const origin = new URL(metering.test.config.appUrl).origin;
    const request = (path: string, cookie: string, body?: unknown) =>
      metering.test.app.request(path, {
        method: body === undefined ? "GET" : "POST",
        headers: { cookie, origin, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await request("/api/admin/service-keys", someone.cookie)).status).toBe(403);
    expect((await request("/api/admin/service-keys", someone.cookie, { name: "x" })).status).toBe(403);

    const created = await request("/api/admin/service-keys", admin.cookie, { name: "prompt app" });
    expect(created.status).toBe(201);
    const { key, secret } = (await created.json()) as { key: { id: string; prefix: string }; secret: string };
    expect(secret).toMatch(/^csk_test_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(key.prefix)).toBe(true);

    const listed = await (await request("/api/admin/service-keys", admin.cookie)).text();
    expect(listed).toContain(key.prefix);
    expect(listed).not.toContain(secret);
    const [stored] = (
      await metering.test.database.pool.query("select * from metering.service_keys where id = $1", [key.id])
    ).rows;
    expect(JSON.stringify(stored)).not.toContain(secret.slice(key.prefix.length));

    expect((await metering.call("GET", "/v1/customers/nobody", { secret })).status).toBe(404);
    const revoked = await request(`/api/admin/service-keys/${key.id}/revoke`, admin.cookie, {});
    expect(revoked.status).toBe(200);
    expect((await metering.call("GET", "/v1/customers/nobody", { secret })).status).toBe(401);
    expect((await request("/api/admin/service-keys/csk_test_nothere/revoke", admin.cookie, {})).status).toBe(
      404,
    );
  });
});

describe("npm run cli -- service-key", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "coinslot-keys-cli-"));
  // Asynchronous: the app under test serves from this very process, and a blocking spawn would stall
  // it long enough for a kept-alive connection to be reset under load.
  const cli = (...args: string[]) => {
    const { DATABASE_URL: _unused, ...inherited } = process.env;
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        "node",
        ["--import", "tsx", "src/cli/index.ts", "service-key", ...args],
        {
          env: { ...inherited, DATA_DIR: dataDir, DATABASE_URL: metering.test.database.url },
          timeout: 60_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
          done({ code, stdout: stdout.trim(), stderr: stderr.trim() });
        },
      );
    });
  };

  it("creates a key printing its secret once, lists it, revokes it by prefix", async () => {
    expect((await cli("create")).code).toBe(1);
    const created = await cli("create", "--name", "cli app");
    expect(created.code).toBe(0);
    const secret = created.stdout.split("\n")[1] ?? "";
    expect(secret).toMatch(/^csk_test_[A-Za-z0-9_-]{43}$/);
    const prefix = secret.slice(0, 17);
    expect((await metering.call("GET", "/v1/customers/nobody", { secret })).status).toBe(404);

    const listed = await cli("list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${prefix}\tcli app\tcreated `);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).toMatch(/last used \d{4}-/);

    expect(await cli("revoke", prefix)).toMatchObject({ code: 0 });
    expect((await cli("list")).stdout).toMatch(new RegExp(`${prefix}\\tcli app\\t.*\\trevoked \\d{4}-`));
    expect((await metering.call("GET", "/v1/customers/nobody", { secret })).status).toBe(401);
    expect((await cli("revoke", "csk_test_unknown0")).code).toBe(1);
  });
});
