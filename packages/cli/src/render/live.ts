/**
 * What `pipod run` prints while a run goes on: one ordered stream of task
 * and step lines (with durations), step output prefixed `[task/step]`
 * (stderr marked `!`), and runtime notes. In a terminal it adds colour and a
 * live status line at the bottom; in a pipe or CI it prints plain lines that
 * stay the same from run to run.
 *
 * The order is the one the runtime hands things on in (a step's end after its
 * output: output/ordered.ts); this only draws.
 */
import spinners from 'cli-spinners';
import { createLogUpdate } from 'log-update';
import type { RunEvent } from '@pipod/plan';
import type { RecordedLine } from './report.ts';
import { type Colors, colors as makeColors, formatDuration, truncate } from './text.ts';

/** Where and how the live output is drawn. */
export interface LiveOptions {
  /** The stream lines go to. */
  readonly out: Pick<NodeJS.WriteStream, 'write'> & { readonly isTTY?: boolean; readonly columns?: number };
  /** Draw the live status line (a terminal); default: the stream is a TTY. */
  readonly tty?: boolean;
  readonly color?: Colors;
  /** Print step output, not only task and step lines. */
  readonly logs: boolean;
  /** The run's id, for hints in truncated lines. */
  readonly runId?: string;
  readonly now?: () => number;
}

/** Longest line of step output printed whole; the run's log keeps it all. */
const LINE_MAX = 2000;

/** A line of output as pipod prints it: `[task/step] text`, `[task/step]! text` for stderr; very long lines cut with where to read them whole. */
export function logLineText(l: RecordedLine, c: Colors, runId?: string, max = LINE_MAX): string {
  const text = l.text.length > max ? truncate(l.text, max, runId !== undefined ? `pipod logs ${runId}` : undefined) : l.text;
  const step = l.step ?? l.container;
  const p = c.cyan(l.task !== undefined ? `[${l.task}/${step}]` : `[${step}]`);
  return l.stream === 'stderr' ? `${p}${c.red('!')} ${text}` : `${p} ${text}`;
}

