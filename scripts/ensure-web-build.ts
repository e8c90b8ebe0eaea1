/**
 * Run by `npm start` before the server: builds the web app when dist/web is missing or older than
 * anything under web/, so a fresh clone or an edited component never serves a stale page.
 */
import { ensureWebBuild, webBuildStaleReason } from "./web-build.js";

const reason = webBuildStaleReason();
if (reason) process.stdout.write(`Building the web app (${reason})…\n`);
ensureWebBuild()
  .then((built) => {
    if (built) process.stdout.write("Web app built into dist/web.\n");
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
