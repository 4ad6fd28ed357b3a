/**
 * The resolver of run-time references: `$(tasks.<t>.status|reason|results.<r>)`,
 * `$(tasks.status)`, `$(context.task.retry-count)`, `$(context.pipelineTask.retries)`,
 * `$(steps.<s>.results.<r>)` and the task's own params, answered from what
 * has happened so far. Its one seam is `RunView`: it reads the run only
 * through it, so the grammar it parses can be swapped without touching the
 * scheduler.
 */
import { findRefs, substituteValue, type ExecutionPlan, type ParamValue, type PlanStep, type PlanTask, type Resolver, type TaskStatus } from '@pipod/plan';
import { aggregateStatus, groupStatusVar, taskStatusVar } from '../rules.ts';
import type { TaskRec } from './facts.ts';

/** What the resolver may read of a run. */
export interface RunView {
  readonly recs: ReadonlyMap<string, TaskRec>;
  readonly groups: ExecutionPlan['groups'];
  /** A step result of the task's current attempt, typed by its declaration; undefined when not written. */
  readStepResult(task: PlanTask, step: string, result: string): ParamValue | undefined;
}

/** A step-result reference once normalised (`steps.<s>.results.<r>`): step and result name. */
const STEP_RESULT_REF = /^steps\.(.+?)\.results\.(.+)$/;

/** Whether a step reads a step result anywhere: its value exists only once that step ended. */
export function readsStepResult(step: PlanStep): boolean {
  const texts = [...step.command, ...step.args, ...step.env.map((e) => e.value), step.script ?? '', step.workingDir ?? ''];
  return texts.some((t) => findRefs(t).some((r) => STEP_RESULT_REF.test(r)));
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
    let m = /^tasks\.(.+)\.status$/.exec(ref);
    if (m?.[1] !== undefined) {
      const r = recs.get(m[1]);
      if (r !== undefined) return taskStatusVar(doneStatus(r));
      const members = groups?.[m[1]];
      return members === undefined ? undefined : groupStatusVar(members.map((n) => doneStatus(recs.get(n))));
    }
    m = /^tasks\.(.+)\.reason$/.exec(ref);
    if (m?.[1] !== undefined) {
      const r = recs.get(m[1]);
      if (r !== undefined) return r.state === 'done' ? r.reason : '';
      const members = groups?.[m[1]];
      if (members === undefined) return undefined;
      // As Tekton: the reason of the first run that did not succeed, else of the first.
      const ran = members.map((n) => recs.get(n)).filter((x): x is TaskRec => x?.state === 'done' && x.status !== 'Skipped');
      return (ran.find((x) => x.status !== 'Succeeded') ?? ran[0])?.reason ?? '';
    }
    m = /^tasks\.(.+)\.results\.(.+)$/.exec(ref);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      const r = recs.get(m[1]);
      return r !== undefined && Object.prototype.hasOwnProperty.call(r.results, m[2]) ? r.results[m[2]] : undefined;
    }
    if (rec === undefined) return undefined;
    m = STEP_RESULT_REF.exec(ref);
    if (m?.[1] !== undefined && m[2] !== undefined) return view.readStepResult(rec.task, m[1], m[2]);
    m = /^params\.(.+)$/.exec(ref);
    if (m?.[1] !== undefined && Object.prototype.hasOwnProperty.call(rec.task.params, m[1])) {
      const v = rec.task.params[m[1]];
      if (v === undefined || depth > 8) return v;
      depth++;
      try {
        return substituteValue(v, self);
      } finally {
        depth--;
      }
    }
    return undefined;
  };
  return self;
}
