/**
 * Documents and resolution: each document read once (cached by source),
 * the root of the build picked, and every pipeline task's Task resolved.
 */
import { parseRef, refsIn } from '@pipod/plan';
import { type DocSink, type Sink, viaField } from '../errors.ts';
import type { LoadedDocument } from '../load.ts';
import { type ParamSpec, type PipelineSpec, type PipelineTaskSpec, type RunSpec, type StepActionSpec, type TaskSpec, readMetadata, readPipelineSpec, readStepActionSpec, readTaskSpec } from '../model.ts';
import type { RefResolver, ResolvedDocument } from '../options.ts';
import { type Raw, obj, typeOf } from '../read.ts';
import { withAnnotatedSidecars } from '../sidecars.ts';
import { walkStrings } from '../walk.ts';
import { withStepActions } from './stepactions.ts';
import type { Resolved, Root } from './types.ts';

/** Tekton's default pipeline (and TaskRun) timeout. */
export const DEFAULT_TIMEOUT_MS = 3_600_000;

/** The default RefResolver: documents given to the build, by name. */
export function documentResolver(docs: readonly LoadedDocument[]): RefResolver {
  const find = (kind: string, name: string): ResolvedDocument | undefined => {
    const d = docs.find((x) => x.kind === kind && x.name === name);
    return d ? { source: d.source, body: d.body } : undefined;
  };
  return { task: (n) => find('Task', n), pipeline: (n) => find('Pipeline', n), stepAction: (n) => find('StepAction', n) };
}

/** Reads each resolved document once, so a Task used twice reports its errors once. */
export class Documents {
  private readonly tasks = new Map<string, TaskSpec | undefined>();
  private readonly pipelines = new Map<string, PipelineSpec | undefined>();
  private readonly stepActions = new Map<string, StepActionSpec | undefined>();
  constructor(readonly sink: Sink, readonly resolver: RefResolver) {}

  /** The Task of a document. */
  task(r: ResolvedDocument): TaskSpec | undefined {
    return this.cached(this.tasks, r, (d, spec) => readTaskSpec(d, spec, 'spec'));
  }

  /** The Pipeline of a document, with its annotated pipeline sidecars. */
  pipeline(r: ResolvedDocument): PipelineSpec | undefined {
    if (this.pipelines.has(r.source)) return this.pipelines.get(r.source);
    const d = this.sink.at(r.source);
    const meta = readMetadata(d, r.body, false);
    const spec = obj(d, r.body, 'spec', '', true);
    const p = spec ? withAnnotatedSidecars(d, readPipelineSpec(d, spec, 'spec'), meta.annotations) : undefined;
    this.pipelines.set(r.source, p);
    return p;
  }

  /** The StepAction of a document. */
  stepAction(r: ResolvedDocument): StepActionSpec | undefined {
    return this.cached(this.stepActions, r, (d, spec) => readStepActionSpec(d, spec, 'spec'));
  }

  private cached<T>(cache: Map<string, T | undefined>, r: ResolvedDocument, read: (d: DocSink, spec: Raw) => T): T | undefined {
    if (cache.has(r.source)) return cache.get(r.source);
    const d = this.sink.at(r.source);
    readMetadata(d, r.body, false);
    const spec = obj(d, r.body, 'spec', '', true);
    const t = spec ? read(d, spec) : undefined;
    cache.set(r.source, t);
    return t;
  }
}

/** Resolves a pipeline task's Task (embedded or by name), StepActions included. */
export function resolveTask(docs: Documents, pd: DocSink, pt: PipelineTaskSpec, pipelineWs: ReadonlyMap<string, unknown>): Resolved {
  if (pt.taskSpec) {
    const p = propagateWorkspaces(pt, pt.taskSpec, pipelineWs);
    return { pt: p.pt, spec: withStepActions(docs, p.spec), embedded: true, taskName: pt.taskRef?.name ?? pt.name };
  }
  if (pt.taskRef) {
    const doc = docs.resolver.task(pt.taskRef.name);
    if (!doc) {
      pd.error(pt.taskRef.path, `unknown task "${pt.taskRef.name}": no Task of that name among the documents given`);
      return { pt, spec: undefined, embedded: false, taskName: pt.taskRef.name };
    }
    return { pt, spec: withStepActions(docs, docs.task(doc)), embedded: false, taskName: pt.taskRef.name };
  }
  return { pt, spec: undefined, embedded: false, taskName: pt.name };
}

