/**
 * The task graph: dependencies (runAfter plus result references), cycles,
 * and every check of a `$(tasks.…)` reference — known task, declared result,
 * finally rules, matrix rules, and a result's type against the param it fills.
 */
import { type ParamValue, type Ref, normalizeRef, parseRef, refsIn, singleRef } from '@pipod/plan';
import { type DocSink, viaField } from '../errors.ts';
import type { ParamSpec, PipelineSpec, PipelineTaskSpec } from '../model.ts';
import { typeOf } from '../read.ts';
import { walkStrings } from '../walk.ts';
import type { Resolved } from './types.ts';

/** The task-reference kinds of the grammar. */
export type TaskRef = Extract<Ref, { kind: 'taskResult' | 'taskStatus' | 'tasksStatus' | 'matrixLength' | 'taskOther' }>;

/** A `$(tasks.…)` reference parsed, or undefined for any other reference (or `tasks.` with no task at all). */
export function taskRefOf(ref: string): TaskRef | undefined {
  const r = parseRef(ref);
  switch (r.kind) {
    case 'taskResult': case 'taskStatus': case 'tasksStatus': case 'matrixLength': return r;
    case 'taskOther': return r.task === '' ? undefined : r;
    default: return undefined;
  }
}

/** True when `ref` is the whole result (`tasks.t.results.r` or `…[*]`), not an element or key of it. */
function wholeResult(ref: string, tr: TaskRef & { kind: 'taskResult' }): boolean {
  const base = `tasks.${tr.task}.results.${tr.result}`;
  return ref === base || ref === `${base}[*]`;
}

/**
 * Each pipeline task's dependencies, by pipeline task name: its runAfter plus
 * the tasks whose results it references (finally tasks wait for the whole DAG
 * anyway). Every task reference is checked on the way.
 */
export function taskDependencies(pd: DocSink, all: readonly Resolved[], byName: ReadonlyMap<string, Resolved>): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const r of all) {
    const pt = r.pt;
    const set: string[] = [];
    const add = (n: string): void => { if (!set.includes(n)) set.push(n); };
    for (const ra of pt.runAfter) {
      const target = byName.get(ra.name);
      if (ra.name === pt.name) pd.error(ra.path, `task "${pt.name}" cannot run after itself`);
      else if (!target) pd.error(ra.path, `runAfter names unknown pipeline task "${ra.name}"`);
      else if (target.pt.isFinally) pd.error(ra.path, `runAfter cannot name finally task "${ra.name}"`);
      else add(ra.name);
    }
    walkStrings(pt.raw, pt.path, (s, path) => {
      for (const ref of refsIn(s)) {
        const tr = taskRefOf(ref);
        if (!tr) continue;
        const msg = checkTaskRef(tr, pt, byName) ?? matrixConsumedWhole(ref, tr, path.startsWith(`${viaField(pt.path, 'params')}[`), byName);
        if (msg !== undefined) { pd.error(path, msg); continue; }
        if (tr.kind === 'taskResult' && !pt.isFinally) add(tr.task);
      }
    });
    deps.set(pt.name, set);
  }
  return deps;
}

/** Pipeline results reference only task results: `tasks.` of DAG tasks, `finally.` of finally tasks, declared results. */
export function checkPipelineResults(pd: DocSink, pipeline: PipelineSpec, byName: ReadonlyMap<string, Resolved>): void {
  for (const res of pipeline.results) {
    if (res.value === undefined) continue;
    walkStrings(res.value, viaField(res.path, 'value'), (s, path) => {
      for (const ref of refsIn(s)) {
        const ofFinally = ref.startsWith('finally.');
        const tr = taskRefOf(ofFinally ? `tasks.${ref.slice('finally.'.length)}` : ref);
        if (!tr) continue;
        if (tr.kind !== 'taskResult') { pd.error(path, `pipeline results can only reference task results, not $(${ref})`); continue; }
        const t = byName.get(tr.task);
        if (!t) pd.error(path, `result reference names unknown ${ofFinally ? 'finally' : 'pipeline'} task "${tr.task}"`);
        else if (ofFinally && !t.pt.isFinally) pd.error(path, `"${tr.task}" is not a finally task: use $(tasks.${tr.task}.results.${tr.result})`);
        else if (!ofFinally && t.pt.isFinally) pd.error(path, `"${tr.task}" is a finally task: use $(finally.${tr.task}.results.${tr.result})`);
        else if (t.spec && !t.spec.results.some((x) => x.name === tr.result)) pd.error(path, `task "${tr.task}" does not declare result "${tr.result}"`);
      }
    });
  }
}

