/**
 * The kubernetes runtime of `pipod run` on the real test cluster: the same
 * generated pod as podman runs, its events and summary from the pod log,
 * cancel through exec, and cleanup. Skips, saying why, when no cluster answers.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '@pipod/plan';
import { build } from '@pipod/podbuilder';
import { Kube } from '@pipod/controller';
import { KubernetesRuntime } from '../../packages/cli/src/runtime/kubernetes.ts';
import type { KubePod } from '../../packages/cli/src/runtime/index.ts';
import { ensureImages } from '../helpers.ts';
import { KUBECONFIG, clusterProblem, createNamespace, deleteNamespace, fixture, importImages, waitFor } from './cluster.ts';

const problem = await clusterProblem();
if (problem) console.warn(`[e2e/controller] kubernetes runtime tests skipped: ${problem}`);

const NS = `pipod-e2e-rt-${randomBytes(3).toString('hex')}`;

// A class-less PV with no claimRef binds the first class-less claim that fits:
// the test cluster has no provisioner, so this stands in for one.
const PV = `pipod-e2e-vct-${NS.slice(-6)}`;
const PV_DIR = `/var/lib/${PV}`;

function built(file: string, params: Record<string, string> = {}): { pod: KubePod; plan: Parameters<KubernetesRuntime['start']>[0]['plan'] } {
  const b = build(fixture(file).map((d) => ({ name: file, text: JSON.stringify(d) })), { params, namespace: NS });
  if (b.kind !== 'ok') throw new Error(JSON.stringify(b.errors));
  return { pod: b.pod as unknown as KubePod, plan: b.plan };
}

describe.skipIf(problem !== undefined)('kubernetes runtime on a real cluster', () => {
  let kube: Kube;
  let rt: KubernetesRuntime;

  beforeAll(async () => {
    ensureImages();
    importImages();
    kube = Kube.load(KUBECONFIG);
    await createNamespace(kube, NS);
    await waitFor('default service account', async () => (await kube.core.readNamespacedServiceAccount({ namespace: NS, name: 'default' }).catch(() => undefined)) ? true : undefined, 60_000);
    rt = new KubernetesRuntime({ kube, namespace: NS });
  });

  afterAll(async () => {
    if (kube) await deleteNamespace(kube, NS);
    if (kube) await kube.core.deletePersistentVolume({ name: PV }).catch(() => undefined);
    rmSync(PV_DIR, { recursive: true, force: true });
  });

  it('runs the fan-out pipeline to the same summary podman reports, then deletes the pod', async () => {
    const { pod, plan } = built('fanout.yaml');
    const events: RunEvent[] = [];
    const h = rt.start({ pod, plan, logs: true }, { onEvent: (e) => events.push(e) });
    const s = await h.result;
    expect(s.status).toBe('Succeeded');
    expect(s.results).toEqual({ joined: 'hi-L+hi-R', first: 'hi' });
    expect(Object.fromEntries(Object.entries(s.tasks).map(([n, t]) => [n, t.status]))).toEqual({ gen: 'Succeeded', left: 'Succeeded', right: 'Succeeded', 'only-in-debug': 'Skipped', report: 'Succeeded' });
    expect(events[0]?.type).toBe('run.started');
    expect(events.at(-1)?.type).toBe('run.finished');
    expect(new Set(events.map((e) => JSON.stringify(e))).size).toBe(events.length);
    await waitFor('pod deleted', async () => ((await kube.listPods(NS, 'pipod.dev/run-by=pipod-run')).some((p) => p.metadata?.name === h.podName) ? undefined : true), 60_000);
  });

  it('cancels gracefully through exec: finally still runs', async () => {
    const { pod, plan } = built('slow.yaml', { seconds: '300' });
    let cancelled = false;
    const holder: { h?: ReturnType<KubernetesRuntime['start']> } = {};
    const h = rt.start({ pod, plan, logs: false }, {
      onEvent: (e) => {
        if (!cancelled && e.type === 'step.started' && e.task === 'wait') {
          cancelled = true;
          void holder.h?.cancel('graceful');
        }
      },
    });
    holder.h = h;
    const s = await h.result;
    expect(s.status).toBe('Cancelled');
    expect(s.tasks['wait']?.status).toBe('Cancelled');
    expect(s.tasks['always']?.status).toBe('Succeeded');
  });

  it('binds a volumeClaimTemplate workspace to a PVC the cluster makes for the pod, and drops it with the pod', async () => {
    await kube.core.createPersistentVolume({
      body: { metadata: { name: PV }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: '', hostPath: { path: PV_DIR, type: 'DirectoryOrCreate' } } },
    });
    const b = build(fixture('../../conformance/workspace-volume-claim-template.yaml').map((d) => ({ name: 'vct.yaml', text: JSON.stringify(d) })), { namespace: NS });
    if (b.kind !== 'ok') throw new Error(JSON.stringify(b.errors));
    // A start timeout well inside the test's own, so a claim that never binds fails with the scheduler's reason.
    const notes: string[] = [];
    const h = new KubernetesRuntime({ kube, namespace: NS, startTimeoutMs: 120_000 }).start({ pod: b.pod as unknown as KubePod, plan: b.plan, logs: false }, { onNote: (m) => notes.push(m) });
    const s = await h.result.catch((e: unknown) => { throw new Error(`${String(e)}; notes: ${notes.join(' | ')}`); });
    expect(s.status).toBe('Succeeded');
    expect(s.tasks['read']?.results).toEqual({ got: 'hi' });
    // The claim was the pod's ephemeral one (`<pod>-<volume>`), and it went with the pod.
    const pv = await kube.core.readPersistentVolume({ name: PV });
    expect(pv.spec?.claimRef?.name).toBe(`${h.podName}-ws-shared`);
    await waitFor('ephemeral claim deleted', async () => (await kube.core.readPersistentVolume({ name: PV })).status?.phase === 'Released' ? true : undefined, 60_000);
  });

  it('says why a pod that cannot be scheduled waits, gives up after the start timeout, ends at once on a graceful cancel, and times out within the pipeline timeout', async () => {
    const b = build([{ name: 'big.yaml', text: 'apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: too-big}\nspec:\n  computeResources: {requests: {cpu: "64"}}\n  taskSpec: {steps: [{name: s, image: localhost/pipod-test/busybox:latest, script: "true"}]}\n' }], { namespace: NS });
    if (b.kind !== 'ok') throw new Error(JSON.stringify(b.errors));
    const notes: string[] = [];
    const impatient = new KubernetesRuntime({ kube, namespace: NS, startTimeoutMs: 8000 });
    const h = impatient.start({ pod: b.pod as unknown as KubePod, plan: b.plan, logs: false }, { onNote: (m) => notes.push(m) });
    await expect(h.result).rejects.toThrow(/did not start within 8s \(phase Pending, not scheduled \(Unschedulable\): .*Insufficient cpu/);
    expect(notes.filter((n) => n.includes('Insufficient cpu'))).toHaveLength(1);
    await waitFor('pod deleted', async () => ((await kube.listPods(NS, 'pipod.dev/run-by=pipod-run')).some((p) => p.metadata?.name === h.podName) ? undefined : true), 60_000);

    // A graceful cancel cannot wait for finally in a pod no node can take: it ends the run now.
    const holder: { h?: ReturnType<KubernetesRuntime['start']> } = {};
    const h2 = rt.start({ pod: b.pod as unknown as KubePod, plan: b.plan, logs: false }, {
      onNote: (m) => { if (m.includes('Insufficient cpu')) void holder.h?.cancel('graceful'); },
    });
    holder.h = h2;
    const s = await h2.result;
    expect(s.status).toBe('Cancelled');
    // It never ran: reported as not run, as Tekton lists such tasks in skippedTasks.
    expect([s.tasks['too-big']?.status, s.tasks['too-big']?.reason]).toEqual(['Skipped', 'PipelineRunCancelled']);
    await waitFor('pod deleted', async () => ((await kube.listPods(NS, 'pipod.dev/run-by=pipod-run')).some((p) => p.metadata?.name === h2.podName) ? undefined : true), 60_000);

    // The pipeline timeout counts the wait for a node, as Tekton counts it from the run's start.
    const timed = build([{ name: 'big-run.yaml', text: 'apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: too-big-run}\nspec:\n  timeouts: {pipeline: 6s}\n  pipelineSpec:\n    tasks:\n    - name: big\n      taskSpec: {steps: [{name: s, image: localhost/pipod-test/busybox:latest, script: "true", computeResources: {requests: {cpu: "64"}}}]}\n' }], { namespace: NS });
    if (timed.kind !== 'ok') throw new Error(JSON.stringify(timed.errors));
    const h3 = rt.start({ pod: timed.pod as unknown as KubePod, plan: timed.plan, logs: false }, {});
    const s3 = await h3.result;
    expect([s3.status, s3.reason, s3.tasks['big']?.status, s3.tasks['big']?.reason]).toEqual(['TimedOut', 'PipelineRunTimeout', 'Skipped', 'PipelineTimedOutSkip']);
    expect(s3.durationMs).toBeGreaterThanOrEqual(6000);
    await waitFor('pod deleted', async () => ((await kube.listPods(NS, 'pipod.dev/run-by=pipod-run')).some((p) => p.metadata?.name === h3.podName) ? undefined : true), 60_000);
  });
});
