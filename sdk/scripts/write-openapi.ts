import { writeFileSync } from "node:fs";
import { meteringApiDocument } from "../../src/metering/openapi.js";

// Refreshes sdk/openapi.json from the server's own route definitions (what GET /v1/openapi.json
// serves); `npm run generate` then makes the types. test/sdk.test.ts fails while either is stale.
const target = new URL("../openapi.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(meteringApiDocument(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
