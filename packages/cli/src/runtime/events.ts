/**
 * Reading the supervisor's event stream and turning it into the lines a
 * person watches: one per task started, finished, skipped or retried.
 */
import { parseEvent, type RunEvent, type RunSummary } from '@pipod/plan';

/** Parses one line of supervisor output: the plan's `parseEvent`, the one rule every reader of the stream uses. */
export const parseEventLine: (line: string) => RunEvent | undefined = parseEvent;

/** A duration as people read it: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** The progress line for an event, or undefined for events that get no line of their own. */
export function progressLine(e: RunEvent): string | undefined {
  switch (e.type) {
    case 'run.started':
      return `pipeline ${e.pipeline}: ${e.tasks.length} task(s)${e.finally.length > 0 ? `, ${e.finally.length} finally` : ''}`;
    case 'task.started':
      return e.attempt > 0 ? `  ${e.task}: started (attempt ${e.attempt + 1})` : `  ${e.task}: started`;
    case 'task.retrying':
      return `  ${e.task}: retrying (attempt ${e.attempt + 1}): ${e.reason}`;
    case 'task.skipped':
      return `  ${e.task}: skipped: ${e.reason}`;
    case 'task.finished': {
      const tries = e.attempts > 1 ? ` after ${e.attempts} attempts` : '';
      const why = e.status === 'Succeeded' || e.reason === '' || e.reason === e.status ? '' : `: ${e.reason}`;
      return `  ${e.task}: ${e.status} in ${formatDuration(e.durationMs)}${tries}${why}`;
    }
    case 'sidecar.failed':
      return `  sidecar ${e.task !== undefined ? `${e.task}/` : ''}${e.sidecar}: failed: ${e.reason}`;
    case 'run.finished':
      return undefined;
    default:
      return undefined;
  }
}

/** The human-readable end of a run. */
export function summaryText(s: RunSummary): string {
  const lines = [`${s.status}${s.reason && s.reason !== s.status ? ` (${s.reason})` : ''} in ${formatDuration(s.durationMs)}`];
  for (const [name, t] of Object.entries(s.tasks)) {
    const results = Object.keys(t.results).length > 0 ? `  results: ${Object.keys(t.results).join(', ')}` : '';
    lines.push(`  ${t.finally === true ? 'finally ' : ''}${name}: ${t.status}${t.reason && t.reason !== t.status ? ` (${t.reason})` : ''}${results}`);
  }
  for (const [name, v] of Object.entries(s.results)) lines.push(`  result ${name} = ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return lines.join('\n');
}

/** A run's time budget: once it is spent, `onSpent` runs (an immediate cancel). */
export interface Watchdog {
  /** True when the budget ran out before `stop`. */
  readonly fired: boolean;
  stop(): void;
}

/** Starts a watchdog for `ms` milliseconds (none when undefined). */
export function startWatchdog(ms: number | undefined, onSpent: () => void): Watchdog {
  let fired = false;
  const timer = ms === undefined ? undefined : setTimeout(() => {
    fired = true;
    onSpent();
  }, ms);
  timer?.unref();
  return {
    get fired() { return fired; },
    stop: () => { if (timer !== undefined) clearTimeout(timer); },
  };
}

/** What a `SupervisorStream` hands on. */
export interface SupervisorStreamSink {
  /** Each event once, in stream order. */
  onEvent(event: RunEvent): void;
  /** Each line that is not an event (diagnostics, partial lines), once. */
  onOther(line: string): void;
}

/**
 * The supervisor's output as a runtime follows it, line by line: events are
 * parsed with the plan's one rule, and a follower that reconnects and gets
 * the log from its start again (`replay`) delivers nothing twice.
 */
export class SupervisorStream {
  private delivered = 0;
  private seen = 0;
  private last: RunSummary | undefined;

  constructor(private readonly sink: SupervisorStreamSink) {}

  /** The summary of `run.finished`, once it arrived. */
  get summary(): RunSummary | undefined {
    return this.last;
  }

  /** One line of output (either stream of the supervisor container). */
  line(text: string): void {
    const e = parseEvent(text);
    if (e === undefined) {
      // While a replay has not caught up, its other lines were handed on before.
      if (this.seen >= this.delivered && text.trim() !== '') this.sink.onOther(text);
      return;
    }
    this.seen++;
    if (this.seen <= this.delivered) return;
    this.delivered = this.seen;
    if (e.type === 'run.finished') this.last = e.summary;
    this.sink.onEvent(e);
  }

  /** The next lines are the log again from its start. */
  replay(): void {
    this.seen = 0;
  }
}
