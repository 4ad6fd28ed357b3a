/**
 * Scopes and substitution: what a reference means in a pipeline or a task
 * (one replacement map per concern — params, context, workspaces, result
 * paths, step paths — as Tekton's apply.go builds them), what it may not
 * name there, and the checked substitution every compiler stage uses.
 */
import {
  TEKTON_RESULTS_DIR, TEKTON_STEPS_DIR, type ParamValue, type Resolver, type ValueType, chainResolvers, mapResolver, normalizeRef, paramOf, parseRef, stepDirName,
  refsIn, resolveRef, singleRef, substitute, substituteArgs, substituteValue,
} from '@pipod/plan';
import { type DocSink, viaField, viaIndex } from '../errors.ts';
import { isRecord } from '../load.ts';
import type { ContainerSpec, ParamSpec, ResultSpec } from '../model.ts';
import { walkStrings } from '../walk.ts';
import { list } from './types.ts';

/** Context variables a pipeline's own fields see. */
export const PIPELINE_CONTEXT = new Set(['context.pipelineRun.name', 'context.pipelineRun.namespace', 'context.pipelineRun.uid', 'context.pipeline.name']);
/** Context variables a Task sees. */
export const TASK_CONTEXT = new Set([
  ...PIPELINE_CONTEXT, 'context.taskRun.name', 'context.taskRun.namespace', 'context.taskRun.uid', 'context.task.name',
  'context.task.retry-count', 'context.pipelineTask.retries',
]);

/** Static lookup plus a check that names undeclared things, for one scope (pipeline or task). */
export interface Scope {
  readonly resolve: Resolver;
  /** An error message for a reference this scope cannot have, or undefined. */
  check(ref: string): string | undefined;
  /** Declared types of the params this scope sees. */
  readonly paramTypes: ReadonlyMap<string, ValueType>;
  readonly paramNames: readonly string[];
}

/** A resolver over one concern's replacements. */
export function replacements(m: ReadonlyMap<string, ParamValue>): Resolver {
  return mapResolver(Object.fromEntries(m));
}

const none: Resolver = () => undefined;

/** Resolver for `params.*` over values that may themselves be run-time references (kept symbolic, with the index or key carried over). */
export function paramResolver(values: ReadonlyMap<string, ParamValue>): Resolver {
  const names = [...values.keys()];
  return (ref) => {
    const p = paramOf(ref, names);
    if (!p) return undefined;
    const v = values.get(p.name);
    if (v === undefined) return undefined;
    if (p.suffix === '' || p.suffix === '[*]') return v;
    if (typeof v === 'string') {
      const inner = singleRef(v);
      if (inner !== undefined) return `$(${normalizeRef(inner).replace(/\[\*\]$/, '')}${p.suffix})`;
      return undefined;
    }
    return resolveRef(`x${p.suffix}`, (r) => (r === 'x' ? v : undefined));
  };
}

/** Why a whole array or object param cannot stand inside a larger string, or undefined. */
function wholeParamMisuse(scope: Scope, ref: string): string | undefined {
  const p = paramOf(ref, scope.paramNames);
  if (!p || (p.suffix !== '' && p.suffix !== '[*]')) return undefined;
  const t = scope.paramTypes.get(p.name);
  if (t === undefined || t === 'string') return undefined;
  return t === 'array'
    ? `array param "${p.name}" must be a whole element of a list (command, args, when values, array params); index it ($(params.${p.name}[0])) to use it inside a string`
    : `object param "${p.name}" must be a whole param value; use one key ($(params.${p.name}.key)) inside a string`;
}

function undeclaredParam(ref: string, who: string, names: readonly string[]): string {
  return `undeclared param "${ref.slice(7).split(/[.[]/)[0] ?? ''}" (the ${who} declares ${list(names)})`;
}

