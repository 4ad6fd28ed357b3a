/**
 * Parsing Tekton v1 objects into typed specs, checking every field against
 * the allow-lists below. Only what a document says on its own is checked
 * here; cross-document rules live in compile.ts.
 */
import type { ParamValue, PlanProbe, ValueType } from '@pipod/plan';
import { type DocSink, viaField, viaIndex } from './errors.ts';
import { parseDuration } from './duration.ts';
import { isRecord } from './load.ts';
import {
  type Fields, type Raw, LATER, bool, checkFields, checkLabel, checkParamName, checkResultName, checkSubdomain, checkUnique, computeResources, int, obj, objList, paramValue, str, strList, typeOf,
} from './read.ts';

/** A declared param. */
export interface ParamSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly default?: ParamValue;
  /** Keys of an object param. */
  readonly keys?: readonly string[];
  readonly enum?: readonly string[];
  readonly path: string;
}

/** A param value given by a pipeline task or a run. */
export interface ParamEntry {
  readonly name: string;
  readonly value?: ParamValue;
  readonly path: string;
}

/** A workspace a Task declares. */
export interface TaskWorkspaceSpec {
  readonly name: string;
  readonly mountPath?: string;
  readonly readOnly: boolean;
  readonly optional: boolean;
  readonly path: string;
}

/** A declared task or step result. */
export interface ResultSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly path: string;
}

/** An env entry of a step or sidecar. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Raw;
  readonly path: string;
}

/** A volumeMount of a step or sidecar. */
export interface MountSpec {
  readonly name: string;
  readonly mountPath: string;
  readonly raw: Raw;
  readonly path: string;
}

/** A step or a sidecar after the stepTemplate is applied. */
export interface ContainerSpec {
  readonly kind: 'step' | 'sidecar';
  readonly index: number;
  readonly path: string;
  readonly name: string;
  readonly image?: string;
  readonly imagePath: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly script?: string;
  readonly workingDir?: string;
  readonly env: readonly EnvVar[];
  readonly envFrom?: unknown;
  readonly volumeMounts: readonly MountSpec[];
  readonly computeResources?: Raw;
  readonly securityContext?: Raw;
  readonly imagePullPolicy?: string;
  readonly ports?: unknown;
  readonly onError?: 'continue' | 'stopAndFail';
  readonly timeoutMs?: number;
  readonly results: readonly ResultSpec[];
  readonly readinessProbe?: PlanProbe;
  readonly startupProbe?: PlanProbe;
  /** A step that runs a StepAction: what it names and the params it passes (compile.ts fills in the rest). */
  readonly ref?: NamedRef;
  readonly params?: readonly ParamEntry[];
  /** Step `when` expressions: the step is skipped unless all hold. */
  readonly when?: readonly WhenSpec[];
  /** Isolated workspaces: a task workspace named here is mounted only in the steps and sidecars that name it. */
  readonly workspaces?: readonly { readonly name: string; readonly mountPath?: string; readonly path: string }[];
}

/** A StepAction's spec: a reusable step with its own params and results. */
export interface StepActionSpec {
  readonly source: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly script?: string;
  readonly workingDir?: string;
  readonly env: readonly EnvVar[];
  readonly volumeMounts: readonly MountSpec[];
  readonly securityContext?: Raw;
  readonly params: readonly ParamSpec[];
  readonly results: readonly ResultSpec[];
}

/** A volume of a Task. */
export interface VolumeSpec {
  readonly name: string;
  readonly raw: Raw;
  readonly path: string;
}

/** A Task's spec (from a Task document, a TaskRun or a pipeline task's taskSpec). */
export interface TaskSpec {
  readonly source: string;
  readonly path: string;
  readonly displayName?: string;
  readonly params: readonly ParamSpec[];
  readonly workspaces: readonly TaskWorkspaceSpec[];
  readonly results: readonly ResultSpec[];
  readonly steps: readonly ContainerSpec[];
  readonly sidecars: readonly ContainerSpec[];
  readonly volumes: readonly VolumeSpec[];
}

/** A reference by name with where it was written. */
export interface NamedRef {
  readonly name: string;
  readonly path: string;
}

/** How a pipeline task binds a task workspace. */
export interface TaskWorkspaceBinding {
  readonly name: string;
  readonly workspace: string;
  readonly subPath?: string;
  readonly path: string;
}

/** A `when` expression as written. */
export interface WhenSpec {
  readonly input: string;
  readonly operator: 'in' | 'notin';
  readonly values: readonly string[];
  readonly path: string;
}

/** One explicit combination of a matrix (`matrix.include[i]`). */
export interface MatrixInclude {
  readonly name?: string;
  readonly params: readonly ParamEntry[];
  readonly path: string;
}

/** A pipeline task's matrix: array params fanned out into a cartesian product, plus explicit combinations. */
export interface MatrixSpec {
  readonly params: readonly ParamEntry[];
  readonly include: readonly MatrixInclude[];
  readonly path: string;
}

