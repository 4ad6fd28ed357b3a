/** The run's summary: its status, every task's record, and the pipeline's results. */
import { runTimeRefs, stringify, substituteValue, type ExecutionPlan, type ParamValue, type Resolver, type RunSummary, type TaskSummary } from '@pipod/plan';
import { iso } from './context.ts';
import { runOutcome, type RunFlags, type TaskRec } from './facts.ts';

/** The pipeline's results over the tasks' results; one over a result never produced is left out, as Tekton does. */
export function pipelineResults(plan: ExecutionPlan, resolve: Resolver): Record<string, ParamValue> {
  const results: Record<string, ParamValue> = {};
  for (const pr of plan.results) {
    const v = substituteValue(pr.value, resolve);
    if (runTimeRefs(stringify(v)).length > 0) continue;
    results[pr.name] = v;
  }
  return results;
}

/** One task's summary. */
export function taskSummary(r: TaskRec): TaskSummary {
  return {
    status: r.status ?? 'Skipped',
    reason: r.reason,
    attempts: r.attempts,
    results: r.results,
    ...(r.startedAt !== undefined ? { startedAt: iso(r.startedAt) } : {}),
    ...(r.finishedAt !== undefined ? { finishedAt: iso(r.finishedAt) } : {}),
    ...(r.startedAt !== undefined && r.finishedAt !== undefined ? { durationMs: r.finishedAt - r.startedAt } : {}),
    steps: r.steps,
    ...(r.phase === 'finally' ? { finally: true } : {}),
  };
}

/** The whole run's summary, from its start to `now`. */
export function runSummary(plan: ExecutionPlan, recs: readonly TaskRec[], flags: RunFlags, times: { readonly startedAt: number; readonly now: number }, sidecarFailure: string | undefined, resolve: Resolver): RunSummary {
  const [status, reason] = runOutcome(recs, flags, sidecarFailure);
  const tasks: Record<string, TaskSummary> = {};
  for (const r of recs) tasks[r.task.name] = taskSummary(r);
  const { startedAt, now } = times;
  return { status, reason, durationMs: now - startedAt, startedAt: iso(startedAt), finishedAt: iso(now), tasks, results: pipelineResults(plan, resolve) };
}
