/**
 * Sidecars beyond a Task's own: pipeline-level sidecars (TEP-0130's proposal,
 * as `spec.sidecars` or the `pipod.dev/sidecars` annotation that a Tekton
 * install lets through), sidecars added to a task by the PipelineRun
 * (TEP-0126, `taskRunSpecs[].sidecars`), and the port rule for one pod.
 */
import { DEFAULT_SETTINGS } from '@pipod/plan';
import { parse } from 'yaml';
import { type DocSink, viaField, viaIndex } from './errors.ts';
import { isRecord } from './load.ts';
import { type ContainerSpec, type PipelineSpec, type SidecarSpecOverride, type TaskSpec, readSidecars } from './model.ts';
import type { Raw } from './read.ts';

/** The Pipeline annotation that carries pipeline-level sidecars (YAML or JSON list). */
export const SIDECARS_ANNOTATION = 'pipod.dev/sidecars';

/**
 * Pipeline sidecars from the annotation, checked as `spec.sidecars` would be;
 * undefined when the annotation is absent.
 */
export function sidecarsFromAnnotation(d: DocSink, annotations: Readonly<Record<string, string>>): ContainerSpec[] | undefined {
  const text = annotations[SIDECARS_ANNOTATION];
  if (text === undefined) return undefined;
  const path = `metadata.annotations[${SIDECARS_ANNOTATION}]`;
  let list: unknown;
  try {
    list = parse(text);
  } catch (e) {
    d.error(path, `not YAML or JSON: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e)}`);
    return [];
  }
  if (!Array.isArray(list)) {
    d.error(path, 'must be a list of sidecars');
    return [];
  }
  return readSidecars(d, { sidecars: list }, path);
}

/**
 * A task's sidecars with the run's added: one with the name of a task's
 * sidecar replaces it in place, the others are appended in order.
 */
export function withRunSidecars(spec: TaskSpec, extra: readonly ContainerSpec[]): TaskSpec {
  if (extra.length === 0) return spec;
  const out = [...spec.sidecars];
  for (const s of extra) {
    const i = out.findIndex((x) => x.name === s.name);
    if (i >= 0) out[i] = s;
    else out.push(s);
  }
  return { ...spec, sidecars: out };
}

/** One sidecar as the port check sees it. */
export interface SidecarPorts {
  readonly d: DocSink;
  /** Plan task name; undefined for a pipeline-level sidecar. */
  readonly task?: string;
  readonly phase: 'dag' | 'finally' | 'pipeline';
  readonly sidecar: string;
  readonly container: string;
  readonly path: string;
  readonly ports: unknown;
}

/** The tasks each task transitively depends on. */
function ancestors(deps: ReadonlyMap<string, readonly string[]>): Map<string, Set<string>> {
  const memo = new Map<string, Set<string>>();
  const visit = (t: string, stack: Set<string>): Set<string> => {
    const known = memo.get(t);
    if (known) return known;
    const out = new Set<string>();
    stack.add(t);
    for (const p of deps.get(t) ?? []) {
      if (stack.has(p)) continue; // cycles are reported elsewhere
      out.add(p);
      for (const a of visit(p, stack)) out.add(a);
    }
    stack.delete(t);
    memo.set(t, out);
    return out;
  };
  for (const t of deps.keys()) visit(t, new Set());
  return memo;
}

/**
 * One pod is one network namespace: two sidecars that can run at the same
 * time must not listen on the same port. They can when they belong to the
 * same task, to two tasks of one phase that no dependsOn chain orders, or
 * when one of them is pipeline-level. Each such pair is an error on the
 * later sidecar's port, naming both.
 */
export function checkSidecarPorts(entries: readonly SidecarPorts[], deps: ReadonlyMap<string, readonly string[]>): void {
  const anc = ancestors(deps);
  const overlap = (a: SidecarPorts, b: SidecarPorts): boolean => {
    if (a.phase === 'pipeline' || b.phase === 'pipeline') return true;
    if (a.phase !== b.phase) return false;
    if (a.task === b.task) return true;
    return !(anc.get(a.task ?? '')?.has(b.task ?? '') ?? false) && !(anc.get(b.task ?? '')?.has(a.task ?? '') ?? false);
  };
  const who = (e: SidecarPorts): string => (e.task === undefined ? `pipeline sidecar "${e.sidecar}"` : `sidecar "${e.sidecar}" of task "${e.task}"`);
  const seen: { e: SidecarPorts; port: string }[] = [];
  for (const e of entries) {
    if (!Array.isArray(e.ports)) continue;
    e.ports.forEach((p: unknown, i: number) => {
      if (!isRecord(p) || p['containerPort'] === undefined) return;
      const port = `${String(p['containerPort'])}/${typeof p['protocol'] === 'string' ? p['protocol'] : 'TCP'}`;
      const other = seen.find((s) => s.port === port && s.e !== e && overlap(s.e, e));
      if (other) {
        e.d.error(viaIndex(viaField(e.path, 'ports'), i), `port ${port} of ${who(e)} is also declared by ${who(other.e)}, which can run at the same time; the containers of one pod share one network namespace`);
      }
      seen.push({ e, port });
    });
  }
}

