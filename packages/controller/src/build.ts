/**
 * From a run object on the cluster to a Pod: prefetch the Pipelines and Tasks
 * it references (the builder is synchronous and pure), build, then stamp the
 * Pod with the controller's name, labels, owner and task shapes.
 */
import type { ExecutionPlan } from '@pipod/plan';
import { build, formatError, imagesToResolve, mapImageConfigResolver, type ImageConfig, type RefResolver, type ResolvedDocument, type SourceFile } from '@pipod/podbuilder';
import { type ImageLookup, ImageConfigResolver, RegistrySource } from '@pipod/images';
import { type KObject, type Kube, RESOURCES, orNotFound } from './kube.ts';
import {
  ANNOTATION_TASKS, LABEL_MANAGED, LABEL_RUN_KIND, LABEL_RUN_NAME, LABEL_RUN_UID, type TaskShape, ownerReference,
} from './rules.ts';

/** Where a run's Pipelines and Tasks come from: anything that can GET them by name. */
export interface RefSource {
  pipeline(namespace: string, name: string): Promise<KObject | undefined>;
  task(namespace: string, name: string): Promise<KObject | undefined>;
}

/** A RefSource that GETs tekton.dev/v1 Pipelines and Tasks from the cluster. */
export function clusterRefSource(kube: Kube): RefSource {
  return {
    pipeline: (ns, name) => orNotFound(kube.getCustom(RESOURCES.pipelines, ns, name)),
    task: (ns, name) => orNotFound(kube.getCustom(RESOURCES.tasks, ns, name)),
  };
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined);
const list = (v: unknown): Rec[] => (Array.isArray(v) ? v.map(rec).filter((x): x is Rec => x !== undefined) : []);

/**
 * A RefResolver over documents fetched beforehand: walks the run's
 * pipelineRef and every taskRef/pipelineRef below it, GETting each once.
 * Names that were not found are recorded so the run fails with Tekton's reason.
 */
export class PrefetchedResolver implements RefResolver {
  readonly missingPipelines: string[] = [];
  readonly missingTasks: string[] = [];
  private readonly pipelines = new Map<string, ResolvedDocument | undefined>();
  private readonly tasks = new Map<string, ResolvedDocument | undefined>();

  private constructor() {}

  /** Fetches everything `run` (a PipelineRun body) can reach. */
  static async prefetch(source: RefSource, namespace: string, run: Rec): Promise<PrefetchedResolver> {
    const r = new PrefetchedResolver();
    const spec = rec(run['spec']) ?? {};
    const ref = rec(spec['pipelineRef']);
    const visit = async (pipelineSpec: Rec | undefined): Promise<void> => {
      if (!pipelineSpec) return;
      for (const t of [...list(pipelineSpec['tasks']), ...list(pipelineSpec['finally'])]) {
        const taskRef = rec(t['taskRef']);
        const name = taskRef?.['name'];
        const kind = taskRef?.['kind'];
        if (typeof name === 'string' && taskRef?.['apiVersion'] === undefined && (kind === undefined || kind === 'Task')) await r.fetchTask(source, namespace, name);
        const pRef = rec(t['pipelineRef']);
        if (typeof pRef?.['name'] === 'string') await visit(await r.fetchPipeline(source, namespace, pRef['name']));
        await visit(rec(t['pipelineSpec']));
        const ts = rec(t['taskSpec']);
        if (ts && ts['apiVersion'] === undefined) continue;
      }
    };
    if (typeof ref?.['name'] === 'string') await visit(await r.fetchPipeline(source, namespace, ref['name']));
    await visit(rec(spec['pipelineSpec']));
    return r;
  }

  private async fetchPipeline(source: RefSource, ns: string, name: string): Promise<Rec | undefined> {
    if (this.pipelines.has(name)) return rec(this.pipelines.get(name)?.body['spec']);
    const o = await source.pipeline(ns, name);
    this.pipelines.set(name, o ? { source: `Pipeline/${name}`, body: strip(o) } : undefined);
    if (!o) this.missingPipelines.push(name);
    return rec(o?.spec);
  }

