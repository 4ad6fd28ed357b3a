/**
 * Deadlines and cancel: the pipeline, tasks and finally timeouts, a task's
 * own timeout, and the cancel file with its escalation (stop → graceful →
 * immediate). Each ends work through `stopTask`; the scheduler then sees the
 * flags and skips what has not started.
 */
import { basename } from 'node:path';
import type { CancelMode } from '@pipod/plan';
import { readText, type CancelTimer } from '../io.ts';
import { CANCEL_STRENGTH, cancelKind } from '../rules.ts';
import { stopTask, stopTasks, type RunContext } from './context.ts';
import type { TaskRec } from './facts.ts';

/** The timers of one run, cleared together at its end. */
export class Deadlines {
  private readonly cancels: CancelTimer[] = [];

  constructor(private readonly run: RunContext) {}

  /**
   * Arms the pipeline and tasks timeouts. `spent` is the part of the budget
   * used before the supervisor started: Tekton counts from the run's start.
   */
  armRun(spent: number): void {
    const { timeouts } = this.run.plan;
    if (timeouts.pipelineMs !== undefined && timeouts.pipelineMs > 0) this.at(timeouts.pipelineMs - spent, () => this.expirePipeline());
    if (timeouts.tasksMs !== undefined && timeouts.tasksMs > 0) this.at(timeouts.tasksMs - spent, () => this.expireTasks());
  }

  /** Arms the finally timeout, counted from when finally begins. */
  armFinally(): void {
    const { timeouts } = this.run.plan;
    if (timeouts.finallyMs !== undefined && timeouts.finallyMs > 0 && this.run.plan.finally.length > 0) {
      this.cancels.push(this.run.timers.after(timeouts.finallyMs, () => this.expireFinally()));
    }
  }

  /** Arms a task attempt's own timeout; the returned function disarms it. */
  armTask(rec: TaskRec): CancelTimer {
    const ms = rec.task.timeoutMs;
    if (ms === undefined || ms <= 0) return () => undefined;
    return this.run.timers.after(ms, () => stopTask(this.run, rec, 'TaskRunTimeout'));
  }

  /** Disarms every run-wide timer. */
  clear(): void {
    for (const c of this.cancels) c();
    this.cancels.length = 0;
  }

  private at(ms: number, f: () => void): void {
    if (ms <= 0) f();
    else this.cancels.push(this.run.timers.after(ms, f));
  }

  private expirePipeline(): void {
    const run = this.run;
    run.flags.pipelineTimedOut = true;
    for (const f of run.runStop) f();
    stopTasks(run, 'PipelineRunTimeout', () => true);
    run.notify();
  }

  private expireTasks(): void {
    const run = this.run;
    if (run.flags.phase !== 'dag') return;
    run.flags.tasksTimedOut = true;
    stopTasks(run, 'PipelineRunTimeout', (r) => r.phase === 'dag');
    run.notify();
  }

  private expireFinally(): void {
    const run = this.run;
    run.flags.finallyTimedOut = true;
    stopTasks(run, 'PipelineRunTimeout', (r) => r.phase === 'finally');
    run.notify();
  }
}

/** Applies a cancel that is stronger than the current one; anything else is ignored. */
export function requestCancel(run: RunContext, kind: CancelMode): void {
  const { flags } = run;
  if (flags.phase === 'over' || (flags.cancel !== undefined && CANCEL_STRENGTH[kind] <= CANCEL_STRENGTH[flags.cancel])) return;
  flags.cancel = kind;
  if (kind !== 'stop') {
    for (const f of run.runStop) f();
    // Graceful stops the DAG and lets finally run; immediate stops everything.
    stopTasks(run, 'Cancelled', (r) => kind === 'immediate' || r.phase === 'dag');
  }
  run.notify();
}

/** Watches the cancel file until the run is over or an immediate cancel leaves nothing to escalate to. */
export async function watchCancel(run: RunContext): Promise<void> {
  const { layout, waiter } = run;
  const stronger = (): CancelMode | undefined => {
    const t = readText(layout.cancelFile);
    if (t === undefined) return undefined;
    const k = cancelKind(t);
    return run.flags.cancel === undefined || CANCEL_STRENGTH[k] > CANCEL_STRENGTH[run.flags.cancel] ? k : undefined;
  };
  const name = basename(layout.cancelFile);
  for (;;) {
    const kind = await waiter.until([layout.runDir], (n) => n === name, stronger);
    if (run.flags.phase === 'over') return;
    requestCancel(run, kind);
    if (kind === 'immediate') return;
  }
}
