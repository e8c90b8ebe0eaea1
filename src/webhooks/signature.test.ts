import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, webhookSecret } from "./signature.js";

describe("webhook signatures", () => {
  it("signs `<t>.<body>` with HMAC-SHA256 of the whole secret, as Stripe does", () => {
    const body = '{"id":"evt"}';
    const expected = createHmac("sha256", "whsec_abc").update(`1700000000.${body}`).digest("hex");
    expect(signWebhook({ secret: "whsec_abc", body, timestampSeconds: 1_700_000_000 })).toBe(
      `t=1700000000,v1=${expected}`,
    );
  });

  it("derives one stable secret per URL and AUTH_SECRET, different for any other", () => {
    const authSecret = "a".repeat(32);
    const url = "https://app.example.com/hooks";
    const secret = webhookSecret({ authSecret, url });
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(webhookSecret({ authSecret, url })).toBe(secret);
    expect(webhookSecret({ authSecret, url: `${url}?v=2` })).not.toBe(secret);
    expect(webhookSecret({ authSecret: "b".repeat(32), url })).not.toBe(secret);
  });
});
