import { z } from "zod";
import { formatCents } from "../kit/money.js";
import { type Block, type RenderedMail, renderLetter } from "./letter.js";
import type { MailKind } from "./outbox.js";

export type { RenderedMail };

/**
 * A message whose `data` does not fit its kind's template (a missing link, an amount that is not
 * an integer). Retrying cannot fix it, so the sender marks that message failed with this message
 * and goes on with the others. Recognised by its code.
 */
export class MailDataError extends Error {
  readonly code = "MAIL_DATA_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "MailDataError";
  }
}

// Better Auth's names are free text; a greeting needs no more than this.
const name = z.string().max(500).nullish();
const link = z.string().min(1).max(2000);

const schemas = {
  "verify-email": z.object({ name, url: link }),
  "reset-password": z.object({
    name,
    url: link,
    expiresInMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60),
  }),
  "existing-account": z.object({ name, signInUrl: link, resetUrl: link }),
  "password-changed": z.object({ name, resetUrl: link }),
  "account-deleted": z.object({ name }),
  "auto-topup-failed": z.object({
    name,
    amountCents: z.number().int().min(1).max(100_000_000),
    currency: z.string().regex(/^[a-z]{3}$/, "must be a three-letter ISO code in lower case"),
    reason: z.string().min(1).max(500),
    url: link,
    turnedOff: z.boolean(),
  }),
  receipt: z.object({
    name,
    amountCents: z.number().int().min(1).max(100_000_000),
    currency: z.string().regex(/^[a-z]{3}$/, "must be a three-letter ISO code in lower case"),
    paidAt: z.iso.datetime({ offset: true }),
    reference: z.string().min(1).max(255),
    balanceCents: z.number().int().min(-100_000_000_000).max(100_000_000_000),
  }),
  "low-balance": z.object({
    name,
    currency: z.string().regex(/^[a-z]{3}$/, "must be a three-letter ISO code in lower case"),
    availableCents: z.number().int().min(-100_000_000_000).max(100_000_000_000),
    thresholdCents: z.number().int().min(1).max(100_000_000),
  }),
  "credits-expiring": z.object({
    name,
    currency: z.string().regex(/^[a-z]{3}$/, "must be a three-letter ISO code in lower case"),
    amountCents: z.number().int().min(1).max(100_000_000),
    expiresAt: z.iso.datetime({ offset: true }),
  }),
} satisfies Record<MailKind, z.ZodType>;

type DataOf<Kind extends MailKind> = z.infer<(typeof schemas)[Kind]>;

/** A link in a message: absolute (relative ones are resolved against APP_URL), http or https only. */
function absolute(url: string, appUrl: string): string {
  const parsed = URL.canParse(url, appUrl) ? new URL(url, appUrl) : null;
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    throw new MailDataError(`the link ${JSON.stringify(url.slice(0, 100))} is not an http(s) URL`);
  }
  return parsed.toString();
}

/** `2026-11-21 14:03 UTC`: unambiguous wherever the reader lives. */
function utcTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

type Content = { subject: string; blocks: Block[] };
type Templates = { [Kind in MailKind]: (data: DataOf<Kind>, url: (link: string) => string) => Content };

