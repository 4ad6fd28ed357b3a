/** Readers of whole specs: Task, pipeline task, Pipeline, PipelineRun and TaskRun. */
import { type ValueType, parseRef, singleRef } from '@pipod/plan';
import { type DocSink, viaField, viaIndex } from '../errors.ts';
import { type Fields, type Raw, bool, checkFields, checkLabel, checkResultName, checkUnique, computeResources, int, obj, objList, paramValue, str, strList, typeOf } from '../read.ts';
import { TASK_SPEC, TASK_WORKSPACE, TASK_RESULT, TEMPLATE, PIPELINE_SPEC, PIPELINE_TASK, TASK_REF, EMBEDDED_TASK, MATRIX, MATRIX_INCLUDE, PT_WORKSPACE, PIPELINE_WORKSPACE, PIPELINE_RESULT, PIPELINE_RUN_SPEC, TASK_RUN_SPEC, PIPELINE_REF, COMPUTE_RESOURCES, TIMEOUTS, TASK_RUN_TEMPLATE, TASK_RUN_SPECS, POD_TEMPLATE, RUN_WORKSPACE, TASK_METADATA } from './fields.ts';
import type { TaskWorkspaceSpec, VolumeSpec, TaskSpec, NamedRef, TaskWorkspaceBinding, MatrixInclude, MatrixSpec, PipelineTaskSpec, PipelineWorkspaceSpec, PipelineResultSpec, PipelineSpec, Binding, RunWorkspace, RunSpec, TaskRunSpecs, TaskMetadata, TemplateParts } from './types.ts';
import { readWhen, readMetadata, readParamSpecs, readParams, readResults, readDurationMs, readContainerBase, readContainers, readSidecars, readSidecarSpecs, readEnv, stringMap } from './read-common.ts';

/** Reads a TaskSpec at `path` of a document (`spec`, `spec.taskSpec`, `spec.tasks[0].taskSpec`). */
export function readTaskSpec(d: DocSink, spec: Raw, path: string, fields: Fields = TASK_SPEC): TaskSpec {
  checkFields(d, spec, path, fields);
  const params = readParamSpecs(d, spec, path);
  const workspaces: TaskWorkspaceSpec[] = objList(d, spec, 'workspaces', path).map(({ value: w, path: wp }) => {
    checkFields(d, w, wp, TASK_WORKSPACE);
    const name = str(d, w, 'name', wp, true) ?? '';
    const mountPath = str(d, w, 'mountPath', wp);
    return { name, ...(mountPath !== undefined ? { mountPath } : {}), readOnly: bool(d, w, 'readOnly', wp) ?? false, optional: bool(d, w, 'optional', wp) ?? false, path: wp };
  });
  checkUnique(d, workspaces, 'workspace');
  const results = readResults(d, spec, path, TASK_RESULT);
  const tmpl = obj(d, spec, 'stepTemplate', path);
  const tp = viaField(path, 'stepTemplate');
  if (tmpl) checkFields(d, tmpl, tp, TEMPLATE);
  const template = tmpl ? { base: readContainerBase(d, tmpl, tp), path: tp } : undefined;
  const steps = readContainers(d, spec, path, 'step', template);
  if (steps.length === 0 && spec['steps'] !== undefined) d.error(viaField(path, 'steps'), 'a task needs at least one step');
  if (spec['steps'] === undefined || spec['steps'] === null) d.error(viaField(path, 'steps'), 'required field is missing');
  checkUnique(d, steps, 'step');
  const sidecars = readContainers(d, spec, path, 'sidecar', undefined);
  checkUnique(d, sidecars, 'sidecar');
  const volumes = readVolumes(d, spec, path);
  const displayName = str(d, spec, 'displayName', path);
  return { source: d.source, path, ...(displayName !== undefined ? { displayName } : {}), params, workspaces, results, steps, sidecars, volumes };
}