/** A supervisor line that is (part of) an event: the log driver can split a very long event line, which then fails to parse. Never output. */
export function isEventDebris(l: RecordedLine): boolean {
  return l.task === undefined && /^\s*\{"type":"/.test(l.text);
}

/** Renders a run's progress as it happens. */
export class LiveRenderer {
  private readonly c: Colors;
  private readonly tty: boolean;
  private readonly now: () => number;
  private spin: NodeJS.Timeout | undefined;
  private frame = 0;
  private readonly update: ReturnType<typeof createLogUpdate> | undefined;
  private readonly stepStarts = new Map<string, number>();
  private readonly running = new Set<string>();
  private total = 0;
  private done = 0;
  private phase = 'starting';
  private readonly startedAt: number;

  constructor(private readonly opts: LiveOptions) {
    this.tty = opts.tty ?? opts.out.isTTY === true;
    this.c = opts.color ?? makeColors(false);
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    if (this.tty) {
      this.update = createLogUpdate(opts.out as NodeJS.WriteStream, { showCursor: true });
      this.spin = setInterval(() => this.drawStatus(), spinners.dots.interval);
      this.spin.unref();
    }
  }

  /** Prints a line at once (before any event), e.g. what is being run. */
  line(text: string): void {
    this.print([text]);
  }

  /** Sets what the status line says while no task runs yet (resolving images, starting the pod). */
  status(phase: string): void {
    this.phase = phase;
    this.drawStatus();
  }

  /** A runtime note (pod started, image pulled, cleanup). */
  note(message: string): void {
    this.print([this.c.dim(`pipod: ${message}`)]);
  }

  /** A supervisor event. */
  event(e: RunEvent): void {
    const lines = this.eventLines(e);
    if (lines.length > 0) this.print(lines);
  }

  /** A line of step or sidecar output. */
  log(l: RecordedLine): void {
    if (!this.opts.logs) return;
    if (isEventDebris(l)) return;
    this.print([this.logLine(l)]);
  }

  /** Removes the status line. */
  finish(): void {
    if (this.spin !== undefined) clearInterval(this.spin);
    this.spin = undefined;
    this.update?.clear();
  }

  private print(lines: readonly string[]): void {
    const text = `${lines.join('\n')}\n`;
    if (this.update !== undefined) {
      this.update.clear();
      this.opts.out.write(text);
      this.drawStatus();
    } else this.opts.out.write(text);
  }

  private drawStatus(): void {
    if (this.update === undefined) return;
    const frames = spinners.dots.frames;
    this.frame = (this.frame + 1) % frames.length;
    const elapsed = formatDuration(this.now() - this.startedAt);
    const what = this.running.size > 0 ? `running ${[...this.running].join(', ')}` : this.phase;
    const count = this.total > 0 ? this.c.dim(`  ${this.done}/${this.total} tasks done`) : '';
    const width = this.opts.out.columns ?? 80;
    this.update(truncate(`${this.c.cyan(frames[this.frame] ?? '')} ${elapsed}  ${what}`, Math.max(20, width - 24)) + count);
  }

  private logLine(l: RecordedLine): string {
    return logLineText(l, this.c, this.opts.runId);
  }

  private eventLines(e: RunEvent): readonly string[] {
    const c = this.c;
    switch (e.type) {
      case 'run.started':
        this.total = e.tasks.length + e.finally.length;
        this.phase = 'waiting for tasks';
        return [`pipeline ${c.bold(e.pipeline)}: ${e.tasks.length} task(s)${e.finally.length > 0 ? `, ${e.finally.length} finally` : ''}`];
      case 'task.started':
        this.running.add(e.task);
        return [`  ${c.bold(e.task)}: started${e.attempt > 0 ? ` (attempt ${e.attempt + 1})` : ''}`];
      case 'task.retrying':
        return [`  ${c.bold(e.task)}: ${c.yellow('retrying')} (attempt ${e.attempt + 1}): ${e.reason}`];
      case 'task.skipped':
        this.done++;
        return [`  ${c.bold(e.task)}: ${c.dim('skipped')}: ${e.reason}`];
      case 'step.started':
        this.stepStarts.set(`${e.container}/${e.attempt}`, Date.parse(e.time));
        return [];
      case 'step.finished': {
        const from = this.stepStarts.get(`${e.container}/${e.attempt}`);
        const ms = from !== undefined ? Date.parse(e.time) - from : undefined;
        const ok = e.reason === 'Completed' && e.exitCode === 0;
        const why = ok ? '' : ` (exit code ${e.exitCode}${e.reason !== 'Completed' && e.reason !== 'Failed' ? `, ${e.reason}` : ''})`;
        const status = ok ? c.green('Succeeded') : e.reason === 'TimedOut' ? c.red('TimedOut') : e.reason === 'Stopped' ? c.yellow('Stopped') : c.red('Failed');
        return [`    ${e.task}/${e.step}: ${status}${ms !== undefined && Number.isFinite(ms) ? ` in ${formatDuration(ms)}` : ''}${why}`];
      }
      case 'task.finished': {
        this.running.delete(e.task);
        this.done++;
        const tries = e.attempts > 1 ? ` after ${e.attempts} attempts` : '';
        const why = e.status === 'Succeeded' || e.reason === '' || e.reason === e.status ? '' : `: ${e.reason}`;
        const status = e.status === 'Succeeded' ? c.green(e.status) : e.status === 'Cancelled' ? c.yellow(e.status) : c.red(e.status);
        return [`  ${c.bold(e.task)}: ${status} in ${formatDuration(e.durationMs)}${tries}${why}`];
      }
      case 'sidecar.ready':
        return [c.dim(`  sidecar ${e.task !== undefined ? `${e.task}/` : ''}${e.sidecar}: ready`)];
      case 'sidecar.failed':
        return [`  sidecar ${e.task !== undefined ? `${e.task}/` : ''}${e.sidecar}: ${c.red('failed')}: ${e.reason}`];
      case 'run.finished':
        this.running.clear();
        this.phase = 'cleaning up';
        return [];
      default:
        return [];
    }
  }
}
