import { describe, expect, it } from 'vitest';
import { PipodError } from '@pipod/plan';
import { mapImage, parseImageMap, toPodmanPod, unplayableStrings, uniquePodName } from '../../src/runtime/podman-pod.ts';
import type { KubePod } from '../../src/runtime/types.ts';

const pod: KubePod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'build-run-pod', namespace: 'ci', annotations: { short: 'x', 'pipod.dev/tasks': 'y'.repeat(64) }, labels: { a: 'b' } },
  spec: {
    volumes: [{ name: 'pipod', emptyDir: {} }, { name: 'src', hostPath: { path: '/data/src' } }, { name: 'cfg', configMap: { name: 'c' } }, { name: 'ws-shared', ephemeral: { volumeClaimTemplate: { spec: {} } } }],
    initContainers: [{ name: 'pipod-init', image: 'localhost/pipod/runtime:0.1.0', volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }] }],
    containers: [
      { name: 'pipod-supervisor', image: 'localhost/pipod/runtime:0.1.0' },
      {
        name: 'a-s', image: 'docker.io/library/busybox:1.36', imagePullPolicy: 'Always',
        volumeMounts: [
          { name: 'pipod', mountPath: '/pipod' },
          { name: 'pipod', mountPath: '/tekton/results', subPath: 'run/tasks/a/results' },
          { name: 'src', mountPath: '/src', subPath: 'sub/dir/', readOnly: true },
        ],
      },
    ],
  },
};

describe('toPodmanPod', () => {
  const out = toPodmanPod(pod, { podName: 'build-run-pod-abc123', hostDir: '/runs/build-run-pod-abc123', localImages: new Set(['localhost/pipod/runtime:0.1.0']) });

  it('turns every emptyDir and ephemeral volume into a hostPath under the run directory and keeps other volumes', () => {
    expect(out.pod.spec.volumes?.slice(0, 4)).toEqual([
      { name: 'pipod', hostPath: { path: '/runs/build-run-pod-abc123/volumes/pipod', type: 'DirectoryOrCreate' } },
      { name: 'src', hostPath: { path: '/data/src' } },
      { name: 'cfg', configMap: { name: 'c' } },
      { name: 'ws-shared', hostPath: { path: '/runs/build-run-pod-abc123/volumes/ws-shared', type: 'DirectoryOrCreate' } },
    ]);
    expect(out.volumeDirs).toEqual({ pipod: '/runs/build-run-pod-abc123/volumes/pipod', src: '/data/src', 'ws-shared': '/runs/build-run-pod-abc123/volumes/ws-shared' });
  });

  it('replaces each subPath mount by a hostPath volume of the sub-directory', () => {
    const mounts = out.pod.spec.containers[1]?.volumeMounts ?? [];
    expect(mounts[0]).toEqual({ name: 'pipod', mountPath: '/pipod' });
    expect(mounts[1]?.subPath).toBeUndefined();
    expect(mounts[2]).toMatchObject({ mountPath: '/src', readOnly: true });
    const byName = new Map((out.pod.spec.volumes ?? []).map((v) => [v.name, v]));
    expect(byName.get(mounts[1]!.name)?.hostPath).toEqual({ path: '/runs/build-run-pod-abc123/volumes/pipod/run/tasks/a/results', type: 'DirectoryOrCreate' });
    expect(byName.get(mounts[2]!.name)?.hostPath).toEqual({ path: '/data/src/sub/dir', type: 'DirectoryOrCreate' });
  });

  it('keeps readOnly per mount when two containers mount one sub-directory of the run volume', () => {
    const two: KubePod = { metadata: { name: 'p' }, spec: { volumes: [{ name: 'pipod', emptyDir: {} }], containers: [
      { name: 'a', image: 'i', volumeMounts: [{ name: 'pipod', mountPath: '/pipod/run/containers/a/out', subPath: 'run/containers/a/out' }] },
      { name: 'b', image: 'i', volumeMounts: [{ name: 'pipod', mountPath: '/pipod/run/containers/a/out', subPath: 'run/containers/a/out', readOnly: true }] },
    ] } };
    const r = toPodmanPod(two, { podName: 'p-1', hostDir: '/runs/p-1' }).pod;
    const [ma, mb] = r.spec.containers.map((c) => c.volumeMounts?.[0]);
    expect(ma).toEqual({ name: ma?.name, mountPath: '/pipod/run/containers/a/out' });
    expect(mb).toEqual({ name: ma?.name, mountPath: '/pipod/run/containers/a/out', readOnly: true });
    expect(r.spec.volumes?.filter((v) => v.name === ma?.name)).toEqual([{ name: ma?.name, hostPath: { path: '/runs/p-1/volumes/pipod/run/containers/a/out', type: 'DirectoryOrCreate' } }]);
  });

  it('names the pod, labels the run, drops the namespace and annotations kube play rejects', () => {
    expect(out.pod.metadata).toEqual({ name: 'build-run-pod-abc123', labels: { a: 'b', 'pipod.dev/run': 'build-run-pod-abc123' }, annotations: { short: 'x' } });
    expect(out.droppedAnnotations).toEqual(['pipod.dev/tasks']);
  });

  it('lets local images be used without a pull, but keeps an explicit policy', () => {
    expect(out.pod.spec.initContainers?.[0]?.imagePullPolicy).toBe('IfNotPresent');
    expect(out.pod.spec.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
    expect(out.pod.spec.containers[1]?.imagePullPolicy).toBe('Always');
    expect(out.images).toEqual(['docker.io/library/busybox:1.36', 'localhost/pipod/runtime:0.1.0']);
  });

  it('expands $(VAR) in env values against earlier entries, as the kubelet does and kube play does not', () => {
    const env = [{ name: 'A', value: 'x' }, { name: 'B', value: '$(A)-y/$(Z)/$$(A)' }, { name: 'P', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
    const withEnv: KubePod = { ...pod, spec: { ...pod.spec, containers: [{ name: 'e', image: 'busybox', env }] } };
    expect(toPodmanPod(withEnv, { podName: 'p-1', hostDir: '/runs/p-1' }).pod.spec.containers[0]?.['env']).toEqual([
      { name: 'A', value: 'x' }, { name: 'B', value: 'x-y/$(Z)/$(A)' }, { name: 'P', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(env[1]?.value).toBe('$(A)-y/$(Z)/$$(A)');
  });

  it('does not change its input', () => {
    expect(pod.spec.volumes?.[0]).toEqual({ name: 'pipod', emptyDir: {} });
    expect(pod.metadata.name).toBe('build-run-pod');
  });

  it.each([
    ['../up', 'spec.containers[0].volumeMounts[0].subPath'],
    ['/abs', 'spec.containers[0].volumeMounts[0].subPath'],
    ['a/../../b', 'spec.containers[0].volumeMounts[0].subPath'],
  ])('refuses subPath %s', (subPath, where) => {
    const bad: KubePod = { metadata: { name: 'p' }, spec: { volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'v', mountPath: '/m', subPath }] }] } };
    expect(() => toPodmanPod(bad, { podName: 'p-1', hostDir: '/r' })).toThrow(where);
  });

  it('refuses subPath on volume kinds it cannot map to a directory', () => {
    const bad: KubePod = { metadata: { name: 'p' }, spec: { volumes: [{ name: 'cfg', configMap: { name: 'c' } }], containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'cfg', mountPath: '/m', subPath: 'k' }] }] } };
    const err = (() => { try { toPodmanPod(bad, { podName: 'p-1', hostDir: '/r' }); return undefined; } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(PipodError);
    expect((err as PipodError).code).toBe('UNSUPPORTED');
    expect((err as PipodError).message).toContain('spec.containers[0].volumeMounts[0].subPath');
  });

  it('refuses multi-line values that start with whitespace, naming each', () => {
    const bad: KubePod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: '\nx\ny' }, { name: 'B', value: 'fine\n' }] }] } };
    expect(() => toPodmanPod(bad, { podName: 'p-1', hostDir: '/r' })).toThrow('spec.containers[0].env[0].value: podman 4.3 kube play cannot read');
    expect(unplayableStrings(bad)).toEqual(['spec.containers[0].env[0].value']);
  });
});

