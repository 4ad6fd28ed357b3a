/**
 * The summary of a run whose supervisor gave none (it was killed, the pod
 * was removed by force, the pod never started), made truthful from the
 * events the supervisor did print: a task keeps the status it reached and
 * the results it produced; one that was running ends with the run; one that
 * never started is reported as not run (Skipped, as Tekton lists tasks it
 * never ran in `skippedTasks`), a finally task included.
 */
import type { ParamValue, RunEvent, RunStatus, RunSummary, StepSummary, TaskStatus, TaskSummary } from '@pipod/plan';

/** The plan's task names, by phase. */
export interface PlanNames {
  readonly tasks: readonly { readonly name: string }[];
  readonly finally: readonly { readonly name: string }[];
}

/** What the events said about one task. */
interface Seen {
  ended?: { readonly status: TaskStatus; readonly reason: string };
  attempts: number;
  results: Readonly<Record<string, ParamValue>>;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** Steps of the current attempt, in the order they started. */
  steps: StepSummary[];
}

/** Why a task that never started did not run, by how the run ended (Tekton's skip reasons). */
export function notRunReason(status: RunStatus): string {
  if (status === 'Cancelled') return 'PipelineRunCancelled';
  if (status === 'TimedOut') return 'PipelineTimedOutSkip';
  // The run stopped because something failed (here: its supervisor or pod), as Tekton's "PipelineRun was stopping".
  return 'StoppingSkip';
}

function stepEnd(e: Extract<RunEvent, { type: 'step.finished' }>): StepSummary['status'] {
  if (e.reason === 'Completed' && e.exitCode === 0) return 'Succeeded';
  if (e.reason === 'TimedOut') return 'TimedOut';
  if (e.reason === 'Stopped') return 'Cancelled';
  return 'Failed';
}

/** Folds the events into what each task reached. */
function fold(events: readonly RunEvent[]): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  const get = (t: string): Seen => {
    let s = seen.get(t);
    if (s === undefined) {
      s = { attempts: 0, results: {}, steps: [] };
      seen.set(t, s);
    }
    return s;
  };
  for (const e of events) {
    switch (e.type) {
      case 'task.started': {
        const s = get(e.task);
        s.startedAt ??= e.time;
        s.attempts = Math.max(s.attempts, e.attempt + 1);
        break;
      }
      case 'task.retrying': {
        const s = get(e.task);
        s.attempts = Math.max(s.attempts, e.attempt + 1);
        s.steps = [];
        break;
      }
      case 'step.started':
        get(e.task).steps.push({ name: e.step, container: e.container, status: 'Failed', startedAt: e.time });
        break;
      case 'step.finished': {
        const s = get(e.task);
        const i = s.steps.findIndex((x) => x.container === e.container && x.finishedAt === undefined);
        const reason = e.reason === 'OOMKilled' || e.reason === 'StartFailed' ? { reason: e.reason } : {};
        const done: StepSummary = { name: e.step, container: e.container, status: stepEnd(e), exitCode: e.exitCode, ...reason, ...(i >= 0 && s.steps[i]?.startedAt !== undefined ? { startedAt: s.steps[i].startedAt } : {}), finishedAt: e.time };
        if (i >= 0) s.steps[i] = done;
        else s.steps.push(done);
        break;
      }
      case 'task.finished': {
        const s = get(e.task);
        s.ended = { status: e.status, reason: e.reason };
        s.attempts = e.attempts;
        s.results = e.results;
        s.finishedAt = e.time;
        s.durationMs = e.durationMs;
        break;
      }
      case 'task.skipped':
        get(e.task).ended = { status: 'Skipped', reason: e.reason };
        break;
      default:
        break;
    }
  }
  return seen;
}

/** The status a task that was still running gets when the run ends without its supervisor. */
function cutShort(status: RunStatus): TaskStatus {
  return status === 'Cancelled' ? 'Cancelled' : status === 'TimedOut' ? 'TimedOut' : 'Failed';
}

/**
 * A summary for a run whose supervisor never reported one, from the events
 * it printed before it was gone (none when it never ran).
 */
export function syntheticSummary(status: RunStatus, reason: string, startedAt: Date, finishedAt: Date, plan: PlanNames, events: readonly RunEvent[] = []): RunSummary {
  const seen = fold(events);
  const end = finishedAt.toISOString();
  const one = (name: string, isFinally: boolean): TaskSummary => {
    const s = seen.get(name);
    const fin = isFinally ? { finally: true } : {};
    if (s === undefined || (s.ended === undefined && s.startedAt === undefined)) {
      return { status: 'Skipped', reason: notRunReason(status), attempts: 0, results: {}, steps: [], ...fin };
    }
    if (s.ended !== undefined) {
      return {
        status: s.ended.status, reason: s.ended.reason, attempts: s.attempts, results: s.results,
        ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}), ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}),
        ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
        steps: s.ended.status === 'Skipped' ? [] : s.steps, ...fin,
      };
    }
    // Still running when the supervisor went: it ends with the run; a step it was in ends too.
    const cut = cutShort(status);
    const steps = s.steps.map((st) => (st.finishedAt === undefined ? { ...st, status: cut, finishedAt: end } : st));
    const t0 = s.startedAt !== undefined ? Date.parse(s.startedAt) : Number.NaN;
    return {
      status: cut, reason, attempts: Math.max(1, s.attempts), results: s.results,
      ...(s.startedAt !== undefined ? { startedAt: s.startedAt } : {}), finishedAt: end,
      ...(Number.isNaN(t0) ? {} : { durationMs: Math.max(0, finishedAt.getTime() - t0) }),
      steps, ...fin,
    };
  };
  const tasks: Record<string, TaskSummary> = {};
  for (const t of plan.tasks) tasks[t.name] = one(t.name, false);
  for (const t of plan.finally) tasks[t.name] = one(t.name, true);
  return {
    status,
    reason,
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    startedAt: startedAt.toISOString(),
    finishedAt: end,
    tasks,
    results: {},
  };
}
