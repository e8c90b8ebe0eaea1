import type { Pool } from "../db/pool.js";
import { defaultRetryPolicy, type RetryPolicy, retryAtMs } from "../kit/backoff.js";
import { runPeriodically } from "../kit/periodic.js";
import type { Logger } from "../logger.js";
import {
  type AttemptOutcome,
  applyWebhookSettings,
  claimDueDeliveries,
  type Delivery,
  recordAttempt,
} from "./outbox.js";
import { eventBody, sendWebhook } from "./send.js";
import { webhookSecret } from "./signature.js";

export type DelivererOptions = {
  pool: Pool;
  logger: Logger;
  /** WEBHOOK_ENDPOINTS, normalised. */
  endpointUrls: string[];
  authSecret: string;
  lowBalanceAlertCents: number;
  /** How often to look for due deliveries. */
  intervalMs?: number;
  /** Per attempt, connecting and answering together. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Deliveries sent at once, per pass. */
  batchSize?: number;
  random?: () => number;
};

type Settings = Required<Omit<DelivererOptions, "lowBalanceAlertCents">> & { stopping: AbortSignal };

/** One pass: claims due deliveries batch by batch and sends each batch at once, until none is due. */
async function deliverDue(options: Settings): Promise<number> {
  const { pool, endpointUrls, timeoutMs, batchSize } = options;
  // The lease outlasts the attempt's timeout by a margin, so an attempt always ends inside its lease.
  const leaseSeconds = Math.ceil(timeoutMs / 1000) + 30;
  let sent = 0;
  // A bound on one pass, so a flood of events cannot keep stop() waiting for long.
  for (let round = 0; round < 20 && !options.stopping.aborted; round++) {
    const due = await claimDueDeliveries(pool, { limit: batchSize, endpointUrls, leaseSeconds });
    await Promise.all(due.map((delivery) => attempt(options, delivery)));
    sent += due.length;
    if (due.length < batchSize) break;
  }
  return sent;
}

/** The URL as logs show it: a token an operator put in its query stays out of them. */
function withoutQuery(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

async function attempt(options: Settings, delivery: Delivery): Promise<void> {
  const { pool, logger, authSecret, timeoutMs, retry, random, stopping } = options;
  const secret = webhookSecret({ authSecret, url: delivery.endpointUrl });
  const body = eventBody(delivery);
  const result = await sendWebhook({ url: delivery.endpointUrl, secret, body, timeoutMs, signal: stopping });
  if (result.delivered) {
    await recordAttempt(pool, delivery, result);
    return;
  }
  const outcome: AttemptOutcome = {
    ...result,
    retryAtMs: retryAtMs(
      retry,
      { attempts: delivery.attempts, queuedAtMs: delivery.createdAt.getTime() },
      random,
    ),
  };
  const context = {
    eventId: delivery.eventId,
    type: delivery.type,
    endpoint: withoutQuery(delivery.endpointUrl),
    attempts: delivery.attempts,
    error: result.error,
  };
  if (outcome.retryAtMs === null) logger.error(context, "webhook delivery given up");
  else logger.warn(context, "webhook delivery failed; retrying later");
  await recordAttempt(pool, delivery, outcome);
}

/**
 * Applies the webhook settings to the database, then delivers the outbox every `intervalMs` until
 * stopped: at least once, each delivery by one deliverer at a time however many servers run, with
 * backoff after failures for up to a day. A failed pass is logged and retried on the next tick;
 * `stop` cuts off attempts in flight (recorded as failed, so retried later) and waits for the pass.
 *
 * @example
 * const deliverer = await startWebhookDeliverer({ pool, logger, endpointUrls, authSecret, lowBalanceAlertCents: 100 });
 * await deliverer.stop();
 */
export async function startWebhookDeliverer(
  options: DelivererOptions,
): Promise<{ stop: () => Promise<void> }> {
  const { pool, logger, endpointUrls, lowBalanceAlertCents } = options;
  await applyWebhookSettings(pool, { endpointUrls, lowBalanceAlertCents });
  if (endpointUrls.length === 0) return { stop: async () => {} };
  const stopping = new AbortController();
  const settings: Settings = {
    stopping: stopping.signal,
    pool,
    logger,
    endpointUrls,
    authSecret: options.authSecret,
    intervalMs: options.intervalMs ?? 1_000,
    timeoutMs: options.timeoutMs ?? 10_000,
    retry: options.retry ?? defaultRetryPolicy,
    batchSize: options.batchSize ?? 10,
    random: options.random ?? Math.random,
  };
  const loop = runPeriodically({
    intervalMs: settings.intervalMs,
    pass: () => deliverDue(settings),
    onError: (error) => logger.warn({ err: error }, "delivering webhooks failed; retrying on the next tick"),
  });
  return {
    stop: async () => {
      // Shutdown must not wait out a slow endpoint: attempts in flight are cut off and retried later.
      stopping.abort();
      await loop.stop();
    },
  };
}
