/**
 * The input's ConfigMaps and Secrets on podman, which has no API server:
 * - env from a ConfigMap (`configMapKeyRef`, `envFrom.configMapRef`): the
 *   ConfigMap goes into the played YAML, where kube play reads it;
 * - env from a Secret (`secretKeyRef`, `envFrom.secretRef`): a podman secret
 *   of this run (named `<pod>-<secret>`, in the flat `{key: base64}` form
 *   kube play 4.3 reads for env), and the references renamed to it;
 * - a ConfigMap or Secret volume: a directory of the run holding its keys,
 *   mounted read-only, because kube play 4.3 turns such a volume into a named
 *   volume shared by every pod that uses the name and never refreshed (a
 *   changed ConfigMap would keep its old content, two runs would share it),
 *   and reads a Secret volume in another format than Secret env.
 * A ConfigMap or Secret the pod refers to that the input lacks is an error
 * (unless the reference is optional): podman has nowhere else to find it.
 */
import { posix } from 'node:path';
import { PipodError } from '@pipod/plan';
import type { KubeContainer, KubePod, KubeVolume, KubeVolumeMount, RunObject } from './types.ts';

/** A file to write before the pod starts. */
export interface ObjectFile {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
}

/** What the podman runtime must create for the pod's ConfigMaps and Secrets, and the pod rewritten to use it. */
export interface PodmanObjects {
  readonly pod: KubePod;
  /** Directories (of the run) that stand in for ConfigMap and Secret volumes, and their files. */
  readonly dirs: readonly string[];
  readonly files: readonly ObjectFile[];
  /** podman secrets to create: name and content. */
  readonly secrets: readonly { readonly name: string; readonly data: string }[];
  /** ConfigMaps to play with the pod (env references). */
  readonly configMaps: readonly RunObject[];
}

type Kind = 'ConfigMap' | 'Secret';

/** The name of the podman secret that carries a Secret for one run. */
export function podmanSecretName(podName: string, secret: string): string {
  return `${podName}-${secret}`;
}

