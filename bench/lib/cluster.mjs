// The test cluster (e2e/cluster/up) for the side-by-side benchmarks: runs a
// PipelineRun to completion (on Tekton, or delegated to the pipod
// controller), reads back the pods it made, and samples their cgroup memory.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { PIPOD, ROOT, sleep } from './common.mjs';
import { TASK } from './shapes.mjs';

/** The admin kubeconfig `e2e/cluster/up` writes. */
export const KUBECONFIG = process.env.PIPOD_KUBECONFIG ?? '/var/lib/pipod-cluster/kubeconfig';
/** Namespace every cluster benchmark runs in. */
export const NS = 'pipod-bench';
/** Where the benchmark's static hostPath PersistentVolume lives (the cluster has no dynamic provisioner). */
export const PV_DIR = '/var/lib/pipod-bench-pv';
const TEKTON = { group: 'tekton.dev', version: 'v1', plural: 'pipelineruns' };

let clients;
function api() {
  if (!clients) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    clients = { core: kc.makeApiClient(k8s.CoreV1Api), custom: kc.makeApiClient(k8s.CustomObjectsApi), storage: kc.makeApiClient(k8s.StorageV1Api) };
  }
  return clients;
}

const code = (e) => e?.code ?? e?.statusCode ?? e?.response?.statusCode;
function withTimeout(p, ms) {
  return Promise.race([p, new Promise((_r, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms))]);
}

/** Why the cluster (or Tekton on it) cannot be used, or undefined. */
export async function clusterProblem() {
  if (!existsSync(KUBECONFIG)) return `no kubeconfig at ${KUBECONFIG} (start the test cluster with e2e/cluster/up)`;
  try {
    const nodes = await withTimeout(api().core.listNode(), 5000);
    if (!nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) return 'the test cluster has no Ready node';
  } catch (e) {
    clients = undefined;
    return `the test cluster does not answer (${e.message ?? e}); start it with e2e/cluster/up`;
  }
  try {
    const pods = await withTimeout(api().core.listNamespacedPod({ namespace: 'tekton-pipelines' }), 5000);
    const ready = (name) => pods.items.some((p) => p.metadata?.labels?.['app.kubernetes.io/name'] === name && p.status?.containerStatuses?.every((c) => c.ready));
    if (!ready('controller') || !ready('webhook')) return 'Tekton is not running on the test cluster (e2e/cluster/tekton-install)';
  } catch (e) {
    return `cannot list Tekton's pods: ${e.message ?? e}`;
  }
  return undefined;
}

/** Whether the cluster offers dynamic PVC provisioning (a default StorageClass). */
export async function storageClasses() {
  const list = await api().storage.listStorageClass();
  return list.items.map((s) => ({ name: s.metadata?.name, provisioner: s.provisioner, default: s.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true' }));
}

/** The bench namespace, pipod's feature flag, and a statically bound hostPath PV + PVC for Tekton's shared workspace. */
export async function prepareNamespace() {
  const { core } = api();
  const ignore409 = (e) => {
    if (code(e) !== 409) throw e;
  };
  await core.createNamespace({ body: { metadata: { name: NS, labels: { 'pipod.dev/bench': 'true' } } } }).catch(ignore409);
  for (let i = 0; i < 50; i++) {
    try {
      await core.readNamespacedServiceAccount({ namespace: NS, name: 'default' });
      break;
    } catch {
      await sleep(200);
    }
  }
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'pipod-feature-flags' }, data: { 'enable-pipeline-in-pod': 'true' } } }).catch(ignore409);
  const custom = api().custom;
  const taskApi = { group: 'tekton.dev', version: 'v1', plural: 'tasks', namespace: NS };
  await custom.deleteNamespacedCustomObject({ ...taskApi, name: TASK.metadata.name }).catch(() => undefined);
  await custom.createNamespacedCustomObject({ ...taskApi, body: TASK });
  await core.createPersistentVolume({
    body: {
      metadata: { name: 'pipod-bench-pv' },
      spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: '', hostPath: { path: PV_DIR, type: 'DirectoryOrCreate' }, claimRef: { namespace: NS, name: 'bench-shared' } },
    },
  }).catch(ignore409);
  await core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: { metadata: { name: 'bench-shared' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: 'pipod-bench-pv', resources: { requests: { storage: '5Gi' } } } },
  }).catch(ignore409);
  for (let i = 0; i < 100; i++) {
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: 'bench-shared' });
    if (pvc.status?.phase === 'Bound') return;
    await sleep(200);
  }
  throw new Error('the bench PVC did not bind to its static PV');
}

