/**
 * One pod, one pod template: the run's `taskRunTemplate.podTemplate` and each
 * task's `taskRunSpecs[].podTemplate` merged into the template of the one pod.
 * In Tekton a task's template replaces the run's for that task's own pod;
 * here every task shares the pod, so the pod must satisfy all of them at once:
 * lists that only widen what the pod may do are united, maps are merged key by
 * key, and any other field must agree — a disagreement is an error naming both
 * places, never a silent pick.
 */
import { type DocSink, viaField } from './errors.ts';
import { isRecord, toCompactJson } from './load.ts';
import type { Raw } from './read.ts';

/** One pod template and who gave it. */
export interface PodTemplateSource {
  /** `the run` or `task "<name>"`, for messages. */
  readonly who: string;
  readonly value: Raw;
  /** Field path of the template in its document. */
  readonly path: string;
  /** The sink of the document it came from. */
  readonly d: DocSink;
}

// Every entry widens what the pod tolerates or may pull; the union serves each task.
const UNITED = new Set(['tolerations', 'imagePullSecrets', 'hostAliases', 'topologySpreadConstraints']);
// A key set by two templates must have one value; different keys combine.
const MERGED = new Set(['nodeSelector', 'securityContext']);

/**
 * The one pod's template from the sources in order (the run's first), or
 * undefined when none is given; every conflict goes to the sink of the later
 * source, naming the earlier one.
 */
export function mergePodTemplates(sources: readonly PodTemplateSource[]): Raw | undefined {
  if (sources.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  // Who set each scalar field or map key first, to name them in a conflict.
  const firstBy = new Map<string, { readonly who: string; readonly path: string }>();
  for (const src of sources) {
    for (const [field, v] of Object.entries(src.value)) {
      const at = viaField(src.path, field);
      if (UNITED.has(field)) {
        if (!Array.isArray(v)) continue;
        const have = (out[field] as unknown[] | undefined) ?? [];
        const seen = new Set(have.map((x) => toCompactJson(x)));
        out[field] = [...have, ...v.filter((x) => !seen.has(toCompactJson(x)))];
      } else if (MERGED.has(field) && isRecord(v)) {
        const have = (out[field] as Record<string, unknown> | undefined) ?? {};
        const merged: Record<string, unknown> = { ...have };
        for (const [k, x] of Object.entries(v)) {
          const key = `${field}.${k}`;
          const prev = firstBy.get(key);
          if (prev && toCompactJson(have[k]) !== toCompactJson(x)) {
            src.d.error(viaField(at, k), `${src.who} sets ${toCompactJson(x)} but ${prev.who} sets ${toCompactJson(have[k])} (${prev.path}): one pod has one ${field}`);
            continue;
          }
          if (!prev) firstBy.set(key, { who: src.who, path: viaField(at, k) });
          merged[k] = x;
        }
        out[field] = merged;
      } else {
        const prev = firstBy.get(field);
        if (prev && toCompactJson(out[field]) !== toCompactJson(v)) {
          src.d.error(at, `${src.who} sets ${toCompactJson(v)} but ${prev.who} sets ${toCompactJson(out[field])} (${prev.path}): one pod has one ${field}`);
          continue;
        }
        if (!prev) firstBy.set(field, { who: src.who, path: at });
        out[field] = v;
      }
    }
  }
  return out;
}
