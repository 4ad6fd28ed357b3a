/**
 * Pipelines in pipelines: a pipeline task that runs a child pipeline
 * (`pipelineSpec` or `pipelineRef`) is flattened into its parent, so the
 * child's tasks run in the same pod under qualified names `<parent>.<child>`.
 * The child's params are substituted from the parent task's params, its
 * workspaces bound through the parent task's bindings, its `when` and
 * dependencies put on every child task, its finally tasks marked to run when
 * the child's tasks settle, and its results kept for the parent's consumers.
 */
import { type ParamValue, type Resolver, type ValueType, normalizeRef, paramOf, parseRef, refsIn, renameRefs, resolveRef, singleRef, substitute, substituteArgs, substituteValue } from '@pipod/plan';
import { type DocSink, viaField } from './errors.ts';
import type { NamedRef, ParamEntry, PipelineSpec, PipelineTaskSpec, WhenSpec } from './model.ts';
import { taskRefOf } from './compile/graph.ts';
import { finallyRefsAsTasks, mapStringsDeep, walkStrings } from './walk.ts';

/** A flattened child pipeline: its pipeline task, the qualified names of its tasks, and its results. */
export interface ChildPipeline {
  readonly pt: PipelineTaskSpec;
  readonly members: readonly string[];
  readonly results: ReadonlyMap<string, { readonly type: ValueType; readonly value: ParamValue }>;
}

/** A pipeline with every child pipeline flattened in, and the children by qualified name. */
export interface Flattened {
  readonly pipeline: PipelineSpec;
  readonly children: ReadonlyMap<string, ChildPipeline>;
}

/** How deep child pipelines may nest (a pipelineRef cycle ends here with an error). */
export const MAX_NESTING = 8;

function mapStrings(v: ParamValue, f: (s: string) => string): ParamValue {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return (v as readonly string[]).map(f);
  return Object.fromEntries(Object.entries(v as Readonly<Record<string, string>>).map(([k, x]) => [k, f(x)]));
}

// Substitutes inside any structure; a list of strings expands array references as args do.
function substituteDeep(v: unknown, resolve: Resolver): unknown {
  if (typeof v === 'string') return v.includes('$(') ? substitute(v, resolve) : v;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? substituteArgs(v as string[], resolve) : v.map((x) => substituteDeep(x, resolve));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteDeep(x, resolve)]));
  return v;
}

/** Flattens every pipeline task of `p` that runs a child pipeline. */
export function flattenPipeline(d: DocSink, p: PipelineSpec, load: (ref: NamedRef) => PipelineSpec | undefined, depth = 0): Flattened {
  const children = new Map<string, ChildPipeline>();
  const tasks: PipelineTaskSpec[] = [];
  for (const pt of p.finally) {
    if (pt.pipelineSpec || pt.pipelineRef) d.error(viaField(pt.path, pt.pipelineSpec ? 'pipelineSpec' : 'pipelineRef'), 'a finally task that runs a pipeline is not supported yet');
  }
  for (const pt of p.tasks) {
    if (!pt.pipelineSpec && !pt.pipelineRef) {
      tasks.push(pt);
      continue;
    }
    if (pt.matrix) d.error(viaField(pt.path, 'matrix'), 'a matrix on a pipeline task that runs a pipeline is not supported yet');
    if (pt.timeoutMs !== undefined) d.error(viaField(pt.path, 'timeout'), 'a timeout on a pipeline task that runs a pipeline is not supported yet (set timeouts on its tasks)');
    if (pt.retries > 0) d.error(viaField(pt.path, 'retries'), 'retries apply to tasks, not to a pipeline task that runs a pipeline');
    if (pt.onError !== 'stopAndFail') d.error(viaField(pt.path, 'onError'), 'onError applies to tasks, not to a pipeline task that runs a pipeline');
    if (depth >= MAX_NESTING) {
      d.error(pt.path, `child pipelines nest deeper than ${MAX_NESTING} levels (a pipelineRef cycle?)`);
      continue;
    }
    const child = pt.pipelineSpec ?? (pt.pipelineRef ? load(pt.pipelineRef) : undefined);
    if (!child) continue;
    const inner = flattenPipeline(d, child, load, depth + 1);
    flattenOne(d, pt, inner, tasks, children);
  }
  return { pipeline: { ...p, tasks }, children };
}

