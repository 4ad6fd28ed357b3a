import { describe, expect, it } from 'vitest';
import { build } from '@pipod/podbuilder';

// A real Tekton pipeline through the real builder, whose last step rewrites requests to the peak.
const yaml = `
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: work}
spec:
  steps:
    - name: prepare
      image: busybox
      script: echo prepare
      computeResources: {requests: {cpu: 100m, memory: 64Mi}}
    - name: run
      image: busybox
      script: echo run
      computeResources: {requests: {cpu: 750m, memory: 1Gi}, limits: {memory: 2Gi}}
  sidecars:
    - name: cache
      image: busybox
      script: sleep 1000
      computeResources: {requests: {cpu: 250m, memory: 256Mi}}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: fan}
spec:
  tasks:
    - {name: a, taskRef: {name: work}}
    - {name: b, taskRef: {name: work}, runAfter: [a]}
    - {name: c, taskRef: {name: work}, runAfter: [a]}
    - {name: d, taskRef: {name: work}, runAfter: [b]}
  finally:
    - {name: f, taskRef: {name: work}}
    - {name: g, taskRef: {name: work}}
    - {name: h, taskRef: {name: work}}
`;

describe('resources on a Pod from the real builder', () => {
  it('the rewritten Pod requests the peak: three concurrent finally tasks beat b‖c and c‖d', () => {
    const r = build([{ name: 'p.yaml', text: yaml }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const e = r.resources;
    const byName = Object.fromEntries(e.resources.map((x) => [x.resource, x]));
    // As written: 7 tasks × (100m + 750m + 250m), 7 × (64Mi + 1Gi + 256Mi). Each task needs max(100m, 750m) + 250m sidecar = 1 cpu; max(64Mi, 1Gi) + 256Mi = 1280Mi. Main DAG a→{b→d, c}: at most 2 overlap; finally: 3.
    expect(byName.cpu).toMatchObject({ asWritten: '7700m', peak: '3', tasksPeak: '2', finallyPeak: '3', phase: 'finally', overlapping: [{ task: 'f', demand: '1' }, { task: 'g', demand: '1' }, { task: 'h', demand: '1' }] });
    expect(byName.memory).toMatchObject({ asWritten: '9408Mi', peak: '3840Mi', tasksPeak: '2560Mi', phase: 'finally' });
    const pod = r.pod as unknown as { spec: { containers: { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] } };
    const requested = pod.spec.containers.filter((c) => Object.values(c.resources?.requests ?? {}).some((v) => v !== '0'));
    expect(requested.map((c) => [c.name, c.resources?.requests])).toEqual([['pipod-supervisor', { cpu: '3', memory: '3840Mi' }]]);
    // Limits stay where they were written.
    expect(pod.spec.containers.filter((c) => c.resources?.limits).map((c) => c.resources?.limits)).toEqual(Array(7).fill({ memory: '2Gi' }));
  });
});