const templates: Templates = {
  "verify-email": (data, url) => ({
    subject: "Confirm your email address for Coinslot",
    blocks: [
      { paragraph: "Confirm that this address is yours to finish setting up your Coinslot account." },
      { link: { label: "Confirm my email address", url: url(data.url) } },
      {
        paragraph:
          "If you did not sign up for Coinslot, ignore this email: nothing happens without the link.",
      },
    ],
  }),
  "reset-password": (data, url) => ({
    subject: "Reset your Coinslot password",
    blocks: [
      { paragraph: "Someone, hopefully you, asked to reset the password of your Coinslot account." },
      { link: { label: "Choose a new password", url: url(data.url) } },
      {
        paragraph: `The link works once and expires in ${data.expiresInMinutes} minutes. If you did not ask for it, ignore this email: your password stays as it is.`,
      },
    ],
  }),
  "existing-account": (data, url) => ({
    subject: "You already have a Coinslot account",
    blocks: [
      {
        paragraph:
          "Someone tried to sign up for Coinslot with this email address, which already has an account. If that was you, sign in instead.",
      },
      { link: { label: "Sign in", url: url(data.signInUrl) } },
      { link: { label: "Forgot your password? Choose a new one", url: url(data.resetUrl) } },
      { paragraph: "If it was not you, ignore this email: nothing about your account changed." },
    ],
  }),
  "password-changed": (data, url) => ({
    subject: "Your Coinslot password was changed",
    blocks: [
      {
        paragraph:
          "The password of your Coinslot account was just changed, and every other session was signed out. If you did this, there is nothing more to do.",
      },
      {
        link: { label: "If you did not, choose a new password now", url: url(data.resetUrl) },
      },
    ],
  }),
  "account-deleted": (_data, url) => ({
    subject: "Your Coinslot account was deleted",
    blocks: [
      {
        paragraph:
          "Your Coinslot account and your personal data were deleted, as you asked. The records of your purchases and charges stay in our ledger for accounting, without your email address.",
      },
      { link: { label: "You are welcome to sign up again at any time", url: url("/") } },
    ],
  }),
  "auto-topup-failed": (data, url) => {
    const amount = formatCents(data.amountCents, data.currency);
    return {
      subject: data.turnedOff
        ? "Coinslot auto top-up is off: your payment did not go through"
        : `Your Coinslot auto top-up of ${amount} did not go through`,
      blocks: [
        {
          paragraph: `Coinslot tried to buy ${amount} of credits with your saved card, as your auto top-up asks, and the payment did not go through. ${data.reason}`,
        },
        { link: { label: `Pay ${amount} yourself`, url: url(data.url) } },
        {
          paragraph: data.turnedOff
            ? "After three failed payments in a row, auto top-up turned itself off. Turn it on again in your account settings once your card works."
            : "Until you do, or for a few hours, no new top-up is tried, so your card is not asked again and again.",
        },
      ],
    };
  },
  receipt: (data, url) => ({
    subject: `Your Coinslot receipt: ${formatCents(data.amountCents, data.currency)} of credits`,
    blocks: [
      { paragraph: "Thank you for your purchase. This is your receipt." },
      {
        facts: [
          ["Credits bought", formatCents(data.amountCents, data.currency)],
          ["Currency", data.currency.toUpperCase()],
          ["Paid on", utcTime(data.paidAt)],
          ["Payment reference", data.reference],
          ["Balance now", formatCents(data.balanceCents, data.currency)],
        ],
      },
      { link: { label: "See every purchase and charge in your history", url: url("/history") } },
    ],
  }),
  "low-balance": (data, url) => ({
    subject: `Your Coinslot credit is low: ${formatCents(data.availableCents, data.currency)} left`,
    blocks: [
      {
        paragraph: `Your available credit fell below ${formatCents(data.thresholdCents, data.currency)}: ${formatCents(data.availableCents, data.currency)} is left. Buy credits before it runs out, so nothing you use stops halfway.`,
      },
      { link: { label: "Buy credits", url: url("/") } },
      {
        paragraph:
          "You get this once each time your credit falls below the threshold. Change the threshold, or turn these emails off, in your account settings.",
      },
      { link: { label: "Alert settings", url: url("/account") } },
    ],
  }),
  "credits-expiring": (data, url) => ({
    subject: `${formatCents(data.amountCents, data.currency)} of your Coinslot credit expires on ${utcTime(data.expiresAt).slice(0, 10)}`,
    blocks: [
      {
        paragraph: `${formatCents(data.amountCents, data.currency)} of your credit expires soon. Whatever is left of it then is removed from your balance.`,
      },
      { facts: [["Expires", utcTime(data.expiresAt)]] },
      {
        paragraph:
          "Credit that expires soonest is always spent first, so using Coinslot before then uses it up.",
      },
      { link: { label: "See your balance", url: url("/") } },
    ],
  }),
};

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join(".") || "data"}: ${issue.message}`)
    .join("; ")
    .slice(0, 300);
}

/**
 * The subject and both bodies of a message of `kind`, from its outbox `data`. Links come out
 * absolute, every value escaped in the HTML. Throws MailDataError when `data` does not fit the kind.
 *
 * @example
 * renderMail("verify-email", { name: "Ada", url: "https://credits.example.com/api/auth/verify-email?token=t" }, { appUrl: "https://credits.example.com" });
 * // { subject: "Confirm your email address for Coinslot", text: "Hello Ada,\n\n...", html: "<!doctype html>..." }
 */
export function renderMail(kind: MailKind, data: unknown, options: { appUrl: string }): RenderedMail {
  const schema: z.ZodType = schemas[kind];
  if (!schema) throw new MailDataError(`there is no template for the kind ${JSON.stringify(kind)}`);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new MailDataError(`the data does not fit the ${kind} template (${describeIssues(parsed.error)})`);
  }
  const template = templates[kind] as (data: unknown, url: (link: string) => string) => Content;
  const content = template(parsed.data, (link) => absolute(link, options.appUrl));
  const person = (parsed.data as { name?: string | null }).name?.trim();
  return renderLetter({ ...content, name: person || null, appUrl: options.appUrl });
}
