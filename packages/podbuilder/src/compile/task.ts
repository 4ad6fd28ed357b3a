/**
 * One plan task: the pipeline task's params and `when` in the pipeline
 * scope, the Task's params, workspaces and scope, its volumes and mounts,
 * and its steps and sidecars through `compileContainer`.
 */
import {
  RUNTIME_VOLUME, TEKTON_HOME_DIR, TEKTON_RESULTS_DIR, TEKTON_STEPS_DIR, type ParamValue, type PlanResultDecl, type PlanStep, type PlanTask, type PlanWhen, dnsLabel, normalizeRef, parseRef, podLayout, shortHash, singleRef, stepReadsStepResults,
} from '@pipod/plan';
import { type DocSink, type Sink, viaField } from '../errors.ts';
import type { ContainerSpec, EnvVar, ParamSpec, PipelineSpec, PipelineTaskSpec, SidecarSpecOverride, TaskRunSpecs, TaskSpec, TemplateParts, VolumeSpec } from '../model.ts';
import type { BuildOptions } from '../options.ts';
import { type Raw, typeOf } from '../read.ts';
import { withRunSidecars, withSidecarSpecs } from '../sidecars.ts';
import { type ContainerPlace, type Names, type PodContainers, compileContainer, planSidecar, runVolumeMounts } from './container.ts';
import { type Identity, type WsBinding, taskParams, taskWorkspaces, uuidFrom } from './inputs.ts';
import { type Scope, type TaskWs, subst, taskScopes } from './scope.ts';
import { type Resolved, type Root, list } from './types.ts';

/** Tekton's shared scratch directory of a task's steps. */
const WORKSPACE_DIR = '/workspace';

/** What every task of the run shares. */
export interface RunContext {
  readonly sink: Sink;
  readonly options: BuildOptions;
  readonly pd: DocSink;
  readonly rd: DocSink;
  readonly root: Root;
  readonly pipeline: PipelineSpec;
  readonly identity: Identity;
  readonly pparams: ReadonlyMap<string, ParamValue>;
  readonly pipelineContext: ReadonlyMap<string, ParamValue>;
  readonly pipelineScopeFor: (pt?: PipelineTaskSpec) => Scope;
  readonly byName: ReadonlyMap<string, Resolved>;
  readonly pws: ReadonlyMap<string, unknown>;
  readonly wsBind: ReadonlyMap<string, WsBinding>;
  /** Pipeline workspaces some task mounts (only those become pod volumes). */
  readonly usedWorkspaces: Set<string>;
  readonly volumes: Raw[];
  readonly pod: PodContainers;
  readonly ids: Names;
  readonly addedSidecars: ReadonlyMap<string, readonly ContainerSpec[]>;
  readonly sidecarGraceMs: number;
  /** The plan task names a pipeline task's dependencies stand for. */
  readonly dependsOn: (pt: PipelineTaskSpec) => string[];
}

/** One matrix combination of a pipeline task. */
export interface Instance {
  readonly name: string;
  readonly combo: ReadonlyMap<string, string>;
  /** The task is known to be skipped: it gets no containers. */
  readonly skip?: PlanTask['skip'];
}

