import { describe, expect, it } from "vitest";
import type { MailKind } from "./outbox.js";
import { MailDataError, renderMail } from "./templates.js";

const appUrl = "https://credits.example.com";
const link = `${appUrl}/api/auth/verify-email?token=abc&callbackURL=%2F`;

const examples: Record<MailKind, Record<string, unknown>> = {
  "verify-email": { name: "Ada", url: link },
  "reset-password": {
    name: "Ada",
    url: `${appUrl}/reset-password/tok?callbackURL=%2F`,
    expiresInMinutes: 60,
  },
  "existing-account": { name: "Ada", signInUrl: `${appUrl}/`, resetUrl: `${appUrl}/forgot-password` },
  "password-changed": { name: "Ada", resetUrl: `${appUrl}/forgot-password` },
  "account-deleted": { name: "Ada" },
  "auto-topup-failed": {
    name: "Ada",
    amountCents: 500,
    currency: "usd",
    reason: "Your bank asks you to confirm this payment yourself.",
    url: "/account#auto-top-up",
    turnedOff: false,
  },
  receipt: {
    name: "Ada",
    amountCents: 700,
    currency: "usd",
    paidAt: "2026-11-21T14:03:09Z",
    reference: "cs_test_123",
    balanceCents: 750,
  },
  "low-balance": { name: "Ada", currency: "usd", availableCents: 80, thresholdCents: 100 },
  "credits-expiring": { name: "Ada", currency: "usd", amountCents: 250, expiresAt: "2026-12-09T10:00:00Z" },
};

describe("renderMail", () => {
  it("renders every kind with a subject, a greeting, a footer and only absolute links", () => {
    for (const [kind, data] of Object.entries(examples) as [MailKind, unknown][]) {
      const mail = renderMail(kind, data, { appUrl });
      expect(mail.subject, kind).toMatch(/Coinslot/);
      expect(mail.text.startsWith("Hello Ada,\n\n"), kind).toBe(true);
      expect(mail.text, kind).toContain(`Coinslot · ${appUrl}`);
      const hrefs = [...mail.html.matchAll(/href="([^"]*)"/g)].map((match) => match[1]);
      expect(hrefs.length, kind).toBeGreaterThan(0);
      for (const href of hrefs) expect(href, kind).toMatch(/^https:\/\/credits\.example\.com(\/|$)/);
    }
  });

  it("puts the link itself in the text body, and the same link, escaped, in the HTML", () => {
    const mail = renderMail("verify-email", examples["verify-email"], { appUrl });
    expect(mail.text).toContain(`Confirm my email address:\n${link}`);
    expect(mail.html).toContain(`href="${link.replace("&", "&#38;")}"`);
  });

  it("writes a receipt with the amount, currency, time in UTC, reference and new balance", () => {
    const mail = renderMail("receipt", examples.receipt, { appUrl });
    expect(mail.subject).toBe("Your Coinslot receipt: $7.00 of credits");
    expect(mail.text).toContain("Credits bought:    $7.00");
    expect(mail.text).toContain("Currency:          USD");
    expect(mail.text).toContain("Paid on:           2026-11-21 14:03 UTC");
    expect(mail.text).toContain("Payment reference: cs_test_123");
    expect(mail.text).toContain("Balance now:       $7.50");
    expect(mail.text).toContain(`${appUrl}/history`);
    expect(renderMail("receipt", { ...examples.receipt, currency: "eur" }, { appUrl }).subject).toBe(
      "Your Coinslot receipt: 7.00 EUR of credits",
    );
  });

  it("escapes every value in the HTML body", () => {
    const hostile = `<script>alert("x")</script>&'`;
    const mail = renderMail(
      "reset-password",
      { name: hostile, url: `${appUrl}/reset?token="><img src=x onerror=alert(1)>`, expiresInMinutes: 5 },
      { appUrl },
    );
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).not.toMatch(/"><img/);
    expect(mail.html).toContain("Hello &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;,");
    // The text body is plain text: shown as written, never interpreted.
    expect(mail.text).toContain(`Hello ${hostile},`);
  });

  it("resolves a relative link against APP_URL and refuses any scheme but http(s)", () => {
    const relative = renderMail(
      "password-changed",
      { name: "Ada", resetUrl: "/forgot-password" },
      { appUrl },
    );
    expect(relative.text).toContain(`${appUrl}/forgot-password`);
    for (const url of ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd"]) {
      expect(() => renderMail("verify-email", { name: "Ada", url }, { appUrl }), url).toThrow(MailDataError);
    }
  });

  it("greets without a name when there is none", () => {
    expect(renderMail("account-deleted", { name: "  " }, { appUrl }).text.startsWith("Hello,\n")).toBe(true);
    expect(renderMail("account-deleted", {}, { appUrl }).text.startsWith("Hello,\n")).toBe(true);
  });

  it("refuses data that does not fit the kind, naming each field", () => {
    const cases: [MailKind, unknown, RegExp][] = [
      ["verify-email", { name: "Ada" }, /verify-email template \(url: /],
      ["reset-password", { name: "Ada", url: link, expiresInMinutes: "60" }, /expiresInMinutes: /],
      ["receipt", { ...examples.receipt, amountCents: 1.5 }, /amountCents: /],
      ["receipt", { ...examples.receipt, currency: "USD", paidAt: "yesterday" }, /currency: .*; paidAt: /],
      ["account-deleted", "not an object", /account-deleted template \(data: /],
    ];
    for (const [kind, data, reason] of cases) {
      let caught: unknown;
      try {
        renderMail(kind, data, { appUrl });
      } catch (error) {
        caught = error;
      }
      expect(caught, kind).toBeInstanceOf(MailDataError);
      expect((caught as MailDataError).code).toBe("MAIL_DATA_INVALID");
      expect((caught as MailDataError).message, kind).toMatch(reason);
    }
  });
});
