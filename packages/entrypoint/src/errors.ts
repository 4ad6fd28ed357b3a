/** Errors of the in-pod runtime: a stable code, a clear message, an exit code. */
import { PipodError } from '@pipod/plan';

/** The wrapper or supervisor must exit with this code and message (never a stack trace). */
export class WrapperExit extends PipodError {
  constructor(message: string, readonly exitCode: number) {
    super('RUNTIME_EXIT', message);
  }
}

/** The entrypoint was called wrongly (mode, arguments, missing plan). */
export class UsageError extends PipodError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
