/**
 * From loaded documents to an ExecutionPlan plus the per-container facts the
 * Pod needs: picks the root document, resolves references, checks every
 * cross-object rule (collecting all errors) and applies static substitution.
 */
import {
  DEFAULT_SETTINGS, MAX_LABEL, PLAN_API_VERSION, PLAN_SCHEMA_VERSION, INIT_CONTAINER, SUPERVISOR_CONTAINER, TEKTON_RESULTS_DIR,
  type ExecutionPlan, type ParamValue, type ValueType, type PlanEnv, type PlanResultDecl, type PlanSidecar, type PlanStep, type PlanTask, type PlanWhen,
  type Resolver, dnsLabel, escapeKubeVars, findRefs, normalizeRef, podLayout, resolveRef, shortHash, substitute, substituteArgs, substituteValue,
} from '@pipod/plan';
import { type DocSink, type Sink, viaField, viaIndex } from './errors.ts';
import { type LoadedDocument, isRecord } from './load.ts';
import {
  type Binding, type ContainerSpec, type MatrixSpec, type ParamSpec, type SidecarSpecOverride, type StepActionSpec, type PipelineSpec, type PipelineTaskSpec, type RunSpec, type TaskRunSpecs, type TaskSpec,
  readMetadata, readPipelineSpec, readRun, readStepActionSpec, readTaskSpec,
} from './model.ts';
import type { BuildOptions, RefResolver, ResolvedDocument } from './options.ts';
import { type SidecarPorts, checkSidecarPorts, graceOf, runSidecars, withAnnotatedSidecars, withRunSidecars, withSidecarSpecs } from './sidecars.ts';
import { type Raw, obj, typeOf } from './read.ts';
import { mergePodTemplates } from './podtemplate.ts';
import { finallyRefsAsTasks, isRunTimeRef, parseTaskRef, uuidFrom, walkStrings } from './refs.ts';
import { childResultResolver, flattenPipeline } from './nested.ts';

/** Tekton's default pipeline (and TaskRun) timeout. */
export const DEFAULT_TIMEOUT_MS = 3_600_000;

/** A container of the Pod as the compiler decided it (the Pod writer adds the wrapper command). */
export interface ContainerOut {
  readonly name: string;
  readonly kind: 'step' | 'sidecar';
  readonly task: string;
  readonly member: string;
  readonly image: string;
  readonly env: readonly Raw[];
  readonly envFrom?: unknown;
  readonly computeResources?: Raw;
  readonly securityContext?: Raw;
  readonly imagePullPolicy?: string;
  readonly ports?: unknown;
  readonly volumeMounts: readonly Raw[];
}

/** Everything the Pod writer needs besides the plan. */
export interface PodParts {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly serviceAccountName?: string;
  readonly podTemplate?: Raw;
  readonly containers: readonly ContainerOut[];
  readonly volumes: readonly Raw[];
}

/** Plan and pod parts of a valid input. */
export interface Compiled {
  readonly plan: ExecutionPlan;
  readonly pod: PodParts;
}

/** The default RefResolver: documents given to the build, by name. */
export function documentResolver(docs: readonly LoadedDocument[]): RefResolver {
  const find = (kind: string, name: string): ResolvedDocument | undefined => {
    const d = docs.find((x) => x.kind === kind && x.name === name);
    return d ? { source: d.source, body: d.body } : undefined;
  };
  return { task: (n) => find('Task', n), pipeline: (n) => find('Pipeline', n), stepAction: (n) => find('StepAction', n) };
}

const PIPELINE_CONTEXT = new Set(['context.pipelineRun.name', 'context.pipelineRun.namespace', 'context.pipelineRun.uid', 'context.pipeline.name']);
const TASK_CONTEXT = new Set([
  ...PIPELINE_CONTEXT, 'context.taskRun.name', 'context.taskRun.namespace', 'context.taskRun.uid', 'context.task.name',
  'context.task.retry-count', 'context.pipelineTask.retries',
]);

/** Static lookup plus a check that names undeclared things, for one scope (pipeline or task). */
interface Scope {
  readonly resolve: Resolver;
  /** An error message for a reference this scope cannot have, or undefined. */
  check(ref: string): string | undefined;
  /** Declared types of the params this scope sees. */
  readonly paramTypes: ReadonlyMap<string, ValueType>;
  readonly paramNames: readonly string[];
}

/** Why a whole array or object param cannot stand inside a larger string, or undefined. */
function wholeParamMisuse(scope: Scope, ref: string): string | undefined {
  if (!ref.startsWith('params.')) return undefined;
  const p = paramOf(ref, scope.paramNames);
  if (!p || (p.suffix !== '' && p.suffix !== '[*]')) return undefined;
  const t = scope.paramTypes.get(p.name);
  if (t === undefined || t === 'string') return undefined;
  return t === 'array'
    ? `array param "${p.name}" must be a whole element of a list (command, args, when values, array params); index it ($(params.${p.name}[0])) to use it inside a string`
    : `object param "${p.name}" must be a whole param value; use one key ($(params.${p.name}.key)) inside a string`;
}

/** Finds which declared param a `params.…` reference names (names may contain dots). */
function paramOf(ref: string, names: readonly string[]): { name: string; suffix: string } | undefined {
  const rest = ref.slice('params.'.length);
  let best: string | undefined;
  for (const n of names) {
    if (rest === n || rest.startsWith(`${n}.`) || rest.startsWith(`${n}[`)) {
      if (best === undefined || n.length > best.length) best = n;
    }
  }
  return best === undefined ? undefined : { name: best, suffix: rest.slice(best.length) };
}

const SINGLE_REF = /^\$\(\s*([^()\s]+?)\s*\)$/;

/** Resolver for `params.*` over values that may themselves be run-time references (kept symbolic, with the index or key carried over). */
function paramResolver(values: ReadonlyMap<string, ParamValue>): Resolver {
  const names = [...values.keys()];
  return (ref) => {
    if (!ref.startsWith('params.')) return undefined;
    const p = paramOf(ref, names);
    if (!p) return undefined;
    const v = values.get(p.name);
    if (v === undefined) return undefined;
    if (p.suffix === '' || p.suffix === '[*]') return v;
    if (typeof v === 'string') {
      const inner = SINGLE_REF.exec(v)?.[1];
      if (inner !== undefined) return `$(${normalizeRef(inner).replace(/\[\*\]$/, '')}${p.suffix})`;
      return undefined;
    }
    return resolveRef(`x${p.suffix}`, (r) => (r === 'x' ? v : undefined));
  };
}

function mapResolve(m: ReadonlyMap<string, ParamValue>): Resolver {
  return (ref) => m.get(ref);
}

