/**
 * The page at `/` when the web app has not been built: proof that the server runs, and the one
 * command that makes the real app appear.
 */
export function homePage(options: { webBuildMissing: boolean }): string {
  const hint = options.webBuildMissing
    ? `<p><strong>The web app is not built yet.</strong> Run <code>npm run build</code> (or <code>npm start</code>, which builds it when missing) and reload this page.</p>`
    : "";
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Coinslot</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>Coinslot is running</h1>
<p>Pay-per-use credits for AI apps. The server and its database are up; <a href="/healthz">/healthz</a> says so too.</p>
${hint}
</body>
</html>`;
}
