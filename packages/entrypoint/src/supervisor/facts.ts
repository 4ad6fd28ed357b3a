/**
 * Pure facts over a run, in Tekton's terms: the state of each task, why one
 * is skipped, which can start now, what a stop or a step's end means for its
 * task, and the run's final status. No I/O: the effect modules read these.
 */
import type { ArmedAfter, CancelMode, ContainerDeath, DoneMessage, ParamValue, PlanStep, PlanTask, RunStatus, StepEndReason, StepSummary, TaskStatus } from '@pipod/plan';
import { consumedResults, type SkipReason } from '../rules.ts';

/** The DAG, then `finally`. */
export type Phase = 'dag' | 'finally';

/** Why a running task was stopped from outside its steps. */
export type StopReason = 'TaskRunTimeout' | 'PipelineRunTimeout' | 'Cancelled' | 'SidecarFailed';

/** A next step's start written ahead, and the step it waits for. */
export interface Armed {
  readonly container: string;
  readonly seq: number;
  readonly after: ArmedAfter;
}

/** What the run knows about one plan task; mutated only by the supervisor's effect modules. */
export interface TaskRec {
  readonly task: PlanTask;
  readonly phase: Phase;
  state: 'pending' | 'running' | 'done';
  status?: TaskStatus;
  reason: string;
  attempts: number;
  results: Record<string, ParamValue>;
  startedAt?: number;
  finishedAt?: number;
  steps: StepSummary[];
  stopReason?: StopReason;
  current?: { readonly container: string; readonly seq: number };
  /** The next step's start, written ahead in the current attempt. */
  armed?: Armed;
  /** Called when the task is stopped: ends its waits (sidecars getting ready). */
  readonly onStop: Set<() => void>;
}

/** A fresh, pending record. */
export function newTaskRec(task: PlanTask, phase: Phase): TaskRec {
  return { task, phase, state: 'pending', reason: '', attempts: 0, results: {}, steps: [], onStop: new Set() };
}

/** What happened to the run as a whole so far. */
export interface RunFlags {
  /** `stop` (StoppedRunFinally) lets running tasks finish; `graceful` stops them; both run finally. */
  cancel?: CancelMode;
  pipelineTimedOut: boolean;
  tasksTimedOut: boolean;
  finallyTimedOut: boolean;
  phase: Phase | 'over';
}

/** The flags of a run that has just begun. */
export function newRunFlags(): RunFlags {
  return { pipelineTimedOut: false, tasksTimedOut: false, finallyTimedOut: false, phase: 'dag' };
}

/** A skip, or the one reason a ready task fails without running. */
export type SkipDecision = SkipReason | 'InvalidTaskResultReference' | undefined;

/** Every step of a task, as skipped. */
export function skippedSteps(task: PlanTask): StepSummary[] {
  return task.steps.map((s) => ({ name: s.name, container: s.container, status: 'Skipped' }));
}

/** Tasks of `phase` that may start now: pending, every dependency done (an unknown one does not hold them). */
export function startable(recs: ReadonlyMap<string, TaskRec>, phase: Phase): TaskRec[] {
  return [...recs.values()].filter((r) => r.phase === phase && r.state === 'pending' && r.task.dependsOn.every((d) => {
    const p = recs.get(d);
    return p === undefined || p.state === 'done';
  }));
}

/** True when every task of `phase` is done. */
export function phaseDone(recs: ReadonlyMap<string, TaskRec>, phase: Phase): boolean {
  return [...recs.values()].every((r) => r.phase !== phase || r.state === 'done');
}

/** A DAG task that ended badly and stops the rest of the DAG (Tekton's "stopping" state). */
export function failedForStopping(r: TaskRec): boolean {
  return r.phase === 'dag' && r.state === 'done' && r.status !== 'Succeeded' && r.status !== 'Skipped' && r.task.onError !== 'continue';
}

/**
 * Why a ready task does not run, or undefined when it does. `whenHolds` is
 * asked last, once everything it may read (results) is known to exist.
 */