/** A pipeline task (in `tasks` or `finally`). */
export interface PipelineTaskSpec {
  readonly index: number;
  readonly isFinally: boolean;
  readonly path: string;
  readonly name: string;
  readonly displayName?: string;
  readonly taskRef?: NamedRef;
  readonly taskSpec?: TaskSpec;
  readonly runAfter: readonly NamedRef[];
  readonly params: readonly ParamEntry[];
  readonly workspaces: readonly TaskWorkspaceBinding[];
  readonly when: readonly WhenSpec[];
  readonly timeoutMs?: number;
  readonly retries: number;
  readonly onError: 'continue' | 'stopAndFail';
  readonly matrix?: MatrixSpec;
  /** A child pipeline (pipelines in pipelines), flattened into the parent by nested.ts. */
  readonly pipelineRef?: NamedRef;
  readonly pipelineSpec?: PipelineSpec;
  /** Set on a flattened child's finally task: it runs when the child's tasks have settled, whatever their outcome. */
  readonly finallyOf?: string;
  /** The whole pipeline task as written, scanned for `$(tasks.…)` references. */
  readonly raw: Raw;
}

/** A pipeline workspace declaration. */
export interface PipelineWorkspaceSpec {
  readonly name: string;
  readonly optional: boolean;
  readonly path: string;
}

/** A pipeline result. */
export interface PipelineResultSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly value?: ParamValue;
  readonly path: string;
}

/** A Pipeline's spec. */
export interface PipelineSpec {
  readonly source: string;
  readonly path: string;
  readonly params: readonly ParamSpec[];
  readonly workspaces: readonly PipelineWorkspaceSpec[];
  readonly tasks: readonly PipelineTaskSpec[];
  readonly finally: readonly PipelineTaskSpec[];
  readonly results: readonly PipelineResultSpec[];
  /** Pipeline-level sidecars (TEP-0130's proposal): live for the whole run. */
  readonly sidecars: readonly ContainerSpec[];
}

/** What a run binds a workspace to. */
export type Binding =
  | { readonly kind: 'emptyDir'; readonly spec: Raw }
  | { readonly kind: 'persistentVolumeClaim'; readonly claimName: string; readonly readOnly: boolean }
  | { readonly kind: 'configMap'; readonly spec: Raw }
  | { readonly kind: 'secret'; readonly spec: Raw }
  | { readonly kind: 'projected'; readonly spec: Raw }
  | { readonly kind: 'csi'; readonly spec: Raw }
  | { readonly kind: 'volumeClaimTemplate'; readonly spec: Raw }
  | { readonly kind: 'hostPath'; readonly path: string };

/** A workspace binding of a run. */
export interface RunWorkspace {
  readonly name: string;
  readonly binding: Binding;
  readonly subPath?: string;
  readonly path: string;
}

/** A PipelineRun or TaskRun. */
export interface RunSpec {
  readonly kind: 'PipelineRun' | 'TaskRun';
  readonly source: string;
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly pipelineRef?: NamedRef;
  readonly pipelineSpec?: PipelineSpec;
  readonly taskRef?: NamedRef;
  readonly taskSpec?: TaskSpec;
  readonly params: readonly ParamEntry[];
  readonly workspaces: readonly RunWorkspace[];
  /** Pipeline (or TaskRun) timeout in ms; undefined = Tekton's default, 0 = none. */
  readonly timeoutMs?: number;
  readonly tasksTimeoutMs?: number;
  readonly finallyTimeoutMs?: number;
  readonly timeoutPath: string;
  readonly retries?: number;
  readonly serviceAccountName?: string;
  readonly podTemplate?: Raw;
  readonly taskRunSpecs: readonly TaskRunSpecs[];
}

/**
 * What a PipelineRun's `taskRunSpecs[]` entry (or a TaskRun's own spec, for
 * its one task) sets for one pipeline task.
 */
export interface TaskRunSpecs {
  readonly pipelineTaskName: string;
  readonly serviceAccountName?: string;
  readonly sidecars: readonly ContainerSpec[];
  readonly sidecarSpecs: readonly SidecarSpecOverride[];
  readonly stepSpecs: readonly SidecarSpecOverride[];
  /** Task-level `computeResources` (Tekton's beta TEP-0104). */
  readonly computeResources?: Raw;
  readonly podTemplate?: Raw;
  /** The entry's field path: `spec.taskRunSpecs[i]`, or `spec` of a TaskRun. */
  readonly path: string;
}

const METADATA: Fields = {
  name: true, generateName: true, namespace: true, labels: true, annotations: true,
  uid: true, resourceVersion: true, generation: true, creationTimestamp: true,
};
const TOP: Fields = { apiVersion: true, kind: true, metadata: true, spec: true, status: 'status is written by a controller, not read by pipod' };

