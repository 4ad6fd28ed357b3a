/**
 * Classifying `$(…)` references: which are static (the builder substitutes
 * them), which are run-time (left for the supervisor), and walking every
 * string of a raw object with its field path.
 */
import { findRefs } from '@pipod/plan';
import { viaField, viaIndex } from './errors.ts';
import { isRecord } from './load.ts';

/** True for references only the supervisor can resolve. */
export function isRunTimeRef(ref: string): boolean {
  return ref.startsWith('tasks.') || (ref.startsWith('steps.') && /^steps\.[^.]+\.results\./.test(ref)) || ref === 'context.task.retry-count';
}

/** The run-time references in a string. */
export function runTimeRefs(text: string): string[] {
  return findRefs(text).filter(isRunTimeRef);
}

/** Calls `fn` for every string inside `v` (keys of objects are not visited), with its path. */
export function walkStrings(v: unknown, path: string, fn: (s: string, path: string) => void): void {
  if (typeof v === 'string') fn(v, path);
  else if (Array.isArray(v)) v.forEach((x, i) => walkStrings(x, viaIndex(path, i), fn));
  else if (isRecord(v)) for (const [k, x] of Object.entries(v)) walkStrings(x, viaField(path, k), fn);
}

/**
 * Pipeline results name a finally task's results `$(finally.<t>.results.<r>)`;
 * the supervisor knows every task as `tasks.<t>`, so the builder renames them.
 */
export function finallyRefsAsTasks<T>(v: T): T {
  return mapStringsDeep(v, (s) => (s.includes('$(') ? s.replace(/\$\(\s*finally\./g, '$$(tasks.') : s)) as T;
}

/** Applies `f` to every string inside `v` (lists and maps at any depth), keeping the shape. */
export function mapStringsDeep(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStringsDeep(x, f));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStringsDeep(x, f)]));
  return v;
}

/** A `$(tasks.<t>.…)` reference taken apart. */
export type TaskRef =
  | { readonly kind: 'result'; readonly task: string; readonly result: string }
  | { readonly kind: 'status'; readonly task: string }
  | { readonly kind: 'aggregate' }
  | { readonly kind: 'matrix'; readonly task: string; readonly result?: string }
  | { readonly kind: 'other'; readonly task: string };

/** Parses `tasks.a.results.r[*]`, `tasks.a.status`, `tasks.a.matrix.length`, `tasks.a.matrix.r.length`, `tasks.status`. */
export function parseTaskRef(ref: string): TaskRef | undefined {
  if (ref === 'tasks.status') return { kind: 'aggregate' };
  // Lazy: a flattened child task's name holds dots (`sub.build`); the first known keyword ends it.
  const m = /^tasks\.([^[\]]+?)\.(results\..*|status|reason|matrix\..*)$/.exec(ref) ?? /^tasks\.([^.[\]]+)\.(.*)$/.exec(ref);
  if (!m) return undefined;
  const task = m[1] ?? '';
  const rest = m[2] ?? '';
  if (rest === 'status' || rest === 'reason') return { kind: 'status', task };
  const r = /^results\.([^.[\]]+)/.exec(rest);
  if (r) return { kind: 'result', task, result: r[1] ?? '' };
  if (rest === 'matrix.length') return { kind: 'matrix', task };
  const ml = /^matrix\.([^.[\]]+)\.length$/.exec(rest);
  if (ml) return { kind: 'matrix', task, result: ml[1] ?? '' };
  return { kind: 'other', task };
}

/** A deterministic UUID-shaped id from a seed. */
export function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
