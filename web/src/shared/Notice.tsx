import type { ReactNode } from "react";

type Tone = "info" | "success" | "warning" | "error";

/** A message in a coloured box; errors and warnings interrupt screen readers, the rest wait. */
export function Notice({
  tone,
  title,
  children,
  onDismiss,
}: {
  tone: Tone;
  title?: string;
  children?: ReactNode;
  onDismiss?: () => void;
}) {
  const urgent = tone === "error" || tone === "warning";
  return (
    <div className={`notice notice-${tone}`} role={urgent ? "alert" : "status"}>
      <div className="notice-body">
        {title ? <strong className="notice-title">{title}</strong> : null}
        {children ? <div>{children}</div> : null}
      </div>
      {onDismiss ? (
        <button
          type="button"
          className="button-quiet notice-dismiss"
          onClick={onDismiss}
          aria-label="Dismiss"
        >
          ×
        </button>
      ) : null}
    </div>
  );
}