/** A Pipeline spec with the annotation's sidecars; both carriers at once is an error. */
export function withAnnotatedSidecars(d: DocSink, p: PipelineSpec, annotations: Readonly<Record<string, string>>): PipelineSpec {
  const annotated = sidecarsFromAnnotation(d, annotations);
  if (annotated === undefined) return p;
  if (p.sidecars.length > 0) d.error(`metadata.annotations[${SIDECARS_ANNOTATION}]`, `give pipeline sidecars either in spec.sidecars or in this annotation, not both`);
  return { ...p, sidecars: annotated };
}

/** The sidecars' SIGTERM-to-SIGKILL grace: the pod template's terminationGracePeriodSeconds, else the step grace. */
export function graceOf(podTemplate: Raw | undefined): number {
  const v = podTemplate?.['terminationGracePeriodSeconds'];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v * 1000 : DEFAULT_SETTINGS.stepGraceMs;
}

/** The PipelineRun annotation that carries TEP-0126 sidecars: a map of pipeline task name to sidecar list (YAML or JSON). */
export const TASK_SIDECARS_ANNOTATION = 'pipod.dev/task-sidecars';

/**
 * Run-added sidecars per pipeline task, from `taskRunSpecs[].sidecars` and the
 * `pipod.dev/task-sidecars` annotation (which a Tekton install lets through);
 * giving one task sidecars both ways is an error.
 */
export function runSidecars(d: DocSink, run: { readonly annotations: Readonly<Record<string, string>>; readonly taskRunSpecs: readonly { readonly pipelineTaskName: string; readonly sidecars: readonly ContainerSpec[] }[] } | undefined): Map<string, readonly ContainerSpec[]> {
  const out = new Map<string, readonly ContainerSpec[]>();
  for (const s of run?.taskRunSpecs ?? []) if (s.sidecars.length > 0) out.set(s.pipelineTaskName, s.sidecars);
  const text = run?.annotations[TASK_SIDECARS_ANNOTATION];
  if (text === undefined) return out;
  const path = `metadata.annotations[${TASK_SIDECARS_ANNOTATION}]`;
  let map: unknown;
  try {
    map = parse(text);
  } catch (e) {
    d.error(path, `not YAML or JSON: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e)}`);
    return out;
  }
  if (!isRecord(map)) {
    d.error(path, 'must map pipeline task names to lists of sidecars');
    return out;
  }
  for (const [task, list] of Object.entries(map)) {
    const tp = `${path}[${task}]`;
    if (!Array.isArray(list)) { d.error(tp, 'must be a list of sidecars'); continue; }
    if (out.has(task)) { d.error(tp, `task "${task}" already gets sidecars from spec.taskRunSpecs; give them one way`); continue; }
    out.set(task, readSidecars(d, { sidecars: list }, tp));
  }
  return out;
}

/**
 * `taskRunSpecs[].sidecarSpecs`: each names a sidecar of the task (its own or
 * one the run added) and replaces its computeResources, as Tekton does.
 */
export function withSidecarSpecs(d: DocSink, spec: TaskSpec, overrides: readonly SidecarSpecOverride[], task: string): TaskSpec {
  if (overrides.length === 0) return spec;
  const sidecars = [...spec.sidecars];
  for (const o of overrides) {
    const i = sidecars.findIndex((s) => s.name === o.name);
    const s = sidecars[i];
    if (s === undefined) {
      d.error(viaField(o.path, 'name'), `task "${task}" has no sidecar "${o.name}"`);
      continue;
    }
    const { computeResources: _old, ...rest } = s;
    sidecars[i] = { ...rest, ...(o.computeResources ? { computeResources: o.computeResources } : {}) };
  }
  return { ...spec, sidecars };
}