/** Samples, every `everyMs`, the memory of every pod cgroup under kubepods (rss and rss+cache, by pod uid). */
export function startMemorySampler(everyMs = 250) {
  const base = '/sys/fs/cgroup/memory/kubepods';
  const samples = [];
  const dirs = () => {
    const out = [];
    if (!existsSync(base)) return out;
    for (const cls of ['', 'burstable', 'besteffort']) {
      const d = join(base, cls);
      if (!existsSync(d)) continue;
      for (const e of readdirSync(d)) if (e.startsWith('pod')) out.push([e.slice(3).replaceAll('_', '-'), join(d, e)]);
    }
    return out;
  };
  const tick = () => {
    const row = { t: Date.now(), pods: {} };
    for (const [uid, d] of dirs()) {
      try {
        const stat = readFileSync(join(d, 'memory.stat'), 'utf8');
        const v = (k) => Number(stat.match(new RegExp(`^total_${k} (\\d+)$`, 'm'))?.[1] ?? 0);
        row.pods[uid] = { rss: v('rss'), cache: v('cache') };
      } catch {
        // the pod went away between readdir and read
      }
    }
    samples.push(row);
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    /** Stops and returns the peak, over the samples, of the summed memory of the given pods (MiB). */
    stop(uids) {
      clearInterval(timer);
      tick();
      const set = new Set(uids);
      let rss = 0;
      let total = 0;
      for (const s of samples) {
        let a = 0;
        let b = 0;
        for (const [uid, m] of Object.entries(s.pods)) {
          if (!set.has(uid)) continue;
          a += m.rss;
          b += m.rss + m.cache;
        }
        rss = Math.max(rss, a);
        total = Math.max(total, b);
      }
      return { peakRssMiB: rss / 1048576, peakRssPlusCacheMiB: total / 1048576, samples: samples.length, everyMs };
    },
  };
}

/** CPU millicores and memory bytes of a quantity string. */
function cpuMilli(q) {
  if (!q) return 0;
  if (q.endsWith('m')) return Number(q.slice(0, -1));
  return Number(q) * 1000;
}
function memBytes(q) {
  if (!q) return 0;
  const m = /^([0-9.]+)([KMGT]i?|[kmgt])?$/.exec(q);
  if (!m) return 0;
  const mult = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}

/** What the scheduler reserves for a pod: max(sum of containers, largest init container), as Kubernetes computes it. */
export function podRequests(pod) {
  const sum = (cs, f, k) => (cs ?? []).reduce((a, c) => a + f(c.resources?.requests?.[k]), 0);
  const max = (cs, f, k) => Math.max(0, ...(cs ?? []).filter((c) => c.restartPolicy !== 'Always').map((c) => f(c.resources?.requests?.[k])));
  const s = pod.spec;
  return {
    cpuMilli: Math.max(sum(s.containers, cpuMilli, 'cpu'), max(s.initContainers, cpuMilli, 'cpu')),
    memoryMiB: Math.max(sum(s.containers, memBytes, 'memory'), max(s.initContainers, memBytes, 'memory')) / 1048576,
  };
}

/** The pods of a run (both systems label them tekton.dev/pipelineRun=<name>), with requests and lifetimes. */
export async function runPods(name) {
  const list = await api().core.listNamespacedPod({ namespace: NS, labelSelector: `tekton.dev/pipelineRun=${name}` });
  return list.items.map((p) => {
    const created = Date.parse(p.metadata.creationTimestamp);
    const ends = (p.status?.containerStatuses ?? []).map((c) => Date.parse(c.state?.terminated?.finishedAt ?? '')).filter(Number.isFinite);
    const end = ends.length ? Math.max(...ends) : Date.now();
    const init = (p.status?.initContainerStatuses ?? []).map((c) => c.state?.terminated).filter(Boolean);
    const initS = init.length ? (Math.max(...init.map((t) => Date.parse(t.finishedAt))) - Math.min(...init.map((t) => Date.parse(t.startedAt)))) / 1000 : undefined;
    const started = (p.status?.containerStatuses ?? []).map((c) => Date.parse(c.state?.terminated?.startedAt ?? c.state?.running?.startedAt ?? '')).filter(Number.isFinite);
    return {
      name: p.metadata.name, uid: p.metadata.uid, created, lifetimeS: Math.max(0, (end - created) / 1000), containers: p.spec.containers.length,
      // second-granularity API timestamps: init containers' span, and pod creation → first container start
      initS, createdToContainersS: started.length ? (Math.min(...started) - created) / 1000 : undefined,
      ...podRequests(p),
    };
  });
}

