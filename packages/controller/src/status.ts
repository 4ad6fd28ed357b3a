/**
 * The pure heart of the controller: the supervisor's event stream folded into
 * a run state, and that state mapped to Tekton-shaped TaskRun, PipelineRun and
 * CustomRun status objects. No I/O here, so every rule is table-tested.
 */
import { parseEvent, type ParamValue, type RunEvent, type RunStatus, type RunSummary, type StepEndReason, type TaskStatus, type TaskSummary } from '@pipod/plan';

/** Where one step is, as the controller knows it from events. */
export interface StepState {
  readonly name: string;
  readonly container: string;
  readonly phase: 'running' | 'terminated';
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly exitCode?: number;
  /** Why it ended; `Skipped` when a previous step failed and it never ran. */
  readonly reason?: StepEndReason | 'Skipped' | 'Cancelled';
}

/** One earlier attempt of a retried task. */
export interface AttemptState {
  readonly startTime?: string;
  readonly completionTime: string;
  readonly reason: string;
  readonly steps: readonly StepState[];
}

/** Where one pipeline task is. */
export interface TaskState {
  readonly name: string;
  readonly finally: boolean;
  readonly phase: 'Running' | TaskStatus;
  readonly reason: string;
  readonly attempt: number;
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly steps: readonly StepState[];
  readonly results: Readonly<Record<string, ParamValue>>;
  readonly retries: readonly AttemptState[];
}

/** Everything the event stream has told us so far. */
export interface RunState {
  readonly startTime?: string;
  readonly pipeline?: string;
  readonly taskNames: readonly string[];
  readonly finallyNames: readonly string[];
  /** Tasks that started at least once, in order of first start. */
  readonly tasks: Readonly<Record<string, TaskState>>;
  readonly order: readonly string[];
  readonly skipped: Readonly<Record<string, string>>;
  /** Set once `run.finished` arrived: the authoritative outcome. */
  readonly summary?: RunSummary;
  readonly events: number;
}

/** The state before any event. */
export const EMPTY_RUN: RunState = { taskNames: [], finallyNames: [], tasks: {}, order: [], skipped: {}, events: 0 };

/** Parses one line of the supervisor's stdout: the plan's `parseEvent`, the one rule every reader of the stream uses. */
export const parseEventLine: (line: string) => RunEvent | undefined = parseEvent;

function withTask(s: RunState, name: string, f: (t: TaskState) => TaskState): RunState {
  const prev = s.tasks[name] ?? {
    name, finally: s.finallyNames.includes(name), phase: 'Running' as const, reason: 'Running', attempt: 0, steps: [], results: {}, retries: [],
  };
  const order = s.order.includes(name) ? s.order : [...s.order, name];
  return { ...s, order, tasks: { ...s.tasks, [name]: f(prev) } };
}

function withStep(t: TaskState, step: StepState): TaskState {
  const i = t.steps.findIndex((x) => x.name === step.name);
  const steps = i < 0 ? [...t.steps, step] : t.steps.map((x, j) => (j === i ? step : x));
  return { ...t, steps };
}

