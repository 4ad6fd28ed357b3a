/**
 * Typed reading of raw YAML objects against explicit allow-lists: every
 * field is either known, known-but-refused (with the reason), or an error.
 * Nothing is dropped silently.
 */
import type { ParamValue } from '@pipod/plan';
import { type DocSink, viaField, viaIndex } from './errors.ts';
import { isRecord } from './load.ts';
import { type ResourceList, parseResourceList } from './resources-quantity.ts';

/** A raw YAML mapping. */
export type Raw = Readonly<Record<string, unknown>>;

/** Allow-list of an object type: `true` = read, a string = refused with that message. */
export type Fields = Readonly<Record<string, true | string>>;

/** Message for fields that a later version will read. */
export const LATER = 'not supported yet';

/** Reports every field of `o` that is not allowed. */
export function checkFields(d: DocSink, o: Raw, path: string, fields: Fields): void {
  for (const k of Object.keys(o)) {
    const f = fields[k];
    if (f === true) continue;
    if (o[k] === undefined || o[k] === null) continue;
    d.error(viaField(path, k), f === undefined ? 'unknown field' : f);
  }
}

/** The object at `o[key]`; undefined (with an error when present but not an object). */
export function obj(d: DocSink, o: Raw, key: string, path: string, required = false): Raw | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) d.error(viaField(path, key), 'required field is missing');
    return undefined;
  }
  if (!isRecord(v)) {
    d.error(viaField(path, key), 'must be a mapping');
    return undefined;
  }
  return v;
}

/** The string at `o[key]`; numbers and booleans are not coerced (Kubernetes would refuse them too). */
export function str(d: DocSink, o: Raw, key: string, path: string, required = false): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) d.error(viaField(path, key), 'required field is missing');
    return undefined;
  }
  if (typeof v !== 'string') {
    d.error(viaField(path, key), 'must be a string');
    return undefined;
  }
  if (required && v === '') {
    d.error(viaField(path, key), 'required field is missing');
    return undefined;
  }
  return v;
}

/** The boolean at `o[key]`. */
export function bool(d: DocSink, o: Raw, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    d.error(viaField(path, key), 'must be true or false');
    return undefined;
  }
  return v;
}

/** The non-negative integer at `o[key]`. */
export function int(d: DocSink, o: Raw, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    d.error(viaField(path, key), 'must be a non-negative integer');
    return undefined;
  }
  return v;
}

/** The list of strings at `o[key]` (empty when absent). */
export function strList(d: DocSink, o: Raw, key: string, path: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    d.error(viaField(path, key), 'must be a list of strings');
    return [];
  }
  const out: string[] = [];
  v.forEach((x, i) => {
    if (typeof x === 'string') out.push(x);
    else if (typeof x === 'number' || typeof x === 'boolean') out.push(String(x));
    else d.error(viaIndex(viaField(path, key), i), 'must be a string');
  });
  return out;
}

/** The list of mappings at `o[key]`, each with its path. */
export function objList(d: DocSink, o: Raw, key: string, path: string): { readonly value: Raw; readonly path: string; readonly index: number }[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  const p = viaField(path, key);
  if (!Array.isArray(v)) {
    d.error(p, 'must be a list');
    return [];
  }
  const out: { value: Raw; path: string; index: number }[] = [];
  v.forEach((x, i) => {
    if (isRecord(x)) out.push({ value: x, path: viaIndex(p, i), index: i });
    else d.error(viaIndex(p, i), 'must be a mapping');
  });
  return out;
}

/**
 * The `computeResources` of `o`, its fields checked against `fields` and
 * every quantity parsed here, so a bad one is reported at the user's field
 * rather than at the generated Pod's.
 */
export function computeResources(d: DocSink, o: Raw, path: string, fields: Fields): Raw | undefined {
  const res = obj(d, o, 'computeResources', path);
  if (!res) return undefined;
  const p = viaField(path, 'computeResources');
  checkFields(d, res, p, fields);
  for (const list of ['requests', 'limits']) {
    for (const e of parseResourceList(res[list] as ResourceList | undefined, viaField(p, list)).problems) d.error(e.path, e.message);
  }
  return res;
}

/** A Tekton param value: a string, a list of strings or a map of strings (scalars read as their text, as Tekton does). */
export function paramValue(d: DocSink, v: unknown, path: string): ParamValue | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    const out: string[] = [];
    let ok = true;
    v.forEach((x, i) => {
      if (typeof x === 'string') out.push(x);
      else if (typeof x === 'number' || typeof x === 'boolean') out.push(String(x));
      else {
        d.error(viaIndex(path, i), 'array params hold strings only');
        ok = false;
      }
    });
    return ok ? out : undefined;
  }
  if (isRecord(v)) {
    const out: Record<string, string> = {};
    let ok = true;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string') out[k] = x;
      else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else {
        d.error(viaField(path, k), 'object params hold strings only');
        ok = false;
      }
    }
    return ok ? out : undefined;
  }
  d.error(path, v === null || v === undefined ? 'required field is missing' : 'must be a string, a list of strings or a mapping of strings');
  return undefined;
}

/** The type of a param value. */
export function typeOf(v: ParamValue): 'string' | 'array' | 'object' {
  return typeof v === 'string' ? 'string' : Array.isArray(v) ? 'array' : 'object';
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a DNS-1123 label (pipeline task, step, sidecar, volume names). */
export function checkLabel(d: DocSink, name: string, path: string): void {
  if (name.length > 63 || !LABEL.test(name)) {
    d.error(path, `invalid name "${name}": must be a DNS-1123 label (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)`);
  }
}

/** Checks a DNS-1123 subdomain (metadata.name). */
export function checkSubdomain(d: DocSink, name: string, path: string): void {
  if (name.length > 253 || !SUBDOMAIN.test(name)) {
    d.error(path, `invalid name "${name}": must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)`);
  }
}

const PARAM_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;
const RESULT_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Checks a param name as Tekton does (letters, digits, `_`, `-`, `.`; starting with a letter or `_`). */
export function checkParamName(d: DocSink, name: string, path: string): void {
  if (!PARAM_NAME.test(name)) d.error(path, `invalid param name "${name}": use letters, digits, '_', '-' and '.', starting with a letter or '_'`);
}

/** Checks a result name as Tekton does. */
export function checkResultName(d: DocSink, name: string, path: string): void {
  if (!RESULT_NAME.test(name)) d.error(path, `invalid result name "${name}": use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`);
}

/** Reports names that appear twice in a list (at the later occurrence). */
export function checkUnique(d: DocSink, items: readonly { readonly name: string; readonly path: string }[], what: string, field = 'name'): void {
  const seen = new Set<string>();
  for (const it of items) {
    if (it.name === '') continue;
    if (seen.has(it.name)) d.error(viaField(it.path, field), `duplicate ${what} name "${it.name}"`);
    seen.add(it.name);
  }
}
