/**
 * From loaded documents to an ExecutionPlan plus the per-container facts the
 * Pod needs. The stages live in compile/: documents and resolution, inputs,
 * scope and substitution, graph, matrix, task, container. This orchestrator
 * runs them in order; every stage reports into the sink, so all errors are
 * collected before the build gives up.
 */
import {
  DEFAULT_SETTINGS, PLAN_API_VERSION, PLAN_SCHEMA_VERSION, type ExecutionPlan, type ParamValue, type PlanTask, consumedTaskResults, dnsLabel,
} from '@pipod/plan';
import type { Sink } from './errors.ts';
import type { LoadedDocument } from './load.ts';
import { type RunSpec, readRun } from './model.ts';
import type { BuildOptions } from './options.ts';
import type { Raw } from './read.ts';
import { checkSidecarPorts, graceOf, runSidecars } from './sidecars.ts';
import { mergePodTemplates } from './podtemplate.ts';
import { finallyRefsAsTasks } from './walk.ts';
import { viaField } from './errors.ts';
import { childResultResolver, flattenPipeline } from './nested.ts';
import { Documents, documentResolver, pickRoot, resolveTask } from './compile/documents.ts';
import { type InputSinks, bindWorkspaces, checkTaskRunSpecs, pipelineParams, runIdentity, runTimeouts, workspaceVolume } from './compile/inputs.ts';
import { pipelineScope, subst } from './compile/scope.ts';
import { checkPipelineResults, reportCycles, taskDependencies } from './compile/graph.ts';
import { expandMatrix, matrixResolver } from './compile/matrix.ts';
import { Names, PodContainers } from './compile/container.ts';
import { type RunContext, compileTask } from './compile/task.ts';
import { compilePipelineSidecars } from './compile/pipeline-sidecars.ts';
import { podMetadata } from './compile/metadata.ts';
import type { Compiled, Resolved } from './compile/types.ts';

export { DEFAULT_TIMEOUT_MS, documentResolver } from './compile/documents.ts';
export { MAX_MATRIX_COMBINATIONS } from './compile/matrix.ts';
export type { Compiled, ContainerOut, PodParts } from './compile/types.ts';