const PARAM_SPEC: Fields = { name: true, type: true, description: true, default: true, properties: true, enum: true };
const PARAM: Fields = { name: true, value: true };
const TASK_SPEC: Fields = {
  displayName: true, description: true, params: true, workspaces: true, results: true, steps: true, sidecars: true, volumes: true, stepTemplate: true,
};
const TASK_WORKSPACE: Fields = { name: true, description: true, mountPath: true, readOnly: true, optional: true };
const TASK_RESULT: Fields = { name: true, type: true, description: true, properties: true, value: `result values from step results are ${LATER}` };
const STEP: Fields = {
  name: true, displayName: true, image: true, command: true, args: true, workingDir: true, env: true, envFrom: true,
  computeResources: true, volumeMounts: true, imagePullPolicy: true, securityContext: true, script: true, timeout: true,
  onError: true, results: true,
  resources: 'not a tekton.dev/v1 field; use computeResources',
  volumeDevices: `volumeDevices are ${LATER}`,
  workspaces: true,
  stdoutConfig: `stdoutConfig is ${LATER}`,
  stderrConfig: `stderrConfig is ${LATER}`,
  ref: true,
  params: true,
  when: true,
};
/** Fields a step that names a StepAction may set itself; the rest come from the StepAction. */
const STEP_WITH_REF = new Set(['name', 'ref', 'params', 'onError', 'timeout', 'computeResources', 'results', 'displayName', 'workingDir', 'securityContext', 'when']);
const STEP_REF: Fields = { name: true, resolver: `remote resolution is ${LATER}`, params: `remote resolution is ${LATER}` };
const STEP_ACTION_SPEC: Fields = {
  description: true, image: true, command: true, args: true, script: true, env: true, params: true, results: true,
  workingDir: true, securityContext: true, volumeMounts: true,
};
const TEMPLATE: Fields = {
  image: true, command: true, args: true, workingDir: true, env: true, envFrom: true, computeResources: true,
  volumeMounts: true, imagePullPolicy: true, securityContext: true,
  resources: 'not a tekton.dev/v1 field; use computeResources',
  volumeDevices: `volumeDevices are ${LATER}`,
};
const SIDECAR: Fields = {
  name: true, image: true, command: true, args: true, workingDir: true, env: true, envFrom: true, ports: true,
  computeResources: true, volumeMounts: true, imagePullPolicy: true, securityContext: true, script: true,
  readinessProbe: true, startupProbe: true,
  resources: 'not a tekton.dev/v1 field; use computeResources',
  livenessProbe: `sidecar livenessProbe is ${LATER}`,
  lifecycle: `sidecar lifecycle hooks are ${LATER}`,
  volumeDevices: `volumeDevices are ${LATER}`,
  workspaces: true,
  restartPolicy: `sidecar restartPolicy is ${LATER}`,
  stdin: LATER, stdinOnce: LATER, tty: LATER, terminationMessagePath: LATER, terminationMessagePolicy: LATER,
};
const ENV: Fields = { name: true, value: true, valueFrom: true };
const MOUNT: Fields = { name: true, mountPath: true, subPath: true, readOnly: true, subPathExpr: true, mountPropagation: true, recursiveReadOnly: true };
const PROBE: Fields = {
  exec: true, httpGet: true, tcpSocket: true, grpc: true, initialDelaySeconds: true, periodSeconds: true, timeoutSeconds: true,
  failureThreshold: true, successThreshold: true, terminationGracePeriodSeconds: `probe terminationGracePeriodSeconds is ${LATER}`,
};
const PIPELINE_SPEC: Fields = { displayName: true, description: true, tasks: true, finally: true, params: true, workspaces: true, results: true, sidecars: true };
const PIPELINE_TASK: Fields = {
  name: true, displayName: true, description: true, taskRef: true, taskSpec: true, runAfter: true, params: true, workspaces: true,
  when: true, timeout: true, retries: true, onError: true,
  matrix: true,
  pipelineRef: true,
  pipelineSpec: true,
};
const TASK_REF: Fields = { name: true, kind: true, apiVersion: true, resolver: `remote resolution is ${LATER}`, params: `remote resolution is ${LATER}` };
const EMBEDDED_TASK: Fields = { ...TASK_SPEC, metadata: `taskSpec metadata is ${LATER}`, apiVersion: true, kind: true, spec: true };
const MATRIX: Fields = { params: true, include: true };
const MATRIX_INCLUDE: Fields = { name: true, params: true };
const PT_WORKSPACE: Fields = { name: true, workspace: true, subPath: true };
const WHEN: Fields = { input: true, operator: true, values: true, cel: `CEL when expressions are ${LATER}` };
const PIPELINE_WORKSPACE: Fields = { name: true, description: true, optional: true };
const PIPELINE_RESULT: Fields = { name: true, type: true, description: true, value: true };
const PIPELINE_RUN_SPEC: Fields = {
  pipelineRef: true, pipelineSpec: true, params: true, workspaces: true, timeouts: true, taskRunTemplate: true, taskRunSpecs: true,
  managedBy: true, status: `run status (cancel) is ${LATER}`,
  podTemplate: 'not a tekton.dev/v1 field; use spec.taskRunTemplate.podTemplate',
  serviceAccountName: 'not a tekton.dev/v1 field; use spec.taskRunTemplate.serviceAccountName',
  timeout: 'not a tekton.dev/v1 field; use spec.timeouts.pipeline',
  serviceAccountNames: 'not a tekton.dev/v1 field; use spec.taskRunSpecs',
};
const TASK_RUN_SPEC: Fields = {
  taskRef: true, taskSpec: true, params: true, workspaces: true, timeout: true, serviceAccountName: true, podTemplate: true,
  retries: true, managedBy: true,
  status: `run status (cancel) is ${LATER}`, debug: `debug is ${LATER}`, stepSpecs: true, sidecarSpecs: true, computeResources: true,
};
const PIPELINE_REF: Fields = { name: true, apiVersion: true, resolver: `remote resolution is ${LATER}`, params: `remote resolution is ${LATER}` };
const COMPUTE_RESOURCES: Fields = { requests: true, limits: true, claims: `resource claims are ${LATER}` };
const TIMEOUTS: Fields = { pipeline: true, tasks: true, finally: true };
const TASK_RUN_TEMPLATE: Fields = { serviceAccountName: true, podTemplate: true };
const TASK_RUN_SPECS: Fields = {
  pipelineTaskName: true, serviceAccountName: true, sidecars: true,
  podTemplate: true, stepSpecs: true, sidecarSpecs: true, metadata: `taskRunSpecs metadata is ${LATER}`, computeResources: true,
};
/** Pod template fields that apply to the one pod as a whole. */
export const POD_TEMPLATE: Fields = {
  nodeSelector: true, tolerations: true, affinity: true, securityContext: true, imagePullSecrets: true, priorityClassName: true,
  schedulerName: true, runtimeClassName: true, hostNetwork: true, dnsPolicy: true, dnsConfig: true, enableServiceLinks: true,
  automountServiceAccountToken: true, hostAliases: true, topologySpreadConstraints: true, terminationGracePeriodSeconds: true,
  env: `podTemplate env is ${LATER}`, volumes: `podTemplate volumes are ${LATER}`,
};
const RUN_WORKSPACE: Fields = {
  name: true, subPath: true, emptyDir: true, persistentVolumeClaim: true, configMap: true, secret: true, projected: true, csi: true,
  volumeClaimTemplate: true,
};

