import { useState } from "react";
import { Notice } from "./Notice.js";

/**
 * A key's secret, shown the only time it exists (the server keeps a hash): copy it, or dismiss the box,
 * which forgets it for good. Used for service keys and personal keys alike.
 */
export function SecretOnce({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("yes");
    } catch {
      // Clipboard access can be refused (an insecure origin, a denied permission): the text is selectable.
      setCopied("failed");
    }
  }

  return (
    <Notice tone="warning" title={`Secret of “${name}”`}>
      <p>Copy it now: you will not see it again. Coinslot stores only its hash.</p>
      <p className="secret-row">
        <code className="secret" data-testid="new-secret">
          {secret}
        </code>
        <button type="button" className="button-secondary button-small" onClick={() => void copy()}>
          {copied === "yes" ? "Copied" : "Copy"}
        </button>
        <button type="button" className="button-secondary button-small" onClick={onDone}>
          Done
        </button>
      </p>
      {copied === "failed" ? (
        <p className="small">The browser refused the clipboard; select the secret and copy it.</p>
      ) : null}
    </Notice>
  );
}
