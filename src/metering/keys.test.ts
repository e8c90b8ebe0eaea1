import { describe, expect, it } from "vitest";
import { cleanKeyName, hashSecret, isServiceKeySecret } from "./keys.js";
import { ledgerKey } from "./spending.js";

describe("service key secrets", () => {
  it("accepts only csk_live_ or csk_test_ and 43 base64url characters", () => {
    expect(isServiceKeySecret(`csk_test_${"a".repeat(43)}`)).toBe(true);
    expect(isServiceKeySecret(`csk_live_${"Z_-9".repeat(10)}abc`)).toBe(true);
    expect(isServiceKeySecret(`csk_prod_${"a".repeat(43)}`)).toBe(false);
    expect(isServiceKeySecret(`csk_test_${"a".repeat(42)}`)).toBe(false);
    expect(isServiceKeySecret(`csk_test_${"a".repeat(42)}=`)).toBe(false);
  });

  it("hashes with SHA-256 and cleans names", () => {
    expect(hashSecret("x")).toHaveLength(32);
    expect(cleanKeyName("  prompt app ")).toBe("prompt app");
    expect(cleanKeyName("   ")).toBeNull();
    expect(cleanKeyName("x".repeat(101))).toBeNull();
    expect(cleanKeyName(undefined)).toBeNull();
  });
});

describe("ledgerKey", () => {
  it("namespaces the app's key by operation and user, hashing one too long for the ledger", () => {
    expect(ledgerKey("hold", "user_1", "req-42")).toBe("v1:hold:user_1:req-42");
    expect(ledgerKey("usage", "user_1", "req-42")).toBe("v1:usage:user_1:req-42");
    const long = ledgerKey("usage", "u".repeat(32), "k".repeat(255));
    expect(long.length).toBeLessThanOrEqual(255);
    expect(long).toMatch(/^v1:usage:u{32}:sha256:/);
    expect(long).not.toBe(ledgerKey("usage", "u".repeat(32), `${"k".repeat(254)}j`));
  });
});
