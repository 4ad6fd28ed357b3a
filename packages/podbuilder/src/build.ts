/** The builder's entry points: `build`, `validate` and `imagesToResolve`. */
import type { ExecutionPlan } from '@pipod/plan';
import { compile } from './compile.ts';
import { type FieldError, Sink } from './errors.ts';
import { type SourceFile, loadDocuments } from './load.ts';
import { type KubeObject, kubeObjects } from './objects.ts';
import { type BuildOptions, DEFAULT_RUNTIME_IMAGE, type ImageConfig } from './options.ts';
import { writePod } from './pod.ts';
import { ResourceError, planPeakRequests, type ResourceExplanation } from './resources.ts';
import type { Raw } from './read.ts';

/**
 * Outcome of a build: a plan and a Pod, or every error found. `objects` are
 * the ConfigMaps, Secrets and ServiceAccounts of the input, for the runtime to
 * create with the run (the builder does no I/O).
 */
export type BuildResult =
  | {
    readonly kind: 'ok'; readonly plan: ExecutionPlan; readonly pod: Raw; readonly objects: readonly KubeObject[];
    readonly resources: ResourceExplanation; readonly warnings: readonly FieldError[];
  }
  | { readonly kind: 'invalid'; readonly errors: readonly FieldError[]; readonly warnings: readonly FieldError[] };

/** Builds the ExecutionPlan and the Pod for Tekton YAML sources. Pure and deterministic. */
export function build(sources: readonly SourceFile[], options: BuildOptions = {}): BuildResult {
  const sink = new Sink();
  const loaded = loadDocuments(sources);
  for (const e of loaded.errors) sink.error(e.source, e.path, e.message);
  const compiled = compile(loaded.documents, options, sink);
  const objects = kubeObjects(loaded.documents, compiled?.plan.run.namespace ?? options.namespace ?? 'default', sink);
  if (!compiled || sink.errors.length > 0) return { kind: 'invalid', errors: sink.errors, warnings: sink.warnings };
  const written = writePod(compiled.plan, compiled.pod, options.runtimeImage ?? DEFAULT_RUNTIME_IMAGE);
  const peak = peakRequests(written, compiled.plan, options, sink);
  if (peak === undefined) return { kind: 'invalid', errors: sink.errors, warnings: sink.warnings };
  checkLimits(peak.pod, sink);
  if (sink.errors.length > 0) return { kind: 'invalid', errors: sink.errors, warnings: sink.warnings };
  return { kind: 'ok', plan: compiled.plan, pod: peak.pod, objects, resources: peak.explanation, warnings: sink.warnings };
}

/**
 * The PipelineRuns and TaskRuns of the input, in order (`Kind/name`): Tekton
 * runs every one of them, so callers build each with its `runIndex`.
 */
export function runsOf(sources: readonly SourceFile[]): string[] {
  return loadDocuments(sources).documents.filter((d) => d.kind === 'PipelineRun' || d.kind === 'TaskRun').map((d) => d.source);
}

/**
 * Rewrites container requests so the pod asks for its peak concurrent demand
 * instead of the sum; quantities Kubernetes would reject become errors.
 */
function peakRequests(pod: Raw, plan: ExecutionPlan, options: BuildOptions, sink: Sink): { pod: Raw; explanation: ResourceExplanation } | undefined {
  try {
    return planPeakRequests(pod, plan, options.podResources);
  } catch (e) {
    if (!(e instanceof ResourceError)) throw e;
    const name = (pod['metadata'] as { name?: string } | undefined)?.name ?? '';
    for (const p of e.problems) sink.error(`Pod/${name}`, p.path, p.message);
    return undefined;
  }
}

/** Kubernetes caps a Pod's annotations at 256 KiB in total. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;
/** Linux caps the environment plus arguments of one exec (ARG_MAX, commonly 2 MiB); keep the plan well inside it. */
export const MAX_PLAN_ENV_BYTES = 1024 * 1024;

/** Limits of one Pod that only the finished Pod shows: annotation size and the plan carried in env. */
function checkLimits(pod: Raw, sink: Sink): void {
  const meta = pod['metadata'] as { name?: string; annotations?: Record<string, string> } | undefined;
  const source = `Pod/${meta?.name ?? ''}`;
  const ann = Object.entries(meta?.annotations ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (ann > MAX_ANNOTATIONS_BYTES) sink.error(source, 'metadata.annotations', `annotations take ${ann} bytes; Kubernetes allows ${MAX_ANNOTATIONS_BYTES} (too many containers for one pod's task map)`);
  const spec = pod['spec'] as { initContainers?: { env?: { value?: string }[] }[] } | undefined;
  const env = (spec?.initContainers?.[0]?.env ?? []).reduce((n, e) => n + (e.value?.length ?? 0), 0);
  if (env > MAX_PLAN_ENV_BYTES) sink.error(source, 'spec.initContainers[0].env', `the encoded plan takes ${env} bytes; more than ${MAX_PLAN_ENV_BYTES} cannot be passed to one process`);
  const size = JSON.stringify(pod).length;
  if (size > MAX_OBJECT_BYTES) sink.warn(source, '', `the Pod is ${size} bytes of JSON; a cluster whose etcd keeps the default 1.5 MiB request limit will refuse it (podman does not mind)`);
}

/** etcd's default request size limit, which caps one Kubernetes object. */
export const MAX_OBJECT_BYTES = 1536 * 1024;

/**
 * One build per run of the input, in order (a single build when it holds one
 * run or none): Tekton runs every PipelineRun and TaskRun of a file.
 */
export function buildEach(sources: readonly SourceFile[], options: BuildOptions = {}): BuildResult[] {
  const runs = options.runIndex === undefined ? runsOf(sources).length : 0;
  if (runs <= 1) return [build(sources, options)];
  return Array.from({ length: runs }, (_, i) => build(sources, { ...options, runIndex: i }));
}

/** Every error of the input (empty when it builds), each once; with several runs, those of each run. */
export function validate(sources: readonly SourceFile[], options: BuildOptions = {}): readonly FieldError[] {
  return uniqueErrors(buildEach(sources, options).flatMap((r) => (r.kind === 'ok' ? [] : r.errors)));
}

/** The problems in order, each once (builds of several runs of one input report a shared Task's errors each). */
export function uniqueErrors(errors: readonly FieldError[]): FieldError[] {
  const seen = new Map<string, FieldError>();
  for (const e of errors) seen.set(`${e.source}\u0000${e.path}\u0000${e.message}`, e);
  return [...seen.values()];
}

/**
 * The images whose Entrypoint/Cmd the build needs (steps and sidecars with
 * neither command nor script), so an async caller can look them up first.
 */
export function imagesToResolve(sources: readonly SourceFile[], options: BuildOptions = {}): string[] {
  const wanted = new Set<string>();
  const probe = {
    resolve(image: string): ImageConfig {
      wanted.add(image);
      return { entrypoint: ['/bin/true'], cmd: [] };
    },
  };
  buildEach(sources, { ...options, imageConfigResolver: probe });
  return [...wanted].sort();
}
