/** `pipod validate`: print every error with its field path; exit 2 (invalid input) when there are any. */
import type { Argv, CommandModule } from 'yargs';
import { buildEach, formatError, uniqueErrors } from '@pipod/podbuilder';
import { type SourceArgs, prepare, sourceOptions } from './build.ts';
import { EXIT, EXIT_CODES_HELP } from '../exit-codes.ts';

interface ValidateArgs extends SourceArgs {
  readonly output: 'text' | 'json';
}

/** The `validate` command. */
export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate',
  describe: 'print every error with its field path; exit 2 when there are any',
  builder: (y) => sourceOptions(y)
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'output format' })
    .example('$0 validate -f pipelines/', 'every error of the YAML files of a directory, with its field path')
    .example('$0 validate -f pipeline.yaml -o json', '{valid, errors, warnings} as JSON')
    .epilog(EXIT_CODES_HELP) as unknown as Argv<ValidateArgs>,
  handler: async (a) => {
    const { sources, options } = await prepare(a);
    // Every run of the input is checked (a file may hold several).
    const results = buildEach(sources, options);
    const errors = uniqueErrors(results.flatMap((r) => (r.kind === 'invalid' ? r.errors : [])));
    const warnings = uniqueErrors(results.flatMap((r) => r.warnings));
    if (a.output === 'json') {
      process.stdout.write(`${JSON.stringify({ valid: errors.length === 0, errors, warnings }, null, 2)}\n`);
    } else {
      for (const e of errors) process.stdout.write(`${formatError(e)}\n`);
      for (const w of warnings) process.stderr.write(`warning: ${formatError(w)}\n`);
      if (errors.length === 0) process.stderr.write('valid\n');
    }
    if (errors.length > 0) process.exitCode = EXIT.invalid;
  },
};