function synthesizeFromTask(spec: TaskSpec, taskName: string, ref: { name: string; path: string } | undefined, retries: number | undefined, timeoutMs: number | undefined): PipelineSpec {
  const params = spec.params.map((p) => ({ name: p.name, value: p.type === 'string' ? `$(params.${p.name})` : `$(params.${p.name}[*])`, path: p.path }));
  const pt: PipelineTaskSpec = {
    index: 0, isFinally: false, path: spec.path, name: taskName,
    ...(ref ? { taskRef: ref } : { taskSpec: spec }),
    runAfter: [], params, workspaces: spec.workspaces.map((w) => ({ name: w.name, workspace: w.name, path: w.path })),
    when: [], ...(timeoutMs !== undefined ? { timeoutMs } : {}), retries: retries ?? 0, onError: 'stopAndFail', raw: {},
  };
  return {
    source: spec.source, path: spec.path, params: spec.params,
    workspaces: spec.workspaces.map((w) => ({ name: w.name, optional: w.optional, path: w.path })),
    tasks: [pt], finally: [], results: [], sidecars: [],
  };
}

/** Picks what to build: the one run, else the one Pipeline, else the one Task. */
export function pickRoot(docs: readonly LoadedDocument[], runs: readonly RunSpec[], sink: Sink, store: Documents): Root | undefined {
  const resolver = store.resolver;
  if (runs.length > 1) {
    // pipod run and pipod build go through every run (see runsOf); a caller of build names one with runIndex.
    for (const r of runs.slice(1)) sink.error(r.source, '', `the input holds ${runs.length} runs: build one at a time (runIndex; pipod run runs each in turn) (already building ${runs[0]?.source ?? ''})`);
    return undefined;
  }
  const run = runs[0];
  if (run?.kind === 'PipelineRun') {
    const d = sink.at(run.source);
    if (run.pipelineSpec) return { pipeline: withPropagated(run.pipelineSpec, run), pipelineName: run.name ?? run.generateName ?? 'pipeline', run };
    if (!run.pipelineRef) return undefined;
    const doc = resolver.pipeline(run.pipelineRef.name);
    if (!doc) {
      d.error(run.pipelineRef.path, `unknown pipeline "${run.pipelineRef.name}": no Pipeline of that name among the documents given`);
      return undefined;
    }
    const p = store.pipeline(doc);
    return p ? { pipeline: p, pipelineName: run.pipelineRef.name, run } : undefined;
  }
  if (run?.kind === 'TaskRun') {
    const d = sink.at(run.source);
    const name = run.name ?? run.generateName ?? 'taskrun';
    let spec = run.taskSpec;
    if (!spec && run.taskRef) {
      const doc = resolver.task(run.taskRef.name);
      if (!doc) {
        d.error(run.taskRef.path, `unknown task "${run.taskRef.name}": no Task of that name among the documents given`);
        return undefined;
      }
      spec = store.task(doc);
    }
    if (!spec) return undefined;
    const taskName = run.taskRef?.name ?? name;
    const made = synthesizeFromTask(spec, taskName, run.taskRef, run.retries, run.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // An embedded taskSpec sees the TaskRun's params and workspaces it does not declare (Tekton's propagation).
    const pipeline = run.taskSpec ? bindAllRunWorkspaces(withPropagated(made, run), run) : made;
    // The TaskRun's own stepSpecs, sidecarSpecs and computeResources are those of its one task.
    const named = { ...run, taskRunSpecs: run.taskRunSpecs.map((x) => ({ ...x, pipelineTaskName: taskName })) };
    return { pipeline, pipelineName: taskName, run: named, taskRunName: name, synthesized: true };
  }
  const pipelines = docs.filter((x) => x.kind === 'Pipeline');
  if (pipelines.length > 1) {
    sink.error(pipelines[1]?.source ?? '', '', `several Pipelines and no PipelineRun: add a PipelineRun that names the one to build (found ${pipelines.map((p) => p.source).join(', ')})`);
    return undefined;
  }
  const pdoc = pipelines[0];
  if (pdoc) {
    const p = store.pipeline({ source: pdoc.source, body: pdoc.body });
    return p ? { pipeline: p, pipelineName: pdoc.name } : undefined;
  }
  const taskDocs = docs.filter((x) => x.kind === 'Task');
  if (taskDocs.length === 1 && taskDocs[0]) {
    const t = taskDocs[0];
    const spec = store.task({ source: t.source, body: t.body });
    if (!spec) return undefined;
    return { pipeline: synthesizeFromTask(spec, t.name, { name: t.name, path: 'metadata.name' }, undefined, undefined), pipelineName: t.name, synthesized: true };
  }
  if (taskDocs.length > 1) {
    sink.error(taskDocs[1]?.source ?? '', '', `several Tasks and no Pipeline, PipelineRun or TaskRun: nothing says which to build (found ${taskDocs.map((p) => p.source).join(', ')})`);
    return undefined;
  }
  if (sink.errors.length === 0) sink.error('', '', 'no Pipeline, PipelineRun, Task or TaskRun in the input');
  return undefined;
}

/** An embedded pipelineSpec sees the run's params and workspaces even when it does not declare them (Tekton's propagation). */
function withPropagated(p: PipelineSpec, run: RunSpec): PipelineSpec {
  const extra: ParamSpec[] = run.params
    .filter((x) => x.value !== undefined && !p.params.some((q) => q.name === x.name))
    .map((x) => ({ name: x.name, type: typeOf(x.value ?? ''), path: x.path }));
  const ws = run.workspaces.filter((w) => !p.workspaces.some((q) => q.name === w.name)).map((w) => ({ name: w.name, optional: false, path: w.path }));
  return extra.length === 0 && ws.length === 0 ? p : { ...p, params: [...p.params, ...extra], workspaces: [...p.workspaces, ...ws] };
}

/** A TaskRun's embedded taskSpec gets every workspace the run binds, declared or not (Tekton declares them for it). */
function bindAllRunWorkspaces(p: PipelineSpec, run: RunSpec): PipelineSpec {
  return {
    ...p,
    tasks: p.tasks.map((pt) => ({
      ...pt,
      workspaces: [...pt.workspaces, ...run.workspaces.filter((w) => !pt.workspaces.some((b) => b.name === w.name)).map((w) => ({ name: w.name, workspace: w.name, path: w.path }))],
    })),
  };
}

/**
 * An embedded taskSpec may use a pipeline workspace it does not declare, and
 * its pipeline task may bind one it does not declare (Tekton's propagated
 * workspaces: the TaskRun declares every binding of an embedded spec):
 * declare each on the task, bound by name when the pipeline task does not bind it.
 */
function propagateWorkspaces(pt: PipelineTaskSpec, spec: TaskSpec, pipelineWs: ReadonlyMap<string, unknown>): { pt: PipelineTaskSpec; spec: TaskSpec } {
  const used: string[] = [];
  walkStrings(pt.raw['taskSpec'], '', (text) => {
    for (const ref of refsIn(text)) {
      const r = parseRef(ref);
      if (r.kind === 'workspace' && r.attr !== undefined && !used.includes(r.workspace)) used.push(r.workspace);
    }
  });
  const declared = (n: string): boolean => spec.workspaces.some((w) => w.name === n);
  const bound = pt.workspaces.filter((b) => !declared(b.name)).map((b) => b.name);
  const unbound = used.filter((n) => pipelineWs.has(n) && !declared(n) && !pt.workspaces.some((b) => b.name === n));
  const extra = [...bound, ...unbound];
  if (extra.length === 0) return { pt, spec };
  return {
    spec: { ...spec, workspaces: [...spec.workspaces, ...extra.map((name) => ({ name, readOnly: false, optional: false, path: viaField(spec.path, 'workspaces') }))] },
    pt: { ...pt, workspaces: [...pt.workspaces, ...unbound.map((name) => ({ name, workspace: name, path: viaField(pt.path, 'workspaces') }))] },
  };
}
