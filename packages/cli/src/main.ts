/**
 * The `pipod` command line. Each command lives in its own module under
 * commands/; errors a user can cause are PipodErrors and print without a
 * stack trace.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PipodError } from '@pipod/plan';
import { commands } from './commands/index.ts';

async function main(): Promise<void> {
  let cli = yargs(hideBin(process.argv)).scriptName('pipod').strict().demandCommand(1).recommendCommands().help().version('0.1.0');
  for (const c of commands) cli = cli.command(c);
  await cli
    .fail((msg, err, y) => {
      if (err) throw err;
      console.error(y.help().toString() ? `pipod: ${msg}` : msg);
      process.exit(2);
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  if (e instanceof PipodError) {
    console.error(`pipod: ${e.message}`);
    process.exit(e.code === 'INVALID' ? 1 : 2);
  }
  console.error(`pipod: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(3);
});
