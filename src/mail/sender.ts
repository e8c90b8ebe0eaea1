import type { Config } from "../config.js";
import type { Pool } from "../db/pool.js";
import { defaultRetryPolicy, type RetryPolicy, retryAtMs } from "../kit/backoff.js";
import { runPeriodically } from "../kit/periodic.js";
import type { Logger } from "../logger.js";
import { describeMailDestination, type MailMode, mailMode } from "./destination.js";
import { type ClaimedMail, claimDueMail, type MailOutcome, recordMailOutcome } from "./queue.js";
import {
  createSmtpTransport,
  type SendOutcome,
  type SmtpTransport,
  sendMessage,
  smtpDestination,
} from "./smtp.js";
import { MailDataError, type RenderedMail, renderMail } from "./templates.js";

export type MailSenderOptions = {
  pool: Pool;
  logger: Logger;
  config: Pick<Config, "mail" | "appUrl">;
  /** How often to look for due messages. */
  intervalMs?: number;
  /** Per message, the whole SMTP conversation; also each of its phases. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Messages sent at once, per round of a pass. */
  batchSize?: number;
  random?: () => number;
};

type Settings = Required<Omit<MailSenderOptions, "config">> & {
  appUrl: string;
  from: string;
  mode: Exclude<MailMode, "off">;
  transport: SmtpTransport | null;
  destination: string;
  stopping: AbortSignal;
};

/** Settles with "stopped" when `signal` aborts, or "timeout" after `ms`; the timer never outlives the race. */
function interruption(
  signal: AbortSignal,
  ms: number,
): { promise: Promise<"stopped" | "timeout">; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const promise = new Promise<"stopped" | "timeout">((settle) => {
    timer = setTimeout(() => settle("timeout"), ms);
    onAbort = () => settle("stopped");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return {
    promise,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    },
  };
}

/** One SMTP attempt, cut off after `timeoutMs` or at shutdown ("stopped": nothing is recorded). */
async function sendOverSmtp(settings: Settings, mail: ClaimedMail, rendered: RenderedMail) {
  const { transport, timeoutMs, from, destination } = settings;
  if (!transport) throw new Error("the SMTP transport is missing in SMTP mode");
  // The same id on every attempt of this message, so a mail client shows a retried copy once.
  const messageId = `<coinslot-mail-${mail.id}-${mail.createdAt.getTime()}@${new URL(settings.appUrl).hostname}>`;
  const cutOff = interruption(settings.stopping, timeoutMs);
  try {
    const sending = sendMessage(transport, { from, to: mail.to, messageId, mail: rendered, destination });
    const outcome = await Promise.race([sending, cutOff.promise]);
    if (outcome === "timeout") {
      return {
        sent: false,
        error: `${destination} did not finish within ${timeoutMs} ms`,
        permanent: false,
      } as const;
    }
    return outcome;
  } finally {
    cutOff.clear();
  }
}

function retryOrGiveUp(
  settings: Settings,
  mail: ClaimedMail,
  failure: { error: string; permanent: boolean },
): MailOutcome {
  const retryAt = failure.permanent
    ? null
    : retryAtMs(
        settings.retry,
        { attempts: mail.attempts, queuedAtMs: mail.createdAt.getTime() },
        settings.random,
      );
  return { sent: false, error: failure.error, retryAtMs: retryAt };
}

async function attempt(settings: Settings, mail: ClaimedMail): Promise<void> {
  const { pool, logger } = settings;
  const context = { mailId: mail.id, kind: mail.kind, attempts: mail.attempts };
  let rendered: RenderedMail;
  try {
    rendered = renderMail(mail.kind, mail.data, { appUrl: settings.appUrl });
  } catch (error) {
    if (!(error instanceof MailDataError)) throw error;
    logger.error({ ...context, error: error.message }, "mail cannot be rendered; marked failed");
    await recordMailOutcome(pool, mail, { sent: false, error: error.message, retryAtMs: null });
    return;
  }
  if (settings.mode === "local-mailbox") {
    await recordMailOutcome(pool, mail, { sent: true, delivery: "local-mailbox" });
    return;
  }
  const result: SendOutcome | "stopped" = await sendOverSmtp(settings, mail, rendered);
  // Cut off by shutdown: the lease keeps the message from everyone until it runs out, then it is retried.
  if (result === "stopped") return;
  if (result.sent) {
    await recordMailOutcome(pool, mail, { sent: true, delivery: "smtp" });
    logger.debug({ ...context, messageId: result.messageId }, "mail sent");
    return;
  }
  const outcome = retryOrGiveUp(settings, mail, result);
  if (outcome.sent === false && outcome.retryAtMs === null)
    logger.error({ ...context, error: result.error }, "mail given up");
  else logger.warn({ ...context, error: result.error }, "mail not sent; retrying later");
  await recordMailOutcome(pool, mail, outcome);
}

/** One pass: claims due messages batch by batch and sends each batch at once, until none is due. */
async function sendDue(settings: Settings): Promise<number> {
  const { pool, timeoutMs, batchSize } = settings;
  // The lease outlasts the attempt's cut-off by a margin, so an attempt always ends inside its lease.
  const leaseSeconds = Math.ceil(timeoutMs / 1000) + 30;
  let handled = 0;
  // A bound on one pass, so a flood of messages cannot keep stop() waiting for long.
  for (let round = 0; round < 20 && !settings.stopping.aborted; round++) {
    const due = await claimDueMail(pool, { limit: batchSize, leaseSeconds });
    await Promise.all(due.map((mail) => attempt(settings, mail)));
    handled += due.length;
    if (due.length < batchSize) break;
  }
  return handled;
}

/**
 * Sends the mail outbox every `intervalMs` until stopped: over SMTP_URL at least once, each message
 * by one sender at a time however many servers run, retried with backoff for up to a day (a refused
 * recipient or data that fits no template fails at once). With the local mailbox instead, messages
 * are only marked delivered there. With neither, nothing runs and messages wait. Logs once where
 * mail goes. `stop` cuts off sends in flight (retried once their lease runs out) and waits for the pass.
 *
 * @example
 * const sender = startMailSender({ pool, logger, config });
 * await sender.stop();
 */
export function startMailSender(options: MailSenderOptions): { stop: () => Promise<void> } {
  const { pool, logger, config } = options;
  const mode = mailMode(config);
  const description = describeMailDestination(config);
  if (mode === "off") {
    logger.warn({ mail: mode }, description);
    return { stop: async () => {} };
  }
  logger.info({ mail: mode }, description);
  const stopping = new AbortController();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const settings: Settings = {
    pool,
    logger,
    appUrl: config.appUrl,
    from: config.mail.from,
    mode,
    transport: config.mail.smtpUrl ? createSmtpTransport(config.mail.smtpUrl, timeoutMs) : null,
    destination: config.mail.smtpUrl ? smtpDestination(config.mail.smtpUrl) : "the local mailbox",
    stopping: stopping.signal,
    intervalMs: options.intervalMs ?? 1_000,
    timeoutMs,
    retry: options.retry ?? defaultRetryPolicy,
    batchSize: options.batchSize ?? 10,
    random: options.random ?? Math.random,
  };
  const loop = runPeriodically({
    intervalMs: settings.intervalMs,
    pass: () => sendDue(settings),
    onError: (error) => logger.warn({ err: error }, "sending mail failed; retrying on the next tick"),
  });
  return {
    stop: async () => {
      // Shutdown must not wait out a slow mail server: sends in flight are cut off.
      stopping.abort();
      await loop.stop();
      settings.transport?.close();
    },
  };
}
