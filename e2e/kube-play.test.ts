/**
 * What `podman kube play` (4.3) really does with the Pod shapes pipod
 * generates. These tests pin the behaviours the podman runtime relies on and
 * the quirks it works around; docs/architecture.md ("podman runtime") sums
 * them up. A podman upgrade that changes one of them fails here first.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, RUNTIME_IMAGE, ensureImages, nodeViaLoader, podman, podsNamed, volumesNamed } from './helpers.ts';

const PREFIX = `kp-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'pipod-kp-'));

function play(pod: object): { code: number; stdout: string; stderr: string } {
  const f = join(work, `${(pod as { metadata: { name: string } }).metadata.name}.json`);
  writeFileSync(f, JSON.stringify(pod));
  return podman('kube', 'play', f);
}

function waitExit(container: string): number {
  return Number(podman('wait', container).stdout.trim());
}

const initCopy = {
  name: 'pipod-init',
  image: RUNTIME_IMAGE,
  command: ['node', '-e', "const fs=require('fs'); fs.cpSync('/pipod-runtime','/pipod/bin',{recursive:true}); fs.mkdirSync('/pipod/run/tasks/t1/results',{recursive:true})"],
};

beforeAll(() => ensureImages());
afterAll(() => {
  for (const p of podsNamed(PREFIX)) podman('pod', 'rm', '-f', '-t', '0', p);
  for (const v of volumesNamed(PREFIX)) podman('volume', 'rm', '-f', v);
  rmSync(work, { recursive: true, force: true });
});

describe('podman kube play 4.3', () => {
  it('runs the runtime copied by an init container in a busybox image, passes 100 KiB env, makes the emptyDir a named volume and ignores subPath', () => {
    const name = `${PREFIX}-a`;
    const vol = `${PREFIX}-a-pipod`;
    const big = 'x'.repeat(100 * 1024);
    const script = "const fs=require('fs'); console.log('env', process.env.BIG.length); console.log('sub', JSON.stringify(fs.readdirSync('/sub').sort())); fs.writeFileSync('/pipod/run/tasks/t1/results/r', 'v')";
    const r = play({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: vol, emptyDir: {} }],
        initContainers: [{ ...initCopy, volumeMounts: [{ name: vol, mountPath: '/pipod' }] }],
        containers: [{
          name: 'step', image: BUSYBOX_IMAGE,
          command: [...nodeViaLoader(), '-e', script],
          env: [{ name: 'BIG', value: big }],
          volumeMounts: [{ name: vol, mountPath: '/pipod' }, { name: vol, mountPath: '/sub', subPath: 'run/tasks/t1/results' }],
        }],
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(waitExit(`${name}-step`)).toBe(0);
    const out = podman('logs', `${name}-step`).stdout;
    expect(out).toContain(`env ${100 * 1024}`);
    // subPath is ignored: /sub shows the volume's root, not run/tasks/t1/results.
    expect(out).toContain('sub ["bin","run"]');
    const mountpoint = podman('volume', 'inspect', '--format', '{{.Mountpoint}}', vol).stdout.trim();
    expect(readFileSync(join(mountpoint, 'run/tasks/t1/results/r'), 'utf8')).toBe('v');
    expect(existsSync(join(mountpoint, 'bin/node'))).toBe(true);
    // Init containers are removed once they succeeded.
    expect(podman('container', 'exists', `${name}-pipod-init`).code).not.toBe(0);
    expect(podman('pod', 'rm', '-f', name).code).toBe(0);
    // kube play marks emptyDir volumes anonymous: removing the pod removes them.
    expect(volumesNamed(vol)).toEqual([]);
    expect(podsNamed(name)).toEqual([]);
  });

  it('shares an emptyDir between two pods that use the same volume name', () => {
    const vol = `${PREFIX}-shared`;
    const mk = (n: string, cmd: string) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `${PREFIX}-${n}` },
      spec: { restartPolicy: 'Never', volumes: [{ name: vol, emptyDir: {} }], containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', cmd], volumeMounts: [{ name: vol, mountPath: '/w' }] }] },
    });
    expect(play(mk('w1', 'echo from-w1 > /w/f')).code).toBe(0);
    expect(waitExit(`${PREFIX}-w1-c`)).toBe(0);
    expect(play(mk('w2', 'cat /w/f')).code).toBe(0);
    expect(waitExit(`${PREFIX}-w2-c`)).toBe(0);
    expect(podman('logs', `${PREFIX}-w2-c`).stdout).toContain('from-w1');
  });

  it('mounts a nested hostPath (DirectoryOrCreate) sub-directory: the subPath workaround', () => {
    const name = `${PREFIX}-h`;
    const host = join(work, 'host');
    const r = play({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: {
        restartPolicy: 'Never',
        volumes: [
          { name: 'pipod', hostPath: { path: join(host, 'pipod'), type: 'DirectoryOrCreate' } },
          { name: 'results', hostPath: { path: join(host, 'pipod/run/tasks/t1/results'), type: 'DirectoryOrCreate' } },
        ],
        initContainers: [{ ...initCopy, volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }] }],
        containers: [{
          name: 'step', image: BUSYBOX_IMAGE,
          command: [...nodeViaLoader(), '-e', "require('fs').writeFileSync('/tekton/results/out', 'hello')"],
          volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }, { name: 'results', mountPath: '/tekton/results' }],
        }],
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(waitExit(`${name}-step`)).toBe(0);
    expect(readFileSync(join(host, 'pipod/run/tasks/t1/results/out'), 'utf8')).toBe('hello');
    expect(volumesNamed('results')).toEqual([]);
  });

  it('fails kube play when an init container fails, and keeps the init container for its logs', () => {
    const name = `${PREFIX}-f`;
    const r = play({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { restartPolicy: 'Never', initContainers: [{ name: 'pipod-init', image: RUNTIME_IMAGE, command: ['node', '-e', "console.log('init says no'); process.exit(3)"] }], containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['true'] }] },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/init container \w+ exited with code 3/);
    expect(podman('logs', `${name}-pipod-init`).stdout).toContain('init says no');
  });

  it('follows a container with `podman logs -f` until it exits', async () => {
    const name = `${PREFIX}-l`;
    expect(play({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done'] }] },
    }).code).toBe(0);
    const lines = await new Promise<string[]>((resolve) => {
      const p = spawn('podman', ['logs', '-f', `${name}-c`]);
      let out = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.on('close', () => resolve(out.split('\n').filter((l) => l !== '')));
    });
    expect(lines).toEqual(['line1', 'line2', 'line3', 'line4', 'line5']);
  });
});
