/**
 * Tekton's pure scheduling rules, kept apart from I/O so they read like the
 * spec: status variables, when expressions, skip reasons, result parsing.
 */
import { consumedTaskResults, planTaskStrings, substitute, substituteArgs, type CancelMode, type ParamValue, type PlanResultDecl, type PlanTask, type PlanWhen, type Resolver, type TaskStatus } from '@pipod/plan';

/**
 * Why a task did not run, named after Tekton's `SkippingReason` constants
 * (plus `PipelineRunCancelled` for an immediate cancel, which Tekton reports
 * on the PipelineRun rather than per task).
 */
export type SkipReason =
  | 'WhenExpressionsSkip'
  | 'ParentTasksSkip'
  | 'StoppingSkip'
  | 'GracefullyCancelledSkip'
  | 'GracefullyStoppedSkip'
  | 'MissingResultsSkip'
  | 'PipelineTimedOutSkip'
  | 'TasksTimedOutSkip'
  | 'FinallyTimedOutSkip'
  | 'EmptyArrayInMatrixParams'
  | 'PipelineRunCancelled';

/** `$(tasks.<t>.status)`: Succeeded, Failed (also timed out or cancelled), or None (skipped / not run). */
export function taskStatusVar(status: TaskStatus | undefined): 'Succeeded' | 'Failed' | 'None' {
  if (status === 'Succeeded') return 'Succeeded';
  if (status === 'Failed' || status === 'TimedOut' || status === 'Cancelled') return 'Failed';
  return 'None';
}

/**
 * `$(tasks.<t>.status)` of a pipeline task that is several plan tasks (a
 * matrix, a child pipeline), as Tekton reports its TaskRuns or child run:
 * Failed when any failed, None while any is unfinished or when all were
 * skipped (no run was made), else Succeeded.
 */
export function groupStatusVar(statuses: readonly (TaskStatus | undefined)[]): 'Succeeded' | 'Failed' | 'None' {
  if (statuses.some((s) => taskStatusVar(s) === 'Failed')) return 'Failed';
  if (statuses.some((s) => s === undefined) || statuses.every((s) => s === 'Skipped')) return 'None';
  return 'Succeeded';
}

/**
 * `$(tasks.status)` over the DAG tasks: None while any is unfinished, Failed
 * when any failed (timed out and cancelled count as failed, as in Tekton),
 * Completed when none failed but some were skipped, else Succeeded.
 */
export function aggregateStatus(statuses: readonly (TaskStatus | undefined)[]): 'Succeeded' | 'Failed' | 'Completed' | 'None' {
  if (statuses.some((s) => s === undefined)) return 'None';
  if (statuses.some((s) => taskStatusVar(s) === 'Failed')) return 'Failed';
  if (statuses.some((s) => s === 'Skipped')) return 'Completed';
  return 'Succeeded';
}

/** True when every `when` expression holds after run-time substitution (values expand arrays). */
export function whenHolds(when: readonly PlanWhen[], resolve: Resolver): boolean {
  return when.every((w) => {
    const input = substitute(w.input, resolve);
    const values = substituteArgs(w.values, resolve);
    const found = values.includes(input);
    return w.operator === 'in' ? found : !found;
  });
}

/** Every string of a task that may hold run-time references. */
export function taskStrings(task: PlanTask): string[] {
  return planTaskStrings(task);
}

/**
 * The task results a task consumes, as `[taskName, resultName]` pairs, each
 * once: the plan's `consumes` when the builder filled it, else found with the
 * plan's reference grammar (task names may hold dots: known names decide).
 */
export function consumedResults(task: PlanTask, taskNames: ReadonlySet<string>): [string, string][] {
  const refs = task.consumes ?? consumedTaskResults(task, (n) => taskNames.has(n));
  return refs.map((r) => [r.task, r.result]);
}

/** Outcome of parsing a result file against its declared type. */
export type ParsedResult = { readonly ok: true; readonly value: ParamValue } | { readonly ok: false; readonly message: string };

/**
 * A result value as written (Tekton keeps string results byte for byte, a
 * trailing newline included); arrays and objects are JSON of strings.
 */
export function parseResult(decl: PlanResultDecl, text: string): ParsedResult {
  if (decl.type === 'string') return { ok: true, value: text };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, message: `result "${decl.name}" is declared ${decl.type} but is not valid JSON` };
  }
  if (decl.type === 'array') {
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { ok: true, value: v as string[] };
    return { ok: false, message: `result "${decl.name}" is declared array but is not a JSON array of strings` };
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) {
    return { ok: true, value: v as Record<string, string> };
  }
  return { ok: false, message: `result "${decl.name}" is declared object but is not a JSON object of strings` };
}

/** Order in which a later cancel request may escalate an earlier one. */
export const CANCEL_STRENGTH: Readonly<Record<CancelMode, number>> = { stop: 0, graceful: 1, immediate: 2 };

/** Reads the cancel file's content; anything unknown is a graceful cancel. */
export function cancelKind(text: string): CancelMode {
  const t = text.trim();
  return t === 'stop' || t === 'immediate' ? t : 'graceful';
}
