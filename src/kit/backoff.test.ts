import { describe, expect, it } from "vitest";
import { defaultRetryPolicy, retryAtMs, retryDelayMs } from "./backoff.js";

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

describe("retryAtMs", () => {
  const policy = { baseDelayMs: 1_000, maxDelayMs: 60_000, giveUpAfterMs: 10_000 };

  it("retries after the backoff while that stays within giveUpAfterMs of the queueing", () => {
    expect(retryAtMs(policy, { attempts: 1, queuedAtMs: 0, nowMs: 5_000 }, () => 1)).toBe(6_000);
  });

  it("gives up when the next attempt would come later than that", () => {
    expect(retryAtMs(policy, { attempts: 1, queuedAtMs: 0, nowMs: 9_500 }, () => 1)).toBeNull();
  });
});
