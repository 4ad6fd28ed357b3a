/**
 * The run's inputs: identity (names, uid), params (defaults < run values <
 * options), workspace bindings, timeouts, and per pipeline task the Task's
 * params and workspaces as bound by the pipeline task.
 */
import { type ParamValue, dnsLabel, isRunTimeRef, refsIn, shortHash, singleRef } from '@pipod/plan';
import { type DocSink, viaField } from '../errors.ts';
import { isRecord } from '../load.ts';
import type { Binding, ParamSpec, PipelineSpec, PipelineWorkspaceSpec, RunSpec } from '../model.ts';
import type { BuildOptions } from '../options.ts';
import { type Raw, typeOf } from '../read.ts';
import type { LoadedDocument } from '../load.ts';
import { type Scope, type TaskWs, subst } from './scope.ts';
import { DEFAULT_TIMEOUT_MS } from './documents.ts';
import { type Resolved, type Root, list } from './types.ts';
import { typeMismatch } from './graph.ts';

/** A deterministic UUID-shaped id from a seed. */
export function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Who the run is. */
export interface Identity {
  readonly runName: string;
  readonly namespace: string;
  readonly uid: string;
  readonly serviceAccountName?: string;
}

/** The run's name, namespace, uid and service account: options < run < made up from the input. */
export function runIdentity(docs: readonly LoadedDocument[], root: Root, options: BuildOptions): Identity {
  const run = root.run;
  const runName = options.runName ?? run?.name ?? (run?.generateName !== undefined ? `${run.generateName}${shortHash(`${JSON.stringify(docs.map((x) => x.body))}${options.runIndex ? `#${options.runIndex}` : ''}`, 5)}` : `${root.pipelineName}-run`);
  const namespace = options.namespace ?? run?.namespace ?? 'default';
  const uid = options.uid ?? uuidFrom(shortHash(`${namespace}/${runName}`, 32));
  return { runName, namespace, uid, ...(run?.serviceAccountName !== undefined ? { serviceAccountName: run.serviceAccountName } : {}) };
}

/** Where the run's inputs are reported: the pipeline, the run (or the pipeline when there is none) and the options. */
export interface InputSinks {
  readonly pd: DocSink;
  readonly rd: DocSink;
  readonly od: DocSink;
  /** `task` when the pipeline was made up around a Task (messages name the task). */
  readonly owner: 'task' | 'pipeline';
}

/** The pipeline's params: defaults < run values < options, each checked against its declaration. */
export function pipelineParams(s: InputSinks, pipeline: PipelineSpec, run: RunSpec | undefined, options: BuildOptions): Map<string, ParamValue> {
  const { pd, rd, od, owner } = s;
  const pparams = new Map<string, ParamValue>();
  // Where each value came from, for errors about the value itself.
  const porigin = new Map<string, { d: DocSink; path: string }>();
  const pspecs = new Map(pipeline.params.map((p) => [p.name, p]));
  for (const p of pipeline.params) {
    if (p.default === undefined) continue;
    pparams.set(p.name, p.default);
    porigin.set(p.name, { d: pd, path: viaField(p.path, 'default') });
  }
  for (const p of run?.params ?? []) {
    const spec = pspecs.get(p.name);
    if (!spec) {
      rd.warn(viaField(p.path, 'name'), `param "${p.name}" is not declared by the ${owner} and is ignored`);
      continue;
    }
    if (p.value === undefined) continue;
    if (typeOf(p.value) !== spec.type) {
      rd.error(viaField(p.path, 'value'), `param "${p.name}" is declared ${spec.type} but the value given is ${typeOf(p.value)}`);
      continue;
    }
    pparams.set(p.name, p.value);
    porigin.set(p.name, { d: rd, path: viaField(p.path, 'value') });
  }
  for (const [name, raw] of Object.entries(options.params ?? {})) {
    const spec = pspecs.get(name);
    if (!spec) {
      od.error(viaField('params', name), `the ${owner} declares no param "${name}"`);
      continue;
    }
    const v = coerceParam(raw, spec);
    if (v === undefined) {
      od.error(viaField('params', name), `param "${name}" is declared ${spec.type}; give ${spec.type === 'array' ? 'a JSON list or comma-separated values' : 'a JSON object or k=v,k2=v2'}`);
      continue;
    }
    pparams.set(name, v);
    porigin.set(name, { d: od, path: viaField('params', name) });
  }
  for (const p of pipeline.params) {
    const v = pparams.get(p.name);
    if (v === undefined) {
      if (run) rd.error('spec.params', `missing value for required param "${p.name}" (declared at ${pipeline.source} ${p.path})`);
      else pd.error(p.path, `param "${p.name}" has no default and no value was given (use -p ${p.name}=VALUE)`);
      continue;
    }
    const at = porigin.get(p.name) ?? { d: pd, path: p.path };
    checkEnumAndKeys(at.d, p, v, at.path);
  }
  return pparams;
}

