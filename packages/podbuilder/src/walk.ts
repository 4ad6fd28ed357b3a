/**
 * Walking the strings of raw objects with their field paths, and renaming
 * references inside them. What a reference means is `@pipod/plan`'s refs.ts.
 */
import { parseRef, renameRefs } from '@pipod/plan';
import { viaField, viaIndex } from './errors.ts';
import { isRecord } from './load.ts';

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
  return mapStringsDeep(v, (s) => renameRefs(s, (ref) => (parseRef(ref).kind === 'finallyResult' ? `tasks.${ref.slice('finally.'.length)}` : undefined))) as T;
}

/** Applies `f` to every string inside `v` (lists and maps at any depth), keeping the shape. */
export function mapStringsDeep(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStringsDeep(x, f));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStringsDeep(x, f)]));
  return v;
}