/** Reads a `volumes` list (a Task's, a pod template's): each a name and exactly one source. */
function readVolumes(d: DocSink, o: Raw, path: string): VolumeSpec[] {
  const volumes: VolumeSpec[] = objList(d, o, 'volumes', path).map(({ value: v, path: vp }) => {
    const name = str(d, v, 'name', vp, true) ?? '';
    if (name !== '') checkLabel(d, name, viaField(vp, 'name'));
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    if (kinds.length !== 1) d.error(vp, 'a volume needs exactly one source (emptyDir, configMap, secret, persistentVolumeClaim, …)');
    return { name, raw: v, path: vp };
  });
  checkUnique(d, volumes, 'volume');
  return volumes;
}

/**
 * Reads a pod template at `o[key]`: the pod-wide fields stay a raw template
 * (merged into the one pod), `env` and `volumes` are per container and read here.
 */
function readPodTemplate(d: DocSink, o: Raw, key: string, path: string): { podTemplate?: Raw; template?: TemplateParts } {
  const pt = obj(d, o, key, path);
  if (!pt) return {};
  const p = viaField(path, key);
  checkFields(d, pt, p, POD_TEMPLATE);
  const { env: _env, volumes: _volumes, ...rest } = pt;
  const env = readEnv(d, pt, p);
  const volumes = readVolumes(d, pt, p);
  return {
    ...(Object.keys(rest).length > 0 ? { podTemplate: rest } : {}),
    ...(env.length > 0 || volumes.length > 0 ? { template: { env, volumes, path: p } } : {}),
  };
}

/** Reads `metadata` of an embedded taskSpec or a taskRunSpecs entry: labels and annotations. */
function readTaskMetadata(d: DocSink, o: Raw, path: string): TaskMetadata | undefined {
  const m = obj(d, o, 'metadata', path);
  if (!m) return undefined;
  const p = viaField(path, 'metadata');
  checkFields(d, m, p, TASK_METADATA);
  const labels = stringMap(d, m, 'labels', p);
  const annotations = stringMap(d, m, 'annotations', p);
  return Object.keys(labels).length + Object.keys(annotations).length > 0 ? { labels, annotations, path: p } : undefined;
}

function readTaskRef(d: DocSink, o: Raw, path: string): NamedRef | undefined {
  const r = obj(d, o, 'taskRef', path);
  if (!r) return undefined;
  const rp = viaField(path, 'taskRef');
  checkFields(d, r, rp, TASK_REF);
  const kind = str(d, r, 'kind', rp);
  const apiVersion = str(d, r, 'apiVersion', rp);
  if ((kind !== undefined && kind !== 'Task') || (apiVersion !== undefined && apiVersion !== 'tekton.dev/v1')) {
    d.error(rp, `custom task ${apiVersion ?? ''}${apiVersion && kind ? '/' : ''}${kind ?? ''} cannot run inside one pod (only Tasks can)`);
    return undefined;
  }
  const name = str(d, r, 'name', rp, r['resolver'] === undefined);
  return name === undefined ? undefined : { name, path: viaField(rp, 'name') };
}