/** Reports each dependency cycle among the DAG tasks once. */
export function reportCycles(d: DocSink, pipeline: PipelineSpec, names: readonly string[], deps: ReadonlyMap<string, readonly string[]>): void {
  const known = new Set(names);
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of [...(deps.get(n) ?? [])].sort()) {
      if (!known.has(m)) continue;
      const s = state.get(m);
      if (s === 1) {
        const cycle = stack.slice(stack.indexOf(m));
        const key = [...cycle].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          d.error(viaField(pipeline.path, 'tasks'), `dependency cycle: ${[...cycle, m].join(' -> ')}`);
        }
      } else if (s === undefined) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of names) if (!state.has(n)) visit(n);
}

/** Why a value does not fit a param spec, or undefined. Whole-value run-time references are checked against the result's declared type. */
export function typeMismatch(spec: ParamSpec, v: ParamValue, byName: ReadonlyMap<string, Resolved>): string | undefined {
  const inner = typeof v === 'string' ? singleRef(v) : undefined;
  const ref = inner !== undefined ? normalizeRef(inner) : undefined;
  const tr = ref !== undefined ? taskRefOf(ref) : undefined;
  const decl = tr?.kind === 'taskResult' ? byName.get(tr.task)?.spec?.results.find((x) => x.name === tr.result) : undefined;
  if (typeOf(v) === spec.type) {
    if (tr?.kind === 'taskResult' && ref !== undefined && decl && wholeResult(ref, tr) && decl.type !== 'string') return `is declared string but result "${tr.result}" of task "${tr.task}" is ${decl.type}`;
    return undefined;
  }
  if (tr?.kind === 'taskResult') {
    if (!decl || decl.type === spec.type) return undefined;
    return `is declared ${spec.type} but result "${tr.result}" of task "${tr.task}" is ${decl.type}`;
  }
  return `is declared ${spec.type} but the value given is ${typeOf(v)}`;
}

/** Checks one `$(tasks.…)` reference made by a pipeline task. */
function checkTaskRef(tr: TaskRef, pt: PipelineTaskSpec, byName: ReadonlyMap<string, Resolved>): string | undefined {
  if (tr.kind === 'tasksStatus') {
    // In a child pipeline's finally it is the child's own aggregate (the supervisor knows the group).
    if (pt.finallyOf !== undefined) return undefined;
    return pt.isFinally ? undefined : '$(tasks.status) is only available in finally tasks';
  }
  const target = byName.get(tr.task);
  if (!target) return `reference to unknown pipeline task "${tr.task}"`;
  if (tr.kind === 'taskStatus') {
    if (!pt.isFinally && pt.finallyOf === undefined) return `$(tasks.${tr.task}.status) is only available in finally tasks`;
    if (target.pt.isFinally) return `finally task "${pt.name}" cannot use the status of finally task "${tr.task}"`;
    return undefined;
  }
  if (tr.kind === 'matrixLength') {
    if (!target.pt.matrix) return `task "${tr.task}" has no matrix`;
    if (tr.result !== undefined && target.spec && !target.spec.results.some((x) => x.name === tr.result)) return `task "${tr.task}" does not declare result "${tr.result}"`;
    return undefined;
  }
  if (tr.kind === 'taskOther') return `unknown task variable in reference to "${tr.task}"`;
  if (tr.task === pt.name) return `task "${pt.name}" cannot use its own result "${tr.result}"`;
  if (target.pt.isFinally) return `result "${tr.result}" of finally task "${tr.task}" is not available to ${pt.isFinally ? 'another finally task' : 'pipeline tasks'}: it is not upstream`;
  if (target.spec && !target.spec.results.some((x) => x.name === tr.result)) return `task "${tr.task}" does not declare result "${tr.result}"`;
  const decl = target.spec?.results.find((x) => x.name === tr.result);
  if (target.pt.matrix && decl && decl.type !== 'string') return `result "${tr.result}" of matrixed task "${tr.task}" is ${decl.type}; only string results of a matrix are gathered (into an array)`;
  return undefined;
}

/**
 * Tekton's rule for a param that takes a matrixed task's result: the whole
 * gathered array, `[*]`; one instance's value (`[i]`, or the bare name) is
 * refused. Like Tekton, only pipeline task params are checked.
 */
function matrixConsumedWhole(ref: string, tr: TaskRef, inParams: boolean, byName: ReadonlyMap<string, Resolved>): string | undefined {
  if (!inParams || tr.kind !== 'taskResult' || !byName.get(tr.task)?.pt.matrix || ref.endsWith('[*]')) return undefined;
  return `result "${tr.result}" of matrixed task "${tr.task}" can only be consumed whole, as $(tasks.${tr.task}.results.${tr.result}[*]), not as $(${ref}) (as in Tekton)`;
}
