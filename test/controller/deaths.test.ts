/** Container statuses → the dead facts the controller and `pipod run --runtime kubernetes` write into the pod. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { Layout, SUPERVISOR_CONTAINER, parseContainerDeath } from '@pipod/plan';
import { containerDeath, deathExecCommand, newDeaths } from '@pipod/controller';

const status = (name: string, state: V1ContainerStatus['state']): V1ContainerStatus => ({ name, image: 'i', imageID: '', ready: false, restartCount: 0, state });

describe('containerDeath', () => {
  it.each<[string, V1ContainerStatus['state'], ReturnType<typeof containerDeath>]>([
    ['OOM-killed', { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: new Date('2026-01-01T00:00:01Z') } }, { container: 'c', reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-01-01T00:00:01.000Z' }],
    ['killed', { terminated: { exitCode: 137, reason: 'Error' } }, { container: 'c', reason: 'Error', exitCode: 137 }],
    ['could not start', { terminated: { exitCode: 128, reason: 'StartError', message: 'exec format error' } }, { container: 'c', reason: 'StartFailed', exitCode: 128, message: 'exec format error' }],
    ['released', { terminated: { exitCode: 0, reason: 'Completed' } }, { container: 'c', reason: 'Completed', exitCode: 0 }],
    ['a bad config', { waiting: { reason: 'CreateContainerConfigError', message: 'secret "s" not found' } }, { container: 'c', reason: 'StartFailed', exitCode: 127, message: 'CreateContainerConfigError: secret "s" not found' }],
    ['running', { running: {} }, undefined],
    ['pulling its image', { waiting: { reason: 'ContainerCreating' } }, undefined],
    ['in image pull back-off (may still come)', { waiting: { reason: 'ImagePullBackOff' } }, undefined],
  ])('%s', (_what, state, want) => {
    expect(containerDeath(status('c', state))).toEqual(want);
  });
});

describe('newDeaths', () => {
  it('skips the supervisor, containers already reported and released ones (exit 0)', () => {
    const pod = { status: { containerStatuses: [
      status(SUPERVISOR_CONTAINER, { terminated: { exitCode: 1 } }),
      status('a', { terminated: { exitCode: 137, reason: 'OOMKilled' } }),
      status('b', { terminated: { exitCode: 2, reason: 'Error' } }),
      status('c', { terminated: { exitCode: 0, reason: 'Completed' } }),
    ] } } as V1Pod;
    expect(newDeaths(pod, new Set(['b'])).map((d) => d.container)).toEqual(['a']);
  });
});

describe('deathExecCommand', () => {
  it('runs the pod\'s Node and writes the fact by rename, as a fact the supervisor reads', () => {
    const layout = new Layout();
    const cmd = deathExecCommand({ container: 'a', reason: 'OOMKilled', exitCode: 137 }, layout);
    expect(cmd.slice(0, 4)).toEqual([layout.loader, '--library-path', layout.libDir, layout.node]);
    const script = cmd[5] ?? '';
    expect(script).toContain('renameSync');
    const m = /writeFileSync\(p\+'\.tmp',("(?:[^"\\]|\\.)*")\)/.exec(script);
    expect(parseContainerDeath(JSON.parse(m?.[1] ?? '""') as string)).toEqual({ container: 'a', reason: 'OOMKilled', exitCode: 137 });
  });

  it('writes the fact when run (here with this Node, into a temp root)', () => {
    const root = mkdtempSync(join(tmpdir(), 'pipod-death-exec-'));
    try {
      const layout = new Layout(root);
      execFileSync(process.execPath, deathExecCommand({ container: 'a', reason: 'Error', exitCode: 2 }, layout).slice(4));
      expect(parseContainerDeath(readFileSync(layout.deadFile('a'), 'utf8'))).toEqual({ container: 'a', reason: 'Error', exitCode: 2 });
      expect(readdirSync(layout.factsDir)).toEqual(['dead-a.json']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