/** Checked static substitution: every reference is checked against its scope (errors at the field path), then the known ones replaced. */
export const subst = {
  /** Reports every reference of `text` its scope cannot have; `wholeAllowed` when the text may be one whole array or object. */
  check(d: DocSink, scope: Scope, text: string, path: string, wholeAllowed: boolean): void {
    const refs = refsIn(text);
    const alone = wholeAllowed && refs.length === 1 && singleRef(text) !== undefined;
    for (const ref of refs) {
      const msg = scope.check(ref) ?? (alone ? undefined : wholeParamMisuse(scope, ref));
      if (msg !== undefined) d.error(path, msg);
    }
  },
  /** One string. */
  text(d: DocSink, scope: Scope, text: string, path: string): string {
    if (!text.includes('$(')) return text;
    subst.check(d, scope, text, path, false);
    return substitute(text, scope.resolve);
  },
  /** An argument list, where a whole array reference expands into elements. */
  args(d: DocSink, scope: Scope, args: readonly string[], path: string): string[] {
    if (!args.some((a) => a.includes('$('))) return [...args];
    args.forEach((a, i) => subst.check(d, scope, a, viaIndex(path, i), true));
    return substituteArgs(args, scope.resolve);
  },
  /** A param value of any type. */
  value(d: DocSink, scope: Scope, v: ParamValue, path: string): ParamValue {
    walkStrings(v, path, (s, p) => subst.check(d, scope, s, p, typeof v === 'string' || Array.isArray(v)));
    return substituteValue(v, scope.resolve);
  },
  /** Every string of a raw object (volumes, valueFrom, envFrom). */
  raw(d: DocSink, scope: Scope, v: unknown, path: string): unknown {
    if (typeof v === 'string') return subst.text(d, scope, v, path);
    if (Array.isArray(v)) return v.map((x, i) => subst.raw(d, scope, x, viaIndex(path, i)));
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = subst.raw(d, scope, x, viaField(path, k));
      return out;
    }
    return v;
  },
};

/** What the pipeline scope is made of. */
export interface PipelineScopeParts {
  readonly params: readonly ParamSpec[];
  readonly values: ReadonlyMap<string, ParamValue>;
  readonly context: ReadonlyMap<string, ParamValue>;
  /** `workspaces.<w>.bound` of every pipeline workspace. */
  readonly workspaces: ReadonlyMap<string, ParamValue>;
  readonly workspaceNames: ReadonlySet<string>;
  /** Static views of run-time things: matrix instances, child pipeline results. */
  readonly derived: readonly Resolver[];
}

/** The pipeline's scope; a pipeline task's own fields (`pt` given) also see its retries, pipeline results do not. */
export function pipelineScope(p: PipelineScopeParts, retries?: number): Scope {
  const paramNames = p.params.map((x) => x.name);
  const base = chainResolvers(paramResolver(p.values), replacements(p.context), replacements(p.workspaces), ...p.derived);
  return {
    resolve: retries !== undefined ? chainResolvers(base, (ref) => (ref === 'context.pipelineTask.retries' ? String(retries) : undefined)) : base,
    paramTypes: new Map(p.params.map((x) => [x.name, x.type])),
    paramNames,
    check(ref) {
      const r = parseRef(ref);
      if (r.kind === 'param') return paramOf(ref, paramNames) ? undefined : undeclaredParam(ref, 'pipeline', paramNames);
      if (r.kind === 'context') {
        if (PIPELINE_CONTEXT.has(ref) || (retries !== undefined && ref === 'context.pipelineTask.retries')) return undefined;
        return TASK_CONTEXT.has(ref) ? `$(${ref}) is only available inside a Task` : `unknown context variable "${ref}"`;
      }
      if (r.kind === 'workspace') {
        if (!p.workspaceNames.has(r.workspace)) return `undeclared workspace "${r.workspace}"`;
        if (r.attr !== 'bound') return `only $(workspaces.${r.workspace}.bound) is available in a pipeline`;
      }
      return undefined;
    },
  };
}

/** A task workspace as its steps see it. */
export interface TaskWs {
  readonly mountPath: string;
  readonly bound: boolean;
  readonly volume?: string;
  readonly subPath?: string;
  readonly readOnly: boolean;
  readonly claim: string;
}

/** What a task scope is made of. */
export interface TaskScopeParts {
  readonly params: ReadonlyMap<string, ParamValue>;
  readonly paramSpecs: readonly ParamSpec[];
  /** Pipeline params an embedded taskSpec sees without declaring them. */
  readonly propagated: ReadonlyMap<string, ParamValue>;
  readonly propagatedSpecs: readonly ParamSpec[];
  readonly context: ReadonlyMap<string, ParamValue>;
  readonly workspaces: ReadonlyMap<string, TaskWs>;
  readonly results: readonly ResultSpec[];
  readonly stepNames: readonly string[];
}

/** `workspaces.<w>.path|bound|claim|volume`. */
function workspaceReplacements(tws: ReadonlyMap<string, TaskWs>): Map<string, ParamValue> {
  const m = new Map<string, ParamValue>();
  for (const [n, w] of tws) {
    m.set(`workspaces.${n}.path`, w.mountPath);
    m.set(`workspaces.${n}.bound`, w.bound ? 'true' : 'false');
    m.set(`workspaces.${n}.claim`, w.claim);
    m.set(`workspaces.${n}.volume`, w.volume ?? '');
  }
  return m;
}