  private async fetchTask(source: RefSource, ns: string, name: string): Promise<void> {
    if (this.tasks.has(name)) return;
    const o = await source.task(ns, name);
    this.tasks.set(name, o ? { source: `Task/${name}`, body: strip(o) } : undefined);
    if (!o) this.missingTasks.push(name);
  }

  /** The Task of that name, if it was fetched. */
  task(name: string): ResolvedDocument | undefined {
    return this.tasks.get(name);
  }

  /** The Pipeline of that name, if it was fetched. */
  pipeline(name: string): ResolvedDocument | undefined {
    return this.pipelines.get(name);
  }
}

/**
 * Documents as the API server returns them after Tekton's webhook: Go
 * serialization adds `null` fields and empty embedded metadata (an embedded
 * taskSpec gets `spec: null` and `metadata: {}`, which read as a custom task
 * and as unsupported metadata). JSON null never means anything in a Tekton
 * document, and empty metadata of an embedded spec says nothing: both go.
 */
export function dropNulls(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => dropNulls(x));
  if (typeof v !== 'object' || v === null) return v;
  const out: Rec = {};
  for (const [k, x] of Object.entries(v as Rec)) {
    if (x === null) continue;
    const embedded = key === 'taskSpec' || key === 'pipelineSpec';
    if (embedded && k === 'metadata' && typeof x === 'object' && Object.keys(x as Rec).length === 0) continue;
    out[k] = dropNulls(x, k);
  }
  return out;
}

/**
 * pipod's own annotations (`pipod.dev/sidecars`, `pipod.dev/task-sidecars`):
 * they carry what the API server drops from a spec, so they must reach the builder.
 */
function pipodAnnotations(a: unknown): Rec {
  const out: Rec = {};
  for (const [k, v] of Object.entries(rec(a) ?? {})) if (k.startsWith('pipod.dev/') && typeof v === 'string') out[k] = v;
  return Object.keys(out).length > 0 ? { annotations: out } : {};
}

/** Only the fields a Tekton document is allowed to have (the builder rejects unknown ones such as `status` or server metadata). */
function strip(o: KObject): Rec {
  const m = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion, kind: o.kind,
    metadata: { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), ...(m.labels ? { labels: m.labels } : {}), ...pipodAnnotations(m.annotations) },
    spec: dropNulls(o.spec ?? {}),
  };
}

/** The outcome of turning a run into a Pod. */
export type RunBuild =
  | { readonly kind: 'ok'; readonly plan: ExecutionPlan; readonly pod: Rec }
  | { readonly kind: 'failed'; readonly reason: string; readonly message: string };

/** Options for building a run's pod. */
export interface RunBuildOptions {
  readonly runtimeImage?: string;
  readonly imageMap?: Readonly<Record<string, string>>;
  /** Looks up image Entrypoint/Cmd for steps without a command (e.g. the registry); absent means such steps are errors. */
  readonly images?: (images: readonly string[]) => Promise<ReadonlyMap<string, ImageLookup>>;
  /** When the run (this attempt) started, RFC 3339: its timeouts count from it. */
  readonly startTime?: string;
}

/** The body of a PipelineRun as the builder reads it: only the fields Tekton allows in a document. */
function runDocument(run: Rec): Rec {
  const m = rec(run['metadata']) ?? {};
  const spec = { ...(rec(dropNulls(run['spec'])) ?? {}) };
  delete spec['managedBy'];
  delete spec['status'];
  return {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun',
    metadata: { name: m['name'], ...(m['namespace'] ? { namespace: m['namespace'] } : {}), ...pipodAnnotations(m['annotations']) },
    spec,
  };
}

/**
 * Builds the pod for `run` (a PipelineRun body; for a CustomRun, the one
 * `pipelineRunForCustomRun` makes) and stamps it as owned by `owner`.
 */