/** Reads `metadata` of a top-level document, checking the name. */
export function readMetadata(d: DocSink, body: Raw, isRun: boolean): { name?: string; generateName?: string; namespace?: string; labels: Record<string, string>; annotations: Record<string, string> } {
  checkFields(d, body, '', TOP);
  const m = obj(d, body, 'metadata', '', true) ?? {};
  checkFields(d, m, 'metadata', METADATA);
  const name = str(d, m, 'name', 'metadata');
  const generateName = str(d, m, 'generateName', 'metadata');
  if (name !== undefined) checkSubdomain(d, name, 'metadata.name');
  else if (!isRun || generateName === undefined) d.error('metadata.name', 'required field is missing');
  const labels = stringMap(d, m, 'labels', 'metadata');
  const annotations = stringMap(d, m, 'annotations', 'metadata');
  return { name, generateName, namespace: str(d, m, 'namespace', 'metadata'), labels, annotations };
}

function stringMap(d: DocSink, o: Raw, key: string, path: string): Record<string, string> {
  const m = obj(d, o, key, path);
  const out: Record<string, string> = {};
  if (!m) return out;
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') out[k] = v;
    else d.error(viaField(viaField(path, key), k), 'must be a string');
  }
  return out;
}

function readParamSpecs(d: DocSink, o: Raw, path: string): ParamSpec[] {
  const out: ParamSpec[] = [];
  for (const { value: p, path: pp } of objList(d, o, 'params', path)) {
    checkFields(d, p, pp, PARAM_SPEC);
    const name = str(d, p, 'name', pp, true) ?? '';
    if (name !== '') checkParamName(d, name, viaField(pp, 'name'));
    const declared = str(d, p, 'type', pp);
    if (declared !== undefined && declared !== 'string' && declared !== 'array' && declared !== 'object') {
      d.error(viaField(pp, 'type'), `invalid type "${declared}": must be string, array or object`);
    }
    const def = p['default'] === undefined || p['default'] === null ? undefined : paramValue(d, p['default'], viaField(pp, 'default'));
    const propsObj = obj(d, p, 'properties', pp);
    const keys = propsObj ? Object.keys(propsObj).sort() : undefined;
    const type: ValueType = declared === 'array' || declared === 'object' || declared === 'string' ? declared : def !== undefined ? typeOf(def) : keys ? 'object' : 'string';
    if (def !== undefined && typeOf(def) !== type) d.error(viaField(pp, 'default'), `default value is ${typeOf(def)} but the param is declared ${type}`);
    if (type === 'object' && !keys) d.error(viaField(pp, 'properties'), 'an object param must declare its properties');
    const en = p['enum'] === undefined ? undefined : strList(d, p, 'enum', pp);
    if (en && type !== 'string') d.error(viaField(pp, 'enum'), 'enum is allowed for string params only');
    if (en && typeof def === 'string' && !en.includes(def)) d.error(viaField(pp, 'default'), `default "${def}" is not one of the enum values`);
    out.push({ name, type, ...(def !== undefined ? { default: def } : {}), ...(keys ? { keys } : {}), ...(en ? { enum: en } : {}), path: pp });
  }
  checkUnique(d, out, 'param');
  return out;
}

/** Reads a list of `{name, value}` params. */
export function readParams(d: DocSink, o: Raw, path: string): ParamEntry[] {
  const out: ParamEntry[] = [];
  for (const { value: p, path: pp } of objList(d, o, 'params', path)) {
    checkFields(d, p, pp, PARAM);
    const name = str(d, p, 'name', pp, true) ?? '';
    const value = paramValue(d, p['value'], viaField(pp, 'value'));
    out.push({ name, ...(value !== undefined ? { value } : {}), path: pp });
  }
  checkUnique(d, out, 'param');
  return out;
}

