/** The longest return URL accepted: room for any real page address, not for a smuggled payload. */
export const maxReturnUrlLength = 2048;

/**
 * The return URL as the browser will read it, when its origin (scheme, host and port) is exactly one
 * of `allowedOrigins`; null otherwise. Only absolute http(s) URLs without a user name or password
 * pass: `javascript:`, protocol-relative `//host` and `https://allowed@other` are all refused, so
 * checkout can never be turned into an open redirect. Send people to the returned `href`, never
 * to the string as given.
 *
 * @example
 * allowedReturnUrl("https://app.example.com/credits", ["https://app.example.com"]); // URL
 * allowedReturnUrl("https://app.example.com@evil.example", ["https://app.example.com"]); // null
 */
export function allowedReturnUrl(returnUrl: string, allowedOrigins: readonly string[]): URL | null {
  if (returnUrl.length > maxReturnUrlLength) return null;
  let url: URL;
  try {
    url = new URL(returnUrl);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username !== "" || url.password !== "") return null;
  return allowedOrigins.includes(url.origin) ? url : null;
}

/** `returnUrl` with `checkout=success` or `checkout=cancel` added, so the app knows how it went. */
export function returnUrlFor(returnUrl: string, outcome: "success" | "cancel"): string {
  const url = new URL(returnUrl);
  url.searchParams.set("checkout", outcome);
  return url.href;
}