export function skipReason(rec: TaskRec, recs: ReadonlyMap<string, TaskRec>, flags: RunFlags, whenHolds: () => boolean): SkipDecision {
  if (flags.cancel === 'immediate') return 'PipelineRunCancelled';
  if (flags.pipelineTimedOut) return 'PipelineTimedOutSkip';
  // A child pipeline's finally task runs once the child's tasks settle, whatever their outcome.
  const settles = rec.task.finallyOf !== undefined;
  if (rec.phase === 'dag') {
    // A cancel or timeout also fails the tasks it stopped; name the cause, not the symptom.
    if (flags.cancel === 'graceful') return 'GracefullyCancelledSkip';
    if (flags.cancel === 'stop') return 'GracefullyStoppedSkip';
    if (flags.tasksTimedOut) return 'TasksTimedOutSkip';
    if (!settles && [...recs.values()].some(failedForStopping)) return 'StoppingSkip';
    for (const d of rec.task.dependsOn) {
      const p = recs.get(d);
      if (!settles && p?.status === 'Skipped' && p.reason !== 'WhenExpressionsSkip') return 'ParentTasksSkip';
    }
  } else if (flags.finallyTimedOut) {
    return 'FinallyTimedOutSkip';
  }
  for (const [t, r] of consumedResults(rec.task, new Set(recs.keys()))) {
    const producer = recs.get(t);
    if (producer !== undefined && Object.prototype.hasOwnProperty.call(producer.results, r)) continue;
    // Tekton skips the consumer when the producer was skipped, may fail (onError: continue), or the
    // consumer is a finally task; a producer that succeeded without its result fails the run instead.
    if (rec.phase === 'dag' && !settles && producer?.status === 'Succeeded') return 'InvalidTaskResultReference';
    return 'MissingResultsSkip';
  }
  if (!whenHolds()) return 'WhenExpressionsSkip';
  return undefined;
}

/** Why every task is skipped when the pipeline's own sidecars could not start. */
export function scopeFailedSkip(flags: RunFlags): SkipReason {
  if (flags.cancel === 'immediate') return 'PipelineRunCancelled';
  if (flags.pipelineTimedOut) return 'PipelineTimedOutSkip';
  if (flags.cancel === 'graceful') return 'GracefullyCancelledSkip';
  if (flags.cancel === 'stop') return 'GracefullyStoppedSkip';
  return 'ParentTasksSkip';
}

/** A task's status and reason once a stop ended it. */
export function stopOutcome(why: StopReason): [TaskStatus, string] {
  if (why === 'Cancelled') return ['Cancelled', 'TaskRunCancelled'];
  if (why === 'TaskRunTimeout') return ['TimedOut', 'TaskRunTimeout'];
  if (why === 'SidecarFailed') return ['Failed', 'SidecarFailed'];
  return ['TimedOut', 'PipelineRunTimeout'];
}

/** True when a step's end lets the task go on as a success. */
export function stepSucceeded(done: Pick<DoneMessage, 'reason' | 'exitCode'>): boolean {
  return done.reason === 'Completed' && done.exitCode === 0;
}

/** A step's summary status from its done message and what stopped the task, if anything did. */
export function stepStatus(done: Pick<DoneMessage, 'reason' | 'exitCode'>, stopReason: StopReason | undefined): StepSummary['status'] {
  if (stepSucceeded(done)) return 'Succeeded';
  if (done.reason === 'TimedOut') return 'TimedOut';
  if (done.reason !== 'Stopped') return 'Failed';
  return stopReason === 'Cancelled' ? 'Cancelled' : stopReason === 'SidecarFailed' ? 'Failed' : 'TimedOut';
}

/**
 * The done message a step's wrapper would have written, made from the
 * runtime's fact that its container ended (`Layout.deadFile`): Tekton's step
 * reason (`OOMKilled`, `StartFailed`) or a failure with the container's exit code.
 */
