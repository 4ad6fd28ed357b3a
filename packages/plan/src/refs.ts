/**
 * Tekton's reference grammar, defined once: what the text inside `$(…)`
 * names. The builder, the supervisor and their rules classify references
 * only through `parseRef`; `subst.ts` finds and substitutes them.
 */
import type { ParamValue, PlanResultRef, PlanStep, PlanTask } from './plan.ts';

/** Matches `$(...)` with the bracket forms Tekton allows: `params["a.b"]`, `params['x']`. */
export const REF = /\$\(\s*([^()\s]+?)\s*\)/g;

/**
 * Rewrites the other spellings Tekton substitutes to the one `parseRef`
 * reads: `params["a.b"]` / `params['a']` / `results["r"].path` to the dotted
 * form, and v1beta1's `inputs.params.x` (Tekton still replaces it in Tasks)
 * to `params.x`.
 */
export function normalizeRef(ref: string): string {
  const dotted = ref.replace(/\[\s*["']([^"']+)["']\s*\]/g, '.$1');
  return dotted.startsWith('inputs.params.') ? dotted.slice('inputs.'.length) : dotted;
}

/** Every reference in a string, normalised, in order of appearance. */
export function findRefs(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(REF)) out.push(normalizeRef(m[1] ?? ''));
  return out;
}

/** How a reference picks from an array or object value: `[*]`, `[2]`, `.key`; absent is the whole value. */
export type RefSelector =
  | { readonly kind: 'star' }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'key'; readonly key: string };

/** One parsed reference (the text inside `$(…)`, normalised by `findRefs`). */
export type Ref =
  /** `tasks.<t>.results.<r>` with an optional selector. */
  | { readonly kind: 'taskResult'; readonly task: string; readonly result: string; readonly selector?: RefSelector }
  /** `tasks.<t>.status` or `tasks.<t>.reason`. */
  | { readonly kind: 'taskStatus'; readonly task: string; readonly field: 'status' | 'reason' }
  /** `tasks.status`: the aggregate status of the DAG tasks (finally only). */
  | { readonly kind: 'tasksStatus' }
  /** `tasks.<t>.matrix.length` or `tasks.<t>.matrix.<r>.length`. */
  | { readonly kind: 'matrixLength'; readonly task: string; readonly result?: string }
  /** Any other `tasks.…`: run-time, but no variable Tekton defines (`task` is empty when there is none). */
  | { readonly kind: 'taskOther'; readonly task: string }
  /** `finally.<t>.results.<r>`: a finally task's result, as pipeline results name it. */
  | { readonly kind: 'finallyResult'; readonly task: string; readonly result: string; readonly selector?: RefSelector }
  /** `steps.<s>.results.<r>` with an optional selector: a result of an earlier step of the same task. */
  | { readonly kind: 'stepResult'; readonly step: string; readonly result: string; readonly selector?: RefSelector }
  /** `steps.<s>.exitCode.path`. */
  | { readonly kind: 'stepExitCodePath'; readonly step: string }
  /** Any other `steps.…`. */
  | { readonly kind: 'stepOther'; readonly step: string }
  /** `step.results.<r>.path` (`result` undefined when the rest is not that form). */
  | { readonly kind: 'ownStepResultPath'; readonly result?: string }
  /** `results.<r>.path` (`result` undefined when the rest is not that form). */
  | { readonly kind: 'resultPath'; readonly result?: string }
  /** `params.<rest>`: param names may hold dots, so `rest` is split against declared names by `paramOf`. */
  | { readonly kind: 'param'; readonly rest: string }
  /** `context.<name>` (`context.task.retry-count` is known only at run time). */
  | { readonly kind: 'context'; readonly name: string }
  /** `workspaces.<w>.<attr>`. */
  | { readonly kind: 'workspace'; readonly workspace: string; readonly attr?: string }
  /** A Tekton variable pipod does not provide: `credentials.path`, `artifacts.path`, `step.artifacts.path`. */
  | { readonly kind: 'unsupported'; readonly what: 'credentials' | 'artifacts' }
  /** Anything else. */
  | { readonly kind: 'unknown' };

