/** Readers of the parts every Tekton object shares: metadata, params, results, env, mounts, probes, steps and sidecars, StepActions. */
import type { PlanProbe, ValueType } from '@pipod/plan';
import { type DocSink, viaField } from '../errors.ts';
import { parseDuration } from '../duration.ts';
import { isRecord } from '../load.ts';
import { type Fields, type Raw, checkFields, checkLabel, checkParamName, checkResultName, checkSubdomain, checkUnique, computeResources, int, obj, objList, paramValue, str, strList, typeOf } from '../read.ts';
import { WHEN, METADATA, TOP, PARAM_SPEC, PARAM, STEP, STEP_WITH_REF, STEP_REF, STEP_ACTION_SPEC, SIDECAR, ENV, MOUNT, PROBE, COMPUTE_RESOURCES } from './fields.ts';
import type { ParamSpec, ParamEntry, ResultSpec, EnvVar, MountSpec, ContainerSpec, StepActionSpec, NamedRef, SidecarSpecOverride, WhenSpec } from './types.ts';

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

/** Reads a mapping of strings (labels, annotations). */
export function stringMap(d: DocSink, o: Raw, key: string, path: string): Record<string, string> {
  const m = obj(d, o, key, path);
  const out: Record<string, string> = {};
  if (!m) return out;
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') out[k] = v;
    else d.error(viaField(viaField(path, key), k), 'must be a string');
  }
  return out;
}

export function readParamSpecs(d: DocSink, o: Raw, path: string): ParamSpec[] {
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

export function readResults(d: DocSink, o: Raw, path: string, fields: Fields): ResultSpec[] {
  const out: ResultSpec[] = [];
  for (const { value: r, path: rp } of objList(d, o, 'results', path)) {
    checkFields(d, r, rp, fields);
    const name = str(d, r, 'name', rp, true) ?? '';
    if (name !== '') checkResultName(d, name, viaField(rp, 'name'));
    const t = str(d, r, 'type', rp) ?? 'string';
    if (t !== 'string' && t !== 'array' && t !== 'object') d.error(viaField(rp, 'type'), `invalid type "${t}": must be string, array or object`);
    const value = fields['value'] === true ? str(d, r, 'value', rp) : undefined;
    out.push({ name, type: t === 'array' || t === 'object' ? t : 'string', ...(value !== undefined ? { value } : {}), path: rp });
  }
  checkUnique(d, out, 'result');
  return out;
}

export function readDurationMs(d: DocSink, o: Raw, key: string, path: string): number | undefined {
  const s = str(d, o, key, path);
  if (s === undefined) return undefined;
  const ms = parseDuration(s);
  if (ms === undefined) d.error(viaField(path, key), `invalid duration "${s}": use Go duration syntax such as 1h30m, 90s or 500ms`);
  return ms;
}

/** Reads an `env` list (steps, sidecars, pod templates). */
export function readEnv(d: DocSink, o: Raw, path: string): EnvVar[] {
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

export function readContainerBase(d: DocSink, c: Raw, path: string): RawContainer {
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

export function mergeByKey<T>(base: readonly T[], over: readonly T[], key: (t: T) => string): T[] {
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

export function readContainers(d: DocSink, spec: Raw, specPath: string, kind: 'step' | 'sidecar', template: { base: RawContainer; path: string } | undefined): ContainerSpec[] {
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
    // Tekton names an unnamed step `step-unnamed-<i>` and takes an unnamed sidecar too.
    const name = rawName ?? `unnamed-${index}`;
    if (rawName !== undefined) checkLabel(d, rawName, viaField(path, 'name'));
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


/** Reads `sidecarSpecs` of a taskRunSpecs entry. */
export function readSidecarSpecs(d: DocSink, o: Raw, path: string, key: 'sidecarSpecs' | 'stepSpecs' = 'sidecarSpecs'): SidecarSpecOverride[] {
  return objList(d, o, key, path).map(({ value: v, path: vp }) => {
    checkFields(d, v, vp, { name: true, computeResources: true });
    const cr = computeResources(d, v, vp, COMPUTE_RESOURCES);
    return { name: str(d, v, 'name', vp, true) ?? '', ...(cr ? { computeResources: cr } : {}), path: vp };
  });
}

/** Reads `when` expressions (a pipeline task's or a step's). */
export function readWhen(d: DocSink, o: Raw, path: string): WhenSpec[] {
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