function readPipelineTask(d: DocSink, t: Raw, path: string, index: number, isFinally: boolean): PipelineTaskSpec {
  const m = obj(d, t, 'matrix', path);
  const matrixFromResults = m !== undefined && JSON.stringify(m).includes('$(tasks.');
  checkFields(d, t, path, PIPELINE_TASK);
  if (matrixFromResults) d.error(viaField(path, 'matrix'), 'one pod cannot fan out a matrix from results: its containers must be known before it starts');
  const matrix = m && !matrixFromResults ? readMatrix(d, m, viaField(path, 'matrix')) : undefined;
  const name = str(d, t, 'name', path, true) ?? '';
  if (name !== '') checkLabel(d, name, viaField(path, 'name'));
  const taskRef = readTaskRef(d, t, path);
  let taskSpec: TaskSpec | undefined;
  const ts = obj(d, t, 'taskSpec', path);
  if (ts) {
    const tsp = viaField(path, 'taskSpec');
    const kind = str(d, ts, 'kind', tsp);
    const apiVersion = str(d, ts, 'apiVersion', tsp);
    // `spec: null` (and `metadata: {}`) is what `kubectl get -o yaml` writes for a plain embedded Task.
    if (kind !== undefined || apiVersion !== undefined || (ts['spec'] !== undefined && ts['spec'] !== null)) {
      d.error(tsp, 'custom task specs cannot run inside one pod (only Tasks can)');
    } else {
      taskSpec = readTaskSpec(d, ts, tsp, EMBEDDED_TASK);
    }
  }
  if (t['taskRef'] !== undefined && ts) d.error(path, 'set either taskRef or taskSpec, not both');
  let pipelineRef: NamedRef | undefined;
  const pr = obj(d, t, 'pipelineRef', path);
  if (pr) {
    const prp = viaField(path, 'pipelineRef');
    checkFields(d, pr, prp, PIPELINE_REF);
    const n = str(d, pr, 'name', prp, true);
    if (n !== undefined) pipelineRef = { name: n, path: viaField(prp, 'name') };
  }
  const metadata = ts ? readTaskMetadata(d, ts, viaField(path, 'taskSpec')) : undefined;
  const ps = obj(d, t, 'pipelineSpec', path);
  const pipelineSpec = ps ? readPipelineSpec(d, ps, viaField(path, 'pipelineSpec')) : undefined;
  if ((pr || ps) && (t['taskRef'] !== undefined || ts)) d.error(path, 'set one of taskRef, taskSpec, pipelineRef or pipelineSpec');
  if (pr && ps) d.error(path, 'set either pipelineRef or pipelineSpec, not both');
  if (t['taskRef'] === undefined && !ts && t['pipelineRef'] === undefined && t['pipelineSpec'] === undefined) d.error(path, 'one of taskRef or taskSpec is required');
  const runAfter = strList(d, t, 'runAfter', path).map((n, i) => ({ name: n, path: viaIndex(viaField(path, 'runAfter'), i) }));
  if (isFinally && runAfter.length > 0) d.error(viaField(path, 'runAfter'), 'finally tasks cannot use runAfter');
  const params = readParams(d, t, path);
  const workspaces: TaskWorkspaceBinding[] = objList(d, t, 'workspaces', path).map(({ value: w, path: wp }) => {
    checkFields(d, w, wp, PT_WORKSPACE);
    const wname = str(d, w, 'name', wp, true) ?? '';
    const subPath = str(d, w, 'subPath', wp);
    return { name: wname, workspace: str(d, w, 'workspace', wp) ?? wname, ...(subPath !== undefined ? { subPath } : {}), path: wp };
  });
  checkUnique(d, workspaces, 'workspace binding');
  const when = readWhen(d, t, path);
  const timeoutMs = readDurationMs(d, t, 'timeout', path);
  const retries = int(d, t, 'retries', path) ?? 0;
  const onError = str(d, t, 'onError', path);
  if (onError !== undefined && onError !== 'continue' && onError !== 'stopAndFail') d.error(viaField(path, 'onError'), `invalid value "${onError}": must be continue or stopAndFail`);
  if (onError === 'continue' && retries > 0) d.error(viaField(path, 'onError'), 'onError continue cannot be combined with retries');
  const displayName = str(d, t, 'displayName', path);
  return {
    index, isFinally, path, name, ...(displayName !== undefined ? { displayName } : {}),
    ...(taskRef ? { taskRef } : {}), ...(taskSpec ? { taskSpec } : {}),
    runAfter, params, workspaces, when, ...(timeoutMs !== undefined ? { timeoutMs } : {}), retries,
    onError: onError === 'continue' ? 'continue' : 'stopAndFail', ...(matrix ? { matrix } : {}),
    ...(pipelineRef ? { pipelineRef } : {}), ...(pipelineSpec ? { pipelineSpec } : {}), ...(metadata ? { metadata } : {}), raw: t,
  };
}


