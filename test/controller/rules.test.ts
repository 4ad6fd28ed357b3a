import { describe, expect, it } from 'vitest';
import {
  MANAGED_BY, cancelFileContent, cancelRequest, flagEnabled, isDelegatedPipelineRun, isPipodCustomRun, parseGoDuration,
  pendingDeadline, pipelineRunForCustomRun, podFailure, podName, taskRunName, taskRunObject,
} from '@pipod/controller';
import { DEADLINE_MARGIN_S } from '@pipod/podbuilder';

describe('flagEnabled', () => {
  it.each([
    [undefined, false],
    [{}, false],
    [{ 'enable-pipeline-in-pod': 'true' }, true],
    [{ 'enable-pipeline-in-pod': ' TRUE\n' }, true],
    [{ 'enable-pipeline-in-pod': 'false' }, false],
    [{ 'enable-pipeline-in-pod': 'yes' }, false],
  ])('%j → %s', (data, want) => expect(flagEnabled(data)).toBe(want));
});

describe('which runs are ours', () => {
  it.each([
    [{ spec: { managedBy: MANAGED_BY } }, true],
    [{ spec: { managedBy: 'tekton.dev/pipeline' } }, false],
    [{ spec: {} }, false],
  ])('PipelineRun %j → %s', (o, want) => expect(isDelegatedPipelineRun(o)).toBe(want));

  it.each([
    [{ spec: { customRef: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', name: 'p' } } }, true],
    [{ spec: { customSpec: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', spec: {} } } }, true],
    [{ spec: { customRef: { apiVersion: 'example.dev/v1', kind: 'PipelineInPod' } } }, false],
    [{ spec: { customRef: { apiVersion: 'pipod.dev/v1alpha1', kind: 'Other' } } }, false],
  ])('CustomRun %j → %s', (o, want) => expect(isPipodCustomRun(o)).toBe(want));
});

describe('cancelRequest', () => {
  it.each([
    ['PipelineRun', { status: 'Cancelled' }, 'Cancelled', 'immediate'],
    ['PipelineRun', { status: 'CancelledRunFinally' }, 'CancelledRunFinally', 'graceful'],
    ['PipelineRun', { status: 'StoppedRunFinally' }, 'StoppedRunFinally', 'stop'],
    ['PipelineRun', { status: 'PipelineRunPending' }, undefined, undefined],
    ['PipelineRun', {}, undefined, undefined],
    ['CustomRun', { status: 'RunCancelled' }, 'Cancelled', 'immediate'],
    ['CustomRun', { status: 'Cancelled' }, undefined, undefined],
  ] as const)('%s %j → %s (%s)', (kind, spec, want, file) => {
    const c = cancelRequest(kind, spec);
    expect(c).toBe(want);
    if (c) expect(cancelFileContent(c)).toBe(file);
  });
});

describe('names', () => {
  it('are deterministic DNS labels, per attempt', () => {
    expect(podName('build-1')).toBe('build-1-pipod');
    expect(podName('build-1', 2)).toBe('build-1-pipod-r2');
    expect(taskRunName('build-1', 'compile')).toBe('build-1-compile');
    expect(taskRunName('build-1', 'compile', 1)).toBe('build-1-r1-compile');
    const long = taskRunName('x'.repeat(60), 'task');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(taskRunName('x'.repeat(60), 'task')).toBe(long);
    expect(taskRunName('x'.repeat(60), 'task2')).not.toBe(long);
    expect(taskRunName('r', 'outer.inner')).toMatch(/^r-outer-inner-[0-9a-f]{8}$/);
  });
});

describe('podFailure', () => {
  const now = '2026-01-01T00:00:00.000Z';
  it.each([
    [undefined, true, 'PodDeleted'],
    [{ status: { phase: 'Running' } }, false, undefined],
    [{ status: { phase: 'Failed', reason: 'Evicted', message: 'low memory' } }, false, 'PodEvicted'],
    [{ status: { phase: 'Failed', reason: 'DeadlineExceeded' } }, false, 'PipelineRunTimeout'],
    [{ status: { phase: 'Failed' } }, false, 'PodFailed'],
    [{ status: { phase: 'Succeeded' } }, false, 'PodFailed'],
  ])('%j deleted=%s → %s', (pod, deleted, reason) => {
    expect(podFailure(pod, deleted, now)?.reason).toBe(reason);
  });
});

describe('pendingDeadline', () => {
  const created = '2026-01-01T00:00:00.000Z';
  it.each([
    ['a 90s pipeline budget', { metadata: { creationTimestamp: created }, spec: { activeDeadlineSeconds: 90 + DEADLINE_MARGIN_S } }, { at: Date.parse(created) + 91_000, budgetMs: 90_000 }],
    ['a Date creation time (typed client)', { metadata: { creationTimestamp: new Date(created) }, spec: { activeDeadlineSeconds: 1 + DEADLINE_MARGIN_S } }, { at: Date.parse(created) + 2000, budgetMs: 1000 }],
    ['no deadline (timeout 0)', { metadata: { creationTimestamp: created }, spec: {} }, undefined],
    ['not created yet', { spec: { activeDeadlineSeconds: 100 } }, undefined],
  ])('%s', (_what, pod, want) => expect(pendingDeadline(pod as never)).toEqual(want));
});

describe('parseGoDuration', () => {
  it.each([
    ['1h', 3_600_000], ['1h30m', 5_400_000], ['90s', 90_000], ['1m0s', 60_000], ['500ms', 500], ['1.5s', 1500], ['0', 0],
    ['', undefined], ['abc', undefined], ['10', undefined], ['5s junk', undefined], [42, undefined],
  ])('%j → %s', (s, want) => expect(parseGoDuration(s)).toBe(want));
});

describe('pipelineRunForCustomRun', () => {
  it('by reference: pipelineRef, params, workspaces, timeout', () => {
    const cr = {
      apiVersion: 'tekton.dev/v1beta1', kind: 'CustomRun', metadata: { name: 'parent-mid', namespace: 'ns', uid: 'u1' },
      spec: { customRef: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', name: 'inner' }, params: [{ name: 'x', value: '1' }], workspaces: [{ name: 'w', emptyDir: {} }], timeout: '2m' },
    };
    expect(pipelineRunForCustomRun(cr)).toEqual({
      apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'parent-mid', namespace: 'ns', uid: 'u1' },
      spec: { pipelineRef: { name: 'inner' }, params: [{ name: 'x', value: '1' }], workspaces: [{ name: 'w', emptyDir: {} }], timeouts: { pipeline: '2m' } },
    });
  });
  it('embedded: pipelineSpec', () => {
    const spec = { tasks: [{ name: 't', taskSpec: { steps: [{ name: 's', image: 'busybox', script: 'true' }] } }] };
    const pr = pipelineRunForCustomRun({ metadata: { name: 'c' }, spec: { customSpec: { apiVersion: 'pipod.dev/v1alpha1', kind: 'PipelineInPod', spec } } });
    expect((pr['spec'] as Record<string, unknown>)['pipelineSpec']).toEqual(spec);
  });
});

describe('taskRunObject', () => {
  it('is managed by pipod, owned by the run, and carries a minimal valid taskSpec', () => {
    const run = { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'r', namespace: 'ns', uid: 'u' } };
    const tr = taskRunObject(run, 'build', 'r-build', 'r-pipod', { steps: [{ name: 'compile', image: 'golang' }], results: [{ name: 'digest', type: 'string' }] });
    expect(tr.spec).toEqual({
      managedBy: 'pipod.dev/controller',
      taskSpec: { description: 'Task build of r, run by pipod inside pod r-pipod', steps: [{ name: 'compile', image: 'golang' }], results: [{ name: 'digest', type: 'string' }] },
    });
    expect(tr.metadata?.ownerReferences).toEqual([{ apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: 'r', uid: 'u', controller: false, blockOwnerDeletion: true }]);
    expect(tr.metadata?.labels?.['tekton.dev/pipelineRun']).toBe('r');
    expect(tr.metadata?.labels?.['tekton.dev/pipelineTask']).toBe('build');
  });

  it("carries the task's own labels and annotations (taskSpec.metadata), pipod's own winning", () => {
    const run = { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', metadata: { name: 'r', namespace: 'ns', uid: 'u' } };
    const tr = taskRunObject(run, 'build', 'r-build', 'r-pipod', {
      steps: [], results: [], metadata: { labels: { app: 'web', 'tekton.dev/pipelineTask': 'other' }, annotations: { note: 'n' } },
    });
    expect(tr.metadata?.labels).toMatchObject({ app: 'web', 'tekton.dev/pipelineTask': 'build' });
    expect(tr.metadata?.annotations).toEqual({ note: 'n', 'pipod.dev/pod': 'r-pipod', 'pipod.dev/pipeline-task': 'build' });
  });
});