function readResults(d: DocSink, o: Raw, path: string, fields: Fields): ResultSpec[] {
  const out: ResultSpec[] = [];
  for (const { value: r, path: rp } of objList(d, o, 'results', path)) {
    checkFields(d, r, rp, fields);
    const name = str(d, r, 'name', rp, true) ?? '';
    if (name !== '') checkResultName(d, name, viaField(rp, 'name'));
    const t = str(d, r, 'type', rp) ?? 'string';
    if (t !== 'string' && t !== 'array' && t !== 'object') d.error(viaField(rp, 'type'), `invalid type "${t}": must be string, array or object`);
    out.push({ name, type: t === 'array' || t === 'object' ? t : 'string', path: rp });
  }
  checkUnique(d, out, 'result');
  return out;
}

function readDurationMs(d: DocSink, o: Raw, key: string, path: string): number | undefined {
  const s = str(d, o, key, path);
  if (s === undefined) return undefined;
  const ms = parseDuration(s);
  if (ms === undefined) d.error(viaField(path, key), `invalid duration "${s}": use Go duration syntax such as 1h30m, 90s or 500ms`);
  return ms;
}

function readEnv(d: DocSink, o: Raw, path: string): EnvVar[] {
  const out: EnvVar[] = [];
  for (const { value: e, path: ep } of objList(d, o, 'env', path)) {
    checkFields(d, e, ep, ENV);
    const name = str(d, e, 'name', ep, true) ?? '';
    const value = e['value'] === undefined || e['value'] === null ? undefined : typeof e['value'] === 'string' ? e['value'] : (d.error(viaField(ep, 'value'), 'must be a string'), undefined);
    const valueFrom = obj(d, e, 'valueFrom', ep);
    if (value !== undefined && valueFrom) d.error(ep, 'set either value or valueFrom, not both');
    out.push({ name, ...(value !== undefined ? { value } : {}), ...(valueFrom ? { valueFrom } : {}), path: ep });
  }
  checkUnique(d, out, 'env');
  return out;
}

function readMounts(d: DocSink, o: Raw, path: string): MountSpec[] {
  const out: MountSpec[] = [];
  for (const { value: m, path: mp } of objList(d, o, 'volumeMounts', path)) {
    checkFields(d, m, mp, MOUNT);
    const name = str(d, m, 'name', mp, true) ?? '';
    const mountPath = str(d, m, 'mountPath', mp, true) ?? '';
    out.push({ name, mountPath, raw: m, path: mp });
  }
  return out;
}

function readProbe(d: DocSink, o: Raw, key: string, path: string, ports: unknown): PlanProbe | undefined {
  const p = obj(d, o, key, path);
  if (!p) return undefined;
  const pp = viaField(path, key);
  checkFields(d, p, pp, PROBE);
  const num = (k: string, def: number): number => int(d, p, k, pp) ?? def;
  const portOf = (h: Raw, hp: string): number => {
    const v = h['port'];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536) return v;
    if (typeof v === 'string' && Array.isArray(ports)) {
      const named = ports.find((x) => isRecord(x) && x['name'] === v);
      if (isRecord(named) && typeof named['containerPort'] === 'number') return named['containerPort'];
    }
    d.error(viaField(hp, 'port'), 'must be a port number or the name of one of the sidecar\'s ports');
    return 0;
  };
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((k) => p[k] !== undefined && p[k] !== null);
  if (handlers.length !== 1) {
    d.error(pp, 'a probe needs exactly one of exec, httpGet, tcpSocket, grpc');
    return undefined;
  }
  let handler: PlanProbe['handler'];
  const hk = handlers[0] ?? '';
  const h = obj(d, p, hk, pp) ?? {};
  const hp = viaField(pp, hk);
  if (hk === 'exec') {
    checkFields(d, h, hp, { command: true });
    handler = { kind: 'exec', command: strList(d, h, 'command', hp) };
  } else if (hk === 'httpGet') {
    checkFields(d, h, hp, { host: true, port: true, path: true, scheme: true, httpHeaders: true });
    const scheme = str(d, h, 'scheme', hp) ?? 'HTTP';
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') d.error(viaField(hp, 'scheme'), 'must be HTTP or HTTPS');
    const headers = objList(d, h, 'httpHeaders', hp).map(({ value: x, path: xp }) => {
      checkFields(d, x, xp, { name: true, value: true });
      return { name: str(d, x, 'name', xp, true) ?? '', value: str(d, x, 'value', xp) ?? '' };
    });
    handler = { kind: 'httpGet', host: str(d, h, 'host', hp) ?? '127.0.0.1', port: portOf(h, hp), path: str(d, h, 'path', hp) ?? '/', scheme: scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', headers };
  } else if (hk === 'tcpSocket') {
    checkFields(d, h, hp, { host: true, port: true });
    handler = { kind: 'tcpSocket', host: str(d, h, 'host', hp) ?? '127.0.0.1', port: portOf(h, hp) };
  } else {
    checkFields(d, h, hp, { port: true, service: true });
    const service = str(d, h, 'service', hp);
    handler = { kind: 'grpc', port: portOf(h, hp), ...(service !== undefined ? { service } : {}) };
  }
  return {
    handler,
    initialDelayMs: num('initialDelaySeconds', 0) * 1000,
    periodMs: num('periodSeconds', 10) * 1000,
    timeoutMs: num('timeoutSeconds', 1) * 1000,
    failureThreshold: num('failureThreshold', 3),
    successThreshold: num('successThreshold', 1),
  };
}

