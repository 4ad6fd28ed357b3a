/**
 * The local run store: one directory per run under the user's state
 * directory ($XDG_STATE_HOME/pipod/runs, else ~/.local/state/pipod/runs)
 * with what `pipod list`, `pipod logs` and `pipod describe` read back after
 * the run — its record, the supervisor's events, every line of step output
 * and the final report.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { PipodError, type RunEvent, type RunStatus } from '@pipod/plan';
import type { RecordedLine, RunReport } from '../render/report.ts';

/** Where the store lives for this user. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'state'), 'pipod');
}

/** A run's state as the store knows it: still running, its verdict, `Error` (it could not run) or `Lost` (its pipod process died). */
export type RecordStatus = 'Running' | RunStatus | 'Error' | 'Lost';

/** What the store records about a run. */
export interface RunRecord {
  /** The run's id: the name its pod got (unique per run). */
  readonly id: string;
  readonly pipeline: string;
  readonly runtime: string;
  readonly files: readonly string[];
  readonly startedAt: string;
  /** The pipod process that ran it, and on which host. */
  readonly pid: number;
  readonly host: string;
  /** Its pod and files were left in place (`--keep`). */
  readonly keep: boolean;
  readonly namespace?: string;
  readonly status: RecordStatus;
  readonly reason?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
}

/** Finished runs kept before the oldest are removed (kept and running ones never are). */
export const MAX_RUNS = 100;

const RECORD = 'run.json';
const EVENTS = 'events.jsonl';
const LOGS = 'logs.jsonl';
const REPORT = 'summary.json';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** The JSON lines of a file that parse; a half-written last line is left out. */
function readJsonLines<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const l of text.split('\n')) {
    if (l === '') continue;
    try {
      out.push(JSON.parse(l) as T);
    } catch { /* a line still being written */ }
  }
  return out;
}

/** A line of output as stored: short keys, one JSON object per line. */
interface StoredLine {
  readonly t?: string;
  readonly c: string;
  readonly k?: string;
  readonly s?: string;
  readonly e?: 1;
  readonly x: string;
}

/** Turns a stored line back into a RecordedLine. */
export function fromStored(l: StoredLine): RecordedLine {
  return { ...(l.t !== undefined ? { time: l.t } : {}), container: l.c, ...(l.k !== undefined ? { task: l.k } : {}), ...(l.s !== undefined ? { step: l.s } : {}), stream: l.e === 1 ? 'stderr' : 'stdout', text: l.x };
}

function toStored(l: RecordedLine): StoredLine {
  return { ...(l.time !== undefined ? { t: l.time } : {}), c: l.container, ...(l.task !== undefined ? { k: l.task } : {}), ...(l.step !== undefined ? { s: l.step } : {}), ...(l.stream === 'stderr' ? { e: 1 as const } : {}), x: l.text };
}

/** Records one run while it goes on. Write errors never stop the run: the store is a convenience. */
export class RunWriter {
  private events: number | undefined;
  private logs: number | undefined;
  private record: RunRecord;
  private failed = false;

  constructor(readonly dir: string, record: RunRecord) {
    this.record = record;
    this.guard(() => {
      mkdirSync(dir, { recursive: true });
      writeAtomic(join(dir, RECORD), `${JSON.stringify(record, null, 2)}\n`);
      this.events = openSync(join(dir, EVENTS), 'a');
      this.logs = openSync(join(dir, LOGS), 'a');
    });
  }

  /** The run's id. */
  get id(): string { return this.record.id; }

  /** True when something could not be written (the run still went on). */
  get broken(): boolean { return this.failed; }

  private guard(f: () => void): void {
    if (this.failed) return;
    try {
      f();
    } catch {
      this.failed = true;
    }
  }

  /** Appends a supervisor event (the final one without its summary, which is stored whole as the report). */
  event(e: RunEvent): void {
    const stored = e.type === 'run.finished' ? { type: e.type, time: e.time } : e;
    this.guard(() => { if (this.events !== undefined) writeSync(this.events, `${JSON.stringify(stored)}\n`); });
  }

  /** Appends a line of output. */
  log(l: RecordedLine): void {
    this.guard(() => { if (this.logs !== undefined) writeSync(this.logs, `${JSON.stringify(toStored(l))}\n`); });
  }

  /** Stores the final report and the verdict. */
  finish(report: RunReport): void {
    this.guard(() => writeAtomic(join(this.dir, REPORT), `${JSON.stringify(report)}\n`));
    this.close({ status: report.status, reason: report.reason, finishedAt: report.finishedAt, durationMs: report.durationMs });
  }

