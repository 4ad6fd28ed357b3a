/**
 * The `pipod` command line. Each command lives in its own module under
 * commands/; errors a user can cause are PipodErrors and print without a
 * stack trace; exit codes are those of exit-codes.ts.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PipodError } from '@pipod/plan';
import { normalizeArgv } from './argv.ts';
import { commands } from './commands/index.ts';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.ts';

async function main(): Promise<void> {
  const argv = normalizeArgv(hideBin(process.argv));
  let cli = yargs(argv).scriptName('pipod').strict().recommendCommands().help().alias('help', 'h').version('0.1.0').wrap(Math.min(120, process.stdout.columns ?? 100))
    .usage('pipod: run a Tekton Pipeline (or a part of one) inside one Pod\n\nUsage: $0 <command> [options]')
    .example('$0 run -f examples/hello.yaml', 'run a pipeline on podman and print its summary')
    .example('$0 describe', 'why the last run failed: step, reason, exit code, last lines of output')
    .example('$0 <command> --help', 'a command\'s options and examples')
    .epilog(EXIT_CODES_HELP);
  for (const c of commands) cli = cli.command(c);
  if (argv.length === 0) {
    cli.showHelp('log');
    return;
  }
  await cli
    .demandCommand(1, 'name a command (pipod --help lists them)')
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`pipod: ${msg}\n(pipod --help lists the commands; pipod <command> --help their options)`);
      process.exit(EXIT.invalid);
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  if (e instanceof PipodError) {
    console.error(`pipod: ${e.message}`);
    process.exit(exitCodeFor(e));
  }
  console.error(`pipod: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(EXIT.infra);
});
