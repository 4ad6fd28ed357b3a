/**
 * A run's report: the supervisor's RunSummary plus what a person needs to see
 * why it failed — each step's end reason, message and last lines of output —
 * gathered from the event stream and the recorded logs. `-o json` prints it;
 * it is a superset of RunSummary, so readers of the summary keep working.
 */
import type { RunEvent, RunSummary, StepSummary, TaskSummary } from '@pipod/plan';

/** One recorded line of step or sidecar output. */
export interface RecordedLine {
  /** When the line was written (RFC 3339), when the runtime said. */
  readonly time?: string;
  readonly container: string;
  readonly task?: string;
  readonly step?: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** A step's outcome with why it ended. */
export interface StepReport extends StepSummary {
  /** How the step's process ended (`Completed`, `Failed`, `TimedOut`, `Stopped`, `StartFailed`), from its step.finished event. */
  readonly reason?: string;
  /** What the runtime said about the end (e.g. the command that could not be started). */
  readonly message?: string;
  /** The last lines of the step's output, stderr lines included. */
  readonly logTail?: readonly string[];
  /** How many lines of output the step wrote in all. */
  readonly logLines?: number;
}

/** A task's outcome with its steps' reports. */
export interface TaskReport extends TaskSummary {
  readonly steps: readonly StepReport[];
}

/** Where a run is recorded, so a report can say how to read more. */
export interface RunRef {
  readonly id: string;
  readonly pipeline?: string;
  /** The run's directory in the local run store. */
  readonly dir?: string;
}

/** The summary of a run with step reasons, messages and log tails. */
export interface RunReport extends RunSummary {
  readonly tasks: Readonly<Record<string, TaskReport>>;
  readonly run?: RunRef;
}

/** What a report is made of besides the summary. */
export interface ReportInputs {
  readonly events?: readonly RunEvent[];
  readonly logs?: readonly RecordedLine[];
  /** Lines each container wrote in all, when `logs` holds only the last ones. */
  readonly lineCounts?: Readonly<Record<string, number>>;
  /** Messages of the steps' last ends, by container. */
  readonly messages?: Readonly<Record<string, string>>;
  readonly run?: RunRef;
  /** Lines of output kept per step (default 20). */
  readonly tailLines?: number;
}

/** Longest line kept in a log tail; the whole line stays in the run's log. */
const TAIL_LINE_MAX = 1000;

/** Why a step that ended with this reason and no message of its own ended, in words. */
function defaultMessage(reason: string | undefined, exitCode: number | undefined): string | undefined {
  if (reason === 'StartFailed') return `the step's command could not be started${exitCode !== undefined ? ` (exit code ${exitCode})` : ''}`;
  if (reason === 'TimedOut') return 'the step ran past its timeout and was stopped';
  if (reason === 'OOMKilled') return `the step's container ran out of memory and was killed${exitCode !== undefined ? ` (exit code ${exitCode})` : ''}`;
  if (reason === 'ContainerDied') return `the step's container died${exitCode !== undefined ? ` (exit code ${exitCode})` : ' (no heartbeat)'}`;
  return undefined;
}

/** Builds the report of a run from its summary, events, recorded output and step messages. */
export function buildReport(summary: RunSummary, inputs: ReportInputs = {}): RunReport {
  const tailLines = inputs.tailLines ?? 20;
  const reasons = new Map<string, string>();
  for (const e of inputs.events ?? []) if (e.type === 'step.finished') reasons.set(e.container, e.reason);
  const byContainer = new Map<string, string[]>();
  const counts = new Map<string, number>();
  for (const l of inputs.logs ?? []) {
    counts.set(l.container, (counts.get(l.container) ?? 0) + 1);
    let tail = byContainer.get(l.container);
    if (tail === undefined) byContainer.set(l.container, (tail = []));
    const text = l.text.length > TAIL_LINE_MAX ? `${l.text.slice(0, TAIL_LINE_MAX)}…` : l.text;
    tail.push(l.stream === 'stderr' ? `! ${text}` : text);
    if (tail.length > tailLines) tail.shift();
  }
  const tasks: Record<string, TaskReport> = {};
  for (const [name, t] of Object.entries(summary.tasks)) {
    const steps = t.steps.map((s): StepReport => {
      // The summary's own reason (a container that died under its step) says more than the event's.
      const reason = s.reason ?? reasons.get(s.container) ?? (s.status === 'Skipped' ? 'Skipped' : undefined);
      const message = inputs.messages?.[s.container] ?? defaultMessage(reason, s.exitCode);
      const tail = byContainer.get(s.container);
      return {
        ...s,
        ...(reason !== undefined ? { reason } : {}),
        ...(message !== undefined ? { message } : {}),
        ...(tail !== undefined ? { logTail: tail, logLines: inputs.lineCounts?.[s.container] ?? counts.get(s.container) ?? tail.length } : {}),
      };
    });
    tasks[name] = { ...t, steps };
  }
  return { ...summary, tasks, ...(inputs.run !== undefined ? { run: inputs.run } : {}) };
}

/**
 * Lines in the order they were written: stdout and stderr reach pipod through
 * separate pipes, so arrival order mixes them; a stable sort by time (when
 * every line has one) puts them back.
 */
export function inWrittenOrder(lines: readonly RecordedLine[]): RecordedLine[] {
  if (!lines.every((l) => l.time !== undefined)) return [...lines];
  return lines.map((l, i) => ({ l, i, t: Date.parse(l.time ?? '') })).sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.l);
}

/** Keeps the last lines of each container's output and how many there were, for a report without holding all output in memory. */
export class TailCollector {
  private readonly tails = new Map<string, RecordedLine[]>();
  private readonly counts: Record<string, number> = {};

  constructor(private readonly keep = 20) {}

  /** Takes one line. */
  add(l: RecordedLine): void {
    this.counts[l.container] = (this.counts[l.container] ?? 0) + 1;
    let t = this.tails.get(l.container);
    if (t === undefined) this.tails.set(l.container, (t = []));
    t.push(l);
    if (t.length > this.keep) t.shift();
  }

  /** The kept lines (in the order they were written, when they carry times) and the counts, as buildReport takes them. */
  inputs(): Pick<ReportInputs, 'logs' | 'lineCounts'> {
    return { logs: [...this.tails.values()].flatMap(inWrittenOrder), lineCounts: { ...this.counts } };
  }
}

/** A task that did not succeed and the step that made it fail, if one did. */
export interface Failure {
  readonly task: string;
  readonly report: TaskReport;
  readonly step?: StepReport;
}

/** The tasks that failed, timed out or were cancelled, each with its failing step (the first one that did not succeed). */
export function failures(r: RunReport): Failure[] {
  const out: Failure[] = [];
  for (const [task, t] of Object.entries(r.tasks)) {
    if (t.status === 'Succeeded' || t.status === 'Skipped') continue;
    const step = t.steps.find((s) => s.status !== 'Succeeded' && s.status !== 'Skipped' && !(s.status === 'Cancelled' && s.exitCode === undefined))
      ?? t.steps.find((s) => s.status !== 'Succeeded' && s.status !== 'Skipped');
    out.push({ task, report: t, ...(step !== undefined ? { step } : {}) });
  }
  return out;
}
