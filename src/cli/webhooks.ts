import { type Config, webhookEndpointOf } from "../config.js";
import { webhookSecret } from "../webhooks/signature.js";
import type { Outcome } from "./commands.js";

/**
 * `webhook-secret <url>`: the signing secret of one webhook endpoint, derived from AUTH_SECRET (it
 * is stored nowhere, so this is how the operator learns it). Needs no database.
 *
 * @example
 * webhookSecretCommand(config, "https://app.example.com/coinslot"); // { code: 0, output: "whsec_…" }
 */
export function webhookSecretCommand(
  config: Pick<Config, "authSecret" | "webhookEndpoints">,
  url: string,
): Outcome {
  const endpoint = webhookEndpointOf(url);
  if (!endpoint) {
    return {
      code: 1,
      output: `${url} is not a webhook endpoint Coinslot can send to: use an https:// URL (http:// only for localhost or 127.x), without user or password.`,
    };
  }
  const secret = webhookSecret({ authSecret: config.authSecret, url: endpoint });
  const note = config.webhookEndpoints.includes(endpoint)
    ? ""
    : `\n(${endpoint} is not in WEBHOOK_ENDPOINTS yet; nothing is sent to it until it is.)`;
  return { code: 0, output: `${secret}${note}` };
}