/** Compiles one pipeline task (or one matrix instance of it); undefined when its Task could not be resolved. */
export function compileTask(ctx: RunContext, r: Resolved, inst?: Instance): PlanTask | undefined {
  const { pd, rd, root, pipeline } = ctx;
  const run = root.run;
  const { pt } = r;
  const trs = run?.taskRunSpecs.find((x) => x.pipelineTaskName === pt.name);
  // The pod template's env and volumes are per container: the run's, with this task's taskRunSpecs entry winning by name (Tekton's merge).
  const template = templateFor(run?.template, trs?.template);
  const spec = r.spec
    ? withTemplateEnv(withTaskComputeResources(rd, withStepSpecs(rd, withSidecarSpecs(rd, withRunSidecars(r.spec, ctx.addedSidecars.get(pt.name) ?? []), trs?.sidecarSpecs ?? [], pt.name), trs?.stepSpecs ?? [], pt.name), trs), template.env)
    : undefined;
  const name = inst?.name ?? pt.name;
  const id = ctx.ids.take([name]);
  // pipeline-scope substitution of what the pipeline task says
  const pipelineScope = ctx.pipelineScopeFor(pt);
  const given = new Map<string, ParamValue>();
  const givenPath = new Map<string, string>();
  for (const p of pt.params) {
    if (p.value === undefined) continue;
    given.set(p.name, subst.value(pd, pipelineScope, p.value, viaField(p.path, 'value')));
    givenPath.set(p.name, viaField(p.path, 'value'));
  }
  for (const [k, v] of inst?.combo ?? []) {
    given.set(k, v);
    givenPath.set(k, viaField(pt.path, 'matrix'));
  }
  const when: PlanWhen[] = pt.when.map((w) => ({
    input: subst.text(pd, pipelineScope, w.input, viaField(w.path, 'input')),
    operator: w.operator,
    values: subst.args(pd, pipelineScope, w.values, viaField(w.path, 'values')),
  }));
  if (!spec) return undefined;
  if (inst?.skip !== undefined) {
    return {
      name, id, dependsOn: ctx.dependsOn(pt), when, ...(pt.finallyOf !== undefined ? { finallyOf: pt.finallyOf } : {}), retries: pt.retries,
      skip: inst.skip, onError: pt.onError, params: {}, results: spec.results.map((x) => ({ name: x.name, type: x.type })), steps: [], sidecars: [],
    };
  }
  const td = ctx.sink.at(spec.source);
  const resolved: Resolved = { ...r, spec };
  const tparams = taskParams(pd, resolved, given, givenPath, ctx.byName, root.synthesized === true);
  const tws = taskWorkspaces(pd, resolved, pipelineScope, ctx.pws, ctx.wsBind, ctx.usedWorkspaces);

  // task scope
  const { runName, namespace, uid } = ctx.identity;
  const taskRunName = root.taskRunName ?? `${runName}-${name}`;
  const context = new Map<string, ParamValue>([
    ...ctx.pipelineContext,
    ['context.taskRun.name', taskRunName], ['context.taskRun.namespace', namespace],
    ['context.taskRun.uid', uuidFrom(shortHash(`${uid}/${taskRunName}`, 32))],
    // Tekton names an embedded taskSpec after its TaskRun (the TaskRun's metadata stands in for the Task's).
    ['context.task.name', r.embedded ? taskRunName : r.taskName], ['context.pipelineTask.retries', String(pt.retries)],
  ]);
  const { propagated, propagatedSpecs } = r.embedded ? propagatedParams(pipeline.params, ctx.pparams, spec.params, given, givenPath) : { propagated: new Map<string, ParamValue>(), propagatedSpecs: [] };
  const scopes = taskScopes({
    params: tparams, paramSpecs: spec.params, propagated, propagatedSpecs,
    context, workspaces: tws, results: spec.results, stepNames: spec.steps.map((s) => s.name),
  });

  const volNames = taskVolumes(ctx, td, spec, id, scopes.forStep(), template.volumes);
  const mounts = taskMounts(td, spec, id, tws, volNames, scopes.forStep);
  const place = (c: ContainerSpec): ContainerPlace => ({ d: td, scope: scopes.forStep(c), nameParts: [id, c.name], task: name, owner: `pipeline task "${pt.name}"`, mounts });

  const steps: PlanStep[] = spec.steps.map((s) => {
    const c = compileContainer(ctx.pod, ctx.options, s, place(s));
    const step: PlanStep = {
      name: s.name, container: c.name, image: c.image, command: c.command, args: c.args, ...(c.script !== undefined ? { script: c.script } : {}),
      env: c.env, ...(c.workingDir !== undefined ? { workingDir: c.workingDir } : {}), onError: s.onError ?? 'stopAndFail',
      ...(s.timeoutMs !== undefined && s.timeoutMs > 0 ? { timeoutMs: s.timeoutMs } : {}),
      results: s.results.map((x): PlanResultDecl => ({ name: x.name, type: x.type })),
      ...(s.when !== undefined && s.when.length > 0 ? {
        when: s.when.map((w): PlanWhen => ({
          input: subst.text(td, scopes.forStep(s), w.input, viaField(w.path, 'input')), operator: w.operator,
          values: subst.args(td, scopes.forStep(s), w.values, viaField(w.path, 'values')),
        })),
      } : {}),
    };
    return stepReadsStepResults(step) ? { ...step, readsStepResults: true } : step;
  });
  const sidecars = spec.sidecars.map((s) => {
    const c = compileContainer(ctx.pod, ctx.options, s, place(s));
    if (s.ports !== undefined) ctx.pod.sidecarPorts.push({ d: ctx.sink.at(s.path.startsWith('spec.taskRunSpecs') || s.path.startsWith('metadata.annotations') ? run?.source ?? spec.source : spec.source), task: name, phase: pt.isFinally ? 'finally' : 'dag', sidecar: s.name, container: c.name, path: s.path, ports: s.ports });
    return planSidecar(s, c, ctx.sidecarGraceMs);
  });
  // taskRunSpecs[].timeout replaces the pipeline task's own, as Tekton's TaskRun timeout.
  const timeoutMs = trs?.timeoutMs ?? pt.timeoutMs;
  const planParams: Record<string, ParamValue> = {};
  for (const [k, v] of tparams) planParams[k] = v;
  return {
    name, id, ...(pt.displayName !== undefined ? { displayName: pt.displayName } : spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
    ...(pt.taskRef ? { taskRef: pt.taskRef.name } : {}),
    dependsOn: ctx.dependsOn(pt), when, ...(pt.finallyOf !== undefined ? { finallyOf: pt.finallyOf } : {}), retries: pt.retries,
    ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
    onError: pt.onError, params: planParams,
    results: taskResultDecls(td, spec), steps, sidecars,
    ...taskRunMetadata(pt, trs),
  };
}

/** The task's results; one with a `value` names the step result it takes, checked against the task's steps. */
function taskResultDecls(td: DocSink, spec: TaskSpec): PlanResultDecl[] {
  return spec.results.map((x): PlanResultDecl => {
    if (x.value === undefined) return { name: x.name, type: x.type };
    const inner = singleRef(x.value);
    const r = inner !== undefined ? parseRef(normalizeRef(inner)) : undefined;
    const at = viaField(x.path, 'value');
    if (r?.kind !== 'stepResult' || r.selector !== undefined || r.result === '') {
      td.error(at, `a task result's value must be one whole step result, $(steps.<step>.results.<result>), not "${x.value}"`);
      return { name: x.name, type: x.type };
    }
    const step = spec.steps.find((s) => s.name === r.step);
    if (step === undefined) td.error(at, `unknown step "${r.step}" (the task has ${list(spec.steps.map((s) => s.name))})`);
    else if (!step.results.some((y) => y.name === r.result)) td.error(at, `step "${r.step}" declares no result "${r.result}"`);
    return { name: x.name, type: x.type, fromStep: { step: r.step, result: r.result } };
  });
}

/**
 * What an embedded taskSpec sees without declaring it (Tekton's propagated
 * params): the pipeline's params, then its pipeline task's params on top (the
 * TaskRun's params propagate too); an object given by both is merged key by
 * key, the pipeline task's keys winning, as Tekton's replacements merge.
 */
function propagatedParams(
  pipelineSpecs: readonly ParamSpec[], pipelineValues: ReadonlyMap<string, ParamValue>, declared: readonly ParamSpec[],
  given: ReadonlyMap<string, ParamValue>, givenPath: ReadonlyMap<string, string>,
): { propagated: Map<string, ParamValue>; propagatedSpecs: ParamSpec[] } {
  const isDeclared = (n: string): boolean => declared.some((p) => p.name === n);
  const propagated = new Map<string, ParamValue>();
  const specs = new Map<string, ParamSpec>();
  for (const p of pipelineSpecs) {
    if (isDeclared(p.name)) continue;
    specs.set(p.name, p);
    const v = pipelineValues.get(p.name);
    if (v !== undefined) propagated.set(p.name, v);
  }
  const isObject = (v: ParamValue | undefined): v is Readonly<Record<string, string>> => v !== undefined && typeof v === 'object' && !Array.isArray(v);
  for (const [k, v] of given) {
    if (isDeclared(k)) continue;
    const prev = propagated.get(k);
    const value = isObject(prev) && isObject(v) ? { ...prev, ...v } : v;
    propagated.set(k, value);
    specs.set(k, { name: k, type: typeOf(value), path: givenPath.get(k) ?? '' });
  }
  return { propagated, propagatedSpecs: [...specs.values()] };
}

/** What Tekton puts on this task's TaskRun from `taskSpec.metadata` and `taskRunSpecs[].metadata` (the latter wins by key). */
function taskRunMetadata(pt: PipelineTaskSpec, trs: TaskRunSpecs | undefined): Pick<PlanTask, 'metadata'> {
  const labels = { ...(pt.metadata?.labels ?? {}), ...(trs?.metadata?.labels ?? {}) };
  const annotations = { ...(pt.metadata?.annotations ?? {}), ...(trs?.metadata?.annotations ?? {}) };
  const has = (o: object): boolean => Object.keys(o).length > 0;
  if (!has(labels) && !has(annotations)) return {};
  return { metadata: { ...(has(labels) ? { labels } : {}), ...(has(annotations) ? { annotations } : {}) } };
}

/**
 * The task's volumes, renamed per task so two tasks' volumes never collide,
 * and the pod template's, which its containers mount by name as in Tekton
 * (one pod volume per template volume); returns the renames.
 */
function taskVolumes(ctx: RunContext, td: DocSink, spec: TaskSpec, id: string, scope: Scope, template: readonly TemplateVolume[]): Map<string, string> {
  const volNames = new Map<string, string>();
  for (const v of spec.volumes) {
    const name = dnsLabel([id, v.name]);
    volNames.set(v.name, name);
    const sv = subst.raw(td, scope, v.raw, v.path) as Record<string, unknown>;
    ctx.volumes.push({ ...sv, name });
  }
  for (const { volume: v, task } of template) {
    if (volNames.has(v.name)) {
      td.error(viaField(spec.volumes.find((x) => x.name === v.name)?.path ?? spec.path, 'name'), `volume "${v.name}" is also in the pod template (${v.path}): a pod cannot have two volumes of one name (Tekton refuses it too)`);
      continue;
    }
    const name = dnsLabel(task ? ['podtemplate', id, v.name] : ['podtemplate', v.name]);
    volNames.set(v.name, name);
    if (!ctx.volumes.some((x) => x['name'] === name)) ctx.volumes.push({ ...v.raw, name });
  }
  return volNames;
}

/** A pod template volume, and whether it is a task's own (`taskRunSpecs[].podTemplate`) rather than the run's. */
interface TemplateVolume {
  readonly volume: VolumeSpec;
  readonly task: boolean;
}

/** The env and volumes of the run's pod template, overridden by name by the task's (Tekton's MergePodTemplateWithDefault). */
function templateFor(run: TemplateParts | undefined, task: TemplateParts | undefined): { env: readonly EnvVar[]; volumes: readonly TemplateVolume[] } {
  const env = [...(run?.env ?? []).filter((e) => !task?.env.some((x) => x.name === e.name)), ...(task?.env ?? [])];
  const volumes = [
    ...(run?.volumes ?? []).filter((v) => !task?.volumes.some((x) => x.name === v.name)).map((volume) => ({ volume, task: false })),
    ...(task?.volumes ?? []).map((volume) => ({ volume, task: true })),
  ];
  return { env, volumes };
}

/** Pod template env goes into every step and takes precedence over the step's own and its stepTemplate's (Tekton appends it last). */
function withTemplateEnv(spec: TaskSpec, env: readonly EnvVar[]): TaskSpec {
  if (env.length === 0) return spec;
  const names = new Set(env.map((e) => e.name));
  return { ...spec, steps: spec.steps.map((s) => ({ ...s, env: [...s.env.filter((e) => !names.has(e.name)), ...env] })) };
}

/** The mounts of each container of a task: its part of the pipod volume, its results, its workspaces, its volumes. */
function taskMounts(td: DocSink, spec: TaskSpec, id: string, tws: ReadonlyMap<string, TaskWs>, volNames: ReadonlyMap<string, string>, scopeOf: (c: ContainerSpec) => Scope): (c: ContainerSpec, container: string) => Raw[] {
  // A workspace that some step or sidecar names is isolated: only those containers mount it.
  const isolated = new Set<string>();
  for (const c of [...spec.steps, ...spec.sidecars]) {
    for (const w of c.workspaces ?? []) {
      if (!tws.has(w.name)) td.error(viaField(w.path, 'name'), `undeclared workspace "${w.name}" (the task declares ${list([...tws.keys()])})`);
      isolated.add(w.name);
    }
  }
  // Steps are compiled in order, so the last step seen is the one before this one (an armed start reads its outbox).
  let previous: string | undefined;
  return (step, container) => {
    const mounts: Raw[] = runVolumeMounts({ container, kind: step.kind, taskId: id, ...(previous !== undefined ? { previous } : {}) });
    if (step.kind === 'step') {
      previous = container;
      mounts.push({ name: RUNTIME_VOLUME, mountPath: TEKTON_RESULTS_DIR, subPath: podLayout.subPathOf(podLayout.taskResultsDir(id)) });
    }
    const ownEnd = mounts.length;
    for (const [n, w] of tws) {
      if (!w.bound || w.volume === undefined) continue;
      const own = step.workspaces?.find((x) => x.name === n);
      if (isolated.has(n) && !own) continue;
      mounts.push({ name: w.volume, mountPath: own?.mountPath ?? w.mountPath, ...(w.subPath !== undefined ? { subPath: w.subPath } : {}), ...(w.readOnly ? { readOnly: true } : {}) });
    }
    for (const m of step.volumeMounts) {
      const sm = subst.raw(td, scopeOf(step), m.raw, m.path) as Record<string, unknown>;
      const name = typeof sm['name'] === 'string' ? sm['name'] : m.name;
      const vn = volNames.get(name);
      if (vn !== undefined) { mounts.push({ ...sm, name: vn }); continue; }
      // `name: $(workspaces.<w>.volume)` mounts a workspace's volume (Tekton's way to share one with a sidecar).
      const ws = [...tws.values()].find((w) => w.bound && w.volume !== undefined && w.volume === name);
      if (ws === undefined) { td.error(viaField(m.path, 'name'), `volume "${m.name}" is not declared in the task's volumes`); continue; }
      const subPath = [ws.subPath, typeof sm['subPath'] === 'string' ? sm['subPath'] : undefined].filter((x): x is string => x !== undefined && x !== '').join('/');
      const same = mounts.some((x) => x['name'] === name && x['mountPath'] === sm['mountPath'] && (x['subPath'] ?? '') === subPath);
      if (!same) mounts.push({ ...sm, name, ...(subPath !== '' ? { subPath } : {}) });
    }
    // Tekton gives the steps of a task a shared /workspace and /tekton/home; here
    // each step is its own container, so the task's directories of the pipod volume stand in.
    if (step.kind === 'step') {
      const has = (p: string): boolean => mounts.some((m) => String(m['mountPath']).replace(/\/+$/, '') === p);
      if (!has(WORKSPACE_DIR)) mounts.splice(ownEnd, 0, { name: RUNTIME_VOLUME, mountPath: WORKSPACE_DIR, subPath: podLayout.subPathOf(podLayout.taskWorkspaceDir(id)) });
      if (!has(TEKTON_HOME_DIR)) mounts.push({ name: RUNTIME_VOLUME, mountPath: TEKTON_HOME_DIR, subPath: podLayout.subPathOf(podLayout.taskHomeDir(id)) });
      mounts.push({ name: RUNTIME_VOLUME, mountPath: TEKTON_STEPS_DIR, subPath: podLayout.subPathOf(podLayout.stepsDir(id)) });
    }
    const seen = new Set<string>();
    for (const m of mounts) {
      const mp = String(m['mountPath']).replace(/\/+$/, '');
      if (seen.has(mp)) td.error(step.path, `two mounts at ${mp} in ${step.kind} "${step.name}" (workspaces, volumeMounts and ${TEKTON_RESULTS_DIR} must not overlap)`);
      seen.add(mp);
    }
    return mounts;
  };
}

/**
 * Task-level `computeResources` (taskRunSpecs or a TaskRun): Tekton splits the
 * requests evenly over the steps because its pod sums them; steps run one at a
 * time and pipod requests the peak, so each step gets the whole task-level
 * requests and limits and the task demands exactly what was asked.
 */
function withTaskComputeResources(d: DocSink, spec: TaskSpec, trs: TaskRunSpecs | undefined): TaskSpec {
  const cr = trs?.computeResources;
  if (cr === undefined) return spec;
  if (trs !== undefined && trs.stepSpecs.length > 0) {
    d.error(viaField(trs.path, 'computeResources'), 'set either task-level computeResources or stepSpecs, not both (as Tekton)');
    return spec;
  }
  return { ...spec, steps: spec.steps.map((s) => ({ ...s, computeResources: cr })) };
}

/** `taskRunSpecs[].stepSpecs`: each names a step of the task and replaces its computeResources, as Tekton does. */
function withStepSpecs(d: DocSink, spec: TaskSpec, overrides: readonly SidecarSpecOverride[], task: string): TaskSpec {
  if (overrides.length === 0) return spec;
  const steps = [...spec.steps];
  for (const o of overrides) {
    const i = steps.findIndex((s) => s.name === o.name);
    const s = steps[i];
    if (s === undefined) {
      d.error(viaField(o.path, 'name'), `task "${task}" has no step "${o.name}"`);
      continue;
    }
    const { computeResources: _old, ...rest } = s;
    steps[i] = { ...rest, ...(o.computeResources ? { computeResources: o.computeResources } : {}) };
  }
  return { ...spec, steps };
}
