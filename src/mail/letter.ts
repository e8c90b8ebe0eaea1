import { escapeHtml } from "../kit/html.js";

/**
 * What a message says, as blocks that render to both the plain-text and the HTML body, so the two
 * always say the same thing. Every value is text; only this file writes HTML, and it escapes all of it.
 */
export type Block =
  | { paragraph: string }
  /** A call to action: the label as a button in HTML, and the URL itself in both bodies. */
  | { link: { label: string; url: string } }
  /** Label and value pairs, such as a receipt's amount and reference. */
  | { facts: [label: string, value: string][] };

export type Letter = {
  subject: string;
  /** Null greets without a name. */
  name: string | null;
  blocks: Block[];
  /** The app's address, linked in every footer. */
  appUrl: string;
};

export type RenderedMail = { subject: string; text: string; html: string };

const greeting = (name: string | null) => (name ? `Hello ${name},` : "Hello,");

function blockText(block: Block): string {
  if ("paragraph" in block) return block.paragraph;
  if ("link" in block) return `${block.link.label}:\n${block.link.url}`;
  const width = Math.max(...block.facts.map(([label]) => label.length)) + 2;
  return block.facts.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`).join("\n");
}

const buttonStyle =
  "display:inline-block;background:#2563eb;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none";

function blockHtml(block: Block): string {
  if ("paragraph" in block) return `<p>${escapeHtml(block.paragraph)}</p>`;
  if ("link" in block) {
    const url = escapeHtml(block.link.url);
    return `<p><a href="${url}" style="${buttonStyle}">${escapeHtml(block.link.label)}</a></p>
<p style="font-size:13px;color:#555">Or open this address: <a href="${url}">${url}</a></p>`;
  }
  const rows = block.facts
    .map(
      ([label, value]) =>
        `<tr><td style="padding:4px 16px 4px 0;color:#555">${escapeHtml(label)}</td><td style="padding:4px 0"><strong>${escapeHtml(value)}</strong></td></tr>`,
    )
    .join("\n");
  return `<table role="presentation" style="border-collapse:collapse">\n${rows}\n</table>`;
}

/**
 * Both bodies of `letter`: a greeting, the blocks, and a footer naming the app with its address.
 *
 * @example
 * renderLetter({ subject: "Hi", name: "Ada", appUrl: "https://credits.example.com", blocks: [{ paragraph: "Welcome." }] });
 */
export function renderLetter(letter: Letter): RenderedMail {
  const footer = `Coinslot · ${letter.appUrl}`;
  const text = [greeting(letter.name), ...letter.blocks.map(blockText), `—\n${footer}`].join("\n\n");
  const appLink = `<a href="${escapeHtml(letter.appUrl)}" style="color:#555">${escapeHtml(letter.appUrl)}</a>`;
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(letter.subject)}</title></head>
<body style="font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:15px;line-height:1.5;color:#111;max-width:560px;margin:24px auto;padding:0 16px">
<p>${escapeHtml(greeting(letter.name))}</p>
${letter.blocks.map(blockHtml).join("\n")}
<hr style="border:0;border-top:1px solid #ddd;margin:24px 0 12px">
<p style="font-size:13px;color:#555">Coinslot · ${appLink}</p>
</body>
</html>
`;
  return { subject: letter.subject, text: `${text}\n`, html };
}
