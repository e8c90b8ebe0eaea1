import type { Pool } from "../db/pool.js";
import { cleanKeyName, createServiceKey, listServiceKeys, revokeServiceKey } from "../metering/keys.js";
import type { Outcome } from "./commands.js";

const when = (date: Date | null) => (date ? date.toISOString().replace(/\.\d+Z$/, "Z") : "-");

/** `service-key create --name "..."`: prints the secret, the only time anyone sees it. */
export async function serviceKeyCreateCommand(
  pool: Pool,
  input: { name: string | undefined; production: boolean },
): Promise<Outcome> {
  const name = cleanKeyName(input.name);
  if (!name)
    return {
      code: 1,
      output: 'Name the key with --name "..." (1 to 100 characters), e.g. the app that uses it.',
    };
  const { key, secret } = await createServiceKey(pool, { name, production: input.production });
  return {
    code: 0,
    output: [
      `Created service key "${key.name}" (${key.prefix}, id ${key.id}). Its secret, shown only now:`,
      secret,
      "Send it as `Authorization: Bearer <secret>` to /v1/*. Store it where your app keeps secrets.",
    ].join("\n"),
  };
}

/** `service-key list`: every key, one line each, newest first; never a secret. */
export async function serviceKeyListCommand(pool: Pool): Promise<Outcome> {
  const keys = await listServiceKeys(pool);
  if (keys.length === 0)
    return { code: 0, output: 'No service keys yet; make one with `service-key create --name "..."`.' };
  const lines = keys.map((key) =>
    [
      key.prefix,
      key.name,
      `created ${when(key.createdAt)}`,
      `last used ${when(key.lastUsedAt)}`,
      key.revokedAt ? `revoked ${when(key.revokedAt)}` : "active",
      key.id,
    ].join("\t"),
  );
  return { code: 0, output: lines.join("\n") };
}

/** `service-key revoke <prefix-or-id>`: the key is refused from its next request on. */
export async function serviceKeyRevokeCommand(pool: Pool, idOrPrefix: string): Promise<Outcome> {
  const key = await revokeServiceKey(pool, idOrPrefix.trim());
  if (!key)
    return {
      code: 1,
      output: `No service key has the prefix or id "${idOrPrefix}"; see \`service-key list\`.`,
    };
  return { code: 0, output: `Revoked service key "${key.name}" (${key.prefix}) at ${when(key.revokedAt)}.` };
}
