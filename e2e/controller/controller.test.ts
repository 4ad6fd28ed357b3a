/**
 * The controller on the real single-node cluster (e2e/cluster/up --tekton):
 * a real `pipod controller` process, real pods, real pod logs and exec.
 * Skips, saying why, when no cluster answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '@pipod/plan';
import { build } from '@pipod/podbuilder';
import { type KObject, Kube, RESOURCES } from '@pipod/controller';
import { PodmanRuntime, type KubePod } from '../../packages/cli/src/runtime/index.ts';
import {
  type ControllerProcess, applyDefinitions, clusterProblem, deleteNamespace, fixture, metricValue, setFlag, sleep, startController, succeeded, tektonControllerRunning, waitDone, waitFor, setUpController,
} from './cluster.ts';

const problem = await clusterProblem();
if (problem) console.warn(`[e2e/controller] skipped: ${problem}`);

const suffix = randomBytes(3).toString('hex');
const CTL_NS = `pipod-e2e-ctl-${suffix}`;
const NS = `pipod-e2e-runs-${suffix}`;

type Rec = Record<string, unknown>;

function runBody(name: string, pipeline: string, extra: Rec = {}): KObject {
  const { params, ...rest } = extra as { params?: unknown };
  return {
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name, namespace: NS },
    spec: { managedBy: 'pipod.dev/controller', pipelineRef: { name: pipeline }, ...(params ? { params } : {}), ...rest },
  };
}

describe.skipIf(problem !== undefined)('pipod controller on a real cluster', () => {
  let kube: Kube;
  let ctl: ControllerProcess;

  const taskRuns = async (run: string): Promise<KObject[]> => (await kube.listCustom(RESOURCES.taskRuns, NS, `pipod.dev/run=${run}`)).items;
  const podsOf = async (uid: string) => kube.listPods(NS, `pipod.dev/run-uid=${uid}`);
  const byTask = (trs: KObject[]): Record<string, KObject> => Object.fromEntries(trs.map((t) => [t.metadata?.annotations?.['pipod.dev/pipeline-task'] ?? '', t]));

  beforeAll(async () => {
    ({ kube, ctl } = await setUpController({ controllerNs: CTL_NS, ns: NS, logName: `controller-${suffix}`, docs: [...fixture('fanout.yaml'), ...fixture('slow.yaml'), ...fixture('bad-image.yaml')] }));
  });

  afterAll(async () => {
    await ctl?.stop();
    if (kube && !process.env['PIPOD_E2E_KEEP']) {
      await deleteNamespace(kube, NS);
      await deleteNamespace(kube, CTL_NS);
    }
  });

  it('runs a delegated PipelineRun with fan-out, results, when and finally to success in one pod, matching the podman runtime', async () => {
    const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('fanout', 'e2e-fanout', { params: [{ name: 'word', value: 'hi' }] }));
    const uid = run.metadata?.uid ?? '';
    // TaskRuns appear while the pod runs, not only at the end.
    const early = await waitFor('a TaskRun while the run is in flight', async () => {
      const pr = await kube.getCustom(RESOURCES.pipelineRuns, NS, 'fanout');
      const trs = await taskRuns('fanout');
      return trs.length > 0 && succeeded(pr)?.status === 'Unknown' ? trs : undefined;
    }, 120_000, 200);
    expect(early.length).toBeGreaterThan(0);

    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'fanout');
    const st = done.status as Rec;
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(st['results']).toEqual([{ name: 'joined', value: 'hi-L+hi-R' }, { name: 'first', value: 'hi' }]);
    expect(st['skippedTasks']).toEqual([{ name: 'only-in-debug', reason: 'WhenExpressionsSkip' }]);
    expect(typeof st['startTime']).toBe('string');
    expect(typeof st['completionTime']).toBe('string');
    const refs = st['childReferences'] as { name: string; pipelineTaskName: string; kind: string }[];
    expect(refs.map((r) => r.pipelineTaskName).sort()).toEqual(['gen', 'left', 'report', 'right']);

    const trs = byTask(await taskRuns('fanout'));
    expect(Object.keys(trs).sort()).toEqual(['gen', 'left', 'report', 'right']);
    // Nobody else (Tekton's own controller) created TaskRuns for this run.
    const all = (await kube.listCustom(RESOURCES.taskRuns, NS, 'tekton.dev/pipelineRun=fanout')).items;
    expect(all.map((t) => t.spec?.['managedBy'])).toEqual(['pipod.dev/controller', 'pipod.dev/controller', 'pipod.dev/controller', 'pipod.dev/controller']);
    for (const r of refs) expect(trs[r.pipelineTaskName]?.metadata?.name).toBe(r.name);
    for (const tr of Object.values(trs)) {
      expect(tr.spec?.['managedBy']).toBe('pipod.dev/controller');
      expect(tr.metadata?.ownerReferences).toMatchObject([{ kind: 'PipelineRun', name: 'fanout', uid }]);
      expect(succeeded(tr)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    }
    const results = (t: string) => ((trs[t]?.status as Rec)['results'] as { name: string; value: unknown }[] | undefined) ?? [];
    expect(results('left')).toEqual([{ name: 'out', type: 'string', value: 'hi-L' }]);
    const steps = (trs['left']?.status as Rec)['steps'] as { name: string; terminated?: { exitCode: number } }[];
    expect(steps.map((s) => [s.name, s.terminated?.exitCode])).toEqual([['append', 0], ['check', 0]]);
    expect(await podsOf(uid)).toHaveLength(1);

    // The same YAML under the podman runtime reports the same outcome per task and the same results.
    const docs = fixture('fanout.yaml').map((d) => ({ name: 'fanout.yaml', text: JSON.stringify(d) }));
    const b = build(docs);
    expect(b.kind).toBe('ok');
    if (b.kind !== 'ok') return;
    const local: RunSummary = await new PodmanRuntime({ runRoot: mkdtempSync(join(tmpdir(), 'pipod-ctl-cmp-')) }).start({ pod: b.pod as unknown as KubePod, plan: b.plan, logs: false }, {}).result;
    expect(local.status).toBe('Succeeded');
    expect(Object.fromEntries(((st['results'] as { name: string; value: unknown }[])).map((r) => [r.name, r.value]))).toEqual(local.results);
    for (const [task, ts] of Object.entries(local.tasks)) {
      if (ts.status === 'Skipped') {
        expect((st['skippedTasks'] as { name: string }[]).map((s) => s.name)).toContain(task);
        continue;
      }
      expect([task, succeeded(trs[task])?.reason]).toEqual([task, ts.status === 'Succeeded' ? 'Succeeded' : ts.status]);
      expect(Object.fromEntries(results(task).map((r) => [r.name, r.value]))).toEqual(ts.results);
    }
  });

  it('marks a delegated run failed, never pending, while the feature flag is off', async () => {
    await setFlag(kube, CTL_NS, false);
    try {
      await waitFor('flag off seen', async () => metricValue(await ctl.metrics(), 'pipod_feature_enabled') === 0 ? true : undefined, 30_000);
      const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('flag-off', 'e2e-slow'));
      const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'flag-off', 60_000);
      expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'PipelineInPodDisabled' });
      expect(succeeded(done)?.message).toContain('enable-pipeline-in-pod');
      expect(await podsOf(run.metadata?.uid ?? '')).toHaveLength(0);
    } finally {
      await setFlag(kube, CTL_NS, true);
      await waitFor('flag on seen', async () => metricValue(await ctl.metrics(), 'pipod_feature_enabled') === 1 ? true : undefined, 30_000);
    }
  });

  const waitTaskRunning = (run: string, task: string) => waitFor(`${run}/${task} running`, async () => {
    const t = byTask(await taskRuns(run))[task];
    const steps = (t?.status as Rec | undefined)?.['steps'] as { running?: unknown }[] | undefined;
    return steps?.some((s) => s.running) ? t : undefined;
  }, 120_000, 300);

  it('CancelledRunFinally: running tasks are cancelled, finally still runs, the run ends Cancelled', async () => {
    await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('cancel-finally', 'e2e-slow', { params: [{ name: 'seconds', value: '300' }] }));
    await waitTaskRunning('cancel-finally', 'wait');
    await kube.patchCustom(RESOURCES.pipelineRuns, NS, 'cancel-finally', [{ op: 'add', path: '/spec/status', value: 'CancelledRunFinally' }]);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'cancel-finally', 120_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'Cancelled' });
    const trs = byTask(await taskRuns('cancel-finally'));
    expect(succeeded(trs['first'])).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(succeeded(trs['wait'])).toMatchObject({ status: 'False', reason: 'TaskRunCancelled' });
    expect(succeeded(trs['always'])).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('StoppedRunFinally: the running task finishes with its result, finally runs, the run ends Cancelled', async () => {
    await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('stop-finally', 'e2e-slow', { params: [{ name: 'seconds', value: '10' }] }));
    await waitTaskRunning('stop-finally', 'wait');
    await kube.patchCustom(RESOURCES.pipelineRuns, NS, 'stop-finally', [{ op: 'add', path: '/spec/status', value: 'StoppedRunFinally' }]);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'stop-finally', 120_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'Cancelled' });
    const trs = byTask(await taskRuns('stop-finally'));
    expect(succeeded(trs['wait'])).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const results = ((trs['wait']?.status as Rec | undefined)?.['results'] ?? []) as { name: string; value: unknown }[];
    expect(results.map((r) => [r.name, r.value])).toEqual([['done', 'yes']]);
    expect(succeeded(trs['always'])).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('Cancelled: stops at once, finally does not run', async () => {
    await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('cancel-now', 'e2e-slow', { params: [{ name: 'seconds', value: '300' }] }));
    await waitTaskRunning('cancel-now', 'wait');
    await kube.patchCustom(RESOURCES.pipelineRuns, NS, 'cancel-now', [{ op: 'add', path: '/spec/status', value: 'Cancelled' }]);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'cancel-now', 120_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'Cancelled' });
    const trs = byTask(await taskRuns('cancel-now'));
    expect(succeeded(trs['wait'])).toMatchObject({ status: 'False', reason: 'TaskRunCancelled' });
    expect(trs['always']).toBeUndefined();
  });

  /** A delegated run whose only task requests more CPU than the node has, with a finally task. */
  const tooBig = (name: string, extra: Rec = {}): KObject => ({
    apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name, namespace: NS },
    spec: {
      managedBy: 'pipod.dev/controller',
      pipelineSpec: {
        tasks: [{ name: 'big', taskSpec: { steps: [{ name: 's', image: 'localhost/pipod-test/busybox:latest', script: 'true', computeResources: { requests: { cpu: '64' } } }] } }],
        finally: [{ name: 'after', taskSpec: { steps: [{ name: 's', image: 'localhost/pipod-test/busybox:latest', script: 'true' }] } }],
      },
      ...extra,
    },
  });

  it('a pod no node can take: the Running condition says why it waits; CancelledRunFinally then ends the run at once and removes the pod', async () => {
    const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, tooBig('too-big'));
    const waiting = await waitFor('the run says why its pod waits', async () => {
      const c = succeeded(await kube.getCustom(RESOURCES.pipelineRuns, NS, 'too-big'));
      return c?.message?.includes('pod waiting: not scheduled') ? c : undefined;
    }, 60_000, 300);
    expect(waiting).toMatchObject({ status: 'Unknown', reason: 'Running' });
    expect(waiting.message).toMatch(/Insufficient cpu/);
    await kube.patchCustom(RESOURCES.pipelineRuns, NS, 'too-big', [{ op: 'add', path: '/spec/status', value: 'CancelledRunFinally' }]);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'too-big', 60_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'Cancelled', message: 'PipelineRun "too-big" was cancelled before its pod was scheduled' });
    expect(await taskRuns('too-big')).toEqual([]);
    await waitFor('the pod removed', async () => ((await podsOf(run.metadata?.uid ?? '')).length === 0 ? true : undefined), 60_000);
  });

  it('the pipeline timeout counts the time a pod waits for a node, as Tekton counts it from the run\'s start', async () => {
    const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, tooBig('too-big-timeout', { timeouts: { pipeline: '8s' } }));
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'too-big-timeout', 60_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'PipelineRunTimeout' });
    expect(succeeded(done)?.message).toMatch(/^PipelineRun "too-big-timeout" failed to finish within 8s: its pod never started \(not scheduled \(Unschedulable\): .*Insufficient cpu/);
    await waitFor('the pod removed', async () => ((await podsOf(run.metadata?.uid ?? '')).length === 0 ? true : undefined), 60_000);
  });

  it('a pipeline timeout ends the run PipelineRunTimeout', async () => {
    await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('timeout', 'e2e-slow', { params: [{ name: 'seconds', value: '300' }], timeouts: { pipeline: '20s' } }));
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'timeout', 150_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'PipelineRunTimeout' });
    const trs = byTask(await taskRuns('timeout'));
    // As Tekton: a TaskRun the pipeline timeout stops is cancelled, not timed out.
    expect(succeeded(trs['wait'])).toMatchObject({ status: 'False', reason: 'TaskRunCancelled', message: 'TaskRun cancelled as the PipelineRun it belongs to has timed out.' });
  });

  it('a deleted pod fails the run with reason PodDeleted', async () => {
    const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('pod-deleted', 'e2e-slow', { params: [{ name: 'seconds', value: '300' }] }));
    await waitTaskRunning('pod-deleted', 'wait');
    const [pod] = await podsOf(run.metadata?.uid ?? '');
    await kube.deletePod(NS, pod?.metadata?.name ?? '', 0);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'pod-deleted', 120_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'PodDeleted' });
    expect(succeeded(byTask(await taskRuns('pod-deleted'))['wait'])?.status).toBe('False');
  });

  it('a step image that cannot be pulled fails the run PodStartFailed at once and removes the pod', async () => {
    const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('bad-image', 'e2e-bad-image'));
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'bad-image', 120_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'PodStartFailed' });
    expect(succeeded(done)?.message ?? '').toMatch(/broken-never: (ErrImagePull|ImagePullBackOff)/);
    await waitFor('the pod removed', async () => ((await podsOf(run.metadata?.uid ?? '')).length === 0 ? true : undefined), 60_000);
  });

  it('a controller killed mid-run resumes: one pod, no duplicate TaskRuns, results kept', async () => {
    const run = await kube.createCustom(RESOURCES.pipelineRuns, NS, runBody('restart', 'e2e-slow', { params: [{ name: 'seconds', value: '25' }] }));
    await waitTaskRunning('restart', 'wait');
    await ctl.kill();
    await sleep(3000);
    ctl = startController(CTL_NS, NS, `controller-${suffix}-2`);
    // The killed replica's Lease must expire first (15 s).
    await waitFor('new controller leads', async () => metricValue(await ctl.metrics(), 'pipod_leader') === 1 ? true : undefined, 60_000);
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'restart', 180_000);
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect((done.status as Rec)['results']).toEqual([{ name: 'done', value: 'yes' }]);
    expect(await podsOf(run.metadata?.uid ?? '')).toHaveLength(1);
    const trs = await taskRuns('restart');
    expect(trs.map((t) => t.metadata?.annotations?.['pipod.dev/pipeline-task']).sort()).toEqual(['always', 'first', 'wait']);
    for (const t of trs) expect(succeeded(t)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const m = await ctl.metrics();
    expect(metricValue(m, 'pipod_pods_created_total') ?? 0).toBe(0);
    expect(metricValue(m, 'pipod_pods_adopted_total')).toBeGreaterThanOrEqual(1);
  });

  it('a Tekton-run parent whose middle task is a pipod CustomRun consumes its results', async (ctx) => {
    if (!(await tektonControllerRunning(kube))) {
      console.warn('[e2e/controller] Tekton-parent test skipped: Tekton\'s controller is not running (e2e/cluster/up --tekton)');
      ctx.skip();
      return;
    }
    const docs = fixture('custom-parent.yaml');
    await applyDefinitions(kube, NS, docs);
    const prDoc = docs.find((d) => d['kind'] === 'PipelineRun') as Rec;
    await kube.createCustom(RESOURCES.pipelineRuns, NS, { ...prDoc, metadata: { ...(prDoc['metadata'] as Rec), namespace: NS } } as KObject);
    const name = (prDoc['metadata'] as { name: string }).name;
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, name, 240_000);
    expect(succeeded(done)).toMatchObject({ status: 'True' });
    expect((done.status as Rec)['results']).toEqual([{ name: 'final', value: 'from-parent-inner-done' }]);
    const crs = (await kube.listCustom(RESOURCES.customRuns, NS)).items.filter((c) => c.metadata?.labels?.['tekton.dev/pipelineRun'] === name);
    expect(crs).toHaveLength(1);
    expect(succeeded(crs[0])).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });
});
