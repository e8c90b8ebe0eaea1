import { escapeHtml } from "../kit/html.js";
import type { StoredMail } from "./mailbox.js";
import { MailDataError, type RenderedMail, renderMail } from "./templates.js";

// The server-rendered pages of /dev/mailbox: plain HTML, every value escaped, no script.

const urlPattern = /https?:\/\/[^\s<>"'`]+/g;

/**
 * `text` as HTML with every http(s) URL a link: each piece escaped, so nothing in a message can
 * add markup; sentence punctuation after a URL stays outside the link.
 *
 * @example
 * linkify("Open https://example.com/a?b=1&c=2."); // 'Open <a href="https://example.com/a?b=1&#38;c=2">https://example.com/a?b=1&#38;c=2</a>.'
 */
export function linkify(text: string): string {
  let html = "";
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, "");
    const start = match.index;
    html += escapeHtml(text.slice(last, start));
    html += `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
    last = start + url.length;
  }
  return html + escapeHtml(text.slice(last));
}

type Shown = { rendered: RenderedMail } | { problem: string };

function show(mail: StoredMail, appUrl: string): Shown {
  try {
    return { rendered: renderMail(mail.kind, mail.data, { appUrl }) };
  } catch (error) {
    if (!(error instanceof MailDataError)) throw error;
    return { problem: error.message };
  }
}

const time = (date: Date) => `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;

function status(mail: StoredMail): string {
  if (mail.status === "sent") return mail.delivery === "smtp" ? "sent by SMTP" : "in this mailbox";
  return mail.lastError ? `${mail.status}: ${mail.lastError}` : mail.status;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #111 }
table { border-collapse: collapse; width: 100% } td, th { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 1rem; border-radius: .4rem } .note { color: #555 }
</style></head>
<body>
<p class="note"><strong>Local mailbox.</strong> Coinslot runs without SMTP_URL, so its email is kept here
instead of being sent. Nothing reaches the addresses below.</p>
${body}
</body>
</html>`;
}

/** GET /dev/mailbox: every message, newest first, each row a link to the message by its subject. */
export function mailboxListPage(messages: StoredMail[], appUrl: string): string {
  const rows = messages.map((mail) => {
    const shown = show(mail, appUrl);
    const subject = "rendered" in shown ? shown.rendered.subject : `(cannot be shown: ${shown.problem})`;
    return `<tr data-testid="mail" data-kind="${escapeHtml(mail.kind)}">
<td>${escapeHtml(time(mail.createdAt))}</td><td>${escapeHtml(mail.to)}</td>
<td><a href="/dev/mailbox/${escapeHtml(mail.id)}">${escapeHtml(subject)}</a></td>
<td>${escapeHtml(mail.kind)}</td><td>${escapeHtml(status(mail))}</td></tr>`;
  });
  const table =
    rows.length === 0
      ? `<p data-testid="mailbox-empty">No mail yet.</p>`
      : `<table><thead><tr><th>Time</th><th>To</th><th>Subject</th><th>Kind</th><th>Status</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>`;
  return page("Mailbox · Coinslot", `<h1>Mailbox</h1>\n${table}`);
}

/** GET /dev/mailbox/:id: one message's text body, its links clickable. */
export function mailboxMessagePage(mail: StoredMail, appUrl: string): string {
  const shown = show(mail, appUrl);
  const subject = "rendered" in shown ? shown.rendered.subject : `Message ${mail.id}`;
  const body =
    "rendered" in shown
      ? `<pre data-testid="mail-text">${linkify(shown.rendered.text)}</pre>`
      : `<p data-testid="mail-problem">This message cannot be shown: ${escapeHtml(shown.problem)}</p>`;
  return page(
    `${subject} · Mailbox · Coinslot`,
    `<p><a href="/dev/mailbox">← All mail</a></p>
<h1 data-testid="mail-subject">${escapeHtml(subject)}</h1>
<table>
<tr><th>To</th><td data-testid="mail-to">${escapeHtml(mail.to)}</td></tr>
<tr><th>Time</th><td>${escapeHtml(time(mail.createdAt))}</td></tr>
<tr><th>Kind</th><td>${escapeHtml(mail.kind)}</td></tr>
<tr><th>Status</th><td>${escapeHtml(status(mail))}</td></tr>
</table>
${body}`,
  );
}
