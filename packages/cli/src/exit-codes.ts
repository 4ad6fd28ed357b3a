/**
 * The exit codes of every pipod command, in one place so the code, `--help`
 * and the README say the same thing.
 */
import { PipodError } from '@pipod/plan';

/** Exit codes by meaning. */
export const EXIT = {
  /** The command did what was asked (a run: the pipeline succeeded). */
  ok: 0,
  /** The run happened and did not succeed (Failed, TimedOut, Cancelled). */
  runFailed: 1,
  /** The input is wrong: a usage error, unreadable or invalid YAML, a pipeline that does not validate. */
  invalid: 2,
  /** The machinery failed: podman or the cluster could not start or watch the pod, an image could not be had, an internal error. */
  infra: 3,
} as const;

/** Error codes that mean the user's input is wrong (everything else is the runtime's or the host's problem). */
const INPUT_CODES: ReadonlySet<string> = new Set(['USAGE', 'INVALID', 'IO', 'UNSUPPORTED', 'IMAGE_REF', 'NOT_FOUND']);

/** The exit code for an error that ended a command. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof PipodError) return INPUT_CODES.has(e.code) ? EXIT.invalid : EXIT.infra;
  return EXIT.infra;
}

/** The exit-code table as `--help` prints it. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  `  ${EXIT.ok}  success (run: the pipeline succeeded)`,
  `  ${EXIT.runFailed}  the run failed, timed out or was cancelled`,
  `  ${EXIT.invalid}  invalid input: usage error, unreadable file, invalid YAML or pipeline`,
  `  ${EXIT.infra}  runtime or infrastructure error: podman/cluster, images, internal error`,
].join('\n');
