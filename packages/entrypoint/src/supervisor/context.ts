/**
 * What the supervisor's effect modules share: the plan, the outside world,
 * the run's records and flags, and the few actions every module may take.
 */
import type { ExecutionPlan, Layout, Resolver, RunEvent } from '@pipod/plan';
import type { Clock, Timers, Waiter } from '../io.ts';
import type { RunFlags, StopReason, TaskRec } from './facts.ts';
import type { Mailbox } from './mailbox.ts';

/** One run in progress, as the effect modules see it. */
export interface RunContext {
  readonly plan: ExecutionPlan;
  readonly layout: Layout;
  readonly waiter: Waiter;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly mail: Mailbox;
  readonly recs: ReadonlyMap<string, TaskRec>;
  readonly flags: RunFlags;
  /** Waits that must end when the whole run stops (pipeline sidecars getting ready). */
  readonly runStop: Set<() => void>;
  /** Prints an event and keeps its copy. */
  emit(e: RunEvent): void;
  /** Wakes the scheduler: something it waits on may have changed. */
  notify(): void;
  /** Run-time references as `rec` sees them in `attempt`. */
  resolver(rec: TaskRec | undefined, attempt: number): Resolver;
}

/** Milliseconds since the epoch as the event stream writes them. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Stops a running task from outside its steps: its current step, any start written ahead, its waits. */
export function stopTask(run: RunContext, rec: TaskRec, why: StopReason): void {
  if (rec.state !== 'running' || rec.stopReason !== undefined) return;
  rec.stopReason = why;
  if (rec.current !== undefined) run.mail.stop(rec.current.container, rec.current.seq, why);
  withdrawArmed(run, rec, why);
  for (const f of rec.onStop) f();
}

/**
 * Takes back a start written ahead: its stop file, seen before a go-ahead,
 * makes the wrapper drop it. In the sub-millisecond window where the step
 * before has just ended well and we have not yet read that, the step has
 * already begun: the same file stops it at once and, its done message
 * unread, it is summarised as Skipped.
 */
export function withdrawArmed(run: RunContext, rec: TaskRec, why: string): void {
  if (rec.armed !== undefined) run.mail.stop(rec.armed.container, rec.armed.seq, why);
  rec.armed = undefined;
}

/** Stops every running task `which` selects. */
export function stopTasks(run: RunContext, why: StopReason, which: (r: TaskRec) => boolean): void {
  for (const r of run.recs.values()) if (which(r)) stopTask(run, r, why);
}
