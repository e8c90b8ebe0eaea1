import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { inCoinslotShape } from "./errors.js";

const logger = createLogger("silent");
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

describe("Better Auth errors in Coinslot's shape", () => {
  it("keeps the status and gives known codes a message that says what to do", async () => {
    const response = await inCoinslotShape(
      json(401, { code: "INVALID_EMAIL_OR_PASSWORD", message: "Invalid email or password" }),
      logger,
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: {
        code: "INVALID_EMAIL_OR_PASSWORD",
        message: "The email or the password is wrong. Check both and try again.",
      },
    });
  });

  it("keeps an unknown code and its message", async () => {
    const response = await inCoinslotShape(json(400, { code: "SOMETHING_NEW", message: "New rule" }), logger);
    expect(await response.json()).toEqual({ error: { code: "SOMETHING_NEW", message: "New rule" } });
  });

  it("names a code from the status when Better Auth gave none", async () => {
    const response = await inCoinslotShape(new Response("not json", { status: 404 }), logger);
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("NOT_FOUND");
  });

  it("turns 429 into RATE_LIMITED with a standard Retry-After", async () => {
    const response = await inCoinslotShape(
      json(429, { message: "Too many requests." }, { "x-retry-after": "42" }),
      logger,
    );
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("42");
    expect((await response.json()).error).toEqual({
      code: "RATE_LIMITED",
      message: "Too many attempts. Try again in 42 seconds.",
    });
  });

  it("hides the internals of a 5xx", async () => {
    const response = await inCoinslotShape(
      json(500, { message: 'relation "auth_coinslot.session" does not exist' }),
      logger,
    );
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("auth_coinslot");
    expect(JSON.parse(text).error.code).toBe("INTERNAL");
  });

  it("passes successes and redirects through untouched", async () => {
    const redirect = new Response(null, {
      status: 302,
      headers: { location: "https://accounts.google.com/" },
    });
    expect(await inCoinslotShape(redirect, logger)).toBe(redirect);
  });
});
