/** A key as `GET /api/keys` lists it: never its secret. Dates are ISO strings. */
export type PersonalKey = {
  id: string;
  name: string;
  prefix: string;
  /** The most the key may spend in a month; null: no limit beyond the balance. */
  monthlyLimitCents: number | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

/** `POST /api/keys`'s answer: the only place the secret ever appears. */
export type CreatedKey = { key: PersonalKey; secret: string };

/** The server's bounds (src/gateway/personal-keys.ts), checked here first to answer at once. */
export const maxNameLength = 100;
export const maxMonthlyLimitCents = 100_000_000;
