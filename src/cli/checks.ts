import { aiChecks } from "../ai/checks.js";
import { unverifiedEmails } from "../auth/email-verification.js";
import { type Config, isLoopbackUrl } from "../config.js";
import { type Migration, readMigrations } from "../db/migrate.js";
import type { Pool } from "../db/pool.js";
import type { Check } from "../kit/check.js";

const ok = (name: string, message: string): Check => ({ level: "ok", name, message });
const warning = (name: string, message: string): Check => ({ level: "warning", name, message });
const problem = (name: string, message: string): Check => ({ level: "problem", name, message });

/** Schemas whose every table must have row-level security enabled and forced. */
export const protectedSchemas = ["credits", "chat", "coinslot_private", "metering", "mail"];
const apiRoles = ["anon", "authenticated", "service_role"];
const minimumServerVersion = 140000;

async function serverVersion(pool: Pool): Promise<Check> {
  const result = await pool.query<{ version: string; number: string }>(
    "select current_setting('server_version') as version, current_setting('server_version_num') as number",
  );
  const row = result.rows[0];
  if (!row || Number(row.number) < minimumServerVersion) {
    return problem("database", `PostgreSQL ${row?.version} is too old; use PostgreSQL 14 or newer`);
  }
  return ok("database", `connected to PostgreSQL ${row.version}`);
}

async function migrationsUpToDate(pool: Pool, files: Migration[]): Promise<Check> {
  const recorded = await pool
    .query<{ name: string; checksum: string }>("select name, checksum from coinslot_private.migrations")
    .catch(() => ({ rows: [] as { name: string; checksum: string }[] }));
  const applied = new Map(recorded.rows.map((row) => [row.name, row.checksum]));
  const pending = files.filter((file) => !applied.has(file.name)).map((file) => file.name);
  const changed = files.filter((file) => applied.has(file.name) && applied.get(file.name) !== file.checksum);
  if (changed.length > 0) {
    return problem(
      "migrations",
      `applied migrations were edited since: ${changed.map((file) => file.name).join(", ")}; restore them and add a new migration instead`,
    );
  }
  if (pending.length > 0) {
    return problem(
      "migrations",
      `${pending.length} not applied (${pending.join(", ")}); run \`npm run cli -- migrate\` or start the server once`,
    );
  }
  return ok("migrations", `all ${files.length} applied`);
}

async function rowLevelSecurity(pool: Pool): Promise<Check> {
  const result = await pool.query<{ table: string }>(
    `select n.nspname || '.' || c.relname as table
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and c.relkind in ('r', 'p')
        and not (c.relrowsecurity and c.relforcerowsecurity)
      order by 1`,
    [protectedSchemas],
  );
  if (result.rows.length > 0) {
    const tables = result.rows.map((row) => row.table).join(", ");
    return problem(
      "row-level security",
      `not enabled and forced on ${tables}; run ALTER TABLE ... ENABLE/FORCE ROW LEVEL SECURITY in a migration`,
    );
  }
  return ok("row-level security", `enabled and forced on every table in ${protectedSchemas.join(", ")}`);
}

async function writeGrants(pool: Pool): Promise<Check> {
  const result = await pool.query<{ grant: string }>(
    `select grantee || ' ' || privilege_type || ' on ' || table_schema || '.' || table_name as grant
       from information_schema.role_table_grants
      where grantee in ('anon', 'authenticated', 'PUBLIC') and table_schema = any($1) and privilege_type <> 'SELECT'
      order by 1`,
    [protectedSchemas],
  );
  if (result.rows.length > 0) {
    return problem(
      "grants",
      `API roles may write: ${result.rows.map((row) => row.grant).join(", ")}; revoke these grants`,
    );
  }
  return ok("grants", "anon and authenticated cannot write any Coinslot table");
}

async function roles(pool: Pool): Promise<Check[]> {
  const result = await pool.query<{ rolname: string }>(
    "select rolname from pg_roles where rolname = any($1)",
    [apiRoles],
  );
  const present = new Set(result.rows.map((row) => row.rolname));
  const missing = apiRoles.filter((role) => !present.has(role));
  const checks = [
    missing.length > 0
      ? problem(
          "roles",
          `missing ${missing.join(", ")}; apply the migrations with a login that may create roles`,
        )
      : ok("roles", `${apiRoles.join(", ")} present`),
  ];
  const login = await pool
    .query<{ bypasses: boolean; member: boolean; name: string }>(
      `select (rolsuper or rolbypassrls) as bypasses, current_user as name,
            coalesce(pg_has_role(current_user, 'authenticated', 'MEMBER'), false) as member
       from pg_roles where rolname = current_user`,
    )
    .catch(() => ({ rows: [] }));
  const self = login.rows[0];
  if (self && !self.bypasses) {
    checks.push(
      problem(
        "server login",
        `${self.name} does not bypass row-level security, so the ledger cannot write; use a login with BYPASSRLS (Supabase: postgres)`,
      ),
    );
  } else if (self && !self.member) {
    checks.push(
      problem(
        "server login",
        `${self.name} cannot SET ROLE authenticated; run GRANT authenticated TO ${self.name}`,
      ),
    );
  } else if (self) {
    checks.push(ok("server login", `${self.name} writes the ledger and reads as authenticated`));
  }
  return checks;
}

