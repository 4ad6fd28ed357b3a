/**
 * The podman runtime's side of the run store and the failure summary, over a
 * fake podman: complete step logs after a follower that missed lines, step
 * messages from the run volume, timestamps on every line, and a sweep that
 * spares kept runs and other users' runs.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, Layout, PLAN_API_VERSION, RUNTIME_VOLUME, SUPERVISOR_CONTAINER, type ExecutionPlan, type RunSummary } from '@pipod/plan';
import { PodmanRuntime, type PodmanCommands } from '../../src/runtime/podman.ts';
import type { KubePod, LogLine } from '../../src/runtime/types.ts';

const T = '2026-12-03T07:00:00.000Z';
const summary: RunSummary = {
  status: 'Failed', reason: 'Failed', durationMs: 5, startedAt: T, finishedAt: T, results: {},
  tasks: { t1: { status: 'Failed', reason: 'Failed', attempts: 1, results: {}, steps: [{ name: 'a', container: 'step-t1-a', status: 'Failed', exitCode: 127 }] } },
};
const plan: ExecutionPlan = {
  apiVersion: PLAN_API_VERSION, kind: 'ExecutionPlan', schemaVersion: 1,
  run: { pipelineRunName: 'r', namespace: 'default', uid: 'u', pipelineName: 'p' },
  timeouts: {}, params: {}, finally: [], results: [], sidecars: [], settings: DEFAULT_SETTINGS,
  tasks: [{ name: 't1', id: 't1', dependsOn: [], when: [], retries: 0, onError: 'stopAndFail', params: {}, results: [], sidecars: [], steps: [
    { name: 'a', container: 'step-t1-a', image: 'busybox', command: [], args: [], env: [], onError: 'stopAndFail', results: [] },
    { name: 'b', container: 'step-t1-b', image: 'busybox', command: [], args: [], env: [], onError: 'stopAndFail', results: [] },
  ] }],
};
const pod: KubePod = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'r-pod' },
  spec: { volumes: [{ name: RUNTIME_VOLUME, emptyDir: {} }], containers: [{ name: SUPERVISOR_CONTAINER, image: 'rt' }, { name: 'step-t1-a', image: 'busybox' }, { name: 'step-t1-b', image: 'busybox' }] },
};

const roots: string[] = [];
afterAll(() => { for (const r of roots) rmSync(r, { recursive: true, force: true }); });
function runRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'pipod-unit-keep-'));
  roots.push(r);
  return r;
}

/** A fake podman: the supervisor prints a finished run (after leaving a done file with a message); step logs as given, followed or read whole. */
function fakePodman(root: string, followed: readonly [string, 'stdout' | 'stderr'][], whole: readonly [string, 'stdout' | 'stderr'][], calls: string[]): PodmanCommands {
  return {
    exec: (args) => {
      calls.push(args.join(' '));
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    },
    follow: (args, onLine) => {
      calls.push(args.slice(0, 4).join(' '));
      const last = String(args.at(-1));
      const done = (async () => {
        await Promise.resolve();
        if (last.endsWith(SUPERVISOR_CONTAINER)) {
          const podName = last.slice(0, -SUPERVISOR_CONTAINER.length - 1);
          const layout = new Layout(join(root, podName, 'volumes', RUNTIME_VOLUME));
          mkdirSync(layout.outboxDir('step-t1-a'), { recursive: true });
          writeFileSync(layout.doneFile('step-t1-a', 1), JSON.stringify({ seq: 1, exitCode: 127, reason: 'StartFailed', message: 'cannot start "nope": not found (checked PATH)', startedAt: T, finishedAt: T }));
          onLine(JSON.stringify({ type: 'run.finished', time: T, summary }), 'stdout');
          return;
        }
        for (const [l, s] of args.includes('-f') ? followed : whole) onLine(l, s);
      })();
      return { done, stop: () => undefined };
    },
  };
}

