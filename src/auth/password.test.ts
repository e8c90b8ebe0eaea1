import { hashPassword as scryptHash } from "better-auth/crypto";
import { describe, expect, it } from "vitest";
import { hashPassword, isCurrentHash, verifyPassword } from "./password.js";

describe("password hashing", () => {
  it("hashes with argon2id at OWASP's parameters and a fresh salt each time", async () => {
    const first = await hashPassword("a password of mine");
    const second = await hashPassword("a password of mine");
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(first).not.toBe(second);
    expect(isCurrentHash(first)).toBe(true);
  });

  it("verifies argon2id hashes", async () => {
    const stored = await hashPassword("a password of mine");
    expect(await verifyPassword({ hash: stored, password: "a password of mine" })).toBe(true);
    expect(await verifyPassword({ hash: stored, password: "a password of mine!" })).toBe(false);
  });

  it("verifies Better Auth's scrypt hashes and marks them for upgrade", async () => {
    const stored = await scryptHash("an older password");
    expect(await verifyPassword({ hash: stored, password: "an older password" })).toBe(true);
    expect(await verifyPassword({ hash: stored, password: "another" })).toBe(false);
    expect(isCurrentHash(stored)).toBe(false);
  });

  it("refuses anything that is not a hash it knows, rather than throwing", async () => {
    for (const stored of ["", "plain text", "$2b$10$bcryptlooking"]) {
      expect(await verifyPassword({ hash: stored, password: stored })).toBe(false);
    }
  });

  it("marks weaker argon2 parameters for upgrade", () => {
    expect(isCurrentHash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA")).toBe(false);
    expect(isCurrentHash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")).toBe(false);
  });
});
