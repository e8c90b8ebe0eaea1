export type CheckLevel = "ok" | "warning" | "problem";

/**
 * One line of `npm run doctor`: each capability checks its own settings and says how to fix a
 * problem; the doctor (src/cli) only prints the lines and sets the exit code.
 */
export type Check = { level: CheckLevel; name: string; message: string };
