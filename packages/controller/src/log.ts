/** Structured JSON logs: one object per line, on stderr, with a level and fields. */

/** Severity of a log line. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

/** Something that writes structured log lines. */
export interface Logger {
  log(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** A Logger writing JSON lines to a stream (stderr by default); `debug` lines only when verbose. */
export function jsonLogger(out: (line: string) => void = (l) => process.stderr.write(l), verbose = false): Logger {
  return {
    log(level, msg, fields) {
      if (level === 'debug' && !verbose) return;
      out(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...(fields ?? {}) })}\n`);
    },
  };
}

/** A Logger that drops everything (tests, library use). */
export const silentLogger: Logger = { log() {} };
