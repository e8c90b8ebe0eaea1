import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Hono } from "hono";
import { meteringApiDocument } from "./openapi.js";

// Swagger UI's own files, served from node_modules: the reference works offline and the page names
// no other origin, so nothing is fetched from a CDN and nothing leaks which API a reader browses.
const swaggerUiDirectory = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const assets = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
} as const;
type AssetName = keyof typeof assets;

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Coinslot metering API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    // validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
    SwaggerUIBundle({ url: "/v1/openapi.json", dom_id: "#reference", validatorUrl: null, deepLinking: true });
  </script>
</body>
</html>
`;

/**
 * The metering API's description, public (no service key): the OpenAPI 3.1 document at
 * `/v1/openapi.json` and a browsable reference of it at `/docs`. Mount before the service-key gate.
 *
 * @example
 * routes.route("/", apiDocsRoutes());
 */
export function apiDocsRoutes(): Hono {
  const routes = new Hono();
  const cache = new Map<AssetName, Buffer>();

  routes.get("/v1/openapi.json", (context) => context.json(meteringApiDocument()));
  routes.get("/docs", (context) => context.html(page));
  routes.get("/docs/:asset", async (context, next) => {
    const name = context.req.param("asset");
    if (!Object.hasOwn(assets, name)) return next();
    const asset = name as AssetName;
    const content = cache.get(asset) ?? (await readFile(join(swaggerUiDirectory, asset)));
    cache.set(asset, content);
    return context.body(new Uint8Array(content), 200, {
      "content-type": assets[asset],
      "cache-control": "public, max-age=3600",
    });
  });
  return routes;
}