/** What a pipeline workspace is bound to for this run. */
export interface WsBinding {
  readonly binding: Binding | undefined;
  readonly subPath?: string;
  readonly volume?: string;
  readonly claim: string;
}

/** Binds every pipeline workspace: options < run < an emptyDir (with a warning) for a required one nobody bound. */
export function bindWorkspaces(s: InputSinks, pws: ReadonlyMap<string, PipelineWorkspaceSpec>, run: RunSpec | undefined, options: BuildOptions): Map<string, WsBinding> {
  const { rd, od, owner } = s;
  const wsBind = new Map<string, WsBinding>();
  for (const w of run?.workspaces ?? []) {
    if (!pws.has(w.name)) rd.error(viaField(w.path, 'name'), `workspace "${w.name}" is not declared by the ${owner}`);
  }
  for (const name of Object.keys(options.workspaces ?? {})) {
    if (!pws.has(name)) od.error(viaField('workspaces', name), `the ${owner} declares no workspace "${name}"`);
  }
  for (const w of pws.values()) {
    const o = options.workspaces?.[w.name];
    const given = run?.workspaces.find((x) => x.name === w.name);
    let binding: Binding | undefined;
    let subPath: string | undefined;
    if (o) {
      binding = o.kind === 'emptyDir' ? { kind: 'emptyDir', spec: {} }
        : o.kind === 'hostPath' ? { kind: 'hostPath', path: o.path }
          : o.kind === 'persistentVolumeClaim' ? { kind: 'persistentVolumeClaim', claimName: o.claimName, readOnly: false }
            : o.kind === 'configMap' ? { kind: 'configMap', spec: { name: o.name } }
              : { kind: 'secret', spec: { secretName: o.name } };
    } else if (given) {
      binding = given.binding;
      subPath = given.subPath;
    } else if (!w.optional) {
      binding = { kind: 'emptyDir', spec: {} };
      rd.warn(run ? 'spec.workspaces' : w.path, `workspace "${w.name}" is not bound; it becomes an emptyDir shared by the tasks in the pod`);
    }
    const claim = binding?.kind === 'persistentVolumeClaim' ? binding.claimName : '';
    wsBind.set(w.name, { binding, ...(subPath !== undefined ? { subPath } : {}), claim, ...(binding ? { volume: dnsLabel(['ws', w.name]) } : {}) });
  }
  return wsBind;
}

/** The pod volume of a bound pipeline workspace. */
export function workspaceVolume(name: string, b: Binding): Raw {
  switch (b.kind) {
    case 'emptyDir': return { name, emptyDir: b.spec };
    case 'persistentVolumeClaim': return { name, persistentVolumeClaim: { claimName: b.claimName, ...(b.readOnly ? { readOnly: true } : {}) } };
    case 'configMap': return { name, configMap: b.spec };
    case 'secret': return { name, secret: b.spec };
    case 'projected': return { name, projected: b.spec };
    case 'csi': return { name, csi: b.spec };
    case 'volumeClaimTemplate': {
      const { apiVersion: _a, kind: _k, ...tmpl } = b.spec as Record<string, unknown>;
      return { name, ephemeral: { volumeClaimTemplate: tmpl } };
    }
    case 'hostPath': return { name, hostPath: { path: b.path, type: 'DirectoryOrCreate' } };
  }
}

