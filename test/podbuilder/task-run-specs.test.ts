// Task-level computeResources and per-task pod templates of a PipelineRun's
// taskRunSpecs (and a TaskRun's own spec): what reaches the one pod, and the
// exact errors of what cannot.
import { describe, expect, it } from 'vitest';
import { build, validate } from '@pipod/podbuilder';

type Pod = { spec: Record<string, unknown> & { containers: { name: string; resources?: { limits?: Record<string, string> } }[] } };

const pipeline = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
    - name: a
      taskSpec:
        steps:
          - {name: s1, image: busybox, script: 'true', computeResources: {requests: {cpu: 100m}, limits: {cpu: 300m}}}
          - {name: s2, image: busybox, script: 'true'}
    - name: b
      taskSpec:
        steps: [{name: s1, image: busybox, script: 'true', computeResources: {requests: {cpu: 250m}}}]
`;
const run = (specs: string, template = ''): string => `${pipeline}---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  pipelineRef: {name: p}
${template}  taskRunSpecs:
${specs}`;
const built = (text: string) => {
  const r = build([{ name: 'r.yaml', text }]);
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
  return r;
};

describe('task-level computeResources', () => {
  it('give every step of the task the whole requests and limits, so the task demands exactly them', () => {
    const r = built(run('    - pipelineTaskName: a\n      computeResources: {requests: {cpu: "1", memory: 64Mi}, limits: {memory: 128Mi}}\n'));
    const pod = r.pod as unknown as Pod;
    const limits = Object.fromEntries(pod.spec.containers.map((c) => [c.name, c.resources?.limits]));
    expect(limits['a-s1']).toEqual({ memory: '128Mi' });
    expect(limits['a-s2']).toEqual({ memory: '128Mi' });
    expect(limits['b-s1']).toBeUndefined();
    expect(r.resources.tasks.find((t) => t.name === 'a')?.demand).toEqual({ cpu: '1', memory: '64Mi' });
    expect(r.resources.tasks.find((t) => t.name === 'b')?.demand).toMatchObject({ cpu: '250m' });
    // a and b can overlap: the pod asks for both at once
    expect(r.resources.resources.find((x) => x.resource === 'cpu')?.podRequest).toBe('1250m');
  });

  it("apply to a TaskRun's one task, next to its sidecarSpecs", () => {
    const r = built(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: tr}
spec:
  computeResources: {requests: {cpu: 500m}, limits: {cpu: "1"}}
  sidecarSpecs: [{name: db, computeResources: {requests: {memory: 64Mi}}}]
  taskSpec:
    sidecars: [{name: db, image: busybox, script: 'sleep 9'}]
    steps: [{name: s1, image: busybox, script: 'true'}, {name: s2, image: busybox, script: 'true'}]
`);
    expect(r.resources.tasks[0]?.demand).toEqual({ cpu: '500m', memory: '64Mi' });
    const pod = r.pod as unknown as Pod;
    expect(pod.spec.containers.filter((c) => c.resources?.limits?.['cpu'] === '1').map((c) => c.name)).toEqual(['tr-s1', 'tr-s2']);
  });

  it('cannot be given with stepSpecs, in a PipelineRun or a TaskRun', () => {
    expect(validate([{ name: 'r.yaml', text: run('    - pipelineTaskName: a\n      computeResources: {requests: {cpu: "1"}, claims: [{name: c}]}\n      stepSpecs: [{name: s1, computeResources: {requests: {cpu: "2"}}}]\n') }])).toEqual([
      { source: 'PipelineRun/r', path: 'spec.taskRunSpecs[0].computeResources.claims', message: 'resource claims are not supported yet' },
      { source: 'PipelineRun/r', path: 'spec.taskRunSpecs[0].computeResources', message: 'set either task-level computeResources or stepSpecs, not both (as Tekton)' },
    ]);
    expect(validate([{ name: 'tr.yaml', text: 'apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr}\nspec:\n  computeResources: {limits: {cpu: "1"}}\n  stepSpecs: [{name: s, computeResources: {}}]\n  taskSpec: {steps: [{name: s, image: busybox, script: "true"}]}\n' }])).toEqual([
      { source: 'TaskRun/tr', path: 'spec.computeResources', message: 'set either task-level computeResources or stepSpecs, not both (as Tekton)' },
    ]);
  });
});

describe('per-task pod templates', () => {
  it('merge with the run\'s into the one pod: lists united, maps merged, equal fields kept', () => {
    const r = built(run(
      '    - pipelineTaskName: a\n      podTemplate: {nodeSelector: {disk: ssd}, tolerations: [{key: k, operator: Exists}, {key: gpu, operator: Exists}], securityContext: {fsGroup: 1000}, priorityClassName: high}\n'
      + '    - pipelineTaskName: b\n      podTemplate: {securityContext: {runAsUser: 5}, priorityClassName: high, terminationGracePeriodSeconds: 7}\n',
      '  taskRunTemplate:\n    podTemplate: {nodeSelector: {zone: a}, tolerations: [{key: k, operator: Exists}]}\n',
    ));
    const { spec } = r.pod as unknown as Pod;
    expect(spec['nodeSelector']).toEqual({ zone: 'a', disk: 'ssd' });
    expect(spec['tolerations']).toEqual([{ key: 'k', operator: 'Exists' }, { key: 'gpu', operator: 'Exists' }]);
    expect(spec['securityContext']).toEqual({ fsGroup: 1000, runAsUser: 5 });
    expect(spec['priorityClassName']).toBe('high');
    expect(spec['terminationGracePeriodSeconds']).toBe(7);
  });

  it('that disagree are errors naming both places', () => {
    expect(validate([{ name: 'r.yaml', text: run(
      '    - pipelineTaskName: a\n      podTemplate: {nodeSelector: {zone: b}, securityContext: {fsGroup: 1000}, env: [{name: A, value: x}]}\n'
      + '    - pipelineTaskName: b\n      podTemplate: {securityContext: {fsGroup: 2000}, schedulerName: other}\n',
      '  taskRunTemplate:\n    podTemplate: {nodeSelector: {zone: a}, schedulerName: mine}\n',
    ) }])).toEqual([
      { source: 'PipelineRun/r', path: 'spec.taskRunSpecs[0].podTemplate.nodeSelector.zone', message: 'task "a" sets "b" but the run sets "a" (spec.taskRunTemplate.podTemplate.nodeSelector.zone): one pod has one nodeSelector' },
      { source: 'PipelineRun/r', path: 'spec.taskRunSpecs[1].podTemplate.securityContext.fsGroup', message: 'task "b" sets 2000 but task "a" sets 1000 (spec.taskRunSpecs[0].podTemplate.securityContext.fsGroup): one pod has one securityContext' },
      { source: 'PipelineRun/r', path: 'spec.taskRunSpecs[1].podTemplate.schedulerName', message: 'task "b" sets "other" but the run sets "mine" (spec.taskRunTemplate.podTemplate.schedulerName): one pod has one schedulerName' },
    ]);
  });
});