/** Applies one event; the same events in the same order always give the same state (so a replayed log is safe). */
export function applyEvent(s0: RunState, e: RunEvent): RunState {
  const s = { ...s0, events: s0.events + 1 };
  switch (e.type) {
    case 'run.started':
      return { ...s, startTime: s.startTime ?? e.time, pipeline: e.pipeline, taskNames: e.tasks, finallyNames: e.finally };
    case 'task.started':
      return withTask(s, e.task, (t) => ({
        ...t, phase: 'Running', reason: 'Running', attempt: e.attempt, startTime: t.startTime ?? e.time, completionTime: undefined,
        steps: e.attempt === t.attempt ? t.steps : [],
      }));
    case 'task.retrying':
      return withTask(s, e.task, (t) => ({
        ...t, phase: 'Running', reason: 'Running', attempt: e.attempt, steps: [],
        retries: [...t.retries, { startTime: t.startTime, completionTime: e.time, reason: e.reason, steps: t.steps }],
      }));
    case 'task.skipped':
      return { ...s, skipped: { ...s.skipped, [e.task]: e.reason } };
    case 'task.finished':
      return withTask(s, e.task, (t) => ({
        ...t, phase: e.status, reason: e.reason, completionTime: e.time, results: e.results,
        startTime: t.startTime ?? e.time,
      }));
    case 'step.started':
      return withTask(s, e.task, (t) => withStep(t, { name: e.step, container: e.container, phase: 'running', startedAt: e.time }));
    case 'step.finished':
      return withTask(s, e.task, (t) => {
        const prev = t.steps.find((x) => x.name === e.step);
        return withStep(t, {
          name: e.step, container: e.container, phase: 'terminated', startedAt: prev?.startedAt ?? e.time, finishedAt: e.time,
          exitCode: e.exitCode, reason: e.reason,
        });
      });
    case 'sidecar.ready':
    case 'sidecar.failed':
      return s;
    case 'run.finished':
      return applySummary({ ...s, startTime: s.startTime ?? e.summary.startedAt }, e.summary);
  }
}

/** The summary is authoritative: it fills tasks the stream missed and fixes their final state. */
function applySummary(s0: RunState, summary: RunSummary): RunState {
  let s: RunState = { ...s0, summary };
  for (const [name, ts] of Object.entries(summary.tasks)) {
    if (ts.status === 'Skipped') {
      if (!(name in s.tasks)) s = { ...s, skipped: { ...s.skipped, [name]: s.skipped[name] ?? ts.reason } };
      continue;
    }
    s = withTask(s, name, (t) => fromSummary(t, ts));
  }
  return s;
}

function fromSummary(t: TaskState, ts: TaskSummary): TaskState {
  const steps: StepState[] = ts.steps.map((st) => {
    const seen = t.steps.find((x) => x.name === st.name);
    const reason: StepState['reason'] =
      st.status === 'Succeeded' ? 'Completed' : st.status === 'Failed' ? 'Failed' : st.status === 'TimedOut' ? 'TimedOut' : st.status === 'Skipped' ? 'Skipped' : 'Cancelled';
    return {
      name: st.name, container: st.container, phase: 'terminated', startedAt: st.startedAt ?? seen?.startedAt, finishedAt: st.finishedAt ?? seen?.finishedAt,
      exitCode: st.exitCode ?? seen?.exitCode, reason: seen?.reason !== undefined && seen.phase === 'terminated' && st.status !== 'Skipped' ? seen.reason : reason,
    };
  });
  return {
    ...t, finally: ts.finally ?? t.finally, phase: ts.status, reason: ts.reason, attempt: Math.max(t.attempt, ts.attempts - 1),
    startTime: ts.startedAt ?? t.startTime, completionTime: ts.finishedAt ?? t.completionTime ?? ts.startedAt, steps: steps.length > 0 ? steps : t.steps, results: ts.results,
  };
}

/** Folds a whole (possibly replayed) event stream. */
export function foldEvents(events: readonly RunEvent[], from: RunState = EMPTY_RUN): RunState {
  return events.reduce(applyEvent, from);
}

/** A Tekton `Succeeded` condition. */
export interface Condition {
  readonly type: 'Succeeded';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime?: string;
}

/** Tekton's TaskRun reasons for a task outcome. */
export const TASKRUN_REASON: Readonly<Record<'Running' | Exclude<TaskStatus, 'Skipped'>, string>> = {
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  TimedOut: 'TaskRunTimeout',
  Cancelled: 'TaskRunCancelled',
};

function condition(status: Condition['status'], reason: string, message: string, time?: string): Condition {
  return time === undefined ? { type: 'Succeeded', status, reason, message } : { type: 'Succeeded', status, reason, message, lastTransitionTime: time };
}

/** Tekton's typed result value: strings, arrays and objects keep their type. */
export function resultType(v: ParamValue): 'string' | 'array' | 'object' {
  return typeof v === 'string' ? 'string' : Array.isArray(v) ? 'array' : 'object';
}