/** Run-level time budgets (0 disables one), checked against each other and the tasks' own timeouts. */
export function runTimeouts(s: InputSinks, root: Root, tasks: readonly Resolved[]): { pipelineMs: number; tasksMs?: number; finallyMs?: number } {
  const { pd, rd } = s;
  const run = root.run;
  const pipelineMs = run?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tasksMs = run?.tasksTimeoutMs;
  const finallyMs = run?.finallyTimeoutMs;
  if (pipelineMs > 0 && ((tasksMs ?? 0) > pipelineMs || (finallyMs ?? 0) > pipelineMs || (tasksMs ?? 0) + (finallyMs ?? 0) > pipelineMs)) {
    rd.error('spec.timeouts', 'tasks and finally timeouts together must not exceed the pipeline timeout');
  }
  if (pipelineMs > 0 && !root.synthesized) {
    for (const r of tasks) {
      if (r.pt.timeoutMs !== undefined && r.pt.timeoutMs > pipelineMs) {
        pd.error(viaField(r.pt.path, 'timeout'), `task timeout (${r.pt.timeoutMs / 1000}s) exceeds the pipeline timeout (${pipelineMs / 1000}s)`);
      }
    }
  }
  return { pipelineMs, ...(tasksMs !== undefined ? { tasksMs } : {}), ...(finallyMs !== undefined ? { finallyMs } : {}) };
}

/** taskRunSpecs name known tasks, and one pod has one service account. */
export function checkTaskRunSpecs(rd: DocSink, run: RunSpec | undefined, byName: ReadonlyMap<string, Resolved>, serviceAccountName: string | undefined): void {
  for (const s of run?.taskRunSpecs ?? []) {
    if (!byName.has(s.pipelineTaskName)) rd.error(viaField(s.path, 'pipelineTaskName'), `unknown pipeline task "${s.pipelineTaskName}"`);
    if (s.serviceAccountName !== undefined && s.serviceAccountName !== (serviceAccountName ?? 'default')) {
      rd.error(viaField(s.path, 'serviceAccountName'), `one pod has one service account: task "${s.pipelineTaskName}" cannot use "${s.serviceAccountName}" while the run uses "${serviceAccountName ?? 'default'}"`);
    }
  }
}

/** A Task's params from what its pipeline task gives (already substituted), checked against their declarations. */
export function taskParams(pd: DocSink, r: Resolved, given: ReadonlyMap<string, ParamValue>, givenPath: ReadonlyMap<string, string>, byName: ReadonlyMap<string, Resolved>, synthesized: boolean): Map<string, ParamValue> {
  const { pt } = r;
  const spec = r.spec;
  const tparams = new Map<string, ParamValue>();
  if (!spec) return tparams;
  for (const ps of spec.params) {
    const v = given.get(ps.name) ?? ps.default;
    if (v === undefined) {
      pd.error(viaField(pt.path, 'params'), `missing value for required param "${ps.name}" of task "${r.taskName}"`);
      continue;
    }
    const vp = givenPath.get(ps.name);
    if (given.has(ps.name) && vp !== undefined && !synthesized) {
      const msg = typeMismatch(ps, v, byName);
      if (msg !== undefined) { pd.error(vp, `param "${ps.name}" of task "${r.taskName}" ${msg}`); continue; }
      checkEnumAndKeys(pd, ps, v, vp);
    }
    tparams.set(ps.name, v);
  }
  if (!r.embedded) {
    for (const p of pt.params) {
      if (!spec.params.some((x) => x.name === p.name)) pd.warn(viaField(p.path, 'name'), `task "${r.taskName}" declares no param "${p.name}"; it is ignored`);
    }
  }
  return tparams;
}

