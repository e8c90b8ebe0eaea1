import type { Pool } from "../db/pool.js";

/** The person's low-balance alert: the threshold in force, whether it is their own, and the default. */
export type LowBalanceSetting = { thresholdCents: number; defaultCents: number; custom: boolean };

export const maxThresholdCents = 100_000_000;

type SettingRow = { threshold_cents: string; default_cents: string; custom: boolean };

/**
 * The person's setting. The default is LOW_BALANCE_ALERT_CENTS as the server wrote it at start
 * (metering.webhook_settings), the very number the database's crossing trigger compares with.
 */
export async function readLowBalanceSetting(pool: Pool, userId: string): Promise<LowBalanceSetting> {
  const { rows } = await pool.query<SettingRow>(
    `select alerts.low_balance_threshold($1) as threshold_cents,
            s.low_balance_alert_cents as default_cents,
            p.threshold_cents is not null as custom
       from metering.webhook_settings s
       left join alerts.low_balance p on p.user_id = $1`,
    [userId],
  );
  const row = rows[0];
  if (!row) throw new Error("metering.webhook_settings has no row; migration 0008 makes it");
  return {
    thresholdCents: Number(row.threshold_cents),
    defaultCents: Number(row.default_cents),
    custom: row.custom,
  };
}

/**
 * Sets the person's threshold (null: back to the default; 0: no alert) and re-arms the alert
 * against it under the account's row lock (alerts.set_low_balance_threshold): credit already below
 * the new threshold counts as alerted, since the person is looking at it.
 */
export async function setLowBalanceThreshold(
  pool: Pool,
  input: { userId: string; thresholdCents: number | null },
): Promise<LowBalanceSetting> {
  await pool.query("select alerts.set_low_balance_threshold($1, $2)", [input.userId, input.thresholdCents]);
  return readLowBalanceSetting(pool, input.userId);
}