/** Compiles loaded documents; returns undefined when there were errors (all of them in the sink). */
export function compile(docs: readonly LoadedDocument[], options: BuildOptions, sink: Sink): Compiled | undefined {
  const store = new Documents(sink, options.resolver ?? documentResolver(docs));
  // Every document is checked, used or not, so a file of Tasks validates on its own.
  const runs: RunSpec[] = [];
  // With several runs each is built on its own (`options.runIndex`); only that one is read here.
  const runDocs = docs.filter((d) => d.kind === 'PipelineRun' || d.kind === 'TaskRun');
  const picked = options.runIndex !== undefined ? runDocs[options.runIndex] : undefined;
  if (options.runIndex !== undefined && !picked) {
    sink.error('options', 'runIndex', `there is no run ${options.runIndex + 1}: the input holds ${runDocs.length}`);
    return undefined;
  }
  for (const doc of docs) {
    const r = { source: doc.source, body: doc.body };
    if (doc.kind === 'Task') store.task(r);
    else if (doc.kind === 'Pipeline') store.pipeline(r);
    else if (doc.kind === 'StepAction') store.stepAction(r);
    else if ((doc.kind === 'PipelineRun' || doc.kind === 'TaskRun') && (picked === undefined || picked === doc)) runs.push(readRun(sink.at(doc.source), doc.kind, doc.body));
  }
  const root = pickRoot(docs, runs, sink, store);
  if (!root) return undefined;
  const { run } = root;
  const pd = sink.at(root.pipeline.source);
  // Child pipelines run in this pod too: flattened into the parent under `<task>.<child-task>` names.
  const flat = flattenPipeline(pd, root.pipeline, (ref) => {
    const doc = store.resolver.pipeline(ref.name);
    if (!doc) pd.error(ref.path, `unknown pipeline "${ref.name}": no Pipeline of that name among the documents given`);
    return doc ? store.pipeline(doc) : undefined;
  });
  const pipeline = flat.pipeline;
  const rd = run ? sink.at(run.source) : pd;
  // A Task or TaskRun built alone: its params and workspaces are the task's.
  const sinks: InputSinks = { pd, rd, od: sink.at('options'), owner: root.synthesized ? 'task' : 'pipeline' };

  // --- inputs
  const identity = runIdentity(docs, root, options);
  const { runName, namespace, uid, serviceAccountName } = identity;
  const pparams = pipelineParams(sinks, pipeline, run, options);
  const pws = new Map(pipeline.workspaces.map((w) => [w.name, w]));
  const wsBind = bindWorkspaces(sinks, pws, run, options);

  // --- the pipeline's scope
  const pipelineContext = new Map<string, ParamValue>([
    ['context.pipelineRun.name', runName], ['context.pipelineRun.namespace', namespace], ['context.pipelineRun.uid', uid],
    ['context.pipeline.name', root.pipelineName],
  ]);
  // Instance names of each matrixed pipeline task, filled once the matrices are expanded below.
  const matrixInstances = new Map<string, readonly string[]>();
  const scopeParts = {
    params: pipeline.params, values: pparams, context: pipelineContext,
    workspaces: new Map<string, ParamValue>(pipeline.workspaces.map((w) => [`workspaces.${w.name}.bound`, wsBind.get(w.name)?.binding ? 'true' : 'false'])),
    workspaceNames: new Set(pws.keys()),
    derived: [matrixResolver(matrixInstances), childResultResolver(flat.children)],
  };
  const pipelineScopeFor = (pt?: { readonly retries: number }): ReturnType<typeof pipelineScope> => pipelineScope(scopeParts, pt?.retries);

  // --- resolve tasks
  const tasks = pipeline.tasks.map((pt) => resolveTask(store, pd, pt, pws));
  const fin = pipeline.finally.map((pt) => resolveTask(store, pd, pt, pws));
  const all = [...tasks, ...fin];
  const byName = new Map<string, Resolved>();
  for (const r of all) if (!byName.has(r.pt.name)) byName.set(r.pt.name, r);
  // A child pipeline answers for its results like a task; a dependency on it waits for all its tasks.
  for (const [n, c] of flat.children) {
    const results = [...c.results].map(([name, r]) => ({ name, type: r.type, path: c.pt.path }));
    byName.set(n, { pt: c.pt, spec: { source: pipeline.source, path: c.pt.path, params: [], workspaces: [], results, steps: [], sidecars: [], volumes: [] }, embedded: false, taskName: n });
  }
  const expandDep = (n: string): string[] => {
    const members = flat.children.get(n)?.members;
    return members ? members.flatMap(expandDep) : emptyMatrix.has(n) ? [n] : [...(matrixInstances.get(n) ?? [n])];
  };

  // --- graph
  const deps = taskDependencies(pd, all, byName);
  checkPipelineResults(pd, pipeline, byName);
  reportCycles(pd, pipeline, tasks.map((t) => t.pt.name), deps);

  // --- matrices: every combination becomes its own PlanTask `<task>-<index>` (Tekton's TaskRun suffix)
  const combos = new Map<string, readonly ReadonlyMap<string, string>[]>();
  // Matrixed tasks with an empty param array: one plan task each, skipped (its dependents too).
  const emptyMatrix = new Set<string>();
  for (const r of all) {
    const mx = r.pt.matrix;
    if (!mx) continue;
    const cs = expandMatrix(pd, r, mx, (v, path) => subst.value(pd, pipelineScopeFor(r.pt), v, path));
    if (cs === 'empty') {
      emptyMatrix.add(r.pt.name);
      matrixInstances.set(r.pt.name, []);
      continue;
    }
    combos.set(r.pt.name, cs);
    const names = cs.map((_, i) => `${r.pt.name}-${i}`);
    for (const n of names) {
      if (byName.has(n)) pd.error(viaField(r.pt.path, 'name'), `matrix instance "${n}" of task "${r.pt.name}" has the name of another pipeline task`);
    }
    matrixInstances.set(r.pt.name, names);
  }

  // --- run-level checks: one pod, one service account; timeouts
  checkTaskRunSpecs(rd, run, byName, serviceAccountName);
  const { pipelineMs, tasksMs, finallyMs } = runTimeouts(sinks, root, all);

  // --- tasks
  const podTemplate = mergePodTemplates([
    ...(run?.podTemplate ? [{ who: 'the run', value: run.podTemplate, path: run.kind === 'TaskRun' ? 'spec.podTemplate' : 'spec.taskRunTemplate.podTemplate', d: rd }] : []),
    ...(run?.taskRunSpecs ?? []).flatMap((x) => (x.podTemplate ? [{ who: `task "${x.pipelineTaskName}"`, value: x.podTemplate, path: viaField(x.path, 'podTemplate'), d: rd }] : [])),
  ]);
  const addedSidecars = runSidecars(rd, run);
  for (const t of addedSidecars.keys()) if (!byName.has(t) && !run?.taskRunSpecs.some((x) => x.pipelineTaskName === t)) rd.error(`metadata.annotations[pipod.dev/task-sidecars][${t}]`, `unknown pipeline task "${t}"`);
  const pod = new PodContainers();
  const volumes: Raw[] = [];
  const usedWorkspaces = new Set<string>();
  const ctx: RunContext = {
    sink, options, pd, rd, root, pipeline, identity, pparams, pipelineContext, pipelineScopeFor, byName, pws, wsBind, usedWorkspaces, volumes, pod,
    ids: new Names(), addedSidecars, sidecarGraceMs: graceOf(podTemplate), dependsOn: (pt) => (deps.get(pt.name) ?? []).flatMap(expandDep),
  };
  const compileAll = (r: Resolved): (PlanTask | undefined)[] => {
    if (emptyMatrix.has(r.pt.name)) return [compileTask(ctx, r, { name: r.pt.name, combo: new Map(), skip: 'EmptyArrayInMatrixParams' })];
    const cs = r.pt.matrix ? combos.get(r.pt.name) ?? [] : undefined;
    return cs ? cs.map((combo, i) => compileTask(ctx, r, { name: `${r.pt.name}-${i}`, combo })) : [compileTask(ctx, r)];
  };
  const planTasks = tasks.flatMap(compileAll);
  const planFinally = fin.flatMap(compileAll);
  const planSidecars = compilePipelineSidecars(pod, options, pd, pipelineScopeFor(undefined), pipeline.sidecars, ctx.sidecarGraceMs);
  checkSidecarPorts(pod.sidecarPorts, new Map([...planTasks, ...planFinally].flatMap((t) => (t ? [[t.name, t.dependsOn] as const] : []))));

  for (const w of pipeline.workspaces) {
    const b = wsBind.get(w.name);
    if (!b?.binding || b.volume === undefined || !usedWorkspaces.has(w.name)) continue;
    volumes.push(workspaceVolume(b.volume, b.binding));
  }
  const results = pipeline.results.map((res) => ({
    name: res.name, type: res.type, value: res.value === undefined ? '' : subst.value(pd, pipelineScopeFor(undefined), finallyRefsAsTasks(res.value), viaField(res.path, 'value')),
  }));

  if (sink.errors.length > 0) return undefined;
  const groupNames = [...flat.children.keys(), ...[...matrixInstances.keys()].filter((n) => !emptyMatrix.has(n))].sort();
  const dag = planTasks.filter((t): t is PlanTask => t !== undefined);
  const fins = planFinally.filter((t): t is PlanTask => t !== undefined);
  const planNames = new Set([...dag, ...fins].map((t) => t.name));
  const plan: ExecutionPlan = {
    apiVersion: PLAN_API_VERSION, kind: 'ExecutionPlan', schemaVersion: PLAN_SCHEMA_VERSION,
    run: {
      pipelineRunName: runName, namespace, uid, pipelineName: root.pipelineName,
      ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...(options.startTime !== undefined ? { startTime: options.startTime } : {}),
    },
    timeouts: {
      ...(pipelineMs > 0 ? { pipelineMs } : {}), ...(tasksMs !== undefined && tasksMs > 0 ? { tasksMs } : {}), ...(finallyMs !== undefined && finallyMs > 0 ? { finallyMs } : {}),
    },
    params: Object.fromEntries(pipeline.params.flatMap((p) => { const v = pparams.get(p.name); return v === undefined ? [] : [[p.name, v]]; })),
    tasks: withConsumes(dag, planNames), finally: withConsumes(fins, planNames),
    results, sidecars: planSidecars, settings: DEFAULT_SETTINGS,
    ...(groupNames.length > 0 ? { groups: Object.fromEntries(groupNames.map((n) => [n, expandDep(n)])) } : {}),
  };
  // Tekton copies a task's taskSpec.metadata and taskRunSpecs[].metadata onto its TaskRun and Pod; this pod is every task's.
  const meta = podMetadata({ labels: run?.labels ?? {}, annotations: run?.annotations ?? {} }, [
    ...[...pipeline.tasks, ...pipeline.finally].flatMap((pt) => (pt.metadata ? [{ who: `task "${pt.name}"`, meta: pt.metadata, d: pd }] : [])),
    ...(run?.taskRunSpecs ?? []).flatMap((x) => (x.metadata ? [{ who: `taskRunSpecs of "${x.pipelineTaskName}"`, meta: x.metadata, d: rd }] : [])),
  ]);
  if (sink.errors.length > 0) return undefined;
  const labels: Record<string, string> = meta.labels;
  labels['tekton.dev/pipeline'] = labelValue(root.pipelineName);
  labels['tekton.dev/pipelineRun'] = labelValue(runName);
  if (root.taskRunName !== undefined) labels['tekton.dev/taskRun'] = labelValue(root.taskRunName);
  labels['app.kubernetes.io/managed-by'] = 'pipod';
  const annotations: Record<string, string> = meta.annotations;
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  annotations['pipod.dev/tasks'] = JSON.stringify(sortObject(pod.annotations));
  return {
    plan,
    pod: {
      name: options.podName ?? dnsLabel([runName, 'pod']), namespace, labels, annotations,
      ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...(podTemplate ? { podTemplate } : {}),
      containers: pod.containers, volumes,
    },
  };
}

/** Records on each plan task the task results it consumes, found once here so the runtime does not re-derive them. */
function withConsumes(tasks: readonly PlanTask[], names: ReadonlySet<string>): PlanTask[] {
  return tasks.map((t) => {
    const consumes = consumedTaskResults(t, (n) => names.has(n));
    return consumes.length > 0 ? { ...t, consumes } : t;
  });
}

function sortObject<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k] as T;
  return out;
}

function labelValue(v: string): string {
  return /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v) && v.length <= 63 ? v : dnsLabel([v]);
}