interface RawContainer {
  image?: string; command?: string[]; args?: string[]; workingDir?: string; env: EnvVar[]; envFrom?: unknown;
  volumeMounts: MountSpec[]; computeResources?: Raw; securityContext?: Raw; imagePullPolicy?: string;
}

function readContainerBase(d: DocSink, c: Raw, path: string): RawContainer {
  const out: RawContainer = { env: readEnv(d, c, path), volumeMounts: readMounts(d, c, path) };
  const image = str(d, c, 'image', path);
  if (image !== undefined) out.image = image;
  if (c['command'] !== undefined && c['command'] !== null) out.command = strList(d, c, 'command', path);
  if (c['args'] !== undefined && c['args'] !== null) out.args = strList(d, c, 'args', path);
  const wd = str(d, c, 'workingDir', path);
  if (wd !== undefined) out.workingDir = wd;
  if (c['envFrom'] !== undefined && c['envFrom'] !== null) {
    if (!Array.isArray(c['envFrom'])) d.error(viaField(path, 'envFrom'), 'must be a list');
    else out.envFrom = c['envFrom'];
  }
  const res = computeResources(d, c, path, COMPUTE_RESOURCES);
  if (res) out.computeResources = res;
  const sc = obj(d, c, 'securityContext', path);
  if (sc) out.securityContext = sc;
  const ipp = str(d, c, 'imagePullPolicy', path);
  if (ipp !== undefined) {
    if (!['Always', 'IfNotPresent', 'Never'].includes(ipp)) d.error(viaField(path, 'imagePullPolicy'), 'must be Always, IfNotPresent or Never');
    out.imagePullPolicy = ipp;
  }
  return out;
}

function mergeByKey<T>(base: readonly T[], over: readonly T[], key: (t: T) => string): T[] {
  const out = [...base];
  for (const o of over) {
    const i = out.findIndex((b) => key(b) === key(o));
    if (i >= 0) out[i] = o;
    else out.push(o);
  }
  return out;
}

function mergeResources(t: Raw | undefined, s: Raw | undefined): Raw | undefined {
  if (!t) return s;
  if (!s) return t;
  const out: Record<string, unknown> = { ...t, ...s };
  for (const k of ['requests', 'limits']) {
    const a = t[k];
    const b = s[k];
    if (isRecord(a) && isRecord(b)) out[k] = { ...a, ...b };
  }
  return out;
}

