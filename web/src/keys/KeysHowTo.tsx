/**
 * How a script uses a key: the gateway's base URL on this server, and a curl call to
 * `/v1/chat/completions` that any OpenAI client can replace by setting its base URL and API key.
 */
export function KeysHowTo({ model }: { model: string | null }) {
  const baseUrl = `${window.location.origin}/v1`;
  const body = JSON.stringify({
    model: model ?? "demo",
    messages: [{ role: "user", content: "Hello!" }],
  });
  const example = [
    `curl ${baseUrl}/chat/completions \\`,
    `  -H "Authorization: Bearer cpk_..." \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '${body}'`,
  ].join("\n");
  return (
    <section className="card" aria-labelledby="keys-howto-title">
      <h2 id="keys-howto-title" className="card-title">
        Use a key
      </h2>
      <p>
        Coinslot speaks OpenAI's API: point any OpenAI client at the base URL{" "}
        <code data-testid="gateway-base-url">{baseUrl}</code> and give it your key as its API key. Each call
        is paid from your credits, on the tokens it really used, and stops at the key's monthly limit.{" "}
        <code>GET /v1/models</code> lists the models you can ask for.
      </p>
      <pre className="code-sample" data-testid="curl-example">
        <code>{example}</code>
      </pre>
    </section>
  );
}
