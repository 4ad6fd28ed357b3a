/** Command-line words before yargs sees them. */

/** Options whose value may be `-` (stdin). */
const STDIN_OPTIONS: ReadonlySet<string> = new Set(['-f', '--filename']);

/**
 * Joins `-f -` into `--filename=-`: yargs ends an array option at a lone `-`
 * and then rejects it as an unknown argument.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (STDIN_OPTIONS.has(a) && argv[i + 1] === '-') {
      out.push('--filename=-');
      i++;
    } else out.push(a);
  }
  return out;
}