/** Reads `matrix`: params must be arrays (or a whole array reference), include params strings. */
function readMatrix(d: DocSink, m: Raw, path: string): MatrixSpec {
  checkFields(d, m, path, MATRIX);
  const params = readParams(d, m, path);
  for (const p of params) {
    const v = p.value;
    if (v === undefined || Array.isArray(v)) continue;
    if (typeof v === 'string' && parseRef(singleRef(v) ?? '').kind === 'param') continue;
    d.error(viaField(p.path, 'value'), `matrix param "${p.name}" must be an array (or a whole array param reference)`);
  }
  const include: MatrixInclude[] = objList(d, m, 'include', path).map(({ value: inc, path: ip }) => {
    checkFields(d, inc, ip, MATRIX_INCLUDE);
    const name = str(d, inc, 'name', ip);
    const ps = readParams(d, inc, ip);
    for (const p of ps) {
      if (p.value !== undefined && typeof p.value !== 'string') d.error(viaField(p.path, 'value'), `matrix include param "${p.name}" must be a string`);
    }
    return { ...(name !== undefined ? { name } : {}), params: ps, path: ip };
  });
  if (params.length === 0 && include.length === 0) d.error(path, 'a matrix needs params or include');
  return { params, include, path };
}

/** Reads a PipelineSpec at `path` of a document. */
export function readPipelineSpec(d: DocSink, spec: Raw, path: string): PipelineSpec {
  checkFields(d, spec, path, PIPELINE_SPEC);
  const params = readParamSpecs(d, spec, path);
  const workspaces: PipelineWorkspaceSpec[] = objList(d, spec, 'workspaces', path).map(({ value: w, path: wp }) => {
    checkFields(d, w, wp, PIPELINE_WORKSPACE);
    return { name: str(d, w, 'name', wp, true) ?? '', optional: bool(d, w, 'optional', wp) ?? false, path: wp };
  });
  checkUnique(d, workspaces, 'workspace');
  const tasks = objList(d, spec, 'tasks', path).map(({ value, path: tp, index }) => readPipelineTask(d, value, tp, index, false));
  if (tasks.length === 0) d.error(viaField(path, 'tasks'), 'a pipeline needs at least one task');
  const fin = objList(d, spec, 'finally', path).map(({ value, path: tp, index }) => readPipelineTask(d, value, tp, index, true));
  checkUnique(d, [...tasks, ...fin], 'pipeline task');
  const results: PipelineResultSpec[] = objList(d, spec, 'results', path).map(({ value: r, path: rp }) => {
    checkFields(d, r, rp, PIPELINE_RESULT);
    const name = str(d, r, 'name', rp, true) ?? '';
    if (name !== '') checkResultName(d, name, viaField(rp, 'name'));
    const value = paramValue(d, r['value'], viaField(rp, 'value'));
    const declared = str(d, r, 'type', rp);
    if (declared !== undefined && declared !== 'string' && declared !== 'array' && declared !== 'object') d.error(viaField(rp, 'type'), `invalid type "${declared}": must be string, array or object`);
    const type: ValueType = declared === 'array' || declared === 'object' || declared === 'string' ? declared : value !== undefined ? typeOf(value) : 'string';
    return { name, type, ...(value !== undefined ? { value } : {}), path: rp };
  });
  checkUnique(d, results, 'result');
  const sidecars = readSidecars(d, spec, path);
  return { source: d.source, path, params, workspaces, tasks, finally: fin, results, sidecars };
}

