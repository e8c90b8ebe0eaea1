import { describe, expect, it } from "vitest";
import { defaultRetryPolicy, retryDelayMs } from "./backoff.js";

describe("retryDelayMs", () => {
  it("doubles from 10 s, jittered between half and all of it", () => {
    expect(retryDelayMs(defaultRetryPolicy, 1, () => 0)).toBe(5_000);
    expect(retryDelayMs(defaultRetryPolicy, 1, () => 1)).toBe(10_000);
    expect(retryDelayMs(defaultRetryPolicy, 3, () => 1)).toBe(40_000);
  });

  it("never waits more than an hour, however many attempts failed", () => {
    expect(retryDelayMs(defaultRetryPolicy, 12, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(defaultRetryPolicy, 1_000, () => 1)).toBe(3_600_000);
  });
});
