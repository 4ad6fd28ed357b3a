/**
 * Rewrites a generated Pod so that `podman kube play` (4.3) runs it like a
 * kubelet would, and two runs at once never share files:
 * - every emptyDir becomes a hostPath directory under a per-run directory the
 *   runtime owns (kube play would turn it into a named volume shared by every
 *   pod using the same volume name); so does a generic ephemeral volume (a
 *   workspace's volumeClaimTemplate), whose claim lives exactly as long as the
 *   pod on Kubernetes and which kube play cannot create;
 * - every `subPath` mount becomes its own hostPath volume pointing at the
 *   sub-directory (kube play 4.3 silently ignores `subPath` and mounts the
 *   whole volume);
 * - the pod gets a unique name, images can be mapped, and images already on
 *   the host are not pulled again.
 */
import { posix } from 'node:path';
import { PipodError, expandEnvList, mapImage as mapPlanImage, shortHash } from '@pipod/plan';
import type { KubeContainer, KubePod, KubeVolume, KubeVolumeMount } from './types.ts';

/** Longest base name kept before the run suffix, so `<pod>-<container>` names stay readable. */
const MAX_BASE = 40;

/** Longest annotation value podman 4.3 kube play accepts. */
const MAX_ANNOTATION = 63;

/** A unique pod name from the generated pod's name and a per-run suffix. */
export function uniquePodName(pod: KubePod, suffix: string): string {
  const base = (pod.metadata.name ?? pod.metadata.generateName ?? 'pipod')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_BASE)
    .replace(/-+$/g, '');
  return `${base || 'pipod'}-${suffix}`;
}

/** Image rewrites from `--image-map FROM=TO`. */
export type ImageMap = Readonly<Record<string, string>>;

/** Parses `FROM=TO` pairs; a bad pair is a clear error naming the flag. */
export function parseImageMap(pairs: readonly string[]): ImageMap {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0 || i === p.length - 1) throw new PipodError('USAGE', `--image-map ${JSON.stringify(p)}: expected FROM=TO`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** Maps an image with the one rule the builder uses too (`@pipod/plan`'s mapImage). */
export function mapImage(image: string, map: ImageMap): string {
  return mapPlanImage(image, map);
}

/** Options of the rewrite. */
export interface PodmanPodOptions {
  /** The unique pod name (see `uniquePodName`). */
  readonly podName: string;
  /** Host directory owned by this run; emptyDirs become sub-directories of it. */
  readonly hostDir: string;
  readonly imageMap?: ImageMap;
  /** Images present on the host: they get `imagePullPolicy: IfNotPresent` unless the pod says otherwise. */
  readonly localImages?: ReadonlySet<string>;
}

/** The rewritten pod and where its volumes live on the host. */
export interface PodmanPod {
  readonly pod: KubePod;
  /** Host directory of every pod volume that was an emptyDir or hostPath, by volume name. */
  readonly volumeDirs: Readonly<Record<string, string>>;
  /** Every image the pod's containers use, after mapping. */
  readonly images: readonly string[];
  /** Annotations left out because kube play 4.3 would reject them. */
  readonly droppedAnnotations: readonly string[];
}

function checkSubPath(sub: string, where: string): string {
  const norm = posix.normalize(sub);
  if (posix.isAbsolute(sub) || norm === '..' || norm.startsWith('../')) {
    throw new PipodError('INVALID', `${where}.subPath: ${JSON.stringify(sub)} must be a relative path inside the volume`);
  }
  return norm.replace(/\/+$/, '');
}

/**
 * Paths of multi-line strings that start with whitespace: podman 4.3 round-trips
 * the YAML through two YAML libraries and the second cannot read the block
 * scalar the first writes for them ("unable to sort kube kinds").
 */
export function unplayableStrings(v: unknown, path = ''): string[] {
  if (typeof v === 'string') return v.includes('\n') && /^\s/.test(v) ? [path] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => unplayableStrings(x, `${path}[${i}]`));
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => unplayableStrings(x, path === '' ? k : `${path}.${k}`));
  return [];
}