/** Parses `[*]`, `[n]` or `.key` after a result name; undefined for the whole value, 'bad' when the rest is none of them. */
function parseSelector(rest: string): RefSelector | undefined | 'bad' {
  if (rest === '') return undefined;
  if (rest === '[*]') return { kind: 'star' };
  const i = /^\[(\d+)\]$/.exec(rest);
  if (i?.[1] !== undefined) return { kind: 'index', index: Number(i[1]) };
  const k = /^\.([^.[\]]+)$/.exec(rest);
  if (k?.[1] !== undefined) return { kind: 'key', key: k[1] };
  return 'bad';
}

function withSelector<T extends object>(base: T, rest: string): T & { readonly selector?: RefSelector } {
  const sel = parseSelector(rest);
  return sel === undefined || sel === 'bad' ? base : { ...base, selector: sel };
}

/**
 * A task reference: `tasks.<t>.<rest>`. Task names of a flattened child
 * pipeline hold dots (`sub.build`), so the name ends at the first keyword
 * (`results.`, `status`, `reason`, `matrix.`); `isTask`, when given, picks a
 * later split whose name is a known task.
 */
function parseTasks(ref: string, isTask?: (name: string) => boolean): Ref {
  if (ref === 'tasks.status') return { kind: 'tasksStatus' };
  const body = ref.slice('tasks.'.length);
  const splits: [string, string][] = [];
  for (const m of body.matchAll(/\.(?=results\.|status$|reason$|matrix\.)/g)) {
    const task = body.slice(0, m.index);
    if (task !== '' && !/[[\]]/.test(task)) splits.push([task, body.slice(m.index + 1)]);
  }
  const chosen = (isTask ? splits.find(([t]) => isTask(t)) : undefined) ?? splits[0];
  if (!chosen) {
    const m = /^([^.[\]]+)\.(.*)$/.exec(body);
    return { kind: 'taskOther', task: m?.[1] ?? '' };
  }
  const [task, rest] = chosen;
  if (rest === 'status' || rest === 'reason') return { kind: 'taskStatus', task, field: rest };
  const r = /^results\.([^.[\]]+)(.*)$/.exec(rest);
  if (r?.[1] !== undefined) return withSelector({ kind: 'taskResult', task, result: r[1] }, r[2] ?? '');
  if (rest === 'matrix.length') return { kind: 'matrixLength', task };
  const ml = /^matrix\.([^.[\]]+)\.length$/.exec(rest);
  if (ml?.[1] !== undefined) return { kind: 'matrixLength', task, result: ml[1] };
  return { kind: 'taskOther', task };
}

/** Parses one reference (as `findRefs` returns it); `isTask` disambiguates task names holding dots. */
export function parseRef(ref: string, isTask?: (name: string) => boolean): Ref {
  if (ref.startsWith('tasks.')) return parseTasks(ref, isTask);
  if (ref.startsWith('finally.')) {
    const t = parseTasks(`tasks.${ref.slice('finally.'.length)}`, isTask);
    return t.kind === 'taskResult' ? { ...t, kind: 'finallyResult' } : { kind: 'unknown' };
  }
  if (ref.startsWith('steps.')) {
    const m = /^steps\.([^.]+)\.(.*)$/.exec(ref);
    const step = m?.[1] ?? '';
    const rest = m?.[2] ?? '';
    if (rest === 'exitCode.path') return { kind: 'stepExitCodePath', step };
    const r = /^results\.([^.[\]]*)(.*)$/.exec(rest);
    if (m && r?.[1] !== undefined) return withSelector({ kind: 'stepResult', step, result: r[1] }, r[2] ?? '');
    return { kind: 'stepOther', step };
  }
  if (ref === 'credentials.path') return { kind: 'unsupported', what: 'credentials' };
  if (ref === 'artifacts.path' || ref === 'step.artifacts.path') return { kind: 'unsupported', what: 'artifacts' };
  if (ref.startsWith('step.results.')) {
    const m = /^step\.results\.([^.]+)\.path$/.exec(ref);
    return m?.[1] !== undefined ? { kind: 'ownStepResultPath', result: m[1] } : { kind: 'ownStepResultPath' };
  }
  if (ref.startsWith('results.')) {
    const m = /^results\.([^.]+)\.path$/.exec(ref);
    return m?.[1] !== undefined ? { kind: 'resultPath', result: m[1] } : { kind: 'resultPath' };
  }
  if (ref.startsWith('params.')) return { kind: 'param', rest: ref.slice('params.'.length) };
  if (ref.startsWith('context.')) return { kind: 'context', name: ref.slice('context.'.length) };
  if (ref.startsWith('workspaces.')) {
    const [, w, attr] = ref.split('.');
    return { kind: 'workspace', workspace: w ?? '', ...(attr !== undefined ? { attr } : {}) };
  }
  return { kind: 'unknown' };
}