function readContainers(d: DocSink, spec: Raw, specPath: string, kind: 'step' | 'sidecar', template: { base: RawContainer; path: string } | undefined): ContainerSpec[] {
  const key = kind === 'step' ? 'steps' : 'sidecars';
  const out: ContainerSpec[] = [];
  for (const { value: c, path, index } of objList(d, spec, key, specPath)) {
    checkFields(d, c, path, kind === 'step' ? STEP : SIDECAR);
    const base = readContainerBase(d, c, path);
    const refRaw = kind === 'step' ? obj(d, c, 'ref', path) : undefined;
    let ref: NamedRef | undefined;
    if (refRaw) {
      checkFields(d, refRaw, viaField(path, 'ref'), STEP_REF);
      const n = str(d, refRaw, 'name', viaField(path, 'ref'), true);
      if (n !== undefined) ref = { name: n, path: viaField(viaField(path, 'ref'), 'name') };
      for (const k of Object.keys(c)) {
        if (!STEP_WITH_REF.has(k) && c[k] !== undefined && c[k] !== null) d.error(viaField(path, k), `a step with ref takes ${k} from its StepAction`);
      }
    }
    const stepParams = kind === 'step' && c['params'] !== undefined ? readParams(d, c, path) : undefined;
    if (stepParams && !refRaw) d.error(viaField(path, 'params'), 'step params are for a step with ref (a StepAction)');
    // A step running a StepAction takes nothing from the stepTemplate but what it may set itself.
    const t = refRaw ? undefined : template?.base;
    const rawName = str(d, c, 'name', path);
    const name = rawName ?? (kind === 'step' ? `unnamed-${index}` : `sidecar-${index}`);
    if (rawName !== undefined) checkLabel(d, rawName, viaField(path, 'name'));
    else if (kind === 'sidecar') d.error(viaField(path, 'name'), 'required field is missing');
    const image = base.image ?? t?.image;
    const imagePath = base.image === undefined && t?.image !== undefined && template ? viaField(template.path, 'image') : viaField(path, 'image');
    if (!refRaw && (image === undefined || image === '')) d.error(viaField(path, 'image'), 'required field is missing');
    const script = str(d, c, 'script', path);
    // Field by field, as Tekton's strategic merge: what the step sets wins, the
    // rest comes from the template; a script replaces a template command.
    const command = base.command ?? (script === undefined ? t?.command : undefined);
    const args = base.args ?? t?.args;
    if (script !== undefined && base.command !== undefined) d.error(viaField(path, 'script'), 'script cannot be used with command');
    const onErrorRaw = kind === 'step' ? str(d, c, 'onError', path) : undefined;
    if (onErrorRaw !== undefined && onErrorRaw !== 'continue' && onErrorRaw !== 'stopAndFail') {
      d.error(viaField(path, 'onError'), `invalid value "${onErrorRaw}": must be continue or stopAndFail`);
    }
    const timeoutMs = kind === 'step' ? readDurationMs(d, c, 'timeout', path) : undefined;
    const results = kind === 'step' ? readResults(d, c, path, { name: true, type: true, description: true, properties: true }) : [];
    const computeResources = mergeResources(t?.computeResources, base.computeResources);
    const securityContext = t?.securityContext && base.securityContext ? { ...t.securityContext, ...base.securityContext } : base.securityContext ?? t?.securityContext;
    const workingDir = base.workingDir ?? t?.workingDir;
    const envFrom = base.envFrom ?? t?.envFrom;
    const imagePullPolicy = base.imagePullPolicy ?? t?.imagePullPolicy;
    const ports = kind === 'sidecar' && Array.isArray(c['ports']) ? c['ports'] : undefined;
    if (kind === 'sidecar' && c['ports'] !== undefined && !Array.isArray(c['ports'])) d.error(viaField(path, 'ports'), 'must be a list');
    const readinessProbe = kind === 'sidecar' ? readProbe(d, c, 'readinessProbe', path, ports) : undefined;
    const startupProbe = kind === 'sidecar' ? readProbe(d, c, 'startupProbe', path, ports) : undefined;
    out.push({
      kind, index, path, name, imagePath,
      ...(image !== undefined ? { image } : {}),
      ...(command !== undefined ? { command } : {}),
      ...(args !== undefined ? { args } : {}),
      ...(script !== undefined ? { script } : {}),
      ...(workingDir !== undefined ? { workingDir } : {}),
      env: mergeByKey(t?.env ?? [], base.env, (e) => e.name),
      ...(envFrom !== undefined ? { envFrom } : {}),
      volumeMounts: mergeByKey(t?.volumeMounts ?? [], base.volumeMounts, (m) => m.mountPath),
      ...(computeResources ? { computeResources } : {}),
      ...(securityContext ? { securityContext } : {}),
      ...(imagePullPolicy !== undefined ? { imagePullPolicy } : {}),
      ...(ports !== undefined ? { ports } : {}),
      ...(onErrorRaw === 'continue' || onErrorRaw === 'stopAndFail' ? { onError: onErrorRaw } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(ref ? { ref } : {}), ...(stepParams ? { params: stepParams } : {}),
      ...(kind === 'step' && c['when'] !== undefined ? { when: readWhen(d, c, path) } : {}),
      ...(c['workspaces'] !== undefined ? {
        workspaces: objList(d, c, 'workspaces', path).map(({ value: w, path: wp }) => {
          checkFields(d, w, wp, { name: true, mountPath: true });
          const mp = str(d, w, 'mountPath', wp);
          return { name: str(d, w, 'name', wp, true) ?? '', ...(mp !== undefined ? { mountPath: mp } : {}), path: wp };
        }),
      } : {}),
      results,
      ...(readinessProbe ? { readinessProbe } : {}),
      ...(startupProbe ? { startupProbe } : {}),
    });
  }
  return out;
}

/** Reads the `sidecars` list of a Pipeline spec, a taskRunSpecs entry or anything holding one. */
export function readSidecars(d: DocSink, o: Raw, path: string): ContainerSpec[] {
  const sidecars = readContainers(d, o, path, 'sidecar', undefined);
  checkUnique(d, sidecars, 'sidecar');
  return sidecars;
}

/** Reads a StepAction's spec. */
export function readStepActionSpec(d: DocSink, spec: Raw, path: string): StepActionSpec {
  checkFields(d, spec, path, STEP_ACTION_SPEC);
  const base = readContainerBase(d, spec, path);
  if (base.image === undefined || base.image === '') d.error(viaField(path, 'image'), 'required field is missing');
  const script = str(d, spec, 'script', path);
  if (script !== undefined && base.command !== undefined) d.error(viaField(path, 'script'), 'script cannot be used with command');
  // Tekton refuses these (a param value would be pasted into code); env is the StepAction's way in.
  if (script !== undefined && /\$\(\s*params\s*[.[]/.test(script)) {
    d.error(viaField(path, 'script'), 'param substitution in a StepAction script is not allowed (as in Tekton): set an env var from the param and use that');
  }
  return {
    source: d.source, env: base.env, volumeMounts: base.volumeMounts,
    ...(base.image !== undefined ? { image: base.image } : {}), ...(base.command ? { command: base.command } : {}), ...(base.args ? { args: base.args } : {}),
    ...(script !== undefined ? { script } : {}), ...(base.workingDir !== undefined ? { workingDir: base.workingDir } : {}),
    ...(base.securityContext ? { securityContext: base.securityContext } : {}),
    params: readParamSpecs(d, spec, path), results: readResults(d, spec, path, { name: true, type: true, description: true, properties: true }),
  };
}

/** A `taskRunSpecs[].sidecarSpecs` entry: new computeResources for a sidecar of the task. */
export interface SidecarSpecOverride {
  readonly name: string;
  readonly computeResources?: Raw;
  readonly path: string;
}

/** Reads `sidecarSpecs` of a taskRunSpecs entry. */
export function readSidecarSpecs(d: DocSink, o: Raw, path: string, key: 'sidecarSpecs' | 'stepSpecs' = 'sidecarSpecs'): SidecarSpecOverride[] {
  return objList(d, o, key, path).map(({ value: v, path: vp }) => {
    checkFields(d, v, vp, { name: true, computeResources: true });
    const cr = computeResources(d, v, vp, COMPUTE_RESOURCES);
    return { name: str(d, v, 'name', vp, true) ?? '', ...(cr ? { computeResources: cr } : {}), path: vp };
  });
}

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
  const volumes: VolumeSpec[] = objList(d, spec, 'volumes', path).map(({ value: v, path: vp }) => {
    const name = str(d, v, 'name', vp, true) ?? '';
    if (name !== '') checkLabel(d, name, viaField(vp, 'name'));
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    if (kinds.length !== 1) d.error(vp, 'a volume needs exactly one source (emptyDir, configMap, secret, persistentVolumeClaim, …)');
    return { name, raw: v, path: vp };
  });
  checkUnique(d, volumes, 'volume');
  const displayName = str(d, spec, 'displayName', path);
  return { source: d.source, path, ...(displayName !== undefined ? { displayName } : {}), params, workspaces, results, steps, sidecars, volumes };
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
    if (kind !== undefined || apiVersion !== undefined || ts['spec'] !== undefined) {
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
    ...(pipelineRef ? { pipelineRef } : {}), ...(pipelineSpec ? { pipelineSpec } : {}), raw: t,
  };
}

/** Reads the `when` list of a pipeline task or a step. */
function readWhen(d: DocSink, o: Raw, path: string): WhenSpec[] {
  return objList(d, o, 'when', path).map(({ value: w, path: wp }) => {
    checkFields(d, w, wp, WHEN);
    const input = str(d, w, 'input', wp, w['cel'] === undefined) ?? '';
    const op = str(d, w, 'operator', wp, w['cel'] === undefined);
    if (op !== undefined && op !== 'in' && op !== 'notin') d.error(viaField(wp, 'operator'), `invalid operator "${op}": must be in or notin`);
    const values = strList(d, w, 'values', wp);
    if (w['cel'] === undefined && values.length === 0) d.error(viaField(wp, 'values'), 'expecting non-empty values');
    return { input, operator: op === 'notin' ? 'notin' : 'in', values, path: wp };
  });
}

/** Reads `matrix`: params must be arrays (or a whole array reference), include params strings. */
function readMatrix(d: DocSink, m: Raw, path: string): MatrixSpec {
  checkFields(d, m, path, MATRIX);
  const params = readParams(d, m, path);
  for (const p of params) {
    const v = p.value;
    if (v === undefined || Array.isArray(v)) continue;
    if (typeof v === 'string' && /^\$\(\s*params\.[^()\s]+\s*\)$/.test(v)) continue;
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
    let podTemplate: Raw | undefined;
    if (trt) {
      checkFields(d, trt, 'spec.taskRunTemplate', TASK_RUN_TEMPLATE);
      serviceAccountName = str(d, trt, 'serviceAccountName', 'spec.taskRunTemplate');
      podTemplate = obj(d, trt, 'podTemplate', 'spec.taskRunTemplate');
      if (podTemplate) checkFields(d, podTemplate, 'spec.taskRunTemplate.podTemplate', POD_TEMPLATE);
    }
    const taskRunSpecs = objList(d, spec, 'taskRunSpecs', 'spec').map(({ value: s, path: sp }) => {
      checkFields(d, s, sp, TASK_RUN_SPECS);
      const sa = str(d, s, 'serviceAccountName', sp);
      const pt = obj(d, s, 'podTemplate', sp);
      if (pt) checkFields(d, pt, viaField(sp, 'podTemplate'), POD_TEMPLATE);
      return { pipelineTaskName: str(d, s, 'pipelineTaskName', sp, true) ?? '', ...(sa !== undefined ? { serviceAccountName: sa } : {}), sidecars: readSidecars(d, s, sp), ...readTaskLevel(d, s, sp), ...(pt ? { podTemplate: pt } : {}) };
    });
    return {
      ...base, ...(pipelineRef ? { pipelineRef } : {}), ...(pipelineSpec ? { pipelineSpec } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(tasksTimeoutMs !== undefined ? { tasksTimeoutMs } : {}),
      ...(finallyTimeoutMs !== undefined ? { finallyTimeoutMs } : {}), timeoutPath: 'spec.timeouts.pipeline',
      ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...(podTemplate ? { podTemplate } : {}), taskRunSpecs,
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
  const podTemplate = obj(d, spec, 'podTemplate', 'spec');
  if (podTemplate) checkFields(d, podTemplate, 'spec.podTemplate', POD_TEMPLATE);
  const retries = int(d, spec, 'retries', 'spec');
  // The TaskRun's overrides are those of its one task; the builder names the task.
  const own = readTaskLevel(d, spec, 'spec');
  const overrides = own.sidecarSpecs.length > 0 || own.stepSpecs.length > 0 || own.computeResources !== undefined;
  return {
    ...base, ...(taskRef ? { taskRef } : {}), ...(taskSpec ? { taskSpec } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}), timeoutPath: 'spec.timeout',
    ...(retries !== undefined ? { retries } : {}),
    ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...(podTemplate ? { podTemplate } : {}),
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
