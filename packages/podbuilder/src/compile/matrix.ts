/**
 * Matrices: every combination of a matrixed pipeline task becomes its own
 * plan task `<task>-<index>` (Tekton's TaskRun suffix), and references to
 * the matrixed task see the gathered instances.
 */
import { type ParamValue, type Resolver, singleRef } from '@pipod/plan';
import { type DocSink, viaField } from '../errors.ts';
import type { MatrixSpec } from '../model.ts';
import { typeOf } from '../read.ts';
import { taskRefOf } from './graph.ts';
import type { Resolved } from './types.ts';

/** Maximum combinations of one matrix (Tekton's default-max-matrix-combinations-count). */
export const MAX_MATRIX_COMBINATIONS = 256;

/**
 * The combinations of a matrix in Tekton's order: the cartesian product of
 * `matrix.params` (the first param varying fastest), then `matrix.include`
 * entries, each added to every original combination whose matrix params it
 * matches (never overwriting an original value) or, matching none, appended
 * as a combination of its own. `empty` when a param array is empty: the task is skipped.
 */
export function expandMatrix(d: DocSink, r: Resolved, mx: MatrixSpec, subst: (v: ParamValue, path: string) => ParamValue): ReadonlyMap<string, string>[] | 'empty' {
  const { pt, spec } = r;
  // After an error no instance is made, so the error is not repeated per combination.
  let bad = false;
  const fail = (path: string, message: string): void => {
    bad = true;
    d.error(path, message);
  };
  const checkName = (name: string, path: string): void => {
    if (pt.params.some((p) => p.name === name)) fail(path, `param "${name}" is given in both params and matrix`);
    if (!spec) return;
    const ps = spec.params.find((p) => p.name === name);
    if (!ps) fail(path, `task "${r.taskName}" declares no param "${name}"`);
    else if (ps.type !== 'string') fail(path, `matrix param "${name}" fills ${ps.type} param "${name}" of task "${r.taskName}"; a matrix fans out string params`);
  };
  const axes: { name: string; values: readonly string[] }[] = [];
  for (const p of mx.params) {
    checkName(p.name, viaField(p.path, 'name'));
    if (p.value === undefined) continue;
    const vp = viaField(p.path, 'value');
    const v = subst(p.value, vp);
    if (!Array.isArray(v)) {
      // A literal non-array was reported when the pipeline was read.
      if (typeof p.value === 'string' && singleRef(p.value) !== undefined) fail(vp, `matrix param "${p.name}" must be an array, but ${p.value} is ${typeOf(v)}`);
      else bad = true;
      continue;
    }
    axes.push({ name: p.name, values: v as readonly string[] });
  }
  const axisNames = new Set(axes.map((a) => a.name));
  let base: Map<string, string>[] = axes.length > 0 ? [new Map()] : [];
  for (const axis of axes) {
    const next: Map<string, string>[] = [];
    for (const v of axis.values) for (const c of base) next.push(new Map([...c, [axis.name, v]]));
    base = next;
  }
  const originals = base.length;
  for (const inc of mx.include) {
    const entries: [string, string][] = [];
    for (const p of inc.params) {
      if (!axisNames.has(p.name)) checkName(p.name, viaField(p.path, 'name'));
      if (typeof p.value !== 'string') continue;
      const v = subst(p.value, viaField(p.path, 'value'));
      entries.push([p.name, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
    let matched = false;
    for (const c of base.slice(0, originals)) {
      if (!entries.every(([n, v]) => !axisNames.has(n) || c.get(n) === v)) continue;
      matched = true;
      for (const [n, v] of entries) if (!axisNames.has(n)) c.set(n, v);
    }
    if (!matched) base.push(new Map(entries));
  }
  if (bad) return [];
  // Tekton skips a matrixed task one of whose param arrays is empty (include or not).
  if (axes.some((a) => a.values.length === 0)) return 'empty';
  if (base.length > MAX_MATRIX_COMBINATIONS) d.error(mx.path, `matrix of task "${pt.name}" has ${base.length} combinations; at most ${MAX_MATRIX_COMBINATIONS} are allowed`);
  return base.length > MAX_MATRIX_COMBINATIONS ? [] : base;
}

/**
 * Static view of a matrixed task's outputs: `$(tasks.t.matrix.length)`, and
 * `$(tasks.t.results.r)` as the array of its instances' result references,
 * which the supervisor then fills in one by one.
 */
export function matrixResolver(instances: ReadonlyMap<string, readonly string[]>): Resolver {
  return (ref) => {
    const tr = taskRefOf(ref);
    if (!tr || (tr.kind !== 'taskResult' && tr.kind !== 'matrixLength')) return undefined;
    const names = instances.get(tr.task);
    if (!names) return undefined;
    if (tr.kind === 'matrixLength') return String(names.length);
    if (ref !== `tasks.${tr.task}.results.${tr.result}`) return undefined;
    return names.map((n) => `$(tasks.${n}.results.${tr.result})`);
  };
}