export async function buildRunPod(source: RefSource, owner: KObject, run: Rec, pod: string, opts: RunBuildOptions = {}): Promise<RunBuild> {
  const namespace = owner.metadata?.namespace ?? 'default';
  const resolver = await PrefetchedResolver.prefetch(source, namespace, run);
  if (resolver.missingPipelines.length > 0) {
    return { kind: 'failed', reason: 'CouldntGetPipeline', message: `Pipeline ${resolver.missingPipelines.map((n) => JSON.stringify(n)).join(', ')} not found in namespace ${namespace}` };
  }
  if (resolver.missingTasks.length > 0) {
    return { kind: 'failed', reason: 'CouldntGetTask', message: `Task ${resolver.missingTasks.map((n) => JSON.stringify(n)).join(', ')} not found in namespace ${namespace}` };
  }
  const doc = runDocument(run);
  const sources: SourceFile[] = [{ name: `${owner.kind ?? 'Run'}/${owner.metadata?.name ?? ''}`, text: JSON.stringify(doc) }];
  const base = {
    resolver, podName: pod, namespace, runName: owner.metadata?.name ?? '', ...(owner.metadata?.uid ? { uid: owner.metadata.uid } : {}),
    ...(opts.runtimeImage ? { runtimeImage: opts.runtimeImage } : {}), ...(opts.imageMap ? { imageMap: opts.imageMap } : {}),
    ...(opts.startTime ? { startTime: opts.startTime } : {}),
  };
  let imageConfigResolver;
  if (opts.images) {
    const wanted = imagesToResolve(sources, base);
    if (wanted.length > 0) {
      const found = await opts.images(wanted);
      const configs: Record<string, ImageConfig> = {};
      const failures: string[] = [];
      for (const image of wanted) {
        const l = found.get(image);
        if (l?.kind === 'found') configs[image] = { entrypoint: l.config.entrypoint, cmd: l.config.cmd };
        else failures.push(l?.message ?? `cannot resolve the entrypoint of image "${image}"`);
      }
      if (failures.length > 0) return { kind: 'failed', reason: 'ImageConfigUnavailable', message: failures.join('; ') };
      imageConfigResolver = mapImageConfigResolver(configs);
    }
  }
  const r = build(sources, { ...base, ...(imageConfigResolver ? { imageConfigResolver } : {}) });
  if (r.kind === 'invalid') {
    return { kind: 'failed', reason: 'PipelineValidationFailed', message: r.errors.map(formatError).join('; ') };
  }
  return { kind: 'ok', plan: r.plan, pod: stampPod(r.pod, r.plan, owner, pod) };
}

/** The task shapes TaskRuns need, by plan task name. */
export function taskShapes(plan: ExecutionPlan): Record<string, TaskShape> {
  const out: Record<string, TaskShape> = {};
  for (const t of [...plan.tasks, ...plan.finally]) {
    out[t.name] = {
      ...(t.taskRef ? { taskRef: t.taskRef } : {}),
      steps: t.steps.map((s) => ({ name: s.name, image: s.image })),
      results: t.results.map((x) => ({ name: x.name, type: x.type })),
      ...(t.metadata ? { metadata: t.metadata } : {}),
    };
  }
  return out;
}

function stampPod(pod: Rec, plan: ExecutionPlan, owner: KObject, name: string): Rec {
  const meta = rec(pod['metadata']) ?? {};
  const labels = { ...(rec(meta['labels']) ?? {}) } as Record<string, string>;
  labels[LABEL_MANAGED] = 'pipod';
  labels[LABEL_RUN_KIND] = owner.kind ?? '';
  labels[LABEL_RUN_NAME] = owner.metadata?.name ?? '';
  if (owner.metadata?.uid) labels[LABEL_RUN_UID] = owner.metadata.uid;
  if (owner.kind === 'CustomRun') labels['tekton.dev/customRun'] = owner.metadata?.name ?? '';
  const annotations = { ...(rec(meta['annotations']) ?? {}), [ANNOTATION_TASKS]: JSON.stringify(taskShapes(plan)) };
  return {
    ...pod,
    metadata: { ...meta, name, namespace: owner.metadata?.namespace, labels, annotations, ownerReferences: [ownerReference(owner)] },
  };
}

/** Image lookups against registries (anonymous; answers cached in memory) for steps that give no command. */
export function registryImages(): (images: readonly string[]) => Promise<ReadonlyMap<string, ImageLookup>> {
  const resolver = new ImageConfigResolver([new RegistrySource()]);
  return (images) => resolver.lookupAll(images);
}