async function unverifiedAdmins(pool: Pool, adminEmails: string[]): Promise<Check[]> {
  // Before migration 0003 there is no user table; the migrations line already says what to do.
  const emails = await unverifiedEmails(pool, adminEmails).catch(() => []);
  return emails.map((email) =>
    warning(
      "admins",
      `${email} is in ADMIN_EMAILS but its email is not verified, so it has no admin rights; if that account is yours, run \`npm run cli -- verify-email ${email}\``,
    ),
  );
}

/** Checks that need the database. Each query failing becomes a problem line, not a crash. */
export async function databaseChecks(pool: Pool, adminEmails: string[] = []): Promise<Check[]> {
  try {
    const checks = [await serverVersion(pool)];
    checks.push(await migrationsUpToDate(pool, await readMigrations()));
    checks.push(await rowLevelSecurity(pool), await writeGrants(pool), ...(await roles(pool)));
    checks.push(...(await unverifiedAdmins(pool, adminEmails)));
    return checks;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [
      problem("database", `cannot be reached (${reason}); check DATABASE_URL, or that the server is running`),
    ];
  }
}

function stripeChecks(config: Config, environment: Record<string, string | undefined>): Check[] {
  const production = config.nodeEnv === "production";
  const key = config.stripeSecretKey;
  if (!key) {
    if (production) {
      return [
        problem(
          "stripe",
          "STRIPE_SECRET_KEY is unset in production: buying credits answers 503; set your live key",
        ),
      ];
    }
    if (config.stripeSimulator && isLoopbackUrl(config.appUrl)) {
      return [
        ok("stripe simulator", `on (APP_URL ${config.appUrl} is loopback): test checkout, no real payment`),
      ];
    }
    return [
      config.stripeSimulator
        ? warning(
            "stripe simulator",
            `on by STRIPE_SIMULATOR=on behind ${config.appUrl}: anyone signed in gets credits without paying; set STRIPE_SECRET_KEY for real payments`,
          )
        : warning(
            "stripe simulator",
            "off and no STRIPE_SECRET_KEY: buying credits answers 503; set STRIPE_SECRET_KEY (or STRIPE_SIMULATOR=on for free test credits)",
          ),
    ];
  }
  const live = key.includes("_live_");
  const checks = [ok("stripe", `${live ? "live" : "test"} secret key set`)];
  if (!environment.STRIPE_WEBHOOK_SECRET) {
    checks.push(
      problem(
        "stripe webhook",
        "STRIPE_WEBHOOK_SECRET is unset, so Stripe's webhooks fail the signature check; copy the endpoint's signing secret (whsec_...) from Stripe's dashboard",
      ),
    );
  } else {
    checks.push(
      ok(
        "stripe webhook",
        "signing secret set; make sure it belongs to the same mode (test or live) as the key",
      ),
    );
  }
  if (live && !config.appUrl.startsWith("https://")) {
    checks.push(
      problem(
        "app url",
        `APP_URL ${config.appUrl} is not https while Stripe keys are live; set APP_URL to the public https URL`,
      ),
    );
  }
  if (!live && production) {
    checks.push(warning("stripe", "a test key in production: no real money is taken"));
  }
  return checks;
}

function authChecks(config: Config, environment: Record<string, string | undefined>): Check[] {
  const checks: Check[] = [];
  if (!environment.AUTH_SECRET) {
    const level = config.nodeEnv === "production" ? problem : ok;
    checks.push(
      level(
        "auth secret",
        `generated locally in ${config.dataDir}; set AUTH_SECRET (openssl rand -base64 32) for any shared deployment`,
      ),
    );
  } else {
    checks.push(ok("auth secret", `set (${environment.AUTH_SECRET.trim().length} characters)`));
  }
  if (config.nodeEnv === "production") {
    if (!config.appUrl.startsWith("https://")) {
      checks.push(
        problem("app url", `APP_URL ${config.appUrl} must be https in production so cookies are Secure`),
      );
    }
    if (!config.databaseUrl) {
      checks.push(
        warning(
          "database",
          "production on the embedded PostgreSQL: set DATABASE_URL to a managed server with backups",
        ),
      );
    }
    if (!config.metricsToken) {
      checks.push(warning("metrics", "GET /metrics answers 403 until METRICS_TOKEN is set"));
    }
  }
  if (config.adminEmails.length === 0)
    checks.push(warning("admins", "ADMIN_EMAILS is empty: nobody can adjust credits from the UI"));
  return checks;
}

/** Checks of the settings alone, no database needed. */
export function configChecks(config: Config, environment: Record<string, string | undefined>): Check[] {
  return [...authChecks(config, environment), ...stripeChecks(config, environment), ...aiChecks(config)];
}
