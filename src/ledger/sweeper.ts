import type { Logger } from "../logger.js";
import type { Ledger } from "./types.js";

/**
 * Releases expired holds, then removes what is left of expired credit lots, every `intervalMs` until stopped. Safe beside other processes doing the
 * same (the sweep skips holds another sweeper has locked). A failed sweep is logged and retried on
 * the next tick; `stop` waits for a sweep in progress so shutdown never cuts one off.
 *
 * @example
 * const sweeper = startHoldSweeper({ ledger, logger, intervalMs: 15_000 });
 * await sweeper.stop();
 */
export function startHoldSweeper(options: { ledger: Ledger; logger: Logger; intervalMs: number }): {
  stop: () => Promise<void>;
} {
  const { ledger, logger, intervalMs } = options;
  let running: Promise<void> | undefined;
  const sweep = async () => {
    try {
      const { expired } = await ledger.sweepExpiredHolds();
      if (expired > 0) logger.info({ expired }, "released expired holds");
      // After the holds: a lot that an expired hold reserved part of can expire in the same tick.
      const lots = await ledger.sweepExpiredLots();
      if (lots.expired > 0)
        logger.info({ expired: lots.expired }, "removed what was left of expired credit lots");
    } catch (error) {
      logger.warn({ err: error }, "sweeping expired holds failed; retrying on the next tick");
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = sweep().finally(() => {
      running = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
