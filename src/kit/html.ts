/**
 * Text made safe to put between HTML tags or inside a quoted attribute: the five characters that
 * could end either are written as character references. Pure and dependency-free.
 *
 * @example
 * escapeHtml(`<a href="x">Tom & Jerry's</a>`); // "&#60;a href=&#34;x&#34;&#62;Tom &#38; Jerry&#39;s&#60;/a&#62;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