  /** Records that the run could not run (or was lost to an error of pipod's). */
  error(message: string): void {
    const now = new Date();
    this.close({ status: 'Error', reason: message, finishedAt: now.toISOString(), durationMs: now.getTime() - Date.parse(this.record.startedAt) });
  }

  private close(end: Partial<RunRecord>): void {
    this.record = { ...this.record, ...end };
    this.guard(() => writeAtomic(join(this.dir, RECORD), `${JSON.stringify(this.record, null, 2)}\n`));
    for (const fd of [this.events, this.logs]) if (fd !== undefined) { try { closeSync(fd); } catch { /* already closed */ } }
    this.events = undefined;
    this.logs = undefined;
  }
}

/** The runs of one user. */
export class RunStore {
  readonly runsDir: string;

  constructor(readonly root: string = stateDir()) {
    this.runsDir = join(root, 'runs');
  }

  /** Starts recording a run, after removing the oldest finished runs beyond MAX_RUNS. */
  create(record: Omit<RunRecord, 'pid' | 'host' | 'status'>): RunWriter {
    this.prune(MAX_RUNS - 1);
    return new RunWriter(join(this.runsDir, record.id), { ...record, pid: process.pid, host: hostname(), status: 'Running' });
  }

  /** Every recorded run, newest first; a run whose pipod process is gone without a verdict is `Lost`. */
  list(): RunRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.runsDir);
    } catch {
      return [];
    }
    const out: RunRecord[] = [];
    for (const n of names) {
      const r = this.read(n);
      if (r !== undefined) out.push(r);
    }
    return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.id.localeCompare(b.id));
  }

  private read(id: string): RunRecord | undefined {
    let r: RunRecord;
    try {
      r = JSON.parse(readFileSync(join(this.runsDir, id, RECORD), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
    if (r.status === 'Running' && r.host === hostname() && !alive(r.pid)) return { ...r, status: 'Lost', reason: `pipod process ${r.pid} ended without a verdict` };
    return r;
  }

  /** The run named by an id, a unique prefix of one, or `last` (the newest); a clear error otherwise. */
  resolve(ref: string | undefined): RunRecord {
    const runs = this.list();
    if (runs.length === 0) throw new PipodError('NOT_FOUND', `no runs recorded in ${this.runsDir} yet: start one with pipod run -f FILE`);
    if (ref === undefined || ref === 'last' || ref === '@last') return runs[0] as RunRecord;
    const exact = runs.find((r) => r.id === ref);
    if (exact !== undefined) return exact;
    const matches = runs.filter((r) => r.id.startsWith(ref));
    if (matches.length === 1) return matches[0] as RunRecord;
    if (matches.length > 1) throw new PipodError('USAGE', `run "${ref}" is ambiguous: ${matches.slice(0, 5).map((r) => r.id).join(', ')}${matches.length > 5 ? ', …' : ''}`);
    throw new PipodError('NOT_FOUND', `no run "${ref}" in ${this.runsDir} (pipod list shows the runs)`);
  }

  /** A run's directory. */
  dir(id: string): string {
    return join(this.runsDir, id);
  }

  /** The run's record as it is now. */
  record(id: string): RunRecord | undefined {
    return this.read(id);
  }

  /** The run's events, in order. */
  events(id: string): RunEvent[] {
    return readJsonLines<RunEvent>(join(this.dir(id), EVENTS));
  }

  /** The run's output lines, in the order they were recorded. */
  logs(id: string): RecordedLine[] {
    return readJsonLines<StoredLine>(join(this.dir(id), LOGS)).map(fromStored);
  }

  /** Path of the run's output file (for following it). */
  logsFile(id: string): string {
    return join(this.dir(id), LOGS);
  }

  /** The run's final report, once it finished. */
  report(id: string): RunReport | undefined {
    const f = join(this.dir(id), REPORT);
    if (!existsSync(f)) return undefined;
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as RunReport;
    } catch {
      return undefined;
    }
  }

  /** Removes the oldest finished runs so at most `keep` finished runs stay; kept (`--keep`) and running ones stay regardless. */
  prune(keep: number): void {
    const finished = this.list().filter((r) => r.status !== 'Running' && !r.keep);
    for (const r of finished.slice(Math.max(0, keep))) rmSync(this.dir(r.id), { recursive: true, force: true });
  }

  /** Bytes the run's files take (for list). */
  size(id: string): number {
    let n = 0;
    for (const f of [RECORD, EVENTS, LOGS, REPORT]) {
      try {
        n += statSync(join(this.dir(id), f)).size;
      } catch { /* not there */ }
    }
    return n;
  }
}