export function deathDone(death: ContainerDeath, seq: number, now: number, startedAt: number = now): DoneMessage {
  const reason: StepEndReason = death.reason === 'OOMKilled' || death.reason === 'StartFailed' ? death.reason : 'Failed';
  const what = death.reason === 'OOMKilled' ? 'was OOM-killed' : death.reason === 'StartFailed' ? 'could not start' : `exited with code ${death.exitCode}`;
  const at = new Date(now).toISOString();
  // A container that died before its step's turn ends the step the moment it starts.
  const end = death.finishedAt !== undefined && Date.parse(death.finishedAt) >= startedAt ? death.finishedAt : at;
  return { seq, exitCode: death.exitCode, reason, message: `container ${death.container} ${what}${death.message !== undefined && death.message !== '' ? `: ${death.message}` : ''}`, startedAt: new Date(startedAt).toISOString(), finishedAt: end };
}

/**
 * Whether a wrapper that has not answered counts as dead, and why: its beat
 * is older than `staleMs`, or it has not beaten once although the wait began
 * `startupMs` ago (its container never started). The runtime's dead fact
 * says the same within a second or two; this is the rule when no runtime
 * reports (a pod applied by hand).
 */
export function wrapperGone(beatAgeMs: number | undefined, waitedMs: number, settings: { readonly staleMs: number; readonly startupMs?: number }): string | undefined {
  if (beatAgeMs !== undefined) return beatAgeMs > settings.staleMs ? `no heartbeat for ${Math.round(beatAgeMs)} ms` : undefined;
  const startup = settings.startupMs ?? DEFAULT_STARTUP_MS;
  return waitedMs > startup ? `no heartbeat at all after ${Math.round(waitedMs)} ms` : undefined;
}

/**
 * How long a step's wrapper may take to beat for the first time, by default:
 * on Kubernetes the kubelet starts a pod's containers one after another,
 * pulling each image first, so a later step's container may start minutes
 * after the supervisor.
 */
export const DEFAULT_STARTUP_MS = 300_000;

/** The task's reason when a step's container died under it: the engine's reason when it named one, else `ContainerDied`. */
export function diedReason(done: Pick<DoneMessage, 'reason'>): string {
  return done.reason === 'OOMKilled' || done.reason === 'StartFailed' ? done.reason : 'ContainerDied';
}

/** How one step's end changes its attempt: a failure to report, or undefined to go on. */
export function afterStep(step: PlanStep, done: Pick<DoneMessage, 'reason' | 'exitCode'>, died: boolean, stopReason: StopReason | undefined): [TaskStatus, string] | undefined {
  // A stop (cancel, timeout) decides the outcome even when the container died meanwhile.
  if (stopReason !== undefined) return stopOutcome(stopReason);
  if (died) return ['Failed', diedReason(done)];
  if (!stepSucceeded(done) && step.onError !== 'continue') return ['Failed', 'Failed'];
  return undefined;
}

/** Whether another attempt follows one that ended with `status`. */
export function retryAfter(task: PlanTask, attempt: number, status: TaskStatus, stopReason: StopReason | undefined): boolean {
  if (status === 'Succeeded' || attempt >= task.retries) return false;
  // Only a task's own timeout is retried; a cancel or the run's deadline ends it.
  return stopReason === undefined || stopReason === 'TaskRunTimeout';
}

/** The run's status and reason, as Tekton reports the PipelineRun. */
export function runOutcome(recs: readonly TaskRec[], flags: RunFlags, sidecarFailure: string | undefined): [RunStatus, string] {
  const failed = recs.some((r) => r.status !== undefined && r.status !== 'Succeeded' && r.status !== 'Skipped' && r.task.onError !== 'continue');
  if (flags.cancel !== undefined) return ['Cancelled', 'Cancelled'];
  if (flags.pipelineTimedOut || flags.tasksTimedOut || flags.finallyTimedOut) return ['TimedOut', 'PipelineRunTimeout'];
  if (sidecarFailure !== undefined || failed) return ['Failed', 'Failed'];
  if (recs.some((r) => r.phase === 'dag' && r.status === 'Skipped')) return ['Succeeded', 'Completed'];
  return ['Succeeded', 'Succeeded'];
}
