/** `pipod list`: the runs recorded on this machine for this user, newest first. */
import type { Argv, CommandModule } from 'yargs';
import { RunStore, type RunRecord } from '../runstore/store.ts';
import { colors, formatDuration } from '../render/text.ts';
import { plainTable, statusMark, statusWord } from '../render/summary.ts';
import { colorFor } from '../render/terminal.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';

interface ListArgs {
  readonly output: 'text' | 'json';
  readonly limit: number;
}

/** A start time as a list shows it: `2026-12-03 07:14:35` (UTC). */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '').slice(0, 19);
}

/** The table `pipod list` prints. */
export function listText(runs: readonly RunRecord[], color = colors(false)): string {
  if (runs.length === 0) return 'no runs recorded yet: start one with pipod run -f FILE';
  const t = plainTable(['RUN', 'PIPELINE', 'STATUS', 'STARTED', 'DURATION', 'RUNTIME', ''], color);
  for (const r of runs) {
    t.push([r.id, r.pipeline, `${statusMark(r.status, color)} ${statusWord(r.status, color)}`, shortTime(r.startedAt), r.durationMs !== undefined ? formatDuration(r.durationMs) : '', r.runtime, r.keep ? 'kept' : '']);
  }
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

/** The `list` command. */
export const listCommand: CommandModule<object, ListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'list the runs recorded on this machine, newest first',
  builder: (y: Argv) => y
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'a table, or the run records as a JSON array' })
    .option('limit', { alias: 'n', type: 'number', default: 20, describe: 'show at most this many runs (0: all)' })
    .example('$0 list', 'the last 20 runs: id, pipeline, status, start, duration')
    .example('$0 list -n 0 -o json', 'every recorded run as JSON')
    .epilog(EXIT_CODES_HELP) as unknown as Argv<ListArgs>,
  handler: (a) => {
    const runs = new RunStore().list();
    const shown = a.limit > 0 ? runs.slice(0, a.limit) : runs;
    if (a.output === 'json') process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    else process.stdout.write(`${listText(shown, colorFor(process.stdout))}\n`);
  },
};
