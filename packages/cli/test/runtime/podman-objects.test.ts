import { mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { podmanObjects } from '../../src/runtime/podman-objects.ts';
import { mkdirShared } from '../../src/runtime/podman.ts';
import type { KubePod, RunObject } from '../../src/runtime/types.ts';

const objects: RunObject[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', labels: { a: 'b' } }, data: { greeting: 'hello', 'file.txt': 'text' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'default' }, data: { token: Buffer.from('s3cret').toString('base64') } },
];
const pod = (container: Record<string, unknown>, volumes: Record<string, unknown>[] = []): KubePod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'busybox', ...container }], volumes: [{ name: 'pipod', emptyDir: {} }, ...volumes] as never },
});
const opts = { podName: 'run-abc', hostDir: '/runs/run-abc' };

describe('podmanObjects', () => {
  it('turns Secret env into a podman secret of the run, keeps ConfigMap env for kube play, and volumes into read-only directories of the run', () => {
    const r = podmanObjects(pod({
      env: [
        { name: 'G', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
        { name: 'T', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
        { name: 'N', valueFrom: { secretKeyRef: { name: 'nope', key: 'x', optional: true } } },
        { name: 'P', value: 'plain' },
      ],
      envFrom: [{ secretRef: { name: 'sec' } }, { configMapRef: { name: 'cfg' } }],
      volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }, { name: 'cfgvol', mountPath: '/cfg' }, { name: 'secvol', mountPath: '/sec' }],
    }, [
      { name: 'cfgvol', configMap: { name: 'cfg', items: [{ key: 'file.txt', path: 'sub/f.txt', mode: 0o600 }] } },
      { name: 'secvol', secret: { secretName: 'sec' } },
    ]), objects, opts);
    const c = r.pod.spec.containers[0] as unknown as { env: unknown[]; envFrom: unknown[]; volumeMounts: unknown[] };
    expect(c.env).toEqual([
      { name: 'G', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
      { name: 'T', valueFrom: { secretKeyRef: { name: 'run-abc-sec', key: 'token' } } },
      { name: 'P', value: 'plain' },
    ]);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'run-abc-sec' } }, { configMapRef: { name: 'cfg' } }]);
    expect(r.secrets).toEqual([{ name: 'run-abc-sec', data: JSON.stringify({ token: Buffer.from('s3cret').toString('base64') }) }]);
    expect(r.configMaps).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { greeting: 'hello', 'file.txt': 'text' } }]);
    expect(r.pod.spec.volumes).toEqual([
      { name: 'pipod', emptyDir: {} },
      { name: 'cfgvol', hostPath: { path: '/runs/run-abc/objects/cfgvol', type: 'Directory' } },
      { name: 'secvol', hostPath: { path: '/runs/run-abc/objects/secvol', type: 'Directory' } },
    ]);
    expect(c.volumeMounts).toEqual([{ name: 'pipod', mountPath: '/pipod' }, { name: 'cfgvol', mountPath: '/cfg', readOnly: true }, { name: 'secvol', mountPath: '/sec', readOnly: true }]);
    expect(r.files.map((f) => [f.path, f.data.toString(), f.mode.toString(8)])).toEqual([
      ['/runs/run-abc/objects/cfgvol/sub/f.txt', 'text', '600'],
      ['/runs/run-abc/objects/secvol/token', 's3cret', '644'],
    ]);
  });

  it.each([
    [{ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'other', key: 'k' } } }] }, [], 'spec.containers[0].env[0] (X): ConfigMap "other" is not in the input; podman has no ConfigMap store, so a ConfigMap the pod uses must be in the files given to pipod run'],
    [{ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'nope' } } }] }, [], 'spec.containers[0].env[0] (X): Secret "sec" has no key "nope"'],
    [{}, [{ name: 'v', secret: { secretName: 'gone' } }], 'spec.volumes[1] (v): Secret "gone" is not in the input; podman has no Secret store, so a Secret the pod uses must be in the files given to pipod run'],
    [{}, [{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'greeting', path: '../x' }] } }], 'spec.volumes[1] (v): item path "../x" must stay inside the volume'],
  ])('refuses what podman cannot find: %#', (container, volumes, message) => {
    expect(() => podmanObjects(pod(container, volumes), objects, opts)).toThrow(message);
  });
});

describe('mkdirShared', () => {
  it('leaves every directory from the base down world-writable, so a non-root pod can create its own beside a subPath directory', () => {
    const base = mkdtempSync(join(tmpdir(), 'pipod-shared-'));
    try {
      mkdirSync(join(base, 'pipod'), { mode: 0o755 });
      mkdirShared(base, join(base, 'pipod/run/tasks/a/results'));
      for (const d of ['', 'pipod', 'pipod/run', 'pipod/run/tasks', 'pipod/run/tasks/a', 'pipod/run/tasks/a/results']) {
        expect([d, (statSync(join(base, d)).mode & 0o777).toString(8)]).toEqual([d, '777']);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