function readRunWorkspaces(d: DocSink, spec: Raw, path: string): RunWorkspace[] {
  const out: RunWorkspace[] = [];
  for (const { value: w, path: wp } of objList(d, spec, 'workspaces', path)) {
    checkFields(d, w, wp, RUN_WORKSPACE);
    const name = str(d, w, 'name', wp, true) ?? '';
    const subPath = str(d, w, 'subPath', wp);
    const kinds = ['emptyDir', 'persistentVolumeClaim', 'configMap', 'secret', 'projected', 'csi', 'volumeClaimTemplate'].filter((k) => w[k] !== undefined && w[k] !== null);
    if (kinds.length !== 1) {
      d.error(wp, 'a workspace binding needs exactly one of emptyDir, persistentVolumeClaim, configMap, secret, projected, csi, volumeClaimTemplate');
      continue;
    }
    const k = kinds[0] ?? '';
    const spec2 = obj(d, w, k, wp) ?? {};
    let binding: Binding;
    if (k === 'persistentVolumeClaim') {
      const pp = viaField(wp, k);
      checkFields(d, spec2, pp, { claimName: true, readOnly: true });
      binding = { kind: 'persistentVolumeClaim', claimName: str(d, spec2, 'claimName', pp, true) ?? '', readOnly: bool(d, spec2, 'readOnly', pp) ?? false };
    } else if (k === 'volumeClaimTemplate') {
      const vp = viaField(wp, k);
      checkFields(d, spec2, vp, { metadata: true, spec: true, apiVersion: true, kind: true });
      obj(d, spec2, 'spec', vp, true);
      binding = { kind: 'volumeClaimTemplate', spec: spec2 };
    } else {
      binding = { kind: k as 'emptyDir' | 'configMap' | 'secret' | 'projected' | 'csi', spec: spec2 };
    }
    out.push({ name, binding, ...(subPath !== undefined ? { subPath } : {}), path: wp });
  }
  checkUnique(d, out, 'workspace');
  return out;
}