/** `results.<r>.path`. */
function resultPathReplacements(results: readonly ResultSpec[]): Map<string, ParamValue> {
  return new Map(results.map((r) => [`results.${r.name}.path`, `${TEKTON_RESULTS_DIR}/${r.name}`]));
}

/** `steps.step-<s>.exitCode.path` (pipod also takes `steps.<s>`): Tekton's path, where the task's steps directory is mounted. */
function stepPathReplacements(stepNames: readonly string[]): Map<string, ParamValue> {
  const m = new Map<string, ParamValue>();
  for (const s of stepNames) {
    const file = `${TEKTON_STEPS_DIR}/${stepDirName(s)}/exitCode`;
    m.set(`steps.${s}.exitCode.path`, file);
    m.set(`steps.step-${s}.exitCode.path`, file);
  }
  return m;
}

/** `step.results.<r>.path` of one step: Tekton's path under /tekton/steps. */
function ownStepReplacements(step: ContainerSpec): Map<string, ParamValue> {
  return new Map(step.results.map((x) => [`step.results.${x.name}.path`, `${TEKTON_STEPS_DIR}/${stepDirName(step.name)}/results/${x.name}`]));
}

/** A task's scopes: `forStep(c)` adds what one step or sidecar sees of its own results. */
export function taskScopes(t: TaskScopeParts): { readonly forStep: (step?: ContainerSpec) => Scope } {
  const taskParamNames = t.paramSpecs.map((p) => p.name);
  const propagatedNames = t.propagatedSpecs.map((p) => p.name);
  const paramTypes = new Map<string, ValueType>([
    ...t.propagatedSpecs.map((p): [string, ValueType] => [p.name, p.type]),
    ...t.paramSpecs.map((p): [string, ValueType] => [p.name, p.type]),
  ]);
  const paramNames = [...paramTypes.keys()];
  const declaredWs = [...t.workspaces.keys()];
  const base = chainResolvers(
    paramResolver(t.params),
    t.propagated.size > 0 ? paramResolver(t.propagated) : none,
    replacements(t.context),
    replacements(workspaceReplacements(t.workspaces)),
    replacements(resultPathReplacements(t.results)),
    replacements(stepPathReplacements(t.stepNames)),
  );
  const forStep = (step?: ContainerSpec): Scope => ({
    paramTypes,
    paramNames,
    resolve: step ? chainResolvers(base, replacements(ownStepReplacements(step))) : base,
    check(ref) {
      const r = parseRef(ref);
      switch (r.kind) {
        case 'param':
          return paramOf(ref, taskParamNames) || paramOf(ref, propagatedNames) ? undefined : undeclaredParam(ref, 'task', taskParamNames);
        case 'workspace':
          if (!declaredWs.includes(r.workspace)) return `undeclared workspace "${r.workspace}" (the task declares ${list(declaredWs)})`;
          return ['path', 'bound', 'claim', 'volume'].includes(r.attr ?? '') ? undefined : `unknown workspace variable "${ref}"`;
        case 'resultPath':
          if (r.result === undefined) return `unknown result variable "${ref}"`;
          return t.results.some((x) => x.name === r.result) ? undefined : `undeclared result "${r.result}"`;
        case 'ownStepResultPath':
          if (r.result === undefined || !step) return `unknown step result variable "${ref}"`;
          return step.results.some((x) => x.name === r.result) ? undefined : `step "${step.name}" declares no result "${r.result}"`;
        case 'stepExitCodePath': case 'stepResult': case 'stepOther': {
          if (r.kind === 'stepOther' || (r.kind === 'stepResult' && r.result === '')) return `unknown step variable "${ref}"`;
          const s = r.step;
          if (!t.stepNames.includes(s) && !(s.startsWith('step-') && t.stepNames.includes(s.slice(5)))) return `unknown step "${s}"`;
          return undefined;
        }
        case 'context':
          return TASK_CONTEXT.has(ref) ? undefined : `unknown context variable "${ref}"`;
        case 'unsupported':
          return r.what === 'credentials'
            ? `$(${ref}) is not supported yet (Tekton's credential initialisation from annotated secrets): mount the secret as a workspace or volume`
            : `$(${ref}) is not supported yet (Tekton's alpha artifacts)`;
        default:
          return undefined;
      }
    },
  });
  return { forStep };
}
