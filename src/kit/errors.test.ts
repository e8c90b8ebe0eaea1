import { describe, expect, it } from "vitest";
import { errorStatus, isErrorCode } from "./error-codes.js";
import { AppError, errorBody } from "./errors.js";

describe("AppError", () => {
  it("takes its status from the one table, so a code cannot answer two statuses", () => {
    expect(new AppError("PAYLOAD_TOO_LARGE", "Send less.").status).toBe(413);
    expect(new AppError("WEBHOOK_NOT_APPLIED", "Again.").status).toBe(500);
    expect(new AppError("INSUFFICIENT_CREDITS", "Buy credits.", { neededCents: 3 }).details).toEqual({
      neededCents: 3,
    });
  });

  it("has a table of UPPER_SNAKE codes with error statuses only", () => {
    for (const [code, status] of Object.entries(errorStatus)) {
      expect(code).toMatch(/^[A-Z][A-Z_]*[A-Z]$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it("tells its own codes from others", () => {
    expect(isErrorCode("RATE_LIMITED")).toBe(true);
    expect(isErrorCode("toString")).toBe(false);
    expect(isErrorCode("USER_NOT_FOUND")).toBe(false);
  });

  it("answers in the contract's shape", () => {
    expect(errorBody("NOT_FOUND", "No route.", { path: "/x" })).toEqual({
      error: { code: "NOT_FOUND", message: "No route.", path: "/x" },
    });
  });
});