/** The bytes of each key of a ConfigMap or Secret. */
function keysOf(o: RunObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const data = (o['data'] ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(data)) out.set(k, o.kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries((o['binaryData'] ?? {}) as Record<string, string>)) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

const missing = (kind: Kind, name: string, where: string): PipodError =>
  new PipodError('NOT_FOUND', `${where}: ${kind} "${name}" is not in the input; podman has no ${kind} store, so a ${kind} the pod uses must be in the files given to pipod run`);

/** Rewrites the pod's ConfigMap and Secret references for podman; pure. */
export function podmanObjects(pod: KubePod, objects: readonly RunObject[], opts: { readonly podName: string; readonly hostDir: string }): PodmanObjects {
  const find = (kind: Kind, name: string): RunObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const dirs: string[] = [];
  const files: ObjectFile[] = [];
  const secrets = new Map<string, string>();
  const configMaps = new Map<string, RunObject>();
  const readOnly = new Set<string>();

  const volumes = (pod.spec.volumes ?? []).map((v, i): KubeVolume => {
    const cm = v['configMap'] as { name?: string; items?: { key: string; path: string; mode?: number }[]; defaultMode?: number; optional?: boolean } | undefined;
    const sec = v['secret'] as { secretName?: string; items?: { key: string; path: string; mode?: number }[]; defaultMode?: number; optional?: boolean } | undefined;
    const src = cm ? { kind: 'ConfigMap' as const, name: cm.name ?? '', ...cm } : sec ? { kind: 'Secret' as const, name: sec.secretName ?? '', ...sec } : undefined;
    if (!src) return v;
    const where = `spec.volumes[${i}] (${v.name})`;
    const o = find(src.kind, src.name);
    if (!o && src.optional !== true) throw missing(src.kind, src.name, where);
    const dir = posix.join(opts.hostDir, 'objects', v.name);
    dirs.push(dir);
    readOnly.add(v.name);
    const keys = o ? keysOf(o) : new Map<string, Buffer>();
    const mode = src.defaultMode ?? 0o644;
    const items = src.items ?? [...keys.keys()].map((key) => ({ key, path: key, mode: undefined }));
    for (const it of items) {
      const data = keys.get(it.key);
      if (data === undefined) {
        if (src.optional === true) continue;
        throw new PipodError('NOT_FOUND', `${where}: ${src.kind} "${src.name}" has no key "${it.key}"`);
      }
      const rel = posix.normalize(it.path);
      if (posix.isAbsolute(rel) || rel === '..' || rel.startsWith('../')) throw new PipodError('INVALID', `${where}: item path ${JSON.stringify(it.path)} must stay inside the volume`);
      files.push({ path: posix.join(dir, rel), data, mode: it.mode ?? mode });
    }
    return { name: v.name, hostPath: { path: dir, type: 'Directory' } };
  });

  const addSecret = (o: RunObject): string => {
    const name = podmanSecretName(opts.podName, o.metadata.name);
    secrets.set(name, JSON.stringify(Object.fromEntries([...keysOf(o)].map(([k, v]) => [k, v.toString('base64')]))));
    return name;
  };
  const rewrite = (c: KubeContainer, where: string): KubeContainer => {
    const out: Record<string, unknown> = { ...c };
    if (Array.isArray(c['env'])) {
      out['env'] = (c['env'] as Record<string, unknown>[]).flatMap((e, i) => {
        const vf = e['valueFrom'] as { configMapKeyRef?: { name: string; key: string; optional?: boolean }; secretKeyRef?: { name: string; key: string; optional?: boolean } } | undefined;
        const ref = vf?.configMapKeyRef ?? vf?.secretKeyRef;
        if (!vf || !ref) return [e];
        const kind: Kind = vf.configMapKeyRef ? 'ConfigMap' : 'Secret';
        const at = `${where}.env[${i}] (${String(e['name'])})`;
        const o = find(kind, ref.name);
        if (!o || !keysOf(o).has(ref.key)) {
          if (ref.optional === true) return [];
          throw o ? new PipodError('NOT_FOUND', `${at}: ${kind} "${ref.name}" has no key "${ref.key}"`) : missing(kind, ref.name, at);
        }
        if (kind === 'ConfigMap') {
          configMaps.set(ref.name, o);
          return [e];
        }
        return [{ ...e, valueFrom: { secretKeyRef: { ...ref, name: addSecret(o) } } }];
      });
    }
    if (Array.isArray(c['envFrom'])) {
      out['envFrom'] = (c['envFrom'] as Record<string, unknown>[]).flatMap((e, i) => {
        const cmr = e['configMapRef'] as { name: string; optional?: boolean } | undefined;
        const sr = e['secretRef'] as { name: string; optional?: boolean } | undefined;
        const ref = cmr ?? sr;
        if (!ref) return [e];
        const kind: Kind = cmr ? 'ConfigMap' : 'Secret';
        const o = find(kind, ref.name);
        if (!o) {
          if (ref.optional === true) return [];
          throw missing(kind, ref.name, `${where}.envFrom[${i}]`);
        }
        if (kind === 'ConfigMap') {
          configMaps.set(ref.name, o);
          return [e];
        }
        return [{ ...e, secretRef: { ...ref, name: addSecret(o) } }];
      });
    }
    // Kubernetes mounts ConfigMap and Secret volumes read-only; so does this stand-in.
    if (c.volumeMounts !== undefined) out['volumeMounts'] = c.volumeMounts.map((m): KubeVolumeMount => (readOnly.has(m.name) ? { ...m, readOnly: true } : m));
    return out as unknown as KubeContainer;
  };

  const initContainers = pod.spec.initContainers?.map((c, i) => rewrite(c, `spec.initContainers[${i}]`));
  const containers = pod.spec.containers.map((c, i) => rewrite(c, `spec.containers[${i}]`));
  const spec = { ...pod.spec, ...(initContainers ? { initContainers } : {}), containers, ...(pod.spec.volumes ? { volumes } : {}) };
  return {
    pod: { ...pod, spec },
    dirs, files,
    secrets: [...secrets].map(([name, data]) => ({ name, data })),
    // kube play reads a ConfigMap by name from the played file; its namespace and labels mean nothing there.
    configMaps: [...configMaps.values()].map((o) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: o.metadata.name }, ...(o['data'] !== undefined ? { data: o['data'] } : {}) })),
  };
}