function chain(...rs: Resolver[]): Resolver {
  return (ref) => {
    for (const r of rs) {
      const v = r(ref);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/** The references in a string; most strings have none, so skip the regex then. */
function refsIn(text: string): string[] {
  return text.includes('$(') ? findRefs(text) : [];
}

/** Applies image rewrites by prefix. */
export function mapImage(image: string, map: Readonly<Record<string, string>> | undefined): string {
  if (!map) return image;
  let best = '';
  for (const from of Object.keys(map)) if (image.startsWith(from) && from.length > best.length) best = from;
  return best === '' ? image : `${map[best] ?? ''}${image.slice(best.length)}`;
}

/** Assigns unique DNS-1123 names in order: the first holder keeps a name, later ones get a stable hash suffix. */
class Names {
  private readonly used = new Set<string>([INIT_CONTAINER, SUPERVISOR_CONTAINER]);
  take(parts: readonly string[]): string {
    let name = dnsLabel(parts);
    let n = 0;
    while (this.used.has(name)) {
      n += 1;
      const suffix = `-${shortHash(`${parts.join('\u0000')}#${n}`)}`;
      name = dnsLabel(parts, MAX_LABEL - suffix.length) + suffix;
    }
    this.used.add(name);
    return name;
  }
}

/** One pipeline task with its Task resolved. */
interface Resolved {
  readonly pt: PipelineTaskSpec;
  readonly spec: TaskSpec | undefined;
  readonly embedded: boolean;
  readonly taskName: string;
}

/** What a pipeline workspace is bound to for this run. */
interface WsBinding {
  readonly binding: Binding | undefined;
  readonly subPath?: string;
  readonly volume?: string;
  readonly claim: string;
}

const SHEBANG_PREFIX = '#!/bin/sh\nset -e\n';

/** Tekton's shared scratch directory of a task's steps. */
const WORKSPACE_DIR = '/workspace';

/** The root of the build and what it runs. */
interface Root {
  readonly pipeline: PipelineSpec;
  readonly pipelineName: string;
  readonly run?: RunSpec;
  /** Set when the whole run is one TaskRun (its name is the TaskRun's name). */
  readonly taskRunName?: string;
  /** The pipeline was made up around a Task: its params are typed by construction. */
  readonly synthesized?: boolean;
}

function synthesizeFromTask(d: DocSink, spec: TaskSpec, taskName: string, ref: { name: string; path: string } | undefined, retries: number | undefined, timeoutMs: number | undefined): PipelineSpec {
  const params = spec.params.map((p) => ({ name: p.name, value: p.type === 'string' ? `$(params.${p.name})` : `$(params.${p.name}[*])`, path: p.path }));
  const pt: PipelineTaskSpec = {
    index: 0, isFinally: false, path: spec.path, name: taskName,
    ...(ref ? { taskRef: ref } : { taskSpec: spec }),
    runAfter: [], params, workspaces: spec.workspaces.map((w) => ({ name: w.name, workspace: w.name, path: w.path })),
    when: [], ...(timeoutMs !== undefined ? { timeoutMs } : {}), retries: retries ?? 0, onError: 'stopAndFail', raw: {},
  };
  void d;
  return {
    source: spec.source, path: spec.path, params: spec.params,
    workspaces: spec.workspaces.map((w) => ({ name: w.name, optional: w.optional, path: w.path })),
    tasks: [pt], finally: [], results: [], sidecars: [],
  };
}

/** A `$(steps.<s>.results.<r>)` reference anywhere in a string. */
const STEP_RESULT_REF = /\$\(\s*steps\.[^.)\s]+\.results\./;

/** Compiles loaded documents; returns undefined when there were errors (all of them in the sink). */
export function compile(docs: readonly LoadedDocument[], options: BuildOptions, sink: Sink): Compiled | undefined {
  const resolver = options.resolver ?? documentResolver(docs);
  const taskCache = new Map<string, TaskSpec | undefined>();
  const readTaskDoc = (r: ResolvedDocument): TaskSpec | undefined => {
    if (taskCache.has(r.source)) return taskCache.get(r.source);
    const d = sink.at(r.source);
    readMetadata(d, r.body, false);
    const spec = obj(d, r.body, 'spec', '', true);
    const t = spec ? readTaskSpec(d, spec, 'spec') : undefined;
    taskCache.set(r.source, t);
    return t;
  };
  const pipelineCache = new Map<string, PipelineSpec | undefined>();
  const readPipelineDoc = (r: ResolvedDocument): PipelineSpec | undefined => {
    if (pipelineCache.has(r.source)) return pipelineCache.get(r.source);
    const d = sink.at(r.source);
    const meta = readMetadata(d, r.body, false);
    const spec = obj(d, r.body, 'spec', '', true);
    const p = spec ? withAnnotatedSidecars(d, readPipelineSpec(d, spec, 'spec'), meta.annotations) : undefined;
    pipelineCache.set(r.source, p);
    return p;
  };

  const stepActionCache = new Map<string, StepActionSpec | undefined>();
  const readStepActionDoc = (r: ResolvedDocument): StepActionSpec | undefined => {
    if (stepActionCache.has(r.source)) return stepActionCache.get(r.source);
    const d = sink.at(r.source);
    readMetadata(d, r.body, false);
    const spec = obj(d, r.body, 'spec', '', true);
    const sa = spec ? readStepActionSpec(d, spec, 'spec') : undefined;
    stepActionCache.set(r.source, sa);
    return sa;
  };
  // Steps with `ref` become the StepAction they name, its params substituted from the step's.
  const withStepActions = (spec: TaskSpec | undefined): TaskSpec | undefined => {
    if (!spec?.steps.some((s) => s.ref)) return spec;
    const td = sink.at(spec.source);
    return {
      ...spec,
      steps: spec.steps.map((s): ContainerSpec => {
        if (!s.ref) return s;
        const doc = resolver.stepAction?.(s.ref.name);
        if (!doc) {
          td.error(s.ref.path, `unknown StepAction "${s.ref.name}": no StepAction of that name among the documents given`);
          return s;
        }
        const sa = readStepActionDoc(doc);
        if (!sa) return s;
        const values = new Map<string, ParamValue>();
        for (const ps of sa.params) {
          const v = s.params?.find((x) => x.name === ps.name)?.value ?? ps.default;
          if (v === undefined) td.error(viaField(s.path, 'params'), `missing value for required param "${ps.name}" of StepAction "${s.ref.name}"`);
          else values.set(`${ps.name}`, v);
        }
        for (const p of s.params ?? []) {
          if (!sa.params.some((x) => x.name === p.name)) td.error(viaField(p.path, 'name'), `StepAction "${s.ref.name}" declares no param "${p.name}"`);
        }
        // With a param missing the step stays unresolved, so its errors are not repeated downstream.
        if (values.size < sa.params.length) return s;
        const r = paramResolver(values);
        const sub = (t: string): string => substitute(t, r);
        const workingDir = s.workingDir ?? (sa.workingDir !== undefined ? sub(sa.workingDir) : undefined);
        const securityContext = s.securityContext ?? sa.securityContext;
        return {
          ...s, imagePath: viaField(s.path, 'ref'),
          ...(sa.image !== undefined ? { image: sub(sa.image) } : {}),
          ...(sa.command ? { command: substituteArgs(sa.command, r) } : {}),
          ...(sa.args ? { args: substituteArgs(sa.args, r) } : {}),
          ...(sa.script !== undefined ? { script: sub(sa.script) } : {}),
          ...(workingDir !== undefined ? { workingDir } : {}),
          ...(securityContext ? { securityContext } : {}),
          env: sa.env.map((e) => (e.value !== undefined ? { ...e, value: sub(e.value) } : e)),
          volumeMounts: sa.volumeMounts,
          results: [...s.results, ...sa.results.filter((x) => !s.results.some((y) => y.name === x.name))],
        };
      }),
    };
  };

  // Every document is checked, used or not, so a file of Tasks validates on its own.
  const runs: RunSpec[] = [];
  for (const doc of docs) {
    if (doc.kind === 'Task') readTaskDoc({ source: doc.source, body: doc.body });
    else if (doc.kind === 'Pipeline') readPipelineDoc({ source: doc.source, body: doc.body });
    else if (doc.kind === 'StepAction') readStepActionDoc({ source: doc.source, body: doc.body });
    else runs.push(readRun(sink.at(doc.source), doc.kind, doc.body));
  }

  const root = pickRoot(docs, runs, sink, resolver, readTaskDoc, readPipelineDoc);
  if (!root) return undefined;
  const { run } = root;
  const pd = sink.at(root.pipeline.source);
  // Child pipelines run in this pod too: flattened into the parent under `<task>.<child-task>` names.
  const flat = flattenPipeline(pd, root.pipeline, (ref) => {
    const doc = resolver.pipeline(ref.name);
    if (!doc) pd.error(ref.path, `unknown pipeline "${ref.name}": no Pipeline of that name among the documents given`);
    return doc ? readPipelineDoc(doc) : undefined;
  });
  const pipeline = flat.pipeline;
  const rd = run ? sink.at(run.source) : pd;
  const od = sink.at('options');
  // A Task or TaskRun built alone: its params and workspaces are the task's.
  const owner = root.synthesized ? 'task' : 'pipeline';

  // --- run identity
  const runName = options.runName ?? run?.name ?? (run?.generateName !== undefined ? `${run.generateName}${shortHash(JSON.stringify(docs.map((x) => x.body)), 5)}` : `${root.pipelineName}-run`);
  const namespace = options.namespace ?? run?.namespace ?? 'default';
  const uid = options.uid ?? uuidFrom(shortHash(`${namespace}/${runName}`, 32));
  const serviceAccountName = run?.serviceAccountName;

  // --- pipeline params: defaults < run values < options
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

  // --- pipeline workspaces
  const wsBind = new Map<string, WsBinding>();
  const pws = new Map(pipeline.workspaces.map((w) => [w.name, w]));
  for (const w of run?.workspaces ?? []) {
    if (!pws.has(w.name)) rd.error(viaField(w.path, 'name'), `workspace "${w.name}" is not declared by the ${owner}`);
  }
  for (const name of Object.keys(options.workspaces ?? {})) {
    if (!pws.has(name)) od.error(viaField('workspaces', name), `the ${owner} declares no workspace "${name}"`);
  }
  for (const w of pipeline.workspaces) {
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

  // --- static scope of the pipeline
  const pipelineContext = new Map<string, ParamValue>([
    ['context.pipelineRun.name', runName], ['context.pipelineRun.namespace', namespace], ['context.pipelineRun.uid', uid],
    ['context.pipeline.name', root.pipelineName],
  ]);
  const pwsValues = new Map<string, ParamValue>();
  for (const w of pipeline.workspaces) pwsValues.set(`workspaces.${w.name}.bound`, wsBind.get(w.name)?.binding ? 'true' : 'false');
  const pipelineParamNames = pipeline.params.map((p) => p.name);
  const pipelineParamTypes = new Map(pipeline.params.map((p) => [p.name, p.type]));
  // Instance names of each matrixed pipeline task, filled once the matrices are expanded below.
  const matrixInstances = new Map<string, readonly string[]>();
  const pipelineResolve = chain(paramResolver(pparams), mapResolve(pipelineContext), mapResolve(pwsValues), matrixResolver(matrixInstances), childResultResolver(flat.children));
  // A pipeline task's own fields also see its retries; pipeline results do not.
  const pipelineScopeFor = (pt: PipelineTaskSpec | undefined): Scope => ({
    resolve: pt ? chain(pipelineResolve, (ref) => (ref === 'context.pipelineTask.retries' ? String(pt.retries) : undefined)) : pipelineResolve,
    paramTypes: pipelineParamTypes,
    paramNames: pipelineParamNames,
    check(ref) {
      if (ref.startsWith('params.')) return paramOf(ref, pipelineParamNames) ? undefined : `undeclared param "${ref.slice(7).split(/[.[]/)[0] ?? ''}" (the pipeline declares ${list(pipelineParamNames)})`;
      if (ref.startsWith('context.')) {
        if (PIPELINE_CONTEXT.has(ref) || (pt && ref === 'context.pipelineTask.retries')) return undefined;
        return TASK_CONTEXT.has(ref) ? `$(${ref}) is only available inside a Task` : `unknown context variable "${ref}"`;
      }
      if (ref.startsWith('workspaces.')) {
        const [, w, attr] = ref.split('.');
        if (!pws.has(w ?? '')) return `undeclared workspace "${w ?? ''}"`;
        if (attr !== 'bound') return `only $(workspaces.${w ?? ''}.bound) is available in a pipeline`;
      }
      return undefined;
    },
  });
  const checkRefs = (d: DocSink, scope: Scope, text: string, path: string, wholeAllowed: boolean): void => {
    const refs = refsIn(text);
    const alone = wholeAllowed && refs.length === 1 && SINGLE_REF.test(text);
    for (const ref of refs) {
      const msg = scope.check(ref) ?? (alone ? undefined : wholeParamMisuse(scope, ref));
      if (msg !== undefined) d.error(path, msg);
    }
  };
  const substIn = (d: DocSink, scope: Scope, text: string, path: string): string => {
    if (!text.includes('$(')) return text;
    checkRefs(d, scope, text, path, false);
    return substitute(text, scope.resolve);
  };
  const substArgsIn = (d: DocSink, scope: Scope, args: readonly string[], path: string): string[] => {
    if (!args.some((a) => a.includes('$('))) return [...args];
    args.forEach((a, i) => checkRefs(d, scope, a, viaIndex(path, i), true));
    return substituteArgs(args, scope.resolve);
  };
  const substValueIn = (d: DocSink, scope: Scope, v: ParamValue, path: string): ParamValue => {
    walkStrings(v, path, (s, p) => checkRefs(d, scope, s, p, typeof v === 'string' || Array.isArray(v)));
    return substituteValue(v, scope.resolve);
  };

  // --- resolve tasks
  const resolveTask = (pt: PipelineTaskSpec): Resolved => {
    if (pt.taskSpec) {
      const p = propagateWorkspaces(pt, pt.taskSpec, pws);
      return { pt: p.pt, spec: withStepActions(p.spec), embedded: true, taskName: pt.taskRef?.name ?? pt.name };
    }
    if (pt.taskRef) {
      const doc = resolver.task(pt.taskRef.name);
      if (!doc) {
        pd.error(pt.taskRef.path, `unknown task "${pt.taskRef.name}": no Task of that name among the documents given`);
        return { pt, spec: undefined, embedded: false, taskName: pt.taskRef.name };
      }
      return { pt, spec: withStepActions(readTaskDoc(doc)), embedded: false, taskName: pt.taskRef.name };
    }
    return { pt, spec: undefined, embedded: false, taskName: pt.name };
  };
  const tasks = pipeline.tasks.map(resolveTask);
  const fin = pipeline.finally.map(resolveTask);
  const byName = new Map<string, Resolved>();
  for (const r of [...tasks, ...fin]) if (!byName.has(r.pt.name)) byName.set(r.pt.name, r);
  // A child pipeline answers for its results like a task; a dependency on it waits for all its tasks.
  for (const [n, c] of flat.children) {
    const results = [...c.results].map(([name, r]) => ({ name, type: r.type, path: c.pt.path }));
    byName.set(n, { pt: c.pt, spec: { source: pipeline.source, path: c.pt.path, params: [], workspaces: [], results, steps: [], sidecars: [], volumes: [] }, embedded: false, taskName: n });
  }
  const expandDep = (n: string): string[] => {
    const members = flat.children.get(n)?.members;
    return members ? members.flatMap(expandDep) : [...(matrixInstances.get(n) ?? [n])];
  };

  // --- dependencies and task references
  const deps = new Map<string, string[]>();
  for (const r of [...tasks, ...fin]) {
    const pt = r.pt;
    const set: string[] = [];
    const add = (n: string): void => { if (!set.includes(n)) set.push(n); };
    for (const ra of pt.runAfter) {
      const target = byName.get(ra.name);
      if (ra.name === pt.name) pd.error(ra.path, `task "${pt.name}" cannot run after itself`);
      else if (!target) pd.error(ra.path, `runAfter names unknown pipeline task "${ra.name}"`);
      else if (target.pt.isFinally) pd.error(ra.path, `runAfter cannot name finally task "${ra.name}"`);
      else add(ra.name);
    }
    walkStrings(pt.raw, pt.path, (s, path) => {
      for (const ref of refsIn(s)) {
        const tr = parseTaskRef(ref);
        if (!tr) continue;
        const msg = checkTaskRef(tr, pt, byName) ?? matrixConsumedWhole(ref, tr, path.startsWith(`${viaField(pt.path, 'params')}[`), byName);
        if (msg !== undefined) { pd.error(path, msg); continue; }
        if (tr.kind === 'result' && !pt.isFinally) add(tr.task);
      }
    });
    deps.set(pt.name, set);
  }
  for (const res of pipeline.results) {
    if (res.value === undefined) continue;
    walkStrings(res.value, viaField(res.path, 'value'), (s, path) => {
      for (const ref of refsIn(s)) {
        const ofFinally = ref.startsWith('finally.');
        const tr = parseTaskRef(ofFinally ? `tasks.${ref.slice('finally.'.length)}` : ref);
        if (!tr) continue;
        if (tr.kind !== 'result') { pd.error(path, `pipeline results can only reference task results, not $(${ref})`); continue; }
        const t = byName.get(tr.task);
        if (!t) pd.error(path, `result reference names unknown ${ofFinally ? 'finally' : 'pipeline'} task "${tr.task}"`);
        else if (ofFinally && !t.pt.isFinally) pd.error(path, `"${tr.task}" is not a finally task: use $(tasks.${tr.task}.results.${tr.result})`);
        else if (!ofFinally && t.pt.isFinally) pd.error(path, `"${tr.task}" is a finally task: use $(finally.${tr.task}.results.${tr.result})`);
        else if (t.spec && !t.spec.results.some((x) => x.name === tr.result)) pd.error(path, `task "${tr.task}" does not declare result "${tr.result}"`);
      }
    });
  }
  reportCycles(pd, pipeline, tasks.map((t) => t.pt.name), deps);

  // --- matrices: every combination becomes its own PlanTask `<task>-<index>` (Tekton's TaskRun suffix)
  const combos = new Map<string, readonly ReadonlyMap<string, string>[]>();
  for (const r of [...tasks, ...fin]) {
    const mx = r.pt.matrix;
    if (!mx) continue;
    const cs = expandMatrix(pd, r, mx, (v, path) => substValueIn(pd, pipelineScopeFor(r.pt), v, path));
    combos.set(r.pt.name, cs);
    const names = cs.map((_, i) => `${r.pt.name}-${i}`);
    for (const n of names) {
      if (byName.has(n)) pd.error(viaField(r.pt.path, 'name'), `matrix instance "${n}" of task "${r.pt.name}" has the name of another pipeline task`);
    }
    matrixInstances.set(r.pt.name, names);
  }

  // --- taskRunSpecs: one pod, one service account
  for (const s of run?.taskRunSpecs ?? []) {
    if (!byName.has(s.pipelineTaskName)) rd.error(viaField(s.path, 'pipelineTaskName'), `unknown pipeline task "${s.pipelineTaskName}"`);
    if (s.serviceAccountName !== undefined && s.serviceAccountName !== (serviceAccountName ?? 'default')) {
      rd.error(viaField(s.path, 'serviceAccountName'), `one pod has one service account: task "${s.pipelineTaskName}" cannot use "${s.serviceAccountName}" while the run uses "${serviceAccountName ?? 'default'}"`);
    }
  }

  // --- timeouts
  const pipelineMs = run?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tasksMs = run?.tasksTimeoutMs;
  const finallyMs = run?.finallyTimeoutMs;
  if (pipelineMs > 0 && ((tasksMs ?? 0) > pipelineMs || (finallyMs ?? 0) > pipelineMs || (tasksMs ?? 0) + (finallyMs ?? 0) > pipelineMs)) {
    rd.error('spec.timeouts', 'tasks and finally timeouts together must not exceed the pipeline timeout');
  }
  if (pipelineMs > 0 && !root.synthesized) {
    for (const r of [...tasks, ...fin]) {
      if (r.pt.timeoutMs !== undefined && r.pt.timeoutMs > pipelineMs) {
        pd.error(viaField(r.pt.path, 'timeout'), `task timeout (${r.pt.timeoutMs / 1000}s) exceeds the pipeline timeout (${pipelineMs / 1000}s)`);
      }
    }
  }

  // --- tasks
  const ids = new Names();
  const containerNames = new Names();
  const containers: ContainerOut[] = [];
  const volumes: Raw[] = [];
  const usedWorkspaces = new Set<string>();
  const annotationMap: Record<string, Record<string, string>> = {};
  const ports = { names: new Set<string>() };

  const sidecarPorts: SidecarPorts[] = [];
  const podTemplate = mergePodTemplates([
    ...(run?.podTemplate ? [{ who: 'the run', value: run.podTemplate, path: run.kind === 'TaskRun' ? 'spec.podTemplate' : 'spec.taskRunTemplate.podTemplate', d: rd }] : []),
    ...(run?.taskRunSpecs ?? []).flatMap((x) => (x.podTemplate ? [{ who: `task "${x.pipelineTaskName}"`, value: x.podTemplate, path: viaField(x.path, 'podTemplate'), d: rd }] : [])),
  ]);
  const sidecarGraceMs = graceOf(podTemplate);
  const addedSidecars = runSidecars(rd, run);
  for (const t of addedSidecars.keys()) if (!byName.has(t) && !run?.taskRunSpecs.some((x) => x.pipelineTaskName === t)) rd.error(`metadata.annotations[pipod.dev/task-sidecars][${t}]`, `unknown pipeline task "${t}"`);
  const compileTask = (r: Resolved, inst?: { readonly name: string; readonly combo: ReadonlyMap<string, string> }): PlanTask | undefined => {
    const { pt } = r;
    const trs = run?.taskRunSpecs.find((x) => x.pipelineTaskName === pt.name);
    const spec = r.spec
      ? withTaskComputeResources(rd, withStepSpecs(rd, withSidecarSpecs(rd, withRunSidecars(r.spec, addedSidecars.get(pt.name) ?? []), trs?.sidecarSpecs ?? [], pt.name), trs?.stepSpecs ?? [], pt.name), trs)
      : undefined;
    const name = inst?.name ?? pt.name;
    const id = ids.take([name]);
    // pipeline-scope substitution of what the pipeline task says
    const pipelineScope = pipelineScopeFor(pt);
    const given = new Map<string, ParamValue>();
    const givenPath = new Map<string, string>();
    for (const p of pt.params) {
      if (p.value === undefined) continue;
      given.set(p.name, substValueIn(pd, pipelineScope, p.value, viaField(p.path, 'value')));
      givenPath.set(p.name, viaField(p.path, 'value'));
    }
    for (const [k, v] of inst?.combo ?? []) {
      given.set(k, v);
      givenPath.set(k, viaField(pt.path, 'matrix'));
    }
    const when: PlanWhen[] = pt.when.map((w) => ({
      input: substIn(pd, pipelineScope, w.input, viaField(w.path, 'input')),
      operator: w.operator,
      values: substArgsIn(pd, pipelineScope, w.values, viaField(w.path, 'values')),
    }));
    if (!spec) return undefined;
    const td = sink.at(spec.source);

    // task params
    const tparams = new Map<string, ParamValue>();
    for (const ps of spec.params) {
      const v = given.get(ps.name) ?? ps.default;
      if (v === undefined) {
        pd.error(viaField(pt.path, 'params'), `missing value for required param "${ps.name}" of task "${r.taskName}"`);
        continue;
      }
      const vp = givenPath.get(ps.name);
      if (given.has(ps.name) && vp !== undefined && !root.synthesized) {
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

    // workspaces
    interface TaskWs { mountPath: string; bound: boolean; volume?: string; subPath?: string; readOnly: boolean; claim: string }
    const tws = new Map<string, TaskWs>();
    for (const b of pt.workspaces) {
      if (!spec.workspaces.some((w) => w.name === b.name)) pd.error(viaField(b.path, 'name'), `task "${r.taskName}" declares no workspace "${b.name}"`);
      if (!pws.has(b.workspace)) pd.error(viaField(b.path, 'workspace'), `the pipeline declares no workspace "${b.workspace}"`);
    }
    for (const w of spec.workspaces) {
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
      usedWorkspaces.add(b.workspace);
      // A subPath may use params and context (Tekton substitutes it); a mount must be known before the pod starts, so results may not.
      const own = b.subPath !== undefined ? substIn(pd, pipelineScope, b.subPath, viaField(b.path, 'subPath')) : undefined;
      const late = own !== undefined ? refsIn(own).filter(isRunTimeRef) : [];
      if (late.length > 0) pd.error(viaField(b.path, 'subPath'), `subPath depends on the run-time value $(${late[0] ?? ''}); one pod needs every mount before it starts`);
      const subPath = [pb.subPath, own].filter((s): s is string => s !== undefined && s !== '').join('/');
      tws.set(w.name, { mountPath, bound: true, ...(pb.volume !== undefined ? { volume: pb.volume } : {}), ...(subPath !== '' ? { subPath } : {}), readOnly: w.readOnly, claim: pb.claim });
    }

    // task scope
    const taskRunName = root.taskRunName ?? `${runName}-${name}`;
    const values = new Map<string, ParamValue>([
      ...pipelineContext,
      ['context.taskRun.name', taskRunName], ['context.taskRun.namespace', namespace],
      ['context.taskRun.uid', uuidFrom(shortHash(`${uid}/${taskRunName}`, 32))],
      // Tekton names an embedded taskSpec after its TaskRun (the TaskRun's metadata stands in for the Task's).
      ['context.task.name', r.embedded ? taskRunName : r.taskName], ['context.pipelineTask.retries', String(pt.retries)],
    ]);
    for (const [n, w] of tws) {
      values.set(`workspaces.${n}.path`, w.mountPath);
      values.set(`workspaces.${n}.bound`, w.bound ? 'true' : 'false');
      values.set(`workspaces.${n}.claim`, w.claim);
      values.set(`workspaces.${n}.volume`, w.volume ?? '');
    }
    for (const res of spec.results) values.set(`results.${res.name}.path`, `${TEKTON_RESULTS_DIR}/${res.name}`);
    const stepNames = spec.steps.map((s) => s.name);
    for (const s of stepNames) {
      values.set(`steps.${s}.exitCode.path`, podLayout.stepExitCodeFile(id, s));
      values.set(`steps.step-${s}.exitCode.path`, podLayout.stepExitCodeFile(id, s));
    }
    const taskParamNames = spec.params.map((p) => p.name);
    const propagated = r.embedded ? pipelineParamNames.filter((n) => !taskParamNames.includes(n)) : [];
    const declaredWs = spec.workspaces.map((w) => w.name);
    const taskParamTypes = new Map<string, ValueType>([
      ...pipeline.params.filter((p) => propagated.includes(p.name)).map((p): [string, ValueType] => [p.name, p.type]),
      ...spec.params.map((p): [string, ValueType] => [p.name, p.type]),
    ]);
    const taskParamTypeNames = [...taskParamTypes.keys()];
    const taskScope = (step?: ContainerSpec): Scope => ({
      paramTypes: taskParamTypes,
      paramNames: taskParamTypeNames,
      resolve: chain(
        paramResolver(tparams),
        r.embedded ? paramResolver(new Map([...pparams].filter(([k]) => propagated.includes(k)))) : () => undefined,
        mapResolve(values),
        step ? mapResolve(new Map(step.results.map((x) => [`step.results.${x.name}.path`, `${podLayout.stepResultsDir(id, step.name)}/${x.name}`]))) : () => undefined,
      ),
      check(ref) {
        if (ref.startsWith('params.')) {
          return paramOf(ref, taskParamNames) || paramOf(ref, propagated) ? undefined : `undeclared param "${ref.slice(7).split(/[.[]/)[0] ?? ''}" (the task declares ${list(taskParamNames)})`;
        }
        if (ref.startsWith('workspaces.')) {
          const [, w, attr] = ref.split('.');
          if (!declaredWs.includes(w ?? '')) return `undeclared workspace "${w ?? ''}" (the task declares ${list(declaredWs)})`;
          if (!['path', 'bound', 'claim', 'volume'].includes(attr ?? '')) return `unknown workspace variable "${ref}"`;
          return undefined;
        }
        if (ref.startsWith('results.')) {
          const m = /^results\.([^.]+)\.path$/.exec(ref);
          if (!m) return `unknown result variable "${ref}"`;
          return spec.results.some((x) => x.name === m[1]) ? undefined : `undeclared result "${m[1] ?? ''}"`;
        }
        if (ref.startsWith('step.results.')) {
          const m = /^step\.results\.([^.]+)\.path$/.exec(ref);
          if (!m || !step) return `unknown step result variable "${ref}"`;
          return step.results.some((x) => x.name === m[1]) ? undefined : `step "${step.name}" declares no result "${m[1] ?? ''}"`;
        }
        if (ref.startsWith('steps.')) {
          const m = /^steps\.([^.]+)\.(exitCode\.path|results\.[^.]+.*)$/.exec(ref);
          if (!m) return `unknown step variable "${ref}"`;
          const s = m[1] ?? '';
          if (!stepNames.includes(s) && !(s.startsWith('step-') && stepNames.includes(s.slice(5)))) return `unknown step "${s}"`;
          return undefined;
        }
        if (ref.startsWith('context.')) return TASK_CONTEXT.has(ref) ? undefined : `unknown context variable "${ref}"`;
        return undefined;
      },
    });

    // volumes of the task, renamed per task so two tasks' volumes never collide
    const volNames = new Map<string, string>();
    for (const v of spec.volumes) {
      const name = dnsLabel([id, v.name]);
      volNames.set(v.name, name);
      const sv = substituteRaw(td, taskScope(), v.raw, v.path, substIn) as Record<string, unknown>;
      volumes.push({ ...sv, name });
    }

    // A workspace that some step or sidecar names is isolated: only those containers mount it.
    const isolated = new Set<string>();
    for (const c of [...spec.steps, ...spec.sidecars]) {
      for (const w of c.workspaces ?? []) {
        if (!tws.has(w.name)) td.error(viaField(w.path, 'name'), `undeclared workspace "${w.name}" (the task declares ${list([...tws.keys()])})`);
        isolated.add(w.name);
      }
    }
    const baseMounts = (step: ContainerSpec): Raw[] => {
      const mounts: Raw[] = [{ name: 'pipod', mountPath: podLayout.root }];
      if (step.kind === 'step') mounts.push({ name: 'pipod', mountPath: TEKTON_RESULTS_DIR, subPath: podLayout.taskResultsSubPath(id) });
      for (const [n, w] of tws) {
        if (!w.bound || w.volume === undefined) continue;
        const own = step.workspaces?.find((x) => x.name === n);
        if (isolated.has(n) && !own) continue;
        mounts.push({ name: w.volume, mountPath: own?.mountPath ?? w.mountPath, ...(w.subPath !== undefined ? { subPath: w.subPath } : {}), ...(w.readOnly ? { readOnly: true } : {}) });
      }
      for (const m of step.volumeMounts) {
        const vn = volNames.get(m.name);
        if (vn === undefined) { td.error(viaField(m.path, 'name'), `volume "${m.name}" is not declared in the task's volumes`); continue; }
        mounts.push({ ...substituteRaw(td, taskScope(step), m.raw, m.path, substIn) as Record<string, unknown>, name: vn });
      }
      // Tekton gives the steps of a task a shared /workspace; here each step is
      // its own container, so the task's directory of the pipod volume stands in.
      if (step.kind === 'step' && !mounts.some((m) => m['mountPath'] === WORKSPACE_DIR)) {
        mounts.splice(2, 0, { name: 'pipod', mountPath: WORKSPACE_DIR, subPath: `run/tasks/${id}/workspace` });
      }
      const seen = new Set<string>();
      for (const m of mounts) {
        const mp = String(m['mountPath']).replace(/\/+$/, '');
        if (seen.has(mp)) td.error(step.path, `two mounts at ${mp} in ${step.kind} "${step.name}" (workspaces, volumeMounts and ${TEKTON_RESULTS_DIR} must not overlap)`);
        seen.add(mp);
      }
      return mounts;
    };

    const compileContainer = (c: ContainerSpec): { name: string; image: string; command: string[]; args: string[]; script?: string; env: PlanEnv[]; workingDir?: string } => {
      const scope = taskScope(c);
      const container = containerNames.take([id, c.name]);
      annotationMap[container] = c.kind === 'step' ? { step: c.name, task: name } : { sidecar: c.name, task: name };
      let image = substIn(td, scope, c.image ?? '', c.imagePath);
      const rt = refsIn(image).filter(isRunTimeRef);
      if (rt.length > 0) {
        td.error(c.imagePath, `image depends on the run-time value $(${rt[0] ?? ''}) (pipeline task "${pt.name}"); one pod needs every image before it starts`);
      }
      if (image.trim() === '' && c.image !== undefined && c.image !== '') td.error(c.imagePath, `image of ${c.kind} "${c.name}" is empty after substitution (pipeline task "${pt.name}")`);
      image = mapImage(image, options.imageMap);
      if (c.kind === 'step') {
        // Tekton admits step results only where they reach the process as data (env, command, args), never pasted into a script.
        for (const [field, v] of [['script', c.script], ['workingDir', c.workingDir]] as const) {
          if (v !== undefined && STEP_RESULT_REF.test(v)) td.error(viaField(c.path, field), `step result references are allowed only in env, command and args (as in Tekton), not in ${field}: pass the value through env`);
        }
      }
      let command: string[] = [];
      let args: string[] = c.args ? substArgsIn(td, scope, c.args, viaField(c.path, 'args')) : [];
      let script: string | undefined;
      if (c.script !== undefined) {
        const body = substIn(td, scope, c.script, viaField(c.path, 'script'));
        script = body.startsWith('#!') ? body : SHEBANG_PREFIX + body;
      } else if (c.command) {
        command = substArgsIn(td, scope, c.command, viaField(c.path, 'command'));
      } else if (image !== '' && rt.length === 0) {
        let cfg: { entrypoint: readonly string[]; cmd: readonly string[] } | undefined;
        let why = 'no image config resolver was given';
        if (options.imageConfigResolver) {
          try {
            cfg = options.imageConfigResolver.resolve(image);
            why = 'the image is unknown';
          } catch (e) {
            why = e instanceof Error ? e.message : String(e);
          }
        }
        if (!cfg) {
          td.error(c.path, `${c.kind} "${c.name}" has neither command nor script and the entrypoint of image "${image}" could not be resolved: ${why}`);
        } else {
          // The kubelet expands $(VAR) in a container's command and args, never in its image's Entrypoint/Cmd.
          command = cfg.entrypoint.map(escapeKubeVars);
          if (!c.args) args = cfg.cmd.map(escapeKubeVars);
          if (command.length === 0) { command = args; args = []; }
          if (command.length === 0) td.error(c.path, `${c.kind} "${c.name}" has neither command nor script and image "${image}" has neither Entrypoint nor Cmd`);
        }
      }
      const env: PlanEnv[] = [];
      const staticEnv: Raw[] = [];
      for (const e of c.env) {
        if (e.valueFrom) { staticEnv.push({ name: e.name, valueFrom: substituteRaw(td, scope, e.valueFrom, viaField(e.path, 'valueFrom'), substIn) }); continue; }
        const value = substIn(td, scope, e.value ?? '', viaField(e.path, 'value'));
        if (refsIn(value).some(isRunTimeRef)) env.push({ name: e.name, value });
        else staticEnv.push({ name: e.name, value });
      }
      const workingDir = c.workingDir !== undefined ? substIn(td, scope, c.workingDir, viaField(c.path, 'workingDir')) : undefined;
      containers.push({
        name: container, kind: c.kind, task: name, member: c.name, image, env: staticEnv,
        ...(c.envFrom !== undefined ? { envFrom: substituteRaw(td, scope, c.envFrom, viaField(c.path, 'envFrom'), substIn) } : {}),
        ...(c.computeResources ? { computeResources: c.computeResources } : {}),
        ...(c.securityContext ? { securityContext: c.securityContext } : {}),
        ...(c.imagePullPolicy !== undefined ? { imagePullPolicy: c.imagePullPolicy } : {}),
        ...(c.ports !== undefined ? { ports: sharePorts(c, ports) } : {}),
        volumeMounts: baseMounts(c),
      });
      return { name: container, image, command, args, ...(script !== undefined ? { script } : {}), env, ...(workingDir !== undefined && workingDir !== '' ? { workingDir } : {}) };
    };

    const steps: PlanStep[] = spec.steps.map((s) => {
      const c = compileContainer(s);
      return {
        name: s.name, container: c.name, image: c.image, command: c.command, args: c.args, ...(c.script !== undefined ? { script: c.script } : {}),
        env: c.env, ...(c.workingDir !== undefined ? { workingDir: c.workingDir } : {}), onError: s.onError ?? 'stopAndFail',
        ...(s.timeoutMs !== undefined && s.timeoutMs > 0 ? { timeoutMs: s.timeoutMs } : {}),
        results: s.results.map((x): PlanResultDecl => ({ name: x.name, type: x.type })),
        ...(s.when !== undefined && s.when.length > 0 ? {
          when: s.when.map((w): PlanWhen => ({
            input: substIn(td, taskScope(s), w.input, viaField(w.path, 'input')), operator: w.operator,
            values: substArgsIn(td, taskScope(s), w.values, viaField(w.path, 'values')),
          })),
        } : {}),
      };
    });
    const sidecars: PlanSidecar[] = spec.sidecars.map((s) => {
      const c = compileContainer(s);
      if (s.ports !== undefined) sidecarPorts.push({ d: sink.at(s.path.startsWith('spec.taskRunSpecs') || s.path.startsWith('metadata.annotations') ? run?.source ?? spec.source : spec.source), task: name, phase: pt.isFinally ? 'finally' : 'dag', sidecar: s.name, container: c.name, path: s.path, ports: s.ports });
      return {
        name: s.name, container: c.name, image: c.image, command: c.command, args: c.args, ...(c.script !== undefined ? { script: c.script } : {}),
        env: c.env, ...(c.workingDir !== undefined ? { workingDir: c.workingDir } : {}),
        ...(s.readinessProbe ? { readinessProbe: s.readinessProbe } : {}), ...(s.startupProbe ? { startupProbe: s.startupProbe } : {}),
        terminationGraceMs: sidecarGraceMs,
      };
    });
    const planParams: Record<string, ParamValue> = {};
    for (const [k, v] of tparams) planParams[k] = v;
    return {
      name, id, ...(pt.displayName !== undefined ? { displayName: pt.displayName } : spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
      ...(pt.taskRef ? { taskRef: pt.taskRef.name } : {}),
      dependsOn: (deps.get(pt.name) ?? []).flatMap(expandDep), when, ...(pt.finallyOf !== undefined ? { finallyOf: pt.finallyOf } : {}), retries: pt.retries,
      ...(pt.timeoutMs !== undefined && pt.timeoutMs > 0 ? { timeoutMs: pt.timeoutMs } : {}),
      onError: pt.onError, params: planParams,
      results: spec.results.map((x) => ({ name: x.name, type: x.type })), steps, sidecars,
    };
  };
  const compileAll = (r: Resolved): (PlanTask | undefined)[] => {
    const cs = r.pt.matrix ? combos.get(r.pt.name) ?? [] : undefined;
    return cs ? cs.map((combo, i) => compileTask(r, { name: `${r.pt.name}-${i}`, combo })) : [compileTask(r)];
  };
  const planTasks = tasks.flatMap(compileAll);
  const planFinally = fin.flatMap(compileAll);
  // Pipeline-level sidecars see the pipeline's params and context, like a pipeline task's fields.
  const compilePipelineSidecars = (): PlanSidecar[] => pipeline.sidecars.map((s) => {
    const scope = pipelineScopeFor(undefined);
    const container = containerNames.take(['sidecar', s.name]);
    annotationMap[container] = { sidecar: s.name, task: '' };
    const image = mapImage(substIn(pd, scope, s.image ?? '', s.imagePath), options.imageMap);
    let command = s.command ? substArgsIn(pd, scope, s.command, viaField(s.path, 'command')) : [];
    let args = s.args ? substArgsIn(pd, scope, s.args, viaField(s.path, 'args')) : [];
    const script = s.script === undefined ? undefined : ((b: string) => (b.startsWith('#!') ? b : SHEBANG_PREFIX + b))(substIn(pd, scope, s.script, viaField(s.path, 'script')));
    if (script === undefined && !s.command) {
      let cfg: { entrypoint: readonly string[]; cmd: readonly string[] } | undefined;
      try {
        cfg = options.imageConfigResolver?.resolve(image);
      } catch {
        cfg = undefined;
      }
      if (cfg) {
        command = [...cfg.entrypoint];
        if (!s.args) args = [...cfg.cmd];
      }
      if (command.length === 0 && args.length === 0) pd.error(s.path, `sidecar "${s.name}" has neither command nor script and the entrypoint of image "${image}" could not be resolved`);
    }
    const env: PlanEnv[] = [];
    const staticEnv: Raw[] = [];
    for (const e of s.env) {
      if (e.valueFrom) staticEnv.push({ name: e.name, valueFrom: e.valueFrom });
      else staticEnv.push({ name: e.name, value: substIn(pd, scope, e.value ?? '', viaField(e.path, 'value')) });
    }
    if (s.volumeMounts.length > 0) pd.error(viaField(s.path, 'volumeMounts'), 'a pipeline sidecar has no task volumes to mount');
    if (s.ports !== undefined) sidecarPorts.push({ d: pd, phase: 'pipeline', sidecar: s.name, container, path: s.path, ports: s.ports });
    containers.push({
      name: container, kind: 'sidecar', task: '', member: s.name, image, env: staticEnv,
      ...(s.envFrom !== undefined ? { envFrom: s.envFrom } : {}),
      ...(s.computeResources ? { computeResources: s.computeResources } : {}),
      ...(s.securityContext ? { securityContext: s.securityContext } : {}),
      ...(s.imagePullPolicy !== undefined ? { imagePullPolicy: s.imagePullPolicy } : {}),
      ...(s.ports !== undefined ? { ports: sharePorts(s, ports) } : {}),
      volumeMounts: [{ name: 'pipod', mountPath: podLayout.root }],
    });
    const workingDir = s.workingDir !== undefined ? substIn(pd, scope, s.workingDir, viaField(s.path, 'workingDir')) : undefined;
    return {
      name: s.name, container, image, command, args, ...(script !== undefined ? { script } : {}), env,
      ...(workingDir !== undefined && workingDir !== '' ? { workingDir } : {}),
      ...(s.readinessProbe ? { readinessProbe: s.readinessProbe } : {}), ...(s.startupProbe ? { startupProbe: s.startupProbe } : {}),
      terminationGraceMs: sidecarGraceMs,
    };
  });
  const planSidecars = compilePipelineSidecars();
  checkSidecarPorts(sidecarPorts, new Map([...planTasks, ...planFinally].flatMap((t) => (t ? [[t.name, t.dependsOn] as const] : []))));

  for (const w of pipeline.workspaces) {
    const b = wsBind.get(w.name);
    if (!b?.binding || b.volume === undefined || !usedWorkspaces.has(w.name)) continue;
    volumes.push(workspaceVolume(b.volume, b.binding));
  }
  const results = pipeline.results.map((res) => ({
    name: res.name, type: res.type, value: res.value === undefined ? '' : substValueIn(pd, pipelineScopeFor(undefined), finallyRefsAsTasks(res.value), viaField(res.path, 'value')),
  }));

  if (sink.errors.length > 0) return undefined;
  const groupNames = [...flat.children.keys(), ...matrixInstances.keys()].sort();
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
    tasks: planTasks.filter((t): t is PlanTask => t !== undefined),
    finally: planFinally.filter((t): t is PlanTask => t !== undefined),
    results, sidecars: planSidecars, settings: DEFAULT_SETTINGS,
    ...(groupNames.length > 0 ? { groups: Object.fromEntries(groupNames.map((n) => [n, expandDep(n)])) } : {}),
  };
  const labels: Record<string, string> = { ...(run?.labels ?? {}) };
  labels['tekton.dev/pipeline'] = labelValue(root.pipelineName);
  labels['tekton.dev/pipelineRun'] = labelValue(runName);
  if (root.taskRunName !== undefined) labels['tekton.dev/taskRun'] = labelValue(root.taskRunName);
  labels['app.kubernetes.io/managed-by'] = 'pipod';
  const annotations: Record<string, string> = { ...(run?.annotations ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  annotations['pipod.dev/tasks'] = JSON.stringify(sortObject(annotationMap));
  return {
    plan,
    pod: {
      name: options.podName ?? dnsLabel([runName, 'pod']), namespace, labels, annotations,
      ...(serviceAccountName !== undefined ? { serviceAccountName } : {}), ...(podTemplate ? { podTemplate } : {}),
      containers, volumes,
    },
  };
}

/**
 * One pod is one set of port names: a repeated port name is dropped (probes
 * already resolved it to a number). Repeated numbers are `checkSidecarPorts`'s.
 */
function sharePorts(c: ContainerSpec, seen: { names: Set<string> }): unknown {
  if (!Array.isArray(c.ports)) return c.ports;
  return c.ports.map((p: unknown) => {
    if (!isRecord(p)) return p;
    const name = p['name'];
    if (typeof name !== 'string') return p;
    if (seen.names.has(name)) {
      const { name: _n, ...rest } = p;
      return rest;
    }
    seen.names.add(name);
    return p;
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

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ');
}

/** Substitutes static references in every string of a raw object (volumes, valueFrom, envFrom). */
function substituteRaw(d: DocSink, scope: Scope, v: unknown, path: string, substIn: (d: DocSink, s: Scope, t: string, p: string) => string): unknown {
  if (typeof v === 'string') return substIn(d, scope, v, path);
  if (Array.isArray(v)) return v.map((x, i) => substituteRaw(d, scope, x, viaIndex(path, i), substIn));
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = substituteRaw(d, scope, x, viaField(path, k), substIn);
    return out;
  }
  return v;
}

function workspaceVolume(name: string, b: Binding): Raw {
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
  if (spec.enum && typeof v === 'string' && !SINGLE_REF.test(v) && !spec.enum.includes(v)) {
    d.error(path, `param "${spec.name}" value "${v}" is not one of ${list(spec.enum)}`);
  }
  if (spec.keys && typeof v === 'object' && !Array.isArray(v)) {
    const def = spec.default && typeof spec.default === 'object' && !Array.isArray(spec.default) ? spec.default as Readonly<Record<string, string>> : {};
    const missing = spec.keys.filter((k) => !(k in v) && !(k in def));
    if (missing.length > 0) d.error(path, `object param "${spec.name}" is missing keys ${list(missing)}`);
  }
}

/** Why a value does not fit a param spec, or undefined. Whole-value run-time references are checked against the result's declared type. */
function typeMismatch(spec: ParamSpec, v: ParamValue, byName: ReadonlyMap<string, Resolved>): string | undefined {
  if (typeOf(v) === spec.type) {
    if (typeof v === 'string') {
      const inner = SINGLE_REF.exec(v)?.[1];
      const tr = inner !== undefined ? parseTaskRef(normalizeRef(inner)) : undefined;
      if (tr?.kind === 'result') {
        const decl = byName.get(tr.task)?.spec?.results.find((x) => x.name === tr.result);
        const whole = /^tasks\.[^.]+\.results\.[^.[\]]+(\[\*\])?$/.test(normalizeRef(inner ?? ''));
        if (decl && whole && decl.type !== 'string') return `is declared string but result "${tr.result}" of task "${tr.task}" is ${decl.type}`;
      }
    }
    return undefined;
  }
  if (typeof v === 'string') {
    const inner = SINGLE_REF.exec(v)?.[1];
    const tr = inner !== undefined ? parseTaskRef(normalizeRef(inner)) : undefined;
    if (tr?.kind === 'result') {
      const decl = byName.get(tr.task)?.spec?.results.find((x) => x.name === tr.result);
      if (!decl || decl.type === spec.type) return undefined;
      return `is declared ${spec.type} but result "${tr.result}" of task "${tr.task}" is ${decl.type}`;
    }
  }
  return `is declared ${spec.type} but the value given is ${typeOf(v)}`;
}

/** Checks one `$(tasks.…)` reference made by a pipeline task. */
function checkTaskRef(tr: ReturnType<typeof parseTaskRef> & object, pt: PipelineTaskSpec, byName: ReadonlyMap<string, Resolved>): string | undefined {
  if (tr.kind === 'aggregate') {
    // In a child pipeline's finally it is the child's own aggregate (the supervisor knows the group).
    if (pt.finallyOf !== undefined) return undefined;
    return pt.isFinally ? undefined : '$(tasks.status) is only available in finally tasks';
  }
  const target = byName.get(tr.task);
  if (!target) return `reference to unknown pipeline task "${tr.task}"`;
  if (tr.kind === 'status') {
    if (!pt.isFinally && pt.finallyOf === undefined) return `$(tasks.${tr.task}.status) is only available in finally tasks`;
    if (target.pt.isFinally) return `finally task "${pt.name}" cannot use the status of finally task "${tr.task}"`;
    return undefined;
  }
  if (tr.kind === 'matrix') {
    if (!target.pt.matrix) return `task "${tr.task}" has no matrix`;
    if (tr.result !== undefined && target.spec && !target.spec.results.some((x) => x.name === tr.result)) return `task "${tr.task}" does not declare result "${tr.result}"`;
    return undefined;
  }
  if (tr.kind === 'other') return `unknown task variable in reference to "${tr.task}"`;
  if (tr.task === pt.name) return `task "${pt.name}" cannot use its own result "${tr.result}"`;
  if (target.pt.isFinally) return `result "${tr.result}" of finally task "${tr.task}" is not available to ${pt.isFinally ? 'another finally task' : 'pipeline tasks'}: it is not upstream`;
  if (target.spec && !target.spec.results.some((x) => x.name === tr.result)) return `task "${tr.task}" does not declare result "${tr.result}"`;
  const decl = target.spec?.results.find((x) => x.name === tr.result);
  if (target.pt.matrix && decl && decl.type !== 'string') return `result "${tr.result}" of matrixed task "${tr.task}" is ${decl.type}; only string results of a matrix are gathered (into an array)`;
  return undefined;
}

/**
 * Tekton's rule for a param that takes a matrixed task's result: the whole
 * gathered array, `[*]`; one instance's value (`[i]`, or the bare name) is
 * refused. Like Tekton, only pipeline task params are checked.
 */
function matrixConsumedWhole(ref: string, tr: ReturnType<typeof parseTaskRef> & object, inParams: boolean, byName: ReadonlyMap<string, Resolved>): string | undefined {
  if (!inParams || tr.kind !== 'result' || !byName.get(tr.task)?.pt.matrix || ref.endsWith('[*]')) return undefined;
  return `result "${tr.result}" of matrixed task "${tr.task}" can only be consumed whole, as $(tasks.${tr.task}.results.${tr.result}[*]), not as $(${ref}) (as in Tekton)`;
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

/** Maximum combinations of one matrix (Tekton's default-max-matrix-combinations-count). */
export const MAX_MATRIX_COMBINATIONS = 256;

/**
 * The combinations of a matrix in Tekton's order: the cartesian product of
 * `matrix.params` (the first param varying fastest), then `matrix.include`
 * entries, each added to every original combination whose matrix params it
 * matches (never overwriting an original value) or, matching none, appended
 * as a combination of its own.
 */
function expandMatrix(d: DocSink, r: Resolved, mx: MatrixSpec, subst: (v: ParamValue, path: string) => ParamValue): ReadonlyMap<string, string>[] {
  const { pt, spec } = r;
  // After an error no instance is made, so the error is not repeated per combination.
  let bad = false;
  const fail = (path: string, message: string): void => {
    bad = true;
    d.error(path, message);
  };
  const checkName = (name: string, path: string): void => {
    if (pt.params.some((p) => p.name === name)) fail(path, `param "${name}" is given in both params and matrix`);
    if (!spec) return;
    const ps = spec.params.find((p) => p.name === name);
    if (!ps) fail(path, `task "${r.taskName}" declares no param "${name}"`);
    else if (ps.type !== 'string') fail(path, `matrix param "${name}" fills ${ps.type} param "${name}" of task "${r.taskName}"; a matrix fans out string params`);
  };
  const axes: { name: string; values: readonly string[] }[] = [];
  for (const p of mx.params) {
    checkName(p.name, viaField(p.path, 'name'));
    if (p.value === undefined) continue;
    const vp = viaField(p.path, 'value');
    const v = subst(p.value, vp);
    if (!Array.isArray(v)) {
      // A literal non-array was reported when the pipeline was read.
      if (typeof p.value === 'string' && SINGLE_REF.test(p.value)) fail(vp, `matrix param "${p.name}" must be an array, but ${p.value} is ${typeOf(v)}`);
      else bad = true;
      continue;
    }
    axes.push({ name: p.name, values: v as readonly string[] });
  }
  const axisNames = new Set(axes.map((a) => a.name));
  let base: Map<string, string>[] = axes.length > 0 ? [new Map()] : [];
  for (const axis of axes) {
    const next: Map<string, string>[] = [];
    for (const v of axis.values) for (const c of base) next.push(new Map([...c, [axis.name, v]]));
    base = next;
  }
  const originals = base.length;
  for (const inc of mx.include) {
    const entries: [string, string][] = [];
    for (const p of inc.params) {
      if (!axisNames.has(p.name)) checkName(p.name, viaField(p.path, 'name'));
      if (typeof p.value !== 'string') continue;
      const v = subst(p.value, viaField(p.path, 'value'));
      entries.push([p.name, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
    let matched = false;
    for (const c of base.slice(0, originals)) {
      if (!entries.every(([n, v]) => !axisNames.has(n) || c.get(n) === v)) continue;
      matched = true;
      for (const [n, v] of entries) if (!axisNames.has(n)) c.set(n, v);
    }
    if (!matched) base.push(new Map(entries));
  }
  if (bad) return [];
  if (base.length === 0) d.error(mx.path, `matrix of task "${pt.name}" has no combinations (an empty array fans out to nothing)`);
  if (base.length > MAX_MATRIX_COMBINATIONS) d.error(mx.path, `matrix of task "${pt.name}" has ${base.length} combinations; at most ${MAX_MATRIX_COMBINATIONS} are allowed`);
  return base.length > MAX_MATRIX_COMBINATIONS ? [] : base;
}

/**
 * Static view of a matrixed task's outputs: `$(tasks.t.matrix.length)`, and
 * `$(tasks.t.results.r)` as the array of its instances' result references,
 * which the supervisor then fills in one by one.
 */
function matrixResolver(instances: ReadonlyMap<string, readonly string[]>): Resolver {
  return (ref) => {
    if (!ref.startsWith('tasks.')) return undefined;
    const tr = parseTaskRef(ref);
    if (!tr || (tr.kind !== 'result' && tr.kind !== 'matrix')) return undefined;
    const names = instances.get(tr.task);
    if (!names) return undefined;
    if (tr.kind === 'matrix') return String(names.length);
    if (ref !== `tasks.${tr.task}.results.${tr.result}`) return undefined;
    return names.map((n) => `$(tasks.${n}.results.${tr.result})`);
  };
}

function reportCycles(d: DocSink, pipeline: PipelineSpec, names: readonly string[], deps: ReadonlyMap<string, readonly string[]>): void {
  const known = new Set(names);
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of [...(deps.get(n) ?? [])].sort()) {
      if (!known.has(m)) continue;
      const s = state.get(m);
      if (s === 1) {
        const cycle = stack.slice(stack.indexOf(m));
        const key = [...cycle].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          d.error(viaField(pipeline.path, 'tasks'), `dependency cycle: ${[...cycle, m].join(' -> ')}`);
        }
      } else if (s === undefined) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of names) if (!state.has(n)) visit(n);
}

function pickRoot(
  docs: readonly LoadedDocument[], runs: readonly RunSpec[], sink: Sink, resolver: RefResolver,
  readTaskDoc: (r: ResolvedDocument) => TaskSpec | undefined, readPipelineDoc: (r: ResolvedDocument) => PipelineSpec | undefined,
): Root | undefined {
  if (runs.length > 1) {
    for (const r of runs.slice(1)) sink.error(r.source, '', `only one PipelineRun or TaskRun can be built at a time (already building ${runs[0]?.source ?? ''})`);
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
    const p = readPipelineDoc(doc);
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
      spec = readTaskDoc(doc);
    }
    if (!spec) return undefined;
    const taskName = run.taskRef?.name ?? name;
    const pipeline = synthesizeFromTask(d, spec, taskName, run.taskRef, run.retries, run.timeoutMs ?? DEFAULT_TIMEOUT_MS);
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
    const p = readPipelineDoc({ source: pdoc.source, body: pdoc.body });
    return p ? { pipeline: p, pipelineName: pdoc.name } : undefined;
  }
  const taskDocs = docs.filter((x) => x.kind === 'Task');
  if (taskDocs.length === 1 && taskDocs[0]) {
    const t = taskDocs[0];
    const spec = readTaskDoc({ source: t.source, body: t.body });
    if (!spec) return undefined;
    const d = sink.at(t.source);
    return { pipeline: synthesizeFromTask(d, spec, t.name, { name: t.name, path: 'metadata.name' }, undefined, undefined), pipelineName: t.name, synthesized: true };
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

/**
 * An embedded taskSpec may use a pipeline workspace it does not declare
 * (Tekton's propagated workspaces): declare it on the task and bind it by name.
 */
function propagateWorkspaces(pt: PipelineTaskSpec, spec: TaskSpec, pipelineWs: ReadonlyMap<string, unknown>): { pt: PipelineTaskSpec; spec: TaskSpec } {
  const used: string[] = [];
  walkStrings(pt.raw['taskSpec'], '', (text) => {
    for (const ref of text.includes('$(') ? findRefs(text) : []) {
      const n = /^workspaces\.([^.]+)\./.exec(ref)?.[1];
      if (n !== undefined && !used.includes(n)) used.push(n);
    }
  });
  const extra = used.filter((n) => pipelineWs.has(n) && !spec.workspaces.some((w) => w.name === n) && !pt.workspaces.some((b) => b.name === n));
  if (extra.length === 0) return { pt, spec };
  return {
    spec: { ...spec, workspaces: [...spec.workspaces, ...extra.map((name) => ({ name, readOnly: false, optional: false, path: viaField(spec.path, 'workspaces') }))] },
    pt: { ...pt, workspaces: [...pt.workspaces, ...extra.map((name) => ({ name, workspace: name, path: viaField(pt.path, 'workspaces') }))] },
  };
}
