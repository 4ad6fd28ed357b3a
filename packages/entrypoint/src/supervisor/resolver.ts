/**
 * The resolver of run-time references: `$(tasks.<t>.status|reason|results.<r>)`,
 * `$(tasks.status)`, `$(context.task.retry-count)`, `$(context.pipelineTask.retries)`,
 * `$(steps.<s>.results.<r>)` and the task's own params, answered from what
 * has happened so far. Its one seam is `RunView`: it reads the run only
 * through it, so the grammar it parses can be swapped without touching the
 * scheduler.
 */
import { parseRef, stepReadsStepResults, substituteValue, type ExecutionPlan, type ParamValue, type PlanStep, type PlanTask, type Resolver, type TaskStatus } from '@pipod/plan';
import { aggregateStatus, groupStatusVar, taskStatusVar } from '../rules.ts';
import type { TaskRec } from './facts.ts';

/** What the resolver may read of a run. */
export interface RunView {
  readonly recs: ReadonlyMap<string, TaskRec>;
  readonly groups: ExecutionPlan['groups'];
  /** A step result of the task's current attempt, typed by its declaration; undefined when not written. */
  readStepResult(task: PlanTask, step: string, result: string): ParamValue | undefined;
}

/** Whether a step reads a step result anywhere: its value exists only once that step ended (the builder records it in the plan). */
export function readsStepResult(step: PlanStep): boolean {
  return step.readsStepResults ?? stepReadsStepResults(step);
}

/** Run-time references as seen by `rec` in `attempt` (no task: the pipeline's results and `$(tasks.…)` only). */
export function runtimeResolver(view: RunView, rec: TaskRec | undefined, attempt: number): Resolver {
  const { recs, groups } = view;
  let depth = 0;
  const doneStatus = (r: TaskRec | undefined): TaskStatus | undefined => (r?.state === 'done' ? r.status : undefined);
  const self: Resolver = (ref) => {
    if (ref === 'tasks.status') {
      // A child pipeline's finally sees its own pipeline's tasks: the group minus the child's finally tasks.
      const child = rec?.task.finallyOf;
      const dag = child === undefined
        ? [...recs.values()].filter((r) => r.phase === 'dag')
        : (groups?.[child] ?? []).flatMap((n) => { const r = recs.get(n); return r !== undefined && r.task.finallyOf !== child ? [r] : []; });
      return aggregateStatus(dag.map(doneStatus));
    }
    if (rec !== undefined && ref === 'context.task.retry-count') return String(attempt);
    if (rec !== undefined && ref === 'context.pipelineTask.retries') return String(rec.task.retries);
    // Selector forms (`[*]`, `[i]`, `.key`) are left to resolveRef, which asks again for the whole value.
    const r = parseRef(ref, (n) => recs.has(n) || groups?.[n] !== undefined);
    switch (r.kind) {
      case 'taskStatus': {
        const t = recs.get(r.task);
        const members = groups?.[r.task];
        if (r.field === 'status') {
          if (t !== undefined) return taskStatusVar(doneStatus(t));
          return members === undefined ? undefined : groupStatusVar(members.map((n) => doneStatus(recs.get(n))));
        }
        if (t !== undefined) return t.state === 'done' ? t.reason : '';
        if (members === undefined) return undefined;
        // As Tekton: the reason of the first run that did not succeed, else of the first.
        const ran = members.map((n) => recs.get(n)).filter((x): x is TaskRec => x?.state === 'done' && x.status !== 'Skipped');
        return (ran.find((x) => x.status !== 'Succeeded') ?? ran[0])?.reason ?? '';
      }
      case 'taskResult': {
        if (r.selector !== undefined) return undefined;
        const t = recs.get(r.task);
        return t !== undefined && Object.prototype.hasOwnProperty.call(t.results, r.result) ? t.results[r.result] : undefined;
      }
      case 'stepResult':
        return rec === undefined || r.selector !== undefined ? undefined : view.readStepResult(rec.task, r.step, r.result);
      case 'param': {
        if (rec === undefined || !Object.prototype.hasOwnProperty.call(rec.task.params, r.rest)) return undefined;
        const v = rec.task.params[r.rest];
        if (v === undefined || depth > 8) return v;
        depth++;
        try {
          return substituteValue(v, self);
        } finally {
          depth--;
        }
      }
      default:
        return undefined;
    }
  };
  return self;
}