describe('names and images', () => {
  it.each([
    [{ name: 'build-run-pod' }, 'build-run-pod-a1b2c3'],
    [{ generateName: 'gen-' }, 'gen-a1b2c3'],
    [{ name: 'Weird_Name..x' }, 'weird-name-x-a1b2c3'],
    [{ name: 'x'.repeat(80) }, `${'x'.repeat(40)}-a1b2c3`],
    [{}, 'pipod-a1b2c3'],
  ])('uniquePodName(%o)', (metadata, want) => {
    expect(uniquePodName({ metadata, spec: { containers: [] } }, 'a1b2c3')).toBe(want);
  });

  it.each([
    ['busybox', { busybox: 'localhost/bb:1' }, 'localhost/bb:1'],
    ['busybox:1.36', { busybox: 'localhost/bb' }, 'localhost/bb:1.36'],
    ['busybox@sha256:abc', { busybox: 'localhost/bb' }, 'localhost/bb@sha256:abc'],
    ['registry:5000/x', { registry: 'other' }, 'registry:5000/x'],
    ['alpine', { busybox: 'x' }, 'alpine'],
  ])('mapImage(%s)', (image, map, want) => {
    expect(mapImage(image, map)).toBe(want);
  });

  it('parses image map pairs and rejects malformed ones', () => {
    expect(parseImageMap(['a=b', 'c:1=d:2'])).toEqual({ a: 'b', 'c:1': 'd:2' });
    expect(() => parseImageMap(['nothing'])).toThrow('--image-map "nothing": expected FROM=TO');
    expect(() => parseImageMap(['a='])).toThrow('expected FROM=TO');
  });
});
