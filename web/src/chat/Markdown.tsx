import { type Components, defaultRehypePlugins, Streamdown } from "streamdown";

// Streamdown repairs half-written Markdown while an answer streams (an unclosed ** or ``` renders as
// bold or code at once instead of flashing raw) and re-renders only the block still growing.
// rehype-raw is left out on purpose: without it Streamdown turns any HTML the model writes into text,
// so nothing the model says can become an element, a script or an event handler. Sanitize and harden
// stay as a second line.
const rehypePlugins = [defaultRehypePlugins.sanitize, defaultRehypePlugins.harden].filter(
  (plugin) => plugin !== undefined,
);

const components: Components = {
  // A link leaves in a new tab that cannot reach back into this one (window.opener) nor learn where
  // it came from. Streamdown's own link is a button with a confirmation dialog styled for Tailwind,
  // which this app does not use.
  a: ({ href, children, node: _node, ...rest }) => (
    <a {...rest} href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
  // Emphasis a screen reader can announce, where Streamdown writes a styled span.
  strong: ({ children }) => <strong>{children}</strong>,
  // An image would load from wherever the model points, telling that server who read the answer:
  // its description is shown instead.
  img: ({ alt }) => (alt ? <span className="markdown-image">[{alt}]</span> : null),
};

/**
 * An assistant's answer as Markdown: lists, tables, links, code blocks with a copy button. Safe for
 * untrusted text; `streaming` lets it finish half-written syntax while the answer grows.
 *
 * @example
 * <Markdown text={answer} streaming={false} />
 */
export function Markdown({ text, streaming }: { text: string; streaming: boolean }) {
  return (
    <Streamdown
      className="markdown"
      mode={streaming ? "streaming" : "static"}
      isAnimating={streaming}
      rehypePlugins={rehypePlugins}
      components={components}
      controls={{ code: { copy: true, download: false }, table: false, mermaid: false, image: false }}
      linkSafety={{ enabled: false }}
      lineNumbers={false}
    >
      {text}
    </Streamdown>
  );
}
