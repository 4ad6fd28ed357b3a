/** `pipod logs RUN`: the step output of a recorded run, whole, optionally following a run still going on. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { PipodError } from '@pipod/plan';
import { RunStore, fromStored } from '../runstore/store.ts';
import { logLineText } from '../render/live.ts';
import { type RecordedLine, inWrittenOrder } from '../render/report.ts';
import { colorFor } from '../render/terminal.ts';
import { EXIT_CODES_HELP } from '../exit-codes.ts';

interface LogsArgs {
  readonly run?: string;
  readonly follow: boolean;
  readonly task?: string;
  readonly step?: string;
  readonly raw: boolean;
}

/** How often a followed log is read again. */
const FOLLOW_POLL_MS = 200;

/** Whether a line is one the filters ask for. */
export function matches(l: RecordedLine, task: string | undefined, step: string | undefined): boolean {
  return (task === undefined || l.task === task) && (step === undefined || l.step === step);
}

/** Reads the complete lines of a file from a byte offset; returns them and the offset after the last one. */
export function readFrom(file: string, offset: number): { lines: string[]; next: number } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return { lines: [], next: offset };
  }
  if (size <= offset) return { lines: [], next: offset };
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    const text = buf.subarray(0, n).toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return { lines: [], next: offset };
    return { lines: text.slice(0, end).split('\n'), next: offset + Buffer.byteLength(text.slice(0, end + 1), 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** The `logs` command. */
export const logsCommand: CommandModule<object, LogsArgs> = {
  command: 'logs [run]',
  describe: 'print the step output of a recorded run (default: the newest), prefixed [task/step]',
  builder: (y: Argv) => y
    .positional('run', { type: 'string', describe: 'run id (as pipod list shows it), a unique prefix of one, or "last"' })
    .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing while the run goes on' })
    .option('task', { alias: 't', type: 'string', describe: 'only this task\'s output' })
    .option('step', { alias: 's', type: 'string', describe: 'only this step\'s output' })
    .option('raw', { type: 'boolean', default: false, describe: 'the lines alone, without [task/step] prefixes' })
    .example('$0 logs', 'the output of the newest run')
    .example('$0 logs hello-run-1a2b3c --task build', 'one task\'s output')
    .example('$0 logs last -f', 'follow the newest run while it goes on')
    .epilog(EXIT_CODES_HELP) as unknown as Argv<LogsArgs>,
  handler: async (a) => {
    const store = new RunStore();
    const rec = store.resolve(a.run);
    if (a.task !== undefined) {
      const known = new Set(store.events(rec.id).flatMap((e) => ('task' in e && e.task !== undefined ? [e.task] : [])));
      const report = store.report(rec.id);
      for (const t of Object.keys(report?.tasks ?? {})) known.add(t);
      if (known.size > 0 && !known.has(a.task)) throw new PipodError('USAGE', `run ${rec.id} has no task "${a.task}" (tasks: ${[...known].sort().join(', ')})`);
    }
    const c = colorFor(process.stdout);
    const file = store.logsFile(rec.id);
    const print = (raw: readonly string[]): void => {
      const got: RecordedLine[] = [];
      for (const r of raw) {
        try {
          const l = fromStored(JSON.parse(r));
          if (matches(l, a.task, a.step)) got.push(l);
        } catch { /* not a line of ours */ }
      }
      const out = inWrittenOrder(got).map((l) => (a.raw ? l.text : logLineText(l, c, undefined, Infinity)));
      if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
    };
    let offset = 0;
    for (;;) {
      const { lines, next } = readFrom(file, offset);
      offset = next;
      print(lines);
      if (!a.follow) break;
      const now = store.record(rec.id);
      if (now === undefined || now.status !== 'Running') {
        print(readFrom(file, offset).lines);
        break;
      }
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    }
    const after = store.record(rec.id);
    if (after !== undefined && after.status === 'Running' && !a.follow) process.stderr.write(`pipod: run ${rec.id} is still running; follow it with pipod logs ${rec.id} -f\n`);
  },
};
