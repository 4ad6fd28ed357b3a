/**
 * pipod CustomRuns (kind PipelineInPod) on the real cluster, created directly
 * as Tekton's controller would create them for a parent pipeline: params in,
 * results out, retries, timeout and cancel. Needs only Tekton's CRDs; the
 * Tekton-run parent itself is in controller.test.ts. Skips, saying why, when
 * no cluster answers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KObject, Kube, RESOURCES } from '@pipod/controller';
import {
  type ControllerProcess, clusterProblem, deleteNamespace, fixture, succeeded, waitDone, waitFor, setUpController,
} from './cluster.ts';

const problem = await clusterProblem();
if (problem) console.warn(`[e2e/controller] CustomRun tests skipped: ${problem}`);

const suffix = randomBytes(3).toString('hex');
const CTL_NS = `pipod-e2e-crctl-${suffix}`;
const NS = `pipod-e2e-cr-${suffix}`;
const IMAGE = 'localhost/pipod-test/debian:bookworm';

type Rec = Record<string, unknown>;

function customRun(name: string, spec: Rec): KObject {
  return { apiVersion: 'tekton.dev/v1beta1', kind: 'CustomRun', metadata: { name, namespace: NS }, spec };
}

const ref = (name: string): Rec => ({ customRef: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', name } });
const embedded = (spec: Rec): Rec => ({ customSpec: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', spec } });
const oneTask = (script: string, results: Rec[] = []): Rec => ({
  results,
  tasks: [{ name: 't', taskSpec: { results: results.map((r) => ({ name: r['name'] })), steps: [{ name: 's', image: IMAGE, script }] } }],
});

describe.skipIf(problem !== undefined)('pipod CustomRuns on a real cluster', () => {
  let kube: Kube;
  let ctl: ControllerProcess;

  beforeAll(async () => {
    ({ kube, ctl } = await setUpController({ controllerNs: CTL_NS, ns: NS, logName: `custom-${suffix}`, docs: fixture('custom-parent.yaml') }));
  });

  afterAll(async () => {
    await ctl?.stop();
    if (kube) {
      await deleteNamespace(kube, NS);
      await deleteNamespace(kube, CTL_NS);
    }
  });

  it('by reference: runs the named Pipeline with the CustomRun\'s params and returns its results as strings', async () => {
    await kube.createCustom(RESOURCES.customRuns, NS, customRun('by-ref', { ...ref('e2e-inner'), params: [{ name: 'seed', value: 'abc' }] }));
    const done = await waitDone(kube, RESOURCES.customRuns, NS, 'by-ref');
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const st = done.status as Rec;
    expect(st['results']).toEqual([{ name: 'out', value: 'abc-inner-done' }]);
    expect(typeof st['startTime']).toBe('string');
    expect(typeof st['completionTime']).toBe('string');
    const trs = (await kube.listCustom(RESOURCES.taskRuns, NS, 'pipod.dev/run=by-ref')).items;
    expect(trs.map((t) => t.metadata?.annotations?.['pipod.dev/pipeline-task']).sort()).toEqual(['finish', 'start']);
    expect(trs[0]?.metadata?.ownerReferences).toMatchObject([{ kind: 'CustomRun', name: 'by-ref' }]);
  });

  it('embedded spec: array results come back JSON-encoded', async () => {
    const spec = oneTask('printf \'["a","b"]\' > $(results.list.path)', [{ name: 'list', type: 'array', value: '$(tasks.t.results.list[*])' }]);
    (spec['tasks'] as Rec[])[0] = { name: 't', taskSpec: { results: [{ name: 'list', type: 'array' }], steps: [{ name: 's', image: IMAGE, script: 'printf \'["a","b"]\' > $(results.list.path)' }] } };
    await kube.createCustom(RESOURCES.customRuns, NS, customRun('embedded', embedded(spec)));
    const done = await waitDone(kube, RESOURCES.customRuns, NS, 'embedded');
    expect(succeeded(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect((done.status as Rec)['results']).toEqual([{ name: 'list', value: '["a","b"]' }]);
  });

  it('retries: a failing attempt is retried in a new pod and recorded in retriesStatus', async () => {
    await kube.createCustom(RESOURCES.customRuns, NS, customRun('retry', { ...embedded(oneTask('exit 3')), retries: 1 }));
    const done = await waitDone(kube, RESOURCES.customRuns, NS, 'retry', 240_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'Failed' });
    const st = done.status as Rec;
    expect((st['retriesStatus'] as unknown[]).length).toBe(1);
    expect((st['extraFields'] as Rec)['attempt']).toBe(1);
    const pods = await kube.listPods(NS, `pipod.dev/run=retry`);
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['retry-pipod', 'retry-pipod-r1']);
  });

  it('timeout: the CustomRun\'s timeout bounds the inner pipeline (CustomRunTimedOut)', async () => {
    await kube.createCustom(RESOURCES.customRuns, NS, customRun('timeout', { ...embedded(oneTask('sleep 300')), timeout: '15s' }));
    const done = await waitDone(kube, RESOURCES.customRuns, NS, 'timeout', 150_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'CustomRunTimedOut' });
  });

  it('cancel: spec.status RunCancelled stops the pod\'s run (CustomRunCancelled)', async () => {
    await kube.createCustom(RESOURCES.customRuns, NS, customRun('cancel', embedded(oneTask('sleep 300'))));
    await waitFor('inner task running', async () => {
      const trs = (await kube.listCustom(RESOURCES.taskRuns, NS, 'pipod.dev/run=cancel')).items;
      return trs.some((t) => ((t.status as Rec | undefined)?.['steps'] as { running?: unknown }[] | undefined)?.some((s) => s.running)) ? true : undefined;
    }, 120_000, 300);
    await kube.patchCustom(RESOURCES.customRuns, NS, 'cancel', [{ op: 'add', path: '/spec/status', value: 'RunCancelled' }]);
    const done = await waitDone(kube, RESOURCES.customRuns, NS, 'cancel', 120_000);
    expect(succeeded(done)).toMatchObject({ status: 'False', reason: 'CustomRunCancelled' });
  });
});
