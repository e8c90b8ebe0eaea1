import type { MouseEvent } from "react";
import type { Me } from "./shared/types.js";

const pages = [
  { path: "/", label: "Chat" },
  { path: "/history", label: "History" },
  { path: "/conversations", label: "Conversations" },
  { path: "/keys", label: "API keys" },
  { path: "/account", label: "Account" },
];

/** Brand, the pages, who is signed in, and sign-out. */
export function TopBar({
  me,
  path,
  navigate,
  onSignOut,
}: {
  me: Me;
  path: string;
  navigate: (path: string) => void;
  onSignOut: () => void;
}) {
  const links = me.user.isAdmin ? [...pages, { path: "/admin", label: "Admin" }] : pages;
  const follow = (target: string) => (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(target);
  };
  return (
    <header className="topbar">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <a href="/" className="brand" onClick={follow("/")}>
        <span className="logo" aria-hidden="true" />
        <span className="brand-name">Coinslot</span>
      </a>
      <nav aria-label="Main" className="nav">
        {links.map((link) => (
          <a
            key={link.path}
            href={link.path}
            onClick={follow(link.path)}
            aria-current={path === link.path ? "page" : undefined}
          >
            {link.label}
          </a>
        ))}
      </nav>
      <div className="account-menu">
        <span className="user-email" title={me.user.email}>
          {me.user.email}
        </span>
        <button type="button" className="button-secondary button-small" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