function flattenOne(d: DocSink, pt: PipelineTaskSpec, inner: Flattened, out: PipelineTaskSpec[], children: Map<string, ChildPipeline>): void {
  const child = inner.pipeline;
  // A child with errors is not flattened, so its errors do not come back as the parent's.
  const errorsBefore = d.sink.errors.length;
  const prefix = `${pt.name}.`;
  const childNames = [...child.tasks, ...child.finally].map((t) => t.name).concat([...inner.children.keys()]);
  // Child params: the parent task's values, else the child's defaults.
  const values = new Map<string, ParamValue>();
  for (const ps of child.params) {
    const given = pt.params.find((x) => x.name === ps.name)?.value ?? ps.default;
    if (given === undefined) d.error(viaField(pt.path, 'params'), `missing value for required param "${ps.name}" of pipeline "${pt.pipelineRef?.name ?? pt.name}"`);
    else values.set(`params.${ps.name}`, given);
  }
  for (const p of pt.params) {
    if (!child.params.some((x) => x.name === p.name)) d.warn(viaField(p.path, 'name'), `the child pipeline declares no param "${p.name}"; it is ignored`);
  }
  const childResolve: Resolver = (ref) => values.get(ref);
  // A child task's references get the qualified name; the grammar decides where a task name ends.
  const isChild = (n: string): boolean => childNames.includes(n);
  const rename = (text: string): string => renameRefs(text, (ref) => {
    if (!ref.startsWith('tasks.')) return undefined;
    const r = parseRef(ref, isChild);
    return 'task' in r && isChild(r.task) ? `tasks.${prefix}${ref.slice('tasks.'.length)}` : undefined;
  });
  const childParamNames = child.params.map((x) => x.name);
  const checkParams = (v: unknown, path: string): void => walkStrings(v, path, (s, at) => {
    for (const ref of refsIn(s)) {
      if (parseRef(ref).kind === 'param' && resolveRef(ref, childResolve) === undefined && !paramOf(ref, childParamNames)) {
        d.error(at, `undeclared param "${ref.slice(7).split(/[.[]/)[0] ?? ''}" of the child pipeline`);
      }
    }
  });
  const rewrite = (v: ParamValue): ParamValue => substituteValue(mapStrings(v, rename), childResolve);
  // Every child task waits for what the parent task waits for.
  const parentDeps: NamedRef[] = [...pt.runAfter];
  walkStrings({ params: pt.raw['params'], when: pt.raw['when'] }, pt.path, (s, at) => {
    for (const ref of refsIn(s)) {
      const tr = taskRefOf(ref);
      if (tr && tr.kind !== 'tasksStatus' && !parentDeps.some((x) => x.name === tr.task)) parentDeps.push({ name: tr.task, path: at });
    }
  });
  const dagNames = child.tasks.map((t) => prefix + t.name);
  const members: string[] = [];
  const flattened: PipelineTaskSpec[] = [];
  const all = [...child.tasks.map((t) => ({ t, fin: false })), ...child.finally.map((t) => ({ t, fin: true }))];
  for (const { t, fin } of all) {
    checkParams(t.raw['params'], viaField(t.path, 'params'));
    checkParams(t.raw['when'], viaField(t.path, 'when'));
    const params: ParamEntry[] = t.params.map((x) => (x.value === undefined ? x : { ...x, value: rewrite(x.value) }));
    const when: WhenSpec[] = [
      ...t.when.map((w) => ({ ...w, input: rewrite(w.input) as string, values: rewrite(w.values) as readonly string[] })),
      ...pt.when,
    ];
    const workspaces = t.workspaces.flatMap((b) => {
      const pb = pt.workspaces.find((x) => x.name === b.workspace);
      if (!pb) {
        if (!child.workspaces.some((w) => w.name === b.workspace && w.optional)) d.error(viaField(pt.path, 'workspaces'), `the child pipeline's task "${t.name}" needs workspace "${b.workspace}" but pipeline task "${pt.name}" does not bind it`);
        return [];
      }
      const subPath = [pb.subPath, b.subPath].filter((x): x is string => x !== undefined && x !== '').join('/');
      return [{ name: b.name, workspace: pb.workspace, ...(subPath !== '' ? { subPath } : {}), path: b.path }];
    });
    const runAfter: NamedRef[] = fin
      ? dagNames.map((n) => ({ name: n, path: t.path }))
      : [...t.runAfter.map((r) => ({ ...r, name: prefix + r.name })), ...parentDeps];
    const name = prefix + t.name;
    members.push(name);
    // An embedded taskSpec sees the child's params it does not declare (Tekton's propagated params).
    const declared = new Set((t.taskSpec?.params ?? []).map((x) => x.name));
    const propagate: Resolver = (ref) => {
      const r = parseRef(ref);
      return r.kind === 'param' && !declared.has(r.rest) ? values.get(ref) : undefined;
    };
    const taskSpec = t.taskSpec ? (substituteDeep(t.taskSpec, propagate) as typeof t.taskSpec) : undefined;
    const rawTaskSpec = t.raw['taskSpec'] !== undefined ? substituteDeep(t.raw['taskSpec'], propagate) : undefined;
    flattened.push({
      ...t, name, isFinally: false, params, when, workspaces, runAfter, ...(taskSpec ? { taskSpec } : {}),
      ...(fin ? { finallyOf: pt.name } : t.finallyOf !== undefined ? { finallyOf: prefix + t.finallyOf } : {}),
      raw: {
        ...(mapStringsDeep(rawTaskSpec !== undefined ? { ...t.raw, taskSpec: rawTaskSpec } : t.raw, rename) as Record<string, unknown>),
        params: params.map((x) => ({ name: x.name, value: x.value })),
        when: when.map((w) => ({ input: w.input, operator: w.operator, values: w.values })),
        runAfter: runAfter.map((r) => r.name),
      },
    });
  }
  if (d.sink.errors.length > errorsBefore) {
    children.set(pt.name, { pt, members: [], results: new Map() });
    return;
  }
  out.push(...flattened);
  for (const [n, c] of inner.children) {
    children.set(prefix + n, { pt: { ...c.pt, name: prefix + c.pt.name }, members: c.members.map((m) => prefix + m), results: new Map([...c.results].map(([k, r]) => [k, { type: r.type, value: mapStrings(r.value, rename) }])) });
  }
  const results = new Map<string, { type: ValueType; value: ParamValue }>();
  for (const r of child.results) results.set(r.name, { type: r.type, value: r.value === undefined ? '' : rewrite(finallyRefsAsTasks(r.value)) });
  children.set(pt.name, { pt, members, results });
}

/**
 * `$(tasks.<child>.results.<r>)` of a flattened child pipeline: its result
 * value, which names the child's qualified tasks; indexing and keys carry
 * over onto a value that is itself one reference.
 */
export function childResultResolver(children: ReadonlyMap<string, ChildPipeline>): Resolver {
  return (ref) => {
    const tr = taskRefOf(ref);
    if (tr?.kind !== 'taskResult') return undefined;
    const c = children.get(tr.task);
    const res = c?.results.get(tr.result);
    if (!res) return undefined;
    const suffix = ref.slice(`tasks.${tr.task}.results.${tr.result}`.length);
    if (suffix === '' || suffix === '[*]') return res.value;
    if (typeof res.value === 'string') {
      const inner = singleRef(res.value);
      return inner !== undefined ? `$(${normalizeRef(inner).replace(/\[\*\]$/, '')}${suffix})` : undefined;
    }
    return resolveRef(`x${suffix}`, (r) => (r === 'x' ? res.value : undefined));
  };
}
