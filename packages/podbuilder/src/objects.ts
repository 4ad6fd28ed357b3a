/**
 * The Kubernetes objects a Tekton file may hold next to its runs —
 * ConfigMaps, Secrets and ServiceAccounts, as users `kubectl create -f` them —
 * checked and returned beside the Pod. The builder only reads them; the
 * runtimes create them (podman: a ConfigMap in the played YAML, a Secret as a
 * podman secret; a cluster: the objects themselves, with the run).
 */
import { type DocSink, type Sink, viaField, viaKey } from './errors.ts';
import { type KubeKind, type LoadedDocument, isKubeKind, isRecord } from './load.ts';
import { CONFIG_MAP, OBJECT_METADATA, SECRET, SERVICE_ACCOUNT } from './model/fields.ts';
import { type Fields, type Raw, bool, checkFields, checkSubdomain, obj, objList, str } from './read.ts';

/** One Kubernetes object to create with the run, normalised (a Secret's `stringData` folded into base64 `data`). */
export interface KubeObject {
  readonly apiVersion: 'v1';
  readonly kind: KubeKind;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

const FIELDS: Readonly<Record<KubeKind, Fields>> = { ConfigMap: CONFIG_MAP, Secret: SECRET, ServiceAccount: SERVICE_ACCOUNT };
const KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Checks every ConfigMap, Secret and ServiceAccount of the input; the objects of the run's namespace, in input order. */
export function kubeObjects(docs: readonly LoadedDocument[], namespace: string, sink: Sink): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of docs) {
    if (!isKubeKind(doc.kind)) continue;
    const o = readObject(sink.at(doc.source), doc.kind, doc.body, namespace);
    if (o) out.push(o);
  }
  return out;
}

function readObject(d: DocSink, kind: KubeKind, body: Raw, namespace: string): KubeObject | undefined {
  checkFields(d, body, '', FIELDS[kind]);
  const m = obj(d, body, 'metadata', '', true) ?? {};
  checkFields(d, m, 'metadata', OBJECT_METADATA);
  const name = str(d, m, 'name', 'metadata', true) ?? '';
  if (name !== '') checkSubdomain(d, name, 'metadata.name');
  const ns = str(d, m, 'namespace', 'metadata');
  // A pod can use only the ConfigMaps, Secrets and ServiceAccount of its own namespace.
  if (ns !== undefined && ns !== namespace) d.error('metadata.namespace', `"${ns}" is not the run's namespace "${namespace}": a pod can only use objects of its own namespace`);
  const labels = strings(d, m, 'labels', 'metadata');
  const annotations = strings(d, m, 'annotations', 'metadata');
  const metadata = { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
  const immutable = bool(d, body, 'immutable', '');
  const rest: Record<string, unknown> = immutable !== undefined ? { immutable } : {};
  if (kind === 'ConfigMap') {
    const data = keyed(d, body, 'data', undefined);
    const binaryData = keyed(d, body, 'binaryData', 'base64');
    for (const k of Object.keys(binaryData ?? {})) if (data?.[k] !== undefined) d.error(viaKey('binaryData', k), `key "${k}" is also in data`);
    if (data) rest['data'] = data;
    if (binaryData) rest['binaryData'] = binaryData;
  } else if (kind === 'Secret') {
    const data = keyed(d, body, 'data', 'base64');
    const stringData = keyed(d, body, 'stringData', undefined);
    // As the API server does: stringData is write-only and wins over data, key by key.
    const merged = { ...(data ?? {}), ...Object.fromEntries(Object.entries(stringData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])) };
    if (Object.keys(merged).length > 0) rest['data'] = merged;
    const type = str(d, body, 'type', '');
    if (type !== undefined) rest['type'] = type;
  } else {
    const auto = bool(d, body, 'automountServiceAccountToken', '');
    if (auto !== undefined) rest['automountServiceAccountToken'] = auto;
    for (const f of ['secrets', 'imagePullSecrets']) {
      const refs = objList(d, body, f, '').map(({ value, path }) => {
        checkFields(d, value, path, { name: true });
        return { name: str(d, value, 'name', path, true) ?? '' };
      });
      if (refs.length > 0) rest[f] = refs;
    }
  }
  return d.sink.errors.some((e) => e.source === d.source) ? undefined : { apiVersion: 'v1', kind, metadata, ...rest };
}

/** A map of data keys to strings (base64 ones checked as such); undefined when absent. */
function keyed(d: DocSink, o: Raw, field: string, encoding: 'base64' | undefined): Record<string, string> | undefined {
  const m = obj(d, o, field, '');
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    const p = viaKey(field, k);
    if (!KEY.test(k)) d.error(p, `invalid key "${k}": use letters, digits, '-', '_' and '.'`);
    if (typeof v !== 'string') d.error(p, 'must be a string');
    else if (encoding === 'base64' && !BASE64.test(v.replace(/\s+/g, ''))) d.error(p, 'must be base64 (use stringData for plain text)');
    else out[k] = encoding === 'base64' ? v.replace(/\s+/g, '') : v;
  }
  return out;
}

function strings(d: DocSink, o: Raw, field: string, path: string): Record<string, string> | undefined {
  const m = obj(d, o, field, path);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') out[k] = v;
    else d.error(viaField(viaField(path, field), k), 'must be a string');
  }
  return out;
}

/** The objects' data by name, for a runtime that materialises them: the bytes of every key of a ConfigMap or Secret. */
export function objectFiles(o: KubeObject): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const data = (isRecord(o['data']) ? o['data'] : {}) as Record<string, string>;
  const binary = (isRecord(o['binaryData']) ? o['binaryData'] : {}) as Record<string, string>;
  for (const [k, v] of Object.entries(data)) files.set(k, o.kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(binary)) files.set(k, Buffer.from(v, 'base64'));
  return files;
}
