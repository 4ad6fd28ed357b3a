/**
 * The text a person reads at the end of a run (and from `pipod describe`):
 * the verdict, a line per task, and for each failure the task and step, the
 * reason, the exit code and the last lines of its output — then results,
 * long values cut with where to read them whole.
 */
import Table from 'cli-table3';
import type { ParamValue } from '@pipod/plan';
import { type Failure, type RunReport, type StepReport, failures } from './report.ts';
import { type Colors, between, colors, formatDuration, truncate } from './text.ts';

/** How the summary is drawn. */
export interface SummaryTextOptions {
  readonly color?: Colors;
  /** Longest result value printed whole (default 200 characters). */
  readonly maxValue?: number;
  /** Lines of output shown per failing step (default 10). */
  readonly tailLines?: number;
  /** Also list every step of every task (describe). */
  readonly steps?: boolean;
}

/** The mark before a status: ✓ ✗ ○ and so on. */
export function statusMark(status: string, c: Colors): string {
  switch (status) {
    case 'Succeeded': return c.green('✓');
    case 'Failed': return c.red('✗');
    case 'TimedOut': return c.red('⏱');
    case 'Cancelled': return c.yellow('⊘');
    case 'Skipped': return c.dim('○');
    default: return c.dim('·');
  }
}

/** A status word in its colour. */
export function statusWord(status: string, c: Colors): string {
  if (status === 'Succeeded') return c.green(status);
  if (status === 'Failed' || status === 'TimedOut') return c.red(status);
  if (status === 'Cancelled') return c.yellow(status);
  return c.dim(status);
}

/** A borderless table, as tkn and kubectl print them. */
export function plainTable(head: readonly string[], c: Colors): Table.Table {
  const none = { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' };
  return new Table({ head: head.map((h) => c.bold(h)), chars: none, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true } });
}

function value(v: ParamValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** What to run to read a run's full output. */
function logsHint(r: RunReport, task: string): string {
  return r.run !== undefined ? `pipod logs ${r.run.id} --task ${task}` : 'pipod run --logs';
}

function stepDetail(s: StepReport): string {
  const parts: string[] = [];
  if (s.exitCode !== undefined) parts.push(`exit code ${s.exitCode}`);
  if (s.reason !== undefined && s.reason !== 'Failed' && s.reason !== 'Completed') parts.push(s.reason);
  return parts.join(', ');
}

function failureBlock(r: RunReport, f: Failure, c: Colors, tailLines: number): string[] {
  const lines: string[] = [];
  const s = f.step;
  if (s === undefined) {
    lines.push(`${c.red('✗')} ${c.bold(f.task)}: ${f.report.status}${f.report.reason && f.report.reason !== f.report.status ? `: ${f.report.reason}` : ''}`);
    return lines;
  }
  const detail = stepDetail(s);
  lines.push(`${c.red('✗')} ${c.bold(`${f.task}/${s.name}`)}: ${s.status}${detail !== '' ? ` (${detail})` : ''}${f.report.reason && !['Failed', f.report.status].includes(f.report.reason) ? `, task reason ${f.report.reason}` : ''}`);
  if (s.message !== undefined) lines.push(`  ${s.message}`);
  const tail = s.logTail ?? [];
  if (tail.length === 0) {
    lines.push(c.dim(`  (no output${r.run !== undefined ? '' : ' recorded'})`));
    return lines;
  }
  const shown = tail.slice(-tailLines);
  const all = s.logLines ?? tail.length;
  lines.push(c.dim(`  last ${shown.length} of ${all} line${all === 1 ? '' : 's'} (all: ${logsHint(r, f.task)}):`));
  for (const l of shown) lines.push(l.startsWith('! ') ? `  ${c.red('!')} ${l.slice(2)}` : `  ${c.dim('|')} ${l}`);
  return lines;
}

/** The human-readable end of a run. */
export function summaryText(r: RunReport, opts: SummaryTextOptions = {}): string {
  const c = opts.color ?? colors(false);
  const maxValue = opts.maxValue ?? 200;
  const where = r.run !== undefined ? `pipod describe ${r.run.id} -o json` : '-o json';
  const head = `${statusMark(r.status, c)} ${c.bold(statusWord(r.status, c))}${r.reason && r.reason !== r.status ? ` (${r.reason})` : ''} in ${formatDuration(r.durationMs)}${r.run !== undefined ? c.dim(`  run ${r.run.id}`) : ''}`;
  const lines = [head];
  const table = plainTable(['TASK', 'STATUS', 'DURATION', 'DETAIL'], c);
  for (const [name, t] of Object.entries(r.tasks)) {
    const ms = t.durationMs ?? between(t.startedAt, t.finishedAt);
    const failing = t.status === 'Succeeded' || t.status === 'Skipped' ? undefined : failures({ ...r, tasks: { [name]: t } })[0]?.step;
    const detail = [
      t.finally === true ? 'finally' : '',
      t.attempts > 1 ? `${t.attempts} attempts` : '',
      failing !== undefined ? `step ${failing.name}${stepDetail(failing) !== '' ? `: ${stepDetail(failing)}` : ''}` : '',
      t.reason && !['Succeeded', 'Failed', t.status].includes(t.reason) ? t.reason : '',
      Object.keys(t.results).length > 0 ? `results: ${Object.keys(t.results).join(', ')}` : '',
    ].filter((x) => x !== '').join('; ');
    table.push([`${statusMark(t.status, c)} ${name}`, statusWord(t.status, c), ms !== undefined ? formatDuration(ms) : '', detail]);
    if (opts.steps === true) {
      for (const s of t.steps) {
        const sms = between(s.startedAt, s.finishedAt);
        table.push([`    ${statusMark(s.status, c)} ${s.name}`, statusWord(s.status, c), sms !== undefined ? formatDuration(sms) : '', stepDetail(s)]);
      }
    }
  }
  if (Object.keys(r.tasks).length > 0) lines.push(...table.toString().split('\n').map((l) => `  ${l.trimEnd()}`));
  const tailLines = opts.tailLines ?? 10;
  for (const f of failures(r)) {
    if (f.report.status === 'Cancelled' && f.step === undefined) continue;
    lines.push('', ...failureBlock(r, f, c, tailLines));
  }
  const results = Object.entries(r.results);
  if (results.length > 0) {
    lines.push('', c.bold('results:'));
    for (const [name, v] of results) lines.push(`  ${name} = ${truncate(value(v), maxValue, where)}`);
  }
  return lines.join('\n');
}
