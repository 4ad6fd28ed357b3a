/**
 * Sidecars through the controller on the real cluster: the carriers a Tekton
 * API server lets through (annotations), since it drops `spec.sidecars` on
 * a Pipeline and `taskRunSpecs[].sidecars` on a PipelineRun (refused with
 * kubectl's strict field validation; asserted here too). Skips, saying why, when no cluster answers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KObject, Kube, RESOURCES } from '@pipod/controller';
import {
  type ControllerProcess, clusterProblem, deleteNamespace, fixture, succeeded, waitDone, setUpController,
} from './cluster.ts';

const problem = await clusterProblem();
if (problem) console.warn(`[e2e/controller] sidecar tests skipped: ${problem}`);

const suffix = randomBytes(3).toString('hex');
const CTL_NS = `pipod-e2e-sc-ctl-${suffix}`;
const NS = `pipod-e2e-sc-${suffix}`;

const TASK_SIDECAR = JSON.stringify({
  use: [{ name: 'side', image: 'localhost/pipod-test/busybox:latest', imagePullPolicy: 'IfNotPresent', script: 'mkdir -p /tmp/w && echo own > /tmp/w/v && exec httpd -f -p 127.0.0.1:8081 -h /tmp/w', readinessProbe: { tcpSocket: { port: 8081 }, periodSeconds: 1, failureThreshold: 30 } }],
});

describe.skipIf(problem !== undefined)('sidecars through the controller on a real cluster', () => {
  let kube: Kube;
  let ctl: ControllerProcess;

  beforeAll(async () => {
    ({ kube, ctl } = await setUpController({ controllerNs: CTL_NS, ns: NS, logName: `controller-sc-${suffix}`, docs: fixture('sidecars.yaml') }));
  }, 600_000);

  afterAll(async () => {
    await ctl?.stop();
    if (kube && !process.env['PIPOD_E2E_KEEP']) {
      await deleteNamespace(kube, NS);
      await deleteNamespace(kube, CTL_NS);
    }
  });

  it('the API server drops spec.sidecars on a Pipeline and taskRunSpecs[].sidecars on a PipelineRun', async () => {
    const pipeline = { ...(fixture('sidecars.yaml')[0] as KObject), metadata: { name: 'refused', namespace: NS } } as KObject;
    (pipeline as { spec: Record<string, unknown> }).spec['sidecars'] = [{ name: 'x', image: 'busybox' }];
    // Without fieldValidation=Strict (kubectl's default) the server keeps the object and drops the field.
    const stored = await kube.createCustom(RESOURCES.pipelines, NS, pipeline);
    expect((stored as { spec: Record<string, unknown> }).spec['sidecars']).toBeUndefined();
    const run: KObject = {
      apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'refused', namespace: NS },
      spec: { managedBy: 'pipod.dev/controller', pipelineRef: { name: 'e2e-sidecars' }, taskRunSpecs: [{ pipelineTaskName: 'use', sidecars: [{ name: 'x', image: 'busybox' }] }] },
    };
    const storedRun = await kube.createCustom(RESOURCES.pipelineRuns, NS, run);
    expect((storedRun as { spec: { taskRunSpecs: Record<string, unknown>[] } }).spec.taskRunSpecs[0]?.['sidecars']).toBeUndefined();
  });

  it('runs a pipeline sidecar from the Pipeline annotation and a task sidecar from the PipelineRun annotation', async () => {
    await kube.createCustom(RESOURCES.pipelineRuns, NS, {
      apiVersion: 'tekton.dev/v1', kind: 'PipelineRun',
      metadata: { name: 'sidecars', namespace: NS, annotations: { 'pipod.dev/task-sidecars': TASK_SIDECAR } },
      spec: { managedBy: 'pipod.dev/controller', pipelineRef: { name: 'e2e-sidecars' } },
    });
    const done = await waitDone(kube, RESOURCES.pipelineRuns, NS, 'sidecars');
    expect(succeeded(done), JSON.stringify(done.status)).toMatchObject({ status: 'True' });
    expect((done.status as { results?: unknown }).results).toEqual([{ name: 'got', value: 'shared+own' }]);
  }, 240_000);
});
