import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configChecks } from "../src/cli/checks.js";
import { loadConfig } from "../src/config.js";

// What `npm run doctor` says about the checkout simulator, which gives credits away.

const dataDir = mkdtempSync(join(tmpdir(), "coinslot-billing-doctor-"));

function simulatorLine(environment: Record<string, string>) {
  const config = loadConfig({ DATA_DIR: dataDir, ...environment });
  return configChecks(config, environment).find((check) => check.name === "stripe simulator");
}

describe("npm run doctor on the checkout simulator", () => {
  it("says it is on for a loopback APP_URL", () => {
    expect(simulatorLine({})).toMatchObject({ level: "ok", message: expect.stringMatching(/^on \(APP_URL/) });
  });

  it("warns when STRIPE_SIMULATOR=on gives credits away behind a public URL", () => {
    expect(simulatorLine({ APP_URL: "https://example.com", STRIPE_SIMULATOR: "on" })).toMatchObject({
      level: "warning",
      message: expect.stringContaining("without paying"),
    });
  });

  it("warns that buying credits answers 503 when it is off and Stripe is not set", () => {
    expect(simulatorLine({ APP_URL: "https://example.com" })).toMatchObject({
      level: "warning",
      message: expect.stringMatching(/^off .*503.*STRIPE_SECRET_KEY/),
    });
    expect(simulatorLine({ STRIPE_SIMULATOR: "off" })?.message).toMatch(/^off /);
  });

  it("says nothing about it when Stripe is configured", () => {
    expect(
      simulatorLine({ STRIPE_SECRET_KEY: "sk_test_abc", STRIPE_WEBHOOK_SECRET: "whsec_x" }),
    ).toBeUndefined();
  });
});
