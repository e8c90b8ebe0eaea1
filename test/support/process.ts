import { type ChildProcess, execFileSync, spawn } from "node:child_process";

export type RunningServer = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** Starts `src/main.ts` as a real process and resolves once it prints its URL. */
export function startServer(
  environment: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<RunningServer> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn("node", ["--import", "tsx", "src/main.ts"], {
    env: { ...inherited, LOG_LEVEL: "info", NODE_ENV: "development", ...environment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start in time:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Coinslot is running at")) {
        clearTimeout(timer);
        done({ child, output: () => output, exited });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code} before starting:\n${output}`));
    });
  });
}

/** Command lines of running PostgreSQL processes whose arguments mention `text`. */
export function postgresProcessesFor(text: string): string[] {
  const lines = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n");
  return lines.filter((line) => line.includes("postgres") && line.includes(text));
}