/** A container state as Kubernetes (and Tekton's `status.steps`) shows it. */
export interface StepStatus {
  readonly name: string;
  readonly container: string;
  readonly running?: { readonly startedAt?: string };
  readonly terminated?: { readonly exitCode: number; readonly reason: string; readonly startedAt?: string; readonly finishedAt?: string };
  readonly terminationReason?: string;
}

function stepStatus(st: StepState): StepStatus {
  if (st.phase === 'running') return { name: st.name, container: st.container, running: st.startedAt === undefined ? {} : { startedAt: st.startedAt } };
  const why = st.reason ?? 'Completed';
  const code = st.exitCode ?? (why === 'Completed' ? 0 : 1);
  // The kubelet's word for a memory kill is kept, as Tekton copies the container's terminated reason.
  const reason = why === 'OOMKilled' ? 'OOMKilled' : why === 'Completed' && code === 0 ? 'Completed' : 'Error';
  const terminationReason = why === 'OOMKilled' ? 'OOMKilled' : why === 'TimedOut' ? 'TimeoutExceeded' : why === 'Skipped' ? 'Skipped' : why === 'Completed' && code === 0 ? 'Completed' : why === 'Completed' ? 'Continued' : why === 'Stopped' || why === 'Cancelled' ? 'Cancelled' : 'Error';
  const terminated = { exitCode: code, reason, ...(st.startedAt === undefined ? {} : { startedAt: st.startedAt }), ...(st.finishedAt === undefined ? {} : { finishedAt: st.finishedAt }) };
  return { name: st.name, container: st.container, terminated, terminationReason };
}

/** The `status` of the TaskRun that mirrors one task (Tekton v1 shape). */
export interface TaskRunStatus {
  readonly conditions: readonly Condition[];
  readonly podName: string;
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly steps: readonly StepStatus[];
  readonly results?: readonly { readonly name: string; readonly type: string; readonly value: ParamValue }[];
  readonly retriesStatus?: readonly Omit<TaskRunStatus, 'retriesStatus'>[];
}

