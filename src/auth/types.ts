/** The signed-in person, as every route after `requireUser` sees it (`context.get("user")`). */
export type SessionUser = {
  id: string;
  email: string;
  name: string;
  /** Proven by a link we emailed, by Google, or by an operator (`npm run cli -- verify-email`). */
  emailVerified: boolean;
  isAdmin: boolean;
};

/** Hono environment for routes behind `requireUser`. */
export type AuthedEnv = { Variables: { user: SessionUser } };
