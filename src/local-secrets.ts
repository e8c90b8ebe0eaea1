import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type LocalSecrets = {
  authSecret: string;
  stripeWebhookSecret: string;
  embeddedPostgresPassword: string;
};

/**
 * Secrets generated once per DATA_DIR, so local use needs no setup and sessions survive a restart.
 * Production must not rely on these: config refuses a missing AUTH_SECRET there.
 */
export function loadLocalSecrets(dataDir: string): LocalSecrets {
  const path = join(dataDir, "secrets.json");
  const existing = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Partial<LocalSecrets>) : {};
  const secrets: LocalSecrets = {
    authSecret: existing.authSecret ?? randomBytes(32).toString("base64url"),
    stripeWebhookSecret: existing.stripeWebhookSecret ?? `whsec_${randomBytes(24).toString("base64")}`,
    embeddedPostgresPassword: existing.embeddedPostgresPassword ?? randomBytes(18).toString("base64url"),
  };
  const changed = Object.keys(secrets).some((key) => !(key in existing));
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return secrets;
}