/** Reads a PipelineRun or TaskRun. */
export function readRun(d: DocSink, kind: 'PipelineRun' | 'TaskRun', body: Raw): RunSpec {
  const meta = readMetadata(d, body, true);
  const spec = obj(d, body, 'spec', '', true) ?? {};
  const base = {
    kind, source: d.source,
    ...(meta.name !== undefined ? { name: meta.name } : {}),
    ...(meta.generateName !== undefined ? { generateName: meta.generateName } : {}),
    ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
    labels: meta.labels, annotations: meta.annotations,
    params: readParams(d, spec, 'spec'),
    workspaces: readRunWorkspaces(d, spec, 'spec'),
  };
  if (kind === 'PipelineRun') {
    checkFields(d, spec, 'spec', PIPELINE_RUN_SPEC);
    const ref = obj(d, spec, 'pipelineRef', 'spec');
    let pipelineRef: NamedRef | undefined;
    if (ref) {
      checkFields(d, ref, 'spec.pipelineRef', PIPELINE_REF);
      const av = str(d, ref, 'apiVersion', 'spec.pipelineRef');
      if (av !== undefined && av !== 'tekton.dev/v1') d.error('spec.pipelineRef.apiVersion', `unsupported apiVersion "${av}"`);
      const name = str(d, ref, 'name', 'spec.pipelineRef', ref['resolver'] === undefined);
      if (name !== undefined) pipelineRef = { name, path: 'spec.pipelineRef.name' };
    }
    const ps = obj(d, spec, 'pipelineSpec', 'spec');
    const pipelineSpec = ps ? readPipelineSpec(d, ps, 'spec.pipelineSpec') : undefined;
    if (ref && ps) d.error('spec', 'set either pipelineRef or pipelineSpec, not both');
    if (!ref && !ps) d.error('spec', 'one of pipelineRef or pipelineSpec is required');
    const to = obj(d, spec, 'timeouts', 'spec');
    let timeoutMs: number | undefined;
    let tasksTimeoutMs: number | undefined;
    let finallyTimeoutMs: number | undefined;
    if (to) {
      checkFields(d, to, 'spec.timeouts', TIMEOUTS);
      timeoutMs = readDurationMs(d, to, 'pipeline', 'spec.timeouts');
      tasksTimeoutMs = readDurationMs(d, to, 'tasks', 'spec.timeouts');
      finallyTimeoutMs = readDurationMs(d, to, 'finally', 'spec.timeouts');
    }
    const trt = obj(d, spec, 'taskRunTemplate', 'spec');
    let serviceAccountName: string | undefined;
    let tmpl: ReturnType<typeof readPodTemplate> = {};
    if (trt) {
      checkFields(d, trt, 'spec.taskRunTemplate', TASK_RUN_TEMPLATE);
      serviceAccountName = str(d, trt, 'serviceAccountName', 'spec.taskRunTemplate');
      tmpl = readPodTemplate(d, trt, 'podTemplate', 'spec.taskRunTemplate');
    }
    const taskRunSpecs = objList(d, spec, 'taskRunSpecs', 'spec').map(({ value: s, path: sp }) => {
      checkFields(d, s, sp, TASK_RUN_SPECS);
      const sa = str(d, s, 'serviceAccountName', sp);
      const metadata = readTaskMetadata(d, s, sp);
      const tms = readDurationMs(d, s, 'timeout', sp);
      return {
        pipelineTaskName: str(d, s, 'pipelineTaskName', sp, true) ?? '', ...(sa !== undefined ? { serviceAccountName: sa } : {}), sidecars: readSidecars(d, s, sp),
        ...readTaskLevel(d, s, sp), ...readPodTemplate(d, s, 'podTemplate', sp), ...(metadata ? { metadata } : {}), ...(tms !== undefined ? { timeoutMs: tms } : {}),
      };
    });
    return {
      ...base, ...(pipelineRef ? { pipelineRef } : {}), ...(pipelineSpec ? { pipelineSpec } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(tasksTimeoutMs !== undefined ? { tasksTimeoutMs } : {}),
      ...(finallyTimeoutMs !== undefined ? { finallyTimeoutMs } : {}), timeoutPath: 'spec.timeouts.pipeline',
      ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...tmpl, taskRunSpecs,
    };
  }
  checkFields(d, spec, 'spec', TASK_RUN_SPEC);
  const taskRef = readTaskRef(d, spec, 'spec');
  const ts = obj(d, spec, 'taskSpec', 'spec');
  const taskSpec = ts ? readTaskSpec(d, ts, 'spec.taskSpec') : undefined;
  if (spec['taskRef'] !== undefined && ts) d.error('spec', 'set either taskRef or taskSpec, not both');
  if (spec['taskRef'] === undefined && !ts) d.error('spec', 'one of taskRef or taskSpec is required');
  const timeoutMs = readDurationMs(d, spec, 'timeout', 'spec');
  const serviceAccountName = str(d, spec, 'serviceAccountName', 'spec');
  const tmpl = readPodTemplate(d, spec, 'podTemplate', 'spec');
  const retries = int(d, spec, 'retries', 'spec');
  // The TaskRun's overrides are those of its one task; the builder names the task.
  const own = readTaskLevel(d, spec, 'spec');
  const overrides = own.sidecarSpecs.length > 0 || own.stepSpecs.length > 0 || own.computeResources !== undefined;
  return {
    ...base, ...(taskRef ? { taskRef } : {}), ...(taskSpec ? { taskSpec } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}), timeoutPath: 'spec.timeout',
    ...(retries !== undefined ? { retries } : {}),
    ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...tmpl,
    taskRunSpecs: overrides ? [{ pipelineTaskName: '', sidecars: [], ...own }] : [],
  };
}

/** The per-task overrides a taskRunSpecs entry and a TaskRun spec share. */
function readTaskLevel(d: DocSink, o: Raw, path: string): Pick<TaskRunSpecs, 'sidecarSpecs' | 'stepSpecs' | 'computeResources' | 'path'> {
  const cr = computeResources(d, o, path, COMPUTE_RESOURCES);
  return {
    sidecarSpecs: readSidecarSpecs(d, o, path), stepSpecs: readSidecarSpecs(d, o, path, 'stepSpecs'),
    ...(cr ? { computeResources: cr } : {}), path,
  };
}