describe('podman runtime: what the run store needs', () => {
  it('adds the step output the follower missed, with the time each line was written, and the step messages', async () => {
    const root = runRoot();
    const calls: string[] = [];
    const whole: [string, 'stdout' | 'stderr'][] = [];
    const followed: [string, 'stdout' | 'stderr'][] = [];
    const logs: LogLine[] = [];
    let messages: Readonly<Record<string, string>> | undefined;
    const rt = new PodmanRuntime({ runRoot: root, commands: fakePodman(root, followed, whole, calls) });
    const h = rt.start({ pod, plan, logs: true }, { onLog: (l) => logs.push(l), onStepMessages: (m) => { messages = m; } });
    const name = (c: string): string => `${h.podName}-${c}`;
    whole.push([`${name('step-t1-a')} 2026-12-03T07:00:00.100000000Z one`, 'stdout'], [`${name('step-t1-a')} 2026-12-03T07:00:00.200000000Z two`, 'stdout'], [`${name('step-t1-b')} 2026-12-03T07:00:00.300000000Z oops`, 'stderr']);
    followed.push(whole[0] as [string, 'stdout']);
    await h.result;
    expect(logs).toEqual([
      { container: 'step-t1-a', task: 't1', step: 'a', stream: 'stdout', text: 'one', time: '2026-12-03T07:00:00.100000000Z' },
      { container: 'step-t1-a', task: 't1', step: 'a', stream: 'stdout', text: 'two', time: '2026-12-03T07:00:00.200000000Z' },
      { container: 'step-t1-b', task: 't1', step: 'b', stream: 'stderr', text: 'oops', time: '2026-12-03T07:00:00.300000000Z' },
    ]);
    expect(calls).toContain('logs -f -t -n');
    expect(calls).toContain(`logs -t -n ${name('step-t1-a')}`);
    expect(messages).toEqual({ 'step-t1-a': 'cannot start "nope": not found (checked PATH)' });
  });

  it('marks a kept run, and no later sweep removes it; a dead run of this user is removed', async () => {
    const root = runRoot();
    const calls: string[] = [];
    const rt = new PodmanRuntime({ runRoot: root, commands: fakePodman(root, [], [], calls) });
    const kept = rt.start({ pod, plan, logs: false, keep: true }, {});
    await kept.result;
    expect(existsSync(join(root, kept.podName, 'kept'))).toBe(true);
    // Its owner (this process) is alive; pretend it died, as it will when pipod exits.
    const dead = spawnSync('true').pid ?? 0;
    writeFileSync(join(root, kept.podName, 'owner.pid'), String(dead));
    mkdirSync(join(root, 'dead-run-000000'));
    writeFileSync(join(root, 'dead-run-000000', 'owner.pid'), String(dead));
    const notes: string[] = [];
    await rt.start({ pod, plan, logs: false }, { onNote: (m) => notes.push(m) }).result;
    expect(existsSync(join(root, kept.podName))).toBe(true);
    expect(calls).not.toContain(`pod rm -f -t 0 ${kept.podName}`);
    expect(existsSync(join(root, 'dead-run-000000'))).toBe(false);
    expect(notes).toContain(`removing dead-run-000000, left behind by pipod process ${dead}`);
  });

  it.runIf(process.getuid?.() === 0)('never sweeps another user\'s run', async () => {
    const root = runRoot();
    const calls: string[] = [];
    const dead = spawnSync('true').pid ?? 0;
    mkdirSync(join(root, 'theirs-000000'));
    writeFileSync(join(root, 'theirs-000000', 'owner.pid'), String(dead));
    chownSync(join(root, 'theirs-000000', 'owner.pid'), 12345, 12345);
    await new PodmanRuntime({ runRoot: root, commands: fakePodman(root, [], [], calls) }).start({ pod, plan, logs: false }, {}).result;
    expect(existsSync(join(root, 'theirs-000000'))).toBe(true);
    expect(calls).not.toContain('pod rm -f -t 0 theirs-000000');
  });
});
