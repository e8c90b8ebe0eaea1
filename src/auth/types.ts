/** The signed-in person, as every route after `requireUser` sees it (`context.get("user")`). */
export type SessionUser = { id: string; email: string; name: string; isAdmin: boolean };

/** Hono environment for routes behind `requireUser`. */
export type AuthedEnv = { Variables: { user: SessionUser } };
