/**
 * Tekton variable substitution `$(ref)`, shared by the builder (static
 * values: params, workspaces, context) and the supervisor (run-time values:
 * results, statuses, retry counts). A reference the resolver does not know is
 * left as written, so the two passes compose.
 */
import type { ParamValue } from './plan.ts';

/** Looks up a reference such as `params.x` or `tasks.a.results.b`; undefined when unknown. */
export type Resolver = (ref: string) => ParamValue | undefined;

/** Matches `$(...)` with the bracket forms Tekton allows: `params["a.b"]`, `params['x']`. */
const REF = /\$\(\s*([^()\s]+?)\s*\)/g;

/** Rewrites `params["a.b"]` / `params['a']` to `params.a.b` / `params.a`. */
export function normalizeRef(ref: string): string {
  return ref.replace(/\[\s*["']([^"']+)["']\s*\]/g, '.$1');
}

/** Every reference in a string, normalised, in order of appearance. */
export function findRefs(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(REF)) out.push(normalizeRef(m[1] ?? ''));
  return out;
}

/** Resolves a reference with Tekton's indexing: `x[2]`, `x[*]`, and `obj.key`. */
export function resolveRef(ref: string, resolve: Resolver): ParamValue | undefined {
  const direct = resolve(ref);
  if (direct !== undefined) return direct;
  const star = /^(.*)\[\*\]$/.exec(ref);
  if (star?.[1] !== undefined) {
    const base = resolve(star[1]);
    return base !== undefined && typeof base !== 'string' ? base : undefined;
  }
  const idx = /^(.*)\[(\d+)\]$/.exec(ref);
  if (idx?.[1] !== undefined && idx[2] !== undefined) {
    const base = resolve(idx[1]);
    if (Array.isArray(base)) {
      const v = (base as readonly string[])[Number(idx[2])];
      return v;
    }
    return undefined;
  }
  const dot = ref.lastIndexOf('.');
  if (dot > 0) {
    const base = resolve(ref.slice(0, dot));
    if (base !== undefined && typeof base === 'object' && !Array.isArray(base)) {
      return (base as Readonly<Record<string, string>>)[ref.slice(dot + 1)];
    }
  }
  return undefined;
}

/** A value rendered into a string: arrays and objects as JSON, as Tekton does for whole-value references inside text. */
export function stringify(v: ParamValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Substitutes every known reference in a string. */
export function substitute(text: string, resolve: Resolver): string {
  return text.replace(REF, (whole: string, raw: string) => {
    const v = resolveRef(normalizeRef(raw), resolve);
    return v === undefined ? whole : stringify(v);
  });
}

/**
 * Rewrites the references of a string to other references (`$(a)` becomes
 * `$(b)` when `rename` gives `b`), leaving every other character as written:
 * flattening renames references, it does not resolve them.
 */
export function renameRefs(text: string, rename: (ref: string) => string | undefined): string {
  if (!text.includes('$(')) return text;
  return text.replace(REF, (whole: string, raw: string) => {
    const to = rename(normalizeRef(raw));
    return to === undefined ? whole : `$(${to})`;
  });
}

/**
 * Substitutes in an argument list: an element that is exactly one array
 * reference (`$(params.a[*])` or `$(params.a)` of array type) expands into
 * several elements, as Tekton does for command and args.
 */
export function substituteArgs(args: readonly string[], resolve: Resolver): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const only = /^\$\(\s*([^()\s]+?)\s*\)$/.exec(arg);
    if (only?.[1] !== undefined) {
      const v = resolveRef(normalizeRef(only[1]), resolve);
      if (Array.isArray(v)) {
        out.push(...(v as readonly string[]));
        continue;
      }
    }
    out.push(substitute(arg, resolve));
  }
  return out;
}

/** Substitutes inside any value: strings, arrays (with expansion) and objects. */
export function substituteValue(v: ParamValue, resolve: Resolver): ParamValue {
  if (typeof v === 'string') {
    const only = /^\$\(\s*([^()\s]+?)\s*\)$/.exec(v);
    if (only?.[1] !== undefined) {
      const whole = resolveRef(normalizeRef(only[1]), resolve);
      if (whole !== undefined) return whole;
    }
    return substitute(v, resolve);
  }
  if (Array.isArray(v)) return substituteArgs(v as readonly string[], resolve);
  const o: Record<string, string> = {};
  for (const [k, s] of Object.entries(v as Readonly<Record<string, string>>)) o[k] = substitute(s, resolve);
  return o;
}

/** Resolver over a flat map of reference → value. */
export function mapResolver(values: Readonly<Record<string, ParamValue>>): Resolver {
  return (ref) => (Object.prototype.hasOwnProperty.call(values, ref) ? values[ref] : undefined);
}

/** Tries resolvers in order. */
export function chainResolvers(...rs: readonly Resolver[]): Resolver {
  return (ref) => {
    for (const r of rs) {
      const v = r(ref);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}
