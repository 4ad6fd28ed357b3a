/** podman's container events → the dead facts the supervisor reads. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Layout, parseContainerDeath, type ContainerDeath } from '@pipod/plan';
import { DeathWatch, parsePodmanEvent, podmanDeath, writeDeath } from '../../src/runtime/podman-deaths.ts';

const ev = (status: string, name: string, code?: number): string =>
  JSON.stringify({ ID: 'x', Image: 'i', Name: name, Status: status, Time: '2026-12-03T12:35:31.936249321Z', Type: 'container', Attributes: {}, ...(code !== undefined ? { ContainerExitCode: code } : {}) });

describe('parsePodmanEvent', () => {
  it('reads a died event; podman leaves a 0 exit code out', () => {
    expect(parsePodmanEvent(ev('died', 'p-c', 137))).toEqual({ name: 'p-c', status: 'died', exitCode: 137, time: '2026-12-03T12:35:31.936Z' });
    expect(parsePodmanEvent(ev('died', 'p-c'))).toMatchObject({ exitCode: 0 });
    expect(parsePodmanEvent(ev('kill', 'p-c'))).toEqual({ name: 'p-c', status: 'kill', time: '2026-12-03T12:35:31.936Z' });
  });
  it.each(['', 'not json', '{"Type":"pod","Name":"p","Status":"stop"}', '[1]'])('%j is no container event', (line) => {
    expect(parsePodmanEvent(line)).toBeUndefined();
  });
});

describe('podmanDeath', () => {
  const ctx = { killedByPodman: false, oomEvent: false, memoryLimited: false };
  it.each<[string, number, Partial<typeof ctx>, Pick<ContainerDeath, 'reason' | 'exitCode'> & { message?: string }]>([
    ['SIGKILL nobody sent through podman, under a memory limit', 137, { memoryLimited: true }, { reason: 'OOMKilled', exitCode: 137 }],
    ['an oom event', 137, { oomEvent: true }, { reason: 'OOMKilled', exitCode: 137 }],
    ['podman kill under a memory limit', 137, { memoryLimited: true, killedByPodman: true }, { reason: 'Error', exitCode: 137, message: 'killed through podman' }],
    ['SIGKILL without a memory limit', 137, {}, { reason: 'Error', exitCode: 137 }],
    ['a wrapper that failed', 70, { memoryLimited: true }, { reason: 'Error', exitCode: 70 }],
    ['a released wrapper', 0, {}, { reason: 'Completed', exitCode: 0 }],
  ])('%s → %j', (_what, code, more, want) => {
    expect(podmanDeath('c', code, { ...ctx, ...more })).toEqual({ container: 'c', ...want });
  });
});

describe('DeathWatch', () => {
  it('reports each step or sidecar container of its pod once, remembering podman\'s kills', () => {
    const got: ContainerDeath[] = [];
    const w = new DeathWatch('run-abc', new Set(['step-a', 'step-b']), new Set(['step-a', 'step-b']), (d) => got.push(d));
    w.line(ev('kill', 'run-abc-step-b'));
    w.line(ev('died', 'run-abc-step-a', 137));
    w.line(ev('died', 'run-abc-step-a', 137));
    w.line(ev('died', 'run-abc-step-b', 137));
    w.line(ev('died', 'run-abc-pipod-supervisor', 1));
    w.line(ev('died', 'other-run-step-a', 137));
    expect(got.map((d) => [d.container, d.reason, d.exitCode])).toEqual([['step-a', 'OOMKilled', 137], ['step-b', 'Error', 137]]);
  });

  it('takes a death the event stream lost from the container list: non-zero exits only, once, with the kills it saw', () => {
    const got: ContainerDeath[] = [];
    const w = new DeathWatch('run-abc', new Set(['step-a', 'step-b', 'step-c']), new Set(['step-a']), (d) => got.push(d));
    w.line(ev('kill', 'run-abc-step-b'));
    w.exited('step-a', 137);
    w.exited('step-a', 137);
    w.line(ev('died', 'run-abc-step-a', 137));
    w.exited('step-b', 137);
    w.exited('step-c', 0);
    w.exited('pipod-supervisor', 1);
    expect(got.map((d) => [d.container, d.reason, d.exitCode])).toEqual([['step-a', 'OOMKilled', 137], ['step-b', 'Error', 137]]);
  });

  it('writes a fact the supervisor\'s parser reads, by rename (no temp file left)', () => {
    const root = mkdtempSync(join(tmpdir(), 'pipod-deaths-'));
    try {
      const layout = new Layout(root);
      writeDeath(layout, { container: 'step-a', reason: 'OOMKilled', exitCode: 137 });
      expect(parseContainerDeath(readFileSync(layout.deadFile('step-a'), 'utf8'))).toEqual({ container: 'step-a', reason: 'OOMKilled', exitCode: 137 });
      expect(readdirSync(layout.factsDir)).toEqual(['dead-step-a.json']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
