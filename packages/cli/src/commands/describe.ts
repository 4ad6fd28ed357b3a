/** `pipod describe RUN`: what a recorded run did and why it failed, like `tkn pr describe`. */
import type { Argv, CommandModule } from 'yargs';
import { RunStore, type RunRecord } from '../runstore/store.ts';
import type { RunReport } from '../render/report.ts';
import { summaryText, statusWord } from '../render/summary.ts';
import { type Colors, colors, formatDuration } from '../render/text.ts';
import { colorFor } from '../render/terminal.ts';
import { shortTime } from './list.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';

interface DescribeArgs {
  readonly run?: string;
  readonly output: 'text' | 'json';
}

/** The text `pipod describe` prints. */
export function describeText(rec: RunRecord, report: RunReport | undefined, c: Colors = colors(false)): string {
  const lines = [
    `${c.bold('Run:')}       ${rec.id}`,
    `${c.bold('Pipeline:')}  ${rec.pipeline}`,
    `${c.bold('Status:')}    ${statusWord(rec.status, c)}${rec.reason && rec.reason !== rec.status ? ` (${rec.reason})` : ''}`,
    `${c.bold('Started:')}   ${shortTime(rec.startedAt)} UTC${rec.durationMs !== undefined ? `, took ${formatDuration(rec.durationMs)}` : ''}`,
    `${c.bold('Runtime:')}   ${rec.runtime}${rec.namespace !== undefined ? `, namespace ${rec.namespace}` : ''}${rec.keep ? ', pod kept (--keep)' : ''}`,
    `${c.bold('Files:')}     ${rec.files.join(' ')}`,
  ];
  if (report !== undefined) lines.push('', summaryText(report, { color: c, steps: true }));
  else if (rec.status === 'Running') lines.push('', `still running: pipod logs ${rec.id} -f`);
  return lines.join('\n');
}

/** The `describe` command. */
export const describeCommand: CommandModule<object, DescribeArgs> = {
  command: 'describe [run]',
  describe: 'show a recorded run (default: the newest): tasks, steps, why it failed, results',
  builder: (y: Argv) => y
    .positional('run', { type: 'string', describe: 'run id (as pipod list shows it), a unique prefix of one, or "last"' })
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'text, or the run\'s record and full report as JSON' })
    .example('$0 describe', 'the newest run: tasks, steps, the failing step and its last lines of output')
    .example('$0 describe hello-run-1a2b3c -o json', 'the record and the report (reason, message, log tail per step; results whole)')
    .epilog(EXIT_CODES_HELP) as unknown as Argv<DescribeArgs>,
  handler: (a) => {
    const store = new RunStore();
    const rec = store.resolve(a.run);
    const report = store.report(rec.id);
    if (a.output === 'json') process.stdout.write(`${JSON.stringify({ record: rec, report: report ?? null })}\n`);
    else process.stdout.write(`${describeText(rec, report, colorFor(process.stdout))}\n`);
  },
};
