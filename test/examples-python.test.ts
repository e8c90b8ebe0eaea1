import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MeteringServer, startMeteringServer } from "./support/metering.js";

// examples/python against a real Coinslot: its unittest file drives the client and the example's
// flow (customer, hold, model, settle, checkout when out of credit) over real HTTP with the machine's
// python3. No skipping: without python3 this fails, saying how to install it.

const run = promisify(execFile);
const exampleDirectory = join(process.cwd(), "examples", "python");
const returnUrl = "https://app.example.com/credits";
let metering: MeteringServer;

async function requirePython(): Promise<string> {
  try {
    const { stdout, stderr } = await run("python3", ["--version"]);
    return (stdout || stderr).trim();
  } catch {
    throw new Error(
      "python3 is not installed, so the Python example cannot be tested. Install it with `apt-get install -y python3` (it must be on PATH as `python3`; .ci/run does this in CI).",
    );
  }
}

beforeAll(async () => {
  metering = await startMeteringServer({
    NEW_USER_CREDITS_CENTS: "50",
    CHECKOUT_RETURN_ORIGINS: new URL(returnUrl).origin,
  });
});
afterAll(() => metering?.close());

describe("examples/python", () => {
  it("passes its unittest file against the server, and the ledger shows what it charged", async () => {
    expect(await requirePython()).toMatch(/^Python 3\./);
    const prefix = `py-${randomBytes(4).toString("hex")}`;
    const result = await run("python3", ["test_coinslot.py"], {
      cwd: exampleDirectory,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? "",
        COINSLOT_URL: metering.url,
        COINSLOT_SERVICE_KEY: metering.secret,
        COINSLOT_RETURN_URL: returnUrl,
        COINSLOT_RUN: prefix,
        PYTHONDONTWRITEBYTECODE: "1",
      },
    }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`python3 test_coinslot.py exited ${error.code}:\n${error.stderr}\n${error.stdout}`);
    });
    // unittest reports on stderr; these names prove the 402 and the example's flow ran, not skipped.
    expect(result.stderr).toMatch(/test_out_of_credit_raises_insufficient_credits .*\.\.\. ok/);
    expect(result.stderr).toMatch(/test_the_example_writes_prompts_until_the_user_must_buy .*\.\.\. ok/);
    expect(result.stderr).toMatch(/\nOK\s*$/);
    expect(result.stderr).not.toMatch(/skipped/);

    const writer = await metering.call("GET", `/v1/customers/${prefix}-writer/entries?limit=50`);
    expect(writer.status).toBe(200);
    const usage = writer.body.entries.filter((entry: { kind: string }) => entry.kind === "usage");
    expect(usage.length).toBeGreaterThanOrEqual(2);
    const spentCents = usage.reduce(
      (total: number, entry: { amountCents: number }) => total - entry.amountCents,
      0,
    );
    const view = await metering.call("GET", `/v1/customers/${prefix}-writer`);
    expect(view.body).toMatchObject({ balanceCents: 50 - spentCents, heldCents: 0 });
    // Out of credit, the example opened a checkout for the writer (recorded before anyone pays).
    const payments = await metering.test.database.pool.query(
      `select p.amount_cents::int as amount from credits.payments p
         join metering.customers c on c.user_id = p.user_id where c.id = $1`,
      [`${prefix}-writer`],
    );
    expect(payments.rows).toEqual([{ amount: 500 }]);

    const settled = await metering.call("GET", `/v1/customers/${prefix}-settle`);
    expect(settled.body).toMatchObject({ balanceCents: 37, heldCents: 0 });
  });
});
