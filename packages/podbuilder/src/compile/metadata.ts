/**
 * Labels and annotations Tekton puts on a task's TaskRun (and so its Pod):
 * `taskSpec.metadata` and `taskRunSpecs[].metadata`. Here every task shares
 * the pod, so the pod carries them all; two values for one key cannot both
 * be honoured and are an error naming both places, never a silent pick.
 */
import { type DocSink, viaField, viaKey } from '../errors.ts';
import type { TaskMetadata } from '../model.ts';

/** One task's metadata and who gave it. */
export interface MetadataSource {
  /** `task "<name>"`, or `the run`, for messages. */
  readonly who: string;
  readonly meta: TaskMetadata;
  readonly d: DocSink;
}

/** The run's labels and annotations plus every task's, in order; a key set twice to different values is an error at the later place. */
export function podMetadata(
  run: { readonly labels: Readonly<Record<string, string>>; readonly annotations: Readonly<Record<string, string>> },
  sources: readonly MetadataSource[],
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const out = { labels: { ...run.labels }, annotations: { ...run.annotations } };
  const firstBy = new Map<string, string>();
  for (const src of sources) {
    for (const field of ['labels', 'annotations'] as const) {
      for (const [k, v] of Object.entries(src.meta[field])) {
        const have = out[field][k];
        const where = viaKey(viaField(src.meta.path, field), k);
        if (have !== undefined && have !== v) {
          src.d.error(where, `${src.who} sets "${v}" but ${firstBy.get(`${field}/${k}`) ?? 'the run'} sets "${have}": one pod has one value per ${field === 'labels' ? 'label' : 'annotation'}`);
          continue;
        }
        if (have === undefined) firstBy.set(`${field}/${k}`, src.who);
        out[field][k] = v;
      }
    }
  }
  return out;
}
