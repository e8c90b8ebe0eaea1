import type { Config } from "./config.js";
import type { Pool } from "./db/pool.js";
import type { Ledger } from "./ledger/types.js";
import type { Logger } from "./logger.js";

/**
 * What every capability is built from, made once at the start (src/main.ts, or a test) and passed
 * down: the settings, the pool, the logger and the ledger. A capability that needs more (billing's
 * Stripe client) adds it to its own context.
 */
export type Dependencies = { config: Config; pool: Pool; logger: Logger; ledger: Ledger };