/** Rewrites a generated pod for podman kube play; pure. */
export function toPodmanPod(pod: KubePod, opts: PodmanPodOptions): PodmanPod {
  const volumeDirs: Record<string, string> = {};
  const volumes: KubeVolume[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (v.emptyDir !== undefined || v['ephemeral'] !== undefined) {
      const dir = posix.join(opts.hostDir, 'volumes', v.name);
      volumeDirs[v.name] = dir;
      volumes.push({ name: v.name, hostPath: { path: dir, type: 'DirectoryOrCreate' } });
    } else {
      if (v.hostPath !== undefined) volumeDirs[v.name] = v.hostPath.path;
      volumes.push(v);
    }
  }
  const byName = new Map(volumes.map((v) => [v.name, v]));
  const extra = new Map<string, KubeVolume>();
  const images = new Set<string>();

  const rewriteContainer = (c: KubeContainer, where: string): KubeContainer => {
    const image = mapImage(c.image, opts.imageMap ?? {});
    images.add(image);
    const mounts = (c.volumeMounts ?? []).map((m, i): KubeVolumeMount => {
      if (m.subPath === undefined || m.subPath === '') return m;
      const at = `${where}.volumeMounts[${i}]`;
      const base = volumeDirs[m.name];
      if (base === undefined || !byName.has(m.name)) {
        throw new PipodError('UNSUPPORTED', `${at}.subPath: the podman runtime supports subPath only on emptyDir and hostPath volumes (volume ${JSON.stringify(m.name)})`);
      }
      const sub = checkSubPath(m.subPath, at);
      const name = `${m.name}-sub-${shortHash(`${m.name}/${sub}`)}`;
      extra.set(name, { name, hostPath: { path: posix.join(base, sub), type: 'DirectoryOrCreate' } });
      const rest: Record<string, unknown> = { ...m, name };
      delete rest.subPath;
      return rest as unknown as KubeVolumeMount;
    });
    const out: Record<string, unknown> = { ...c, image };
    if (c.volumeMounts !== undefined) out.volumeMounts = mounts;
    // The kubelet expands $(VAR) in env values against the entries before them; kube play does not.
    if (Array.isArray(c['env'])) out['env'] = expandEnvList(c['env'] as { name: string; value?: string }[]);
    if (c.imagePullPolicy === undefined && opts.localImages?.has(image)) out.imagePullPolicy = 'IfNotPresent';
    return out as unknown as KubeContainer;
  };

  const bad = unplayableStrings(pod);
  if (bad.length > 0) {
    throw new PipodError('UNSUPPORTED', bad.map((p) => `${p}: podman 4.3 kube play cannot read a multi-line value that starts with whitespace`).join('\n'));
  }
  const initContainers = pod.spec.initContainers?.map((c, i) => rewriteContainer(c, `spec.initContainers[${i}]`));
  const containers = pod.spec.containers.map((c, i) => rewriteContainer(c, `spec.containers[${i}]`));
  const spec: Record<string, unknown> = { ...pod.spec, containers, volumes: [...volumes, ...[...extra.values()].sort((a, b) => a.name.localeCompare(b.name))] };
  if (initContainers !== undefined) spec.initContainers = initContainers;
  const metadata: Record<string, unknown> = { ...pod.metadata, name: opts.podName, labels: { ...pod.metadata.labels, 'pipod.dev/run': opts.podName } };
  // kube play 4.3 refuses annotation values longer than 63 characters (it checks them like labels); nothing local reads them.
  const annotations = Object.entries(pod.metadata.annotations ?? {});
  const kept = annotations.filter(([, v]) => v.length <= MAX_ANNOTATION);
  const droppedAnnotations = annotations.filter(([, v]) => v.length > MAX_ANNOTATION).map(([k]) => k).sort();
  if (kept.length > 0) metadata.annotations = Object.fromEntries(kept);
  else delete metadata.annotations;
  delete metadata.generateName;
  delete metadata.namespace;
  return {
    pod: { ...pod, apiVersion: pod.apiVersion ?? 'v1', kind: pod.kind ?? 'Pod', metadata: metadata as KubePod['metadata'], spec: spec as unknown as KubePod['spec'] },
    volumeDirs,
    images: [...images].sort(),
    droppedAnnotations,
  };
}
