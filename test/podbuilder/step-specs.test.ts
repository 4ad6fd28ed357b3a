// taskRunSpecs[].stepSpecs replace a step's computeResources; an unknown step is an error naming the field.
import { describe, expect, it } from 'vitest';
import { build, validate } from '@pipod/podbuilder';

const docs = (step: string): string => `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  taskRunSpecs:
    - pipelineTaskName: a
      stepSpecs: [{name: ${step}, computeResources: {limits: {memory: 64Mi}}}]
  pipelineSpec:
    tasks:
      - name: a
        taskSpec:
          steps:
            - {name: s, image: busybox, script: echo, computeResources: {requests: {cpu: 100m}}}
            - {name: t, image: busybox, script: echo}
`;

describe('taskRunSpecs stepSpecs', () => {
  it('replaces the named step\'s computeResources only', () => {
    const r = build([{ name: 'r.yaml', text: docs('s') }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const containers = (r.pod['spec'] as { containers: { name: string; resources?: unknown }[] }).containers;
    const a = containers.find((c) => c.name === 'a-s')?.resources;
    expect(a).toMatchObject({ limits: { memory: '64Mi' } });
    expect(a).not.toHaveProperty('requests.cpu');
    expect(containers.find((c) => c.name === 'a-t')?.resources).not.toHaveProperty('limits');
  });

  it('names an unknown step', () => {
    expect(validate([{ name: 'r.yaml', text: docs('nope') }])).toEqual([
      { source: 'PipelineRun/r', path: 'spec.taskRunSpecs[0].stepSpecs[0].name', message: 'task "a" has no step "nope"' },
    ]);
  });
});