/** Maps one task's state to its TaskRun status; `podGone` fails a task the pod can no longer finish. */
export function taskRunStatus(t: TaskState, podName: string, podGone?: { readonly reason: string; readonly message: string; readonly time: string }): TaskRunStatus {
  let cond: Condition;
  let completionTime = t.completionTime;
  let steps = t.steps.map(stepStatus);
  if ((t.phase === 'Running' || t.phase === 'Cancelled') && podGone) {
    cond = condition('False', 'Failed', podGone.message, podGone.time);
    completionTime = podGone.time;
    steps = steps.map((x) => (x.running ? { name: x.name, container: x.container, terminated: { exitCode: 1, reason: 'Error', ...(x.running.startedAt ? { startedAt: x.running.startedAt } : {}), finishedAt: podGone.time }, terminationReason: 'Error' } : x));
  } else if (t.phase === 'Running') {
    cond = condition('Unknown', 'Running', t.attempt > 0 ? `attempt ${t.attempt + 1}` : 'Running', t.startTime);
  } else if (t.phase === 'Skipped') {
    cond = condition('True', 'Succeeded', t.reason, t.completionTime);
  } else if (t.phase === 'TimedOut' && t.reason === 'PipelineRunTimeout') {
    // Tekton cancels the TaskRuns a pipeline (or tasks/finally) timeout stops; only a task's own timeout is TaskRunTimeout.
    cond = condition('False', 'TaskRunCancelled', 'TaskRun cancelled as the PipelineRun it belongs to has timed out.', t.completionTime);
  } else {
    cond = condition(t.phase === 'Succeeded' ? 'True' : 'False', TASKRUN_REASON[t.phase], t.reason, t.completionTime);
  }
  const results = Object.entries(t.results).map(([name, value]) => ({ name, type: resultType(value), value }));
  const retries = t.retries.map((a) => ({
    conditions: [condition('False', 'Failed', a.reason, a.completionTime)], podName,
    ...(a.startTime ? { startTime: a.startTime } : {}), completionTime: a.completionTime, steps: a.steps.map(stepStatus),
  }));
  return {
    conditions: [cond], podName,
    ...(t.startTime ? { startTime: t.startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    steps,
    ...(results.length > 0 ? { results } : {}),
    ...(retries.length > 0 ? { retriesStatus: retries } : {}),
  };
}

/** How the run was asked to stop, from `spec.status`. */
export type CancelRequest = 'Cancelled' | 'CancelledRunFinally' | 'StoppedRunFinally';

/** What the controller knows about the run beyond the event stream. */
export interface RunContext {
  /** Set when the user asked to cancel or stop. */
  readonly cancel?: CancelRequest;
  /** Set when the pod ended without a summary (deleted, evicted, deadline): the run failed for this reason. */
  readonly podFailure?: { readonly reason: string; readonly message: string; readonly time: string };
  /** When the controller created (or adopted) the pod; used as startTime before the supervisor speaks. */
  readonly startTime?: string;
  /** What the pod waits for before its supervisor starts (unschedulable, a container waiting), shown in the Running condition. */
  readonly pending?: string;
}

/** One `status.childReferences` entry. */
export interface ChildReference {
  readonly apiVersion: 'tekton.dev/v1';
  readonly kind: 'TaskRun';
  readonly name: string;
  readonly pipelineTaskName: string;
}

/** The parts of a PipelineRun status pipod writes (Tekton v1 shape). */
export interface PipelineRunStatus {
  readonly conditions: readonly Condition[];
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly childReferences: readonly ChildReference[];
  readonly skippedTasks?: readonly { readonly name: string; readonly reason: string }[];
  readonly results?: readonly { readonly name: string; readonly value: ParamValue }[];
}

/** Tekton's reason for a finished PipelineRun (every kind of cancel ends as `Cancelled`, as in Tekton). */
export function pipelineRunReason(status: RunStatus, skipped: number): string {
  switch (status) {
    case 'Succeeded': return skipped > 0 ? 'Completed' : 'Succeeded';
    case 'Failed': return 'Failed';
    case 'TimedOut': return 'PipelineRunTimeout';
    case 'Cancelled': return 'Cancelled';
  }
}

/** Tekton's progress message: counts of finished, failed, cancelled, skipped (and, while running, incomplete) tasks. */
export function progressMessage(s: RunState): string {
  const all = [...s.taskNames, ...s.finallyNames];
  const states = Object.values(s.tasks);
  const done = states.filter((t) => t.phase !== 'Running');
  const failed = done.filter((t) => t.phase === 'Failed' || t.phase === 'TimedOut').length;
  const cancelled = done.filter((t) => t.phase === 'Cancelled').length;
  const skipped = Object.keys(s.skipped).filter((n) => !(n in s.tasks)).length;
  const incomplete = Math.max(0, all.length - done.length - skipped);
  if (s.summary) return `Tasks Completed: ${done.length} (Failed: ${failed}, Cancelled ${cancelled}), Skipped: ${skipped}`;
  return `Tasks Completed: ${done.length} (Failed: ${failed}, Cancelled ${cancelled}), Incomplete: ${incomplete}, Skipped: ${skipped}`;
}

/**
 * Whether the pod's end decides the run: always without a summary; also when
 * the summary says Cancelled but nobody asked to cancel (the supervisor got
 * SIGTERM because the pod was deleted or evicted).
 */
export function podFailureApplies(s: RunState, ctx: RunContext): RunContext['podFailure'] {
  if (!ctx.podFailure) return undefined;
  if (!s.summary) return ctx.podFailure;
  return s.summary.status === 'Cancelled' && !ctx.cancel ? ctx.podFailure : undefined;
}

/** Tekton's reason while a run is still going, by how it was asked to stop. */
const RUNNING_REASON: Readonly<Record<CancelRequest | 'none', string>> = {
  none: 'Running',
  Cancelled: 'PipelineRunStopping',
  CancelledRunFinally: 'CancelledRunningFinally',
  StoppedRunFinally: 'StoppedRunningFinally',
};

/** Maps the run state to the PipelineRun status; `taskRunName` gives each task's TaskRun name. */
export function pipelineRunStatus(s: RunState, ctx: RunContext, taskRunName: (task: string) => string): PipelineRunStatus {
  const childReferences: ChildReference[] = s.order.map((task) => ({ apiVersion: 'tekton.dev/v1', kind: 'TaskRun', name: taskRunName(task), pipelineTaskName: task }));
  const skippedNames = Object.keys(s.skipped).filter((n) => !(n in s.tasks));
  const skippedTasks = skippedNames.map((name) => ({ name, reason: s.skipped[name] ?? '' }));
  const startTime = s.startTime ?? ctx.startTime;
  const base = { childReferences, ...(startTime ? { startTime } : {}), ...(skippedTasks.length > 0 ? { skippedTasks } : {}) };
  const failure = podFailureApplies(s, ctx);
  if (s.summary && !failure) {
    const sum = s.summary;
    const reason = pipelineRunReason(sum.status, skippedNames.length);
    const results = Object.entries(sum.results).map(([name, value]) => ({ name, value }));
    const message = sum.status === 'Succeeded' ? progressMessage(s) : `${sum.reason}; ${progressMessage(s)}`;
    return {
      ...base, conditions: [condition(sum.status === 'Succeeded' ? 'True' : 'False', reason, message, sum.finishedAt)],
      completionTime: sum.finishedAt, ...(results.length > 0 ? { results } : {}),
    };
  }
  if (failure) {
    const f = failure;
    return { ...base, conditions: [condition('False', f.reason, f.message, f.time)], completionTime: f.time };
  }
  const reason = RUNNING_REASON[ctx.cancel ?? 'none'];
  // Tekton keeps the reason Running while a pod cannot be scheduled (a node may come); the message says why nothing moves.
  const message = ctx.pending ? `${progressMessage(s)}; pod waiting: ${ctx.pending}` : progressMessage(s);
  return { ...base, conditions: [condition('Unknown', reason, message, startTime)] };
}

/** The status of a pipod CustomRun (Tekton's v1beta1 CustomRun shape); results are strings there, so others are JSON-encoded. */
export interface CustomRunStatus {
  readonly conditions: readonly Condition[];
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly results?: readonly { readonly name: string; readonly value: string }[];
  readonly extraFields?: { readonly podName: string; readonly childReferences: readonly ChildReference[]; readonly attempt: number };
}

/** Maps the run state to a CustomRun status for one attempt; `final` says no retry will follow a failure. */
export function customRunStatus(s: RunState, ctx: RunContext, podName: string, attempt: number, taskRunName: (task: string) => string): CustomRunStatus {
  const pr = pipelineRunStatus(s, ctx, taskRunName);
  const c = pr.conditions[0] ?? condition('Unknown', 'Running', '');
  let reason = c.reason;
  if (c.status === 'True') reason = 'Succeeded';
  else if (c.status === 'False') {
    const failure = podFailureApplies(s, ctx);
    if (failure) reason = failure.reason;
    else if (s.summary?.status === 'TimedOut') reason = 'CustomRunTimedOut';
    else if (s.summary?.status === 'Cancelled') reason = 'CustomRunCancelled';
    else reason = 'Failed';
  }
  const results = (pr.results ?? []).map((r) => ({ name: r.name, value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value) }));
  return {
    conditions: [{ ...c, reason }],
    ...(pr.startTime ? { startTime: pr.startTime } : {}),
    ...(pr.completionTime ? { completionTime: pr.completionTime } : {}),
    ...(results.length > 0 ? { results } : {}),
    extraFields: { podName, childReferences: pr.childReferences, attempt },
  };
}

/** True once a status condition says the run is over. */
export function isDone(status: { readonly conditions?: readonly { readonly type?: string; readonly status?: string }[] } | undefined): boolean {
  const c = status?.conditions?.find((x) => x.type === 'Succeeded');
  return c !== undefined && c.status !== 'Unknown';
}
