/** The page at `/` until the web app is built: proof that the server runs. */
export function homePage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Coinslot</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>Coinslot is running</h1>
<p>Pay-per-use credits for AI apps. The server and its database are up; <a href="/healthz">/healthz</a> says so too.</p>
</body>
</html>`;
}