/** A Task's workspaces as its pipeline task binds them; `used` collects the pipeline workspaces that get mounted. */
export function taskWorkspaces(pd: DocSink, r: Resolved, pipelineScope: Scope, pws: ReadonlyMap<string, unknown>, wsBind: ReadonlyMap<string, WsBinding>, used: Set<string>): Map<string, TaskWs> {
  const { pt } = r;
  const tws = new Map<string, TaskWs>();
  if (!r.spec) return tws;
  for (const b of pt.workspaces) {
    if (!r.spec.workspaces.some((w) => w.name === b.name)) pd.error(viaField(b.path, 'name'), `task "${r.taskName}" declares no workspace "${b.name}"`);
    if (!pws.has(b.workspace)) pd.error(viaField(b.path, 'workspace'), `the pipeline declares no workspace "${b.workspace}"`);
  }
  for (const w of r.spec.workspaces) {
    const mountPath = w.mountPath ?? `/workspace/${w.name}`;
    const b = pt.workspaces.find((x) => x.name === w.name);
    const pb = b ? wsBind.get(b.workspace) : undefined;
    if (!b || !pws.has(b.workspace)) {
      if (!w.optional && !(b && !pws.has(b.workspace))) pd.error(viaField(pt.path, 'workspaces'), `task "${r.taskName}" needs workspace "${w.name}" but the pipeline task does not bind it`);
      tws.set(w.name, { mountPath: '', bound: false, readOnly: w.readOnly, claim: '' });
      continue;
    }
    if (!pb?.binding) {
      if (!w.optional) pd.error(viaField(b.path, 'workspace'), `task "${r.taskName}" needs workspace "${w.name}" but optional pipeline workspace "${b.workspace}" is not given by the run`);
      tws.set(w.name, { mountPath: '', bound: false, readOnly: w.readOnly, claim: '' });
      continue;
    }
    used.add(b.workspace);
    // A subPath may use params and context (Tekton substitutes it); a mount must be known before the pod starts, so results may not.
    const own = b.subPath !== undefined ? subst.text(pd, pipelineScope, b.subPath, viaField(b.path, 'subPath')) : undefined;
    const late = own !== undefined ? refsIn(own).filter(isRunTimeRef) : [];
    if (late.length > 0) pd.error(viaField(b.path, 'subPath'), `subPath depends on the run-time value $(${late[0] ?? ''}); one pod needs every mount before it starts`);
    const subPath = [pb.subPath, own].filter((x): x is string => x !== undefined && x !== '').join('/');
    tws.set(w.name, { mountPath, bound: true, ...(pb.volume !== undefined ? { volume: pb.volume } : {}), ...(subPath !== '' ? { subPath } : {}), readOnly: w.readOnly, claim: pb.claim });
  }
  return tws;
}

/** Converts a CLI/option value to the declared type; undefined when it cannot be. */
function coerceParam(v: ParamValue, spec: ParamSpec): ParamValue | undefined {
  if (typeOf(v) === spec.type) return v;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (spec.type === 'array') {
    if (t.startsWith('[')) {
      try {
        const a: unknown = JSON.parse(t);
        return Array.isArray(a) && a.every((x) => typeof x === 'string') ? (a as string[]) : undefined;
      } catch { return undefined; }
    }
    return t === '' ? [] : v.split(',');
  }
  if (t.startsWith('{')) {
    try {
      const o: unknown = JSON.parse(t);
      return isRecord(o) && Object.values(o).every((x) => typeof x === 'string') ? (o as Record<string, string>) : undefined;
    } catch { return undefined; }
  }
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) return undefined;
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

function checkEnumAndKeys(d: DocSink, spec: ParamSpec, v: ParamValue, path: string): void {
  if (spec.enum && typeof v === 'string' && singleRef(v) === undefined && !spec.enum.includes(v)) {
    d.error(path, `param "${spec.name}" value "${v}" is not one of ${list(spec.enum)}`);
  }
  if (spec.keys && typeof v === 'object' && !Array.isArray(v)) {
    const def = spec.default && typeof spec.default === 'object' && !Array.isArray(spec.default) ? spec.default as Readonly<Record<string, string>> : {};
    const missing = spec.keys.filter((k) => !(k in v) && !(k in def));
    if (missing.length > 0) d.error(path, `object param "${spec.name}" is missing keys ${list(missing)}`);
  }
}
