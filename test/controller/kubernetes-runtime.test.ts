import { describe, expect, it } from 'vitest';
import { startFailure, startPending } from '@pipod/controller';
import { podForCluster } from '../../packages/cli/src/runtime/kubernetes.ts';

describe('podForCluster', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'r-pod', namespace: 'x', labels: { a: 'b' } },
    spec: {
      initContainers: [{ name: 'pipod-init', image: 'localhost/pipod/runtime:0.1.0' }],
      containers: [
        { name: 'pipod-supervisor', image: 'localhost/pipod/runtime:0.1.0' },
        { name: 't-s', image: 'docker.io/library/alpine:3', imagePullPolicy: 'Always' },
        { name: 't-u', image: 'localhost/mine:latest', imagePullPolicy: 'Always' },
        { name: 't-v', image: 'registry.example/tool:1' },
      ],
    },
  };

  it('sets the run\'s name and namespace, maps images, and never pulls localhost images unless told to', () => {
    const p = podForCluster(pod, 'r-pod-abc123', 'ns', { 'docker.io/library/alpine': 'mirror.example/alpine' });
    expect(p.metadata).toMatchObject({ name: 'r-pod-abc123', namespace: 'ns', labels: { a: 'b', 'pipod.dev/run-by': 'pipod-run' } });
    expect(p.spec.initContainers?.[0]).toEqual({ name: 'pipod-init', image: 'localhost/pipod/runtime:0.1.0', imagePullPolicy: 'IfNotPresent' });
    expect(p.spec.containers.map((c) => [c.name, c.image, c.imagePullPolicy])).toEqual([
      ['pipod-supervisor', 'localhost/pipod/runtime:0.1.0', 'IfNotPresent'],
      ['t-s', 'mirror.example/alpine:3', 'Always'],
      ['t-u', 'localhost/mine:latest', 'Always'],
      ['t-v', 'registry.example/tool:1', undefined],
    ]);
    expect(pod.metadata.name).toBe('r-pod');
  });
});

describe('startFailure', () => {
  it.each([
    ['pending, nothing wrong', { status: { phase: 'Pending' } }, undefined],
    ['image pull backoff', { status: { phase: 'Pending', containerStatuses: [{ name: 't-s', state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } }] } }, 'container t-s: ImagePullBackOff: no such image'],
    ['init container failed', { status: { phase: 'Pending', initContainerStatuses: [{ name: 'pipod-init', state: { terminated: { exitCode: 2 } } }] } }, 'init container pipod-init exited 2'],
    ['pod failed', { status: { phase: 'Failed', reason: 'Evicted', message: 'disk' } }, 'pod failed (Evicted): disk'],
    ['container creating', { status: { phase: 'Pending', containerStatuses: [{ name: 't-s', state: { waiting: { reason: 'ContainerCreating' } } }] } }, undefined],
  ])('%s', (_n, pod, want) => {
    expect(startFailure(pod as never)).toBe(want);
  });
});

describe('startPending', () => {
  it.each([
    ['scheduled, nothing waiting', { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } }, undefined],
    ['unschedulable', { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] } }, { unschedulable: true, message: 'not scheduled (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu.' }],
    ['init container creating', { status: { phase: 'Pending', initContainerStatuses: [{ name: 'pipod-init', state: { waiting: { reason: 'ContainerCreating' } } }] } }, { unschedulable: false, message: 'container pipod-init: ContainerCreating' }],
    ['steps wait for init', { status: { phase: 'Pending', containerStatuses: [{ name: 't-s', state: { waiting: { reason: 'PodInitializing' } } }] } }, undefined],
  ])('%s', (_n, pod, want) => {
    expect(startPending(pod as never)).toEqual(want);
  });
});
