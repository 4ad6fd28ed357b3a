/**
 * Reading Tekton YAML: several files, several documents per file, and the
 * canonical YAML writer (sorted keys, no anchors) used for byte-identical output.
 */
import { writeYaml } from './yaml-out.ts';
import type { FieldError } from './errors.ts';
import { inputBudget, parseYamlFile } from './yaml-in.ts';

/** One input file. */
export interface SourceFile {
  readonly name: string;
  readonly text: string;
}

/** The Tekton document kinds pipod reads. */
export type TektonKind = 'Pipeline' | 'Task' | 'PipelineRun' | 'TaskRun' | 'StepAction';

/** The Kubernetes kinds a Tekton file may hold next to its Tekton documents; they are created with the run (see objects.ts). */
export type KubeKind = 'ConfigMap' | 'Secret' | 'ServiceAccount';

/** The document kinds pipod reads. */
export type DocKind = TektonKind | KubeKind;

/** The Kubernetes kinds pipod reads (core `v1`). */
export const KUBE_KINDS: readonly KubeKind[] = ['ConfigMap', 'Secret', 'ServiceAccount'];

/** True for the Kubernetes kinds (as opposed to the Tekton ones). */
export function isKubeKind(kind: string): kind is KubeKind {
  return (KUBE_KINDS as readonly string[]).includes(kind);
}

/** A parsed Tekton document with where it came from. */
export interface LoadedDocument {
  readonly file: string;
  /** Zero-based position of the document in its file. */
  readonly index: number;
  readonly kind: DocKind;
  readonly name: string;
  /** `Kind/name`, the `source` of this document's errors. */
  readonly source: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Documents that loaded, and the problems of the rest. */
export interface LoadResult {
  readonly documents: readonly LoadedDocument[];
  readonly errors: readonly FieldError[];
}

const KINDS: readonly string[] = ['Pipeline', 'Task', 'PipelineRun', 'TaskRun', 'StepAction', ...KUBE_KINDS];
const LATER_KINDS: Readonly<Record<string, string>> = {
  ClusterTask: 'ClusterTask was removed from tekton.dev/v1; use a Task',
  CustomRun: 'custom runs cannot run inside one pod',
};

/** True for a plain (non-array) object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses every file into Tekton documents within INPUT_LIMITS; empty documents are skipped, everything else that is wrong is an error. */
export function loadDocuments(files: readonly SourceFile[]): LoadResult {
  const documents: LoadedDocument[] = [];
  const errors: FieldError[] = [];
  const seen = new Map<string, string>();
  const budget = inputBudget();
  for (const f of files) {
    const parsed = parseYamlFile(f.name, f.text, budget);
    if (parsed.kind === 'stopped') {
      // A limit stops the file where it was crossed; a total (documents, bytes) stops every file after it too.
      errors.push(parsed.error);
      if (parsed.limit === 'documents' || parsed.limit === 'totalBytes') break;
      continue;
    }
    const list = parsed.documents;
    list.forEach((doc, index) => {
      const where = list.length > 1 ? `${f.name}#${index}` : f.name;
      if (doc.kind === 'problem') {
        errors.push({ source: doc.source ?? where, path: doc.path, message: doc.message });
        return;
      }
      const body = doc.value;
      if (body === null || body === undefined) return;
      if (!isRecord(body)) {
        errors.push({ source: where, path: '', message: 'a document must be a mapping with apiVersion, kind and metadata' });
        return;
      }
      const kind = body['kind'];
      const apiVersion = body['apiVersion'];
      if (typeof kind !== 'string' || kind === '') {
        errors.push({ source: where, path: 'kind', message: 'required field is missing' });
        return;
      }
      const meta = body['metadata'];
      const name = isRecord(meta) && typeof meta['name'] === 'string' ? meta['name'] : isRecord(meta) && typeof meta['generateName'] === 'string' ? meta['generateName'] : '';
      const source = `${kind}/${name === '' ? `<${where}>` : name}`;
      if (!KINDS.includes(kind)) {
        errors.push({ source, path: 'kind', message: LATER_KINDS[kind] ?? `unsupported kind "${kind}" (expected one of ${KINDS.join(', ')})` });
        return;
      }
      // StepActions were tekton.dev/v1alpha1, then v1beta1; every other Tekton kind is read as v1; the Kubernetes kinds are core v1.
      const versions = isKubeKind(kind) ? ['v1'] : kind === 'StepAction' ? ['tekton.dev/v1beta1', 'tekton.dev/v1alpha1'] : ['tekton.dev/v1'];
      if (typeof apiVersion !== 'string' || !versions.includes(apiVersion)) {
        errors.push({ source, path: 'apiVersion', message: typeof apiVersion === 'string' ? `unsupported apiVersion "${apiVersion}" (only ${versions.join(' or ')} is read)` : 'required field is missing' });
        return;
      }
      if (name === '') {
        errors.push({ source, path: 'metadata.name', message: 'required field is missing' });
        return;
      }
      // Runs named by generateName alone may repeat (each gets its own name when created).
      const named = isRecord(meta) && typeof meta['name'] === 'string';
      const prev = named ? seen.get(source) : undefined;
      if (prev !== undefined) {
        errors.push({ source, path: 'metadata.name', message: `duplicate document: ${source} is also defined in ${prev}` });
        return;
      }
      if (named) seen.set(source, where);
      documents.push({ file: f.name, index, kind: kind as DocKind, name, source, body });
    });
  }
  return { documents, errors };
}

/** Deep copy with object keys in sorted order (arrays keep their order). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = v[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** Canonical YAML: sorted keys, no anchors, no line folding — same object, same bytes. */
export function toYaml(v: unknown): string {
  return writeYaml(v);
}

/** Canonical JSON: sorted keys, two-space indent, trailing newline. */
export function toJson(v: unknown): string {
  return `${stableStringify(v, '\n')}\n`;
}

/** Canonical compact JSON: sorted keys, no whitespace. */
export function toCompactJson(v: unknown): string {
  return stableStringify(v, undefined);
}

// Writes sorted JSON without first copying the object (the plan of a large
// pipeline is megabytes; a sorted copy doubled the garbage of a build).
function stableStringify(v: unknown, nl: string | undefined): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'string') return JSON.stringify(v);
  const inner = nl === undefined ? undefined : `${nl}  `;
  const sep = inner === undefined ? ',' : `,${inner}`;
  const open = inner ?? '';
  const close = nl ?? '';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${open}${v.map((x) => (x === undefined ? 'null' : stableStringify(x, inner))).join(sep)}${close}]`;
  }
  if (isRecord(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    if (keys.length === 0) return '{}';
    const colon = nl === undefined ? ':' : ': ';
    return `{${open}${keys.map((k) => `${JSON.stringify(k)}${colon}${stableStringify(v[k], inner)}`).join(sep)}${close}}`;
  }
  return 'null';
}