/** Sums pod requests: all pods at once (what Tekton's pods ask for together) and request × lifetime (what the run held). */
export function reservation(pods) {
  return {
    pods: pods.length,
    containers: pods.reduce((a, p) => a + p.containers, 0),
    cpuMilliSum: pods.reduce((a, p) => a + p.cpuMilli, 0),
    memoryMiBSum: pods.reduce((a, p) => a + p.memoryMiB, 0),
    cpuMilliMax: Math.max(0, ...pods.map((p) => p.cpuMilli)),
    memoryMiBMax: Math.max(0, ...pods.map((p) => p.memoryMiB)),
    cpuCoreSeconds: pods.reduce((a, p) => a + (p.cpuMilli / 1000) * p.lifetimeS, 0),
    memoryMiBSeconds: pods.reduce((a, p) => a + p.memoryMiB * p.lifetimeS, 0),
  };
}

/** Creates a PipelineRun and polls until its Succeeded condition settles; wall time is create call → settled condition seen. */
export async function runPipelineRun(body, { timeoutMs = 30 * 60_000, everyMs = 200 } = {}) {
  const { custom } = api();
  const name = body.metadata.name;
  const mem = startMemorySampler();
  const t0 = Date.now();
  const p0 = performance.now();
  try {
    await custom.createNamespacedCustomObject({ ...TEKTON, namespace: NS, body: { ...body, metadata: { ...body.metadata, namespace: NS } } });
    let firstPodSeen;
    for (;;) {
      const pr = await custom.getNamespacedCustomObject({ ...TEKTON, namespace: NS, name });
      const c = pr.status?.conditions?.find((x) => x.type === 'Succeeded');
      if (c && c.status !== 'Unknown') {
        const ms = performance.now() - p0;
        if (c.status !== 'True') throw new Error(`PipelineRun ${name} ended ${c.reason}: ${c.message}`);
        const pods = await runPods(name);
        const memory = mem.stop(pods.map((p) => p.uid));
        return { ms, t0, pods, memory, firstPodSeenMs: firstPodSeen };
      }
      if (firstPodSeen === undefined && (pr.status?.childReferences?.length ?? 0) > 0) firstPodSeen = performance.now() - p0;
      if (performance.now() - p0 > timeoutMs) throw new Error(`PipelineRun ${name} did not finish in ${timeoutMs} ms`);
      await sleep(everyMs);
    }
  } finally {
    mem.stop([]);
  }
}

/** The floor on the cluster: creates a bare pod and polls (as runPipelineRun does) until it is seen Succeeded; deletion is not counted. */
export async function runBarePod(body, { timeoutMs = 5 * 60_000, everyMs = 200 } = {}) {
  const { core } = api();
  const name = body.metadata.name;
  const p0 = performance.now();
  try {
    await core.createNamespacedPod({ namespace: NS, body });
    for (;;) {
      const p = await core.readNamespacedPod({ namespace: NS, name });
      if (p.status?.phase === 'Succeeded') return { ms: performance.now() - p0 };
      if (p.status?.phase === 'Failed') throw new Error(`bare pod ${name} Failed: ${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`);
      if (performance.now() - p0 > timeoutMs) throw new Error(`bare pod ${name} did not finish in ${timeoutMs} ms`);
      await sleep(everyMs);
    }
  } finally {
    await core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

/** Deletes a PipelineRun (its pods and TaskRuns go with it) and waits until its pods are gone, so runs do not overlap. */
export async function deletePipelineRun(name) {
  const { custom, core } = api();
  await custom.deleteNamespacedCustomObject({ ...TEKTON, namespace: NS, name, propagationPolicy: 'Background' }).catch(() => undefined);
  for (let i = 0; i < 300; i++) {
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: `tekton.dev/pipelineRun=${name}` }).catch(() => ({ items: [] }));
    if (!pods.items.length) return;
    await sleep(200);
  }
}

/** CPU (millicores) the node can give pods, minus what running pods already request. */
export async function freeCpuMilli() {
  const { core } = api();
  const nodes = await core.listNode();
  const alloc = nodes.items.reduce((a, n) => a + cpuMilli(n.status?.allocatable?.cpu), 0);
  const pods = await core.listPodForAllNamespaces();
  const used = pods.items.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending').reduce((a, p) => a + podRequests(p).cpuMilli, 0);
  return alloc - used;
}

/** Forgets the API clients (after the cluster was restarted with new certificates). */
export function resetClients() {
  clients = undefined;
}

/** A `pipod controller` process reconciling delegated runs in the bench namespace only. */
export function startController() {
  const logDir = join(ROOT, '.cache');
  mkdirSync(logDir, { recursive: true });
  const out = createWriteStream(join(logDir, 'bench-controller.log'), { flags: 'a' });
  const child = spawn(process.execPath, [PIPOD, 'controller', '--kubeconfig', KUBECONFIG, '--namespace', NS, '--watch-namespace', NS, '--metrics-port', '0', '--leader-elect=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    pid: child.pid,
    /** Resident memory of the controller process (KiB), from /proc. */
    rssKiB() {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
      } catch {
        return undefined;
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