/** True for a reference only the supervisor can resolve: task results and statuses, step results, the retry count. */
export function isRunTimeRef(ref: string): boolean {
  const r = parseRef(ref);
  switch (r.kind) {
    case 'taskResult': case 'taskStatus': case 'tasksStatus': case 'matrixLength': case 'taskOther': return true;
    case 'stepResult': return true;
    case 'context': return r.name === 'task.retry-count';
    default: return false;
  }
}

/** The references in a string; most strings have none, so the scan is skipped then. */
export function refsIn(text: string): string[] {
  return text.includes('$(') ? findRefs(text) : [];
}

/** The run-time references in a string. */
export function runTimeRefs(text: string): string[] {
  return refsIn(text).filter(isRunTimeRef);
}

/** True when a string references a step result (`$(steps.<s>.results.<r>)`). */
export function readsStepResult(text: string): boolean {
  return refsIn(text).some((r) => parseRef(r).kind === 'stepResult');
}

/** The `{task, result}` pairs of the task-result references in a string; `isTask` says which names are tasks. */
export function taskResultRefs(text: string, isTask?: (name: string) => boolean): { task: string; result: string }[] {
  const out: { task: string; result: string }[] = [];
  for (const ref of refsIn(text)) {
    const r = parseRef(ref, isTask);
    if (r.kind === 'taskResult' && (!isTask || isTask(r.task))) out.push({ task: r.task, result: r.result });
  }
  return out;
}

/** Which declared param a `params.…` reference names (names may hold dots, the longest wins), and the selector text after it. */
export function paramOf(ref: string, names: readonly string[]): { name: string; suffix: string } | undefined {
  if (!ref.startsWith('params.')) return undefined;
  const rest = ref.slice('params.'.length);
  let best: string | undefined;
  for (const n of names) {
    if (rest === n || rest.startsWith(`${n}.`) || rest.startsWith(`${n}[`)) {
      if (best === undefined || n.length > best.length) best = n;
    }
  }
  return best === undefined ? undefined : { name: best, suffix: rest.slice(best.length) };
}

/** The text of a value that is exactly one reference (`$(x)`), or undefined. */
export function singleRef(text: string): string | undefined {
  return /^\$\(\s*([^()\s]+?)\s*\)$/.exec(text)?.[1];
}

/** Every string of a plan task that may hold run-time references: params, when, steps and sidecars. */
export function planTaskStrings(task: PlanTask): string[] {
  const out: string[] = [];
  const addValue = (v: ParamValue): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...(v as readonly string[]));
    else out.push(...Object.values(v as Readonly<Record<string, string>>));
  };
  for (const v of Object.values(task.params)) addValue(v);
  for (const w of task.when) out.push(w.input, ...w.values);
  for (const s of task.steps) {
    out.push(...s.command, ...s.args, ...s.env.map((e) => e.value));
    if (s.script !== undefined) out.push(s.script);
    if (s.workingDir !== undefined) out.push(s.workingDir);
  }
  for (const s of task.sidecars) {
    out.push(...s.command, ...s.args, ...s.env.map((e) => e.value));
    if (s.script !== undefined) out.push(s.script);
  }
  return out;
}

/** The task results a plan task reads, each once, in order of first use; `isTask` says which names are plan tasks. */
export function consumedTaskResults(task: PlanTask, isTask: (name: string) => boolean): PlanResultRef[] {
  const out: PlanResultRef[] = [];
  for (const text of planTaskStrings(task)) {
    for (const r of taskResultRefs(text, isTask)) {
      if (!out.some((x) => x.task === r.task && x.result === r.result)) out.push(r);
    }
  }
  return out;
}

/** Whether a step reads a step result in its command, args, env, script or workingDir: its value exists only once that step ended. */
export function stepReadsStepResults(step: PlanStep): boolean {
  const texts = [...step.command, ...step.args, ...step.env.map((e) => e.value), step.script ?? '', step.workingDir ?? ''];
  return texts.some(readsStepResult);
}
