/**
 * Faults on real podman: a step container OOM-killed at its start, a step
 * container killed from outside, the supervisor killed, a cancel forced
 * through. Each run must end in the right status with every task's outcome
 * told truthfully. Times are measured and printed (never asserted: the
 * machine is shared); the report quotes them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, ROOT, containersNamed, ensureImages, pipodRunJson, podsNamed, type PipodRunJson } from './helpers.ts';
import { CLUSTER_BUSYBOX_IMAGE, CLUSTER_CONTAINERD_SOCK, CLUSTER_KUBECONFIG, clusterUnavailable, kubectl } from './cluster/cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'pipod-faults-'));

interface Outcome extends PipodRunJson {
  /** Milliseconds from the spawn of `pipod run` to the first time each watched text appeared on stderr. */
  readonly seen: Readonly<Record<string, number>>;
  readonly totalMs: number;
}

/** Runs `pipod run -o json` on a pipeline text; `onStderr` sees progress as it comes. */
async function pipod(name: string, yaml: string, watch: readonly string[], onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void, extra: readonly string[] = []): Promise<Outcome> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const t0 = Date.now();
  const seen: Record<string, number> = {};
  const r = await pipodRunJson(['-f', file, ...extra], (stderr, kill) => {
    for (const w of watch) if (seen[w] === undefined && stderr.includes(w)) seen[w] = Date.now() - t0;
    onStderr?.(stderr, kill);
  });
  return { ...r, seen, totalMs: Date.now() - t0 };
}

const secs = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(2)} s`);

/** The run's pod, from the CLI's note. */
function podOf(stderr: string): string | undefined {
  return /pod (\S+) started/.exec(stderr)?.[1];
}

/** The podman name of a container of the pod whose name ends with `-<suffix>`. */
function containerOf(pod: string, suffix: string): string | undefined {
  const r = spawnSync('podman', ['ps', '--filter', `pod=${pod}`, '--format', '{{.Names}}'], { encoding: 'utf8' });
  return r.stdout.split('\n').find((n) => n.endsWith(`-${suffix}`));
}

function expectNothingLeft(prefix: string): void {
  expect(podsNamed(prefix)).toEqual([]);
  expect(containersNamed(prefix)).toEqual([]);
}

const TWO_TASKS = (name: string): string => `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: ${name}}
spec:
  results:
    - {name: word, value: $(tasks.quick.results.word)}
  tasks:
    - name: quick
      taskSpec:
        results: [{name: word}]
        steps:
          - {name: say, image: ${BUSYBOX_IMAGE}, script: 'printf hi > $(results.word.path)'}
    - name: long
      taskSpec:
        steps:
          - {name: nap, image: ${BUSYBOX_IMAGE}, script: 'sleep 60'}
  finally:
    - name: tidy
      taskSpec:
        steps:
          - {name: say, image: ${BUSYBOX_IMAGE}, script: 'echo tidy'}
`;

/** A step whose 6Mi memory limit gets it OOM-killed at its start, and a finally task that reads its status. */
const OOM_PIPELINE = (name: string, image: string): string => `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: ${name}}
spec:
  tasks:
    - name: hog
      taskSpec:
        steps:
          - name: eat
            image: ${image}
            computeResources: {limits: {memory: 6Mi}}
            script: echo never
  finally:
    - name: tidy
      taskSpec:
        results: [{name: saw}]
        steps:
          - {name: say, image: ${image}, script: 'printf "$(tasks.hog.status)" > $(results.saw.path)'}
`;

/** One step that sleeps long enough to be killed from outside. */
const SLEEPER_PIPELINE = (name: string, image: string): string => `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: ${name}}
spec:
  tasks:
    - name: sleeper
      taskSpec:
        steps:
          - {name: nap, image: ${image}, script: 'sleep 60'}
`;

beforeAll(() => ensureImages());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('faults on podman', () => {
  it('a step whose container is OOM-killed at its start fails with OOMKilled; finally runs', async () => {
    const yaml = OOM_PIPELINE('e2e-oom', BUSYBOX_IMAGE);
    const r = await pipod('oom', yaml, ['hog: started', 'hog: Failed']);
    console.log(`OOM: pipod run took ${secs(r.totalMs)}; hog started at ${secs(r.seen['hog: started'])}, reported Failed at ${secs(r.seen['hog: Failed'])} (${secs((r.seen['hog: Failed'] ?? 0) - (r.seen['hog: started'] ?? 0))} after its start)`);
    expect(r.code).toBe(1);
    expect(r.summary.status).toBe('Failed');
    expect(r.summary.tasks.hog).toMatchObject({ status: 'Failed', reason: 'OOMKilled' });
    expect(r.summary.tasks.hog?.steps).toEqual([expect.objectContaining({ name: 'eat', status: 'Failed', exitCode: 137, reason: 'OOMKilled' })]);
    expect(r.summary.tasks.tidy).toMatchObject({ status: 'Succeeded', results: { saw: 'Failed' } });
    expectNothingLeft('e2e-oom');
  });

  it('a step container killed with podman kill is noticed: its task fails with exit code 137', async () => {
    let killedAt: number | undefined;
    let t0 = 0;
    let started = false;
    const yaml = SLEEPER_PIPELINE('e2e-killed', BUSYBOX_IMAGE);
    t0 = Date.now();
    const r = await pipod('killed', yaml, ['sleeper: Failed'], (err) => {
      if (started || !err.includes('sleeper: started')) return;
      started = true;
      const pod = podOf(err);
      // Let the step run for a moment, then kill its container from outside.
      setTimeout(() => {
        const c = pod !== undefined ? containerOf(pod, 'sleeper-nap') : undefined;
        if (c === undefined) return;
        killedAt = Date.now() - t0;
        spawnSync('podman', ['kill', c]);
      }, 1000);
    });
    const noticed = r.seen['sleeper: Failed'];
    console.log(`podman kill: killed at ${secs(killedAt)}, reported Failed at ${secs(noticed)}: noticed ${secs(noticed !== undefined && killedAt !== undefined ? noticed - killedAt : undefined)} after the kill; run took ${secs(r.totalMs)}`);
    expect(killedAt).toBeDefined();
    expect(r.summary.status).toBe('Failed');
    expect(r.summary.tasks.sleeper).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
    expect(r.summary.tasks.sleeper?.steps).toEqual([expect.objectContaining({ name: 'nap', status: 'Failed', exitCode: 137, reason: 'ContainerDied' })]);
    expectNothingLeft('e2e-killed');
  });

  it('the supervisor killed: finished tasks keep status and results, the running one fails, finally is not run', async () => {
    let killed = false;
    const r = await pipod('orphaned', TWO_TASKS('e2e-orphaned'), [], (err) => {
      if (killed || !err.includes('quick: Succeeded') || !err.includes('long: started')) return;
      const pod = podOf(err);
      const sup = pod !== undefined ? containerOf(pod, 'pipod-supervisor') : undefined;
      if (sup === undefined) return;
      killed = true;
      spawnSync('podman', ['kill', sup]);
    });
    console.log(`supervisor killed: run took ${secs(r.totalMs)}; summary ${JSON.stringify(Object.fromEntries(Object.entries(r.summary.tasks).map(([k, t]) => [k, [t.status, t.reason, t.attempts]])))}`);
    expect(killed).toBe(true);
    expect(r.summary.status).toBe('Failed');
    expect(r.summary.tasks.quick).toMatchObject({ status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: { word: 'hi' } });
    expect(r.summary.tasks.long).toMatchObject({ status: 'Failed', attempts: 1 });
    expect(r.summary.tasks.tidy).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip', attempts: 0, finally: true });
    expectNothingLeft('e2e-orphaned');
  });

  it('a cancel forced through (Ctrl-C three times): finished tasks keep their status and results', async () => {
    // The finally task ignores SIGTERM, so the immediate cancel cannot end it before the force kill.
    const yaml = TWO_TASKS('e2e-forced').replace("script: 'echo tidy'", `script: 'trap "" TERM; sleep 60 & wait'`);
    let sent = 0;
    const r = await pipod('forced', yaml, [], (err, kill) => {
      if (sent === 0 && err.includes('quick: Succeeded') && err.includes('long: started')) {
        sent = 1;
        kill('SIGINT');
      } else if (sent === 1 && err.includes('tidy: started')) {
        sent = 2;
        kill('SIGINT');
        // Signals of one kind sent at once merge into one: give the CLI time to take the second.
        setTimeout(() => { sent = 3; kill('SIGINT'); }, 700);
      }
    });
    console.log(`forced cancel: run took ${secs(r.totalMs)}; summary ${r.summary.reason}: ${JSON.stringify(Object.fromEntries(Object.entries(r.summary.tasks).map(([k, t]) => [k, [t.status, t.reason, t.attempts]])))}`);
    expect(sent).toBe(3);
    expect(r.summary).toMatchObject({ status: 'Cancelled', reason: 'the pod was removed by force' });
    expect(r.summary.tasks.quick).toMatchObject({ status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: { word: 'hi' } });
    expect(r.summary.tasks.long).toMatchObject({ status: 'Cancelled', reason: 'TaskRunCancelled', attempts: 1 });
    expect(r.summary.tasks.tidy).toMatchObject({ status: 'Cancelled', attempts: 1, finally: true });
    expectNothingLeft('e2e-forced');
  });
});

// The same deaths on the test cluster, seen through the kubelet's container statuses (pipod run --runtime kubernetes).
const noCluster = clusterUnavailable();
describe.skipIf(noCluster !== undefined)(`faults on the test cluster${noCluster !== undefined ? ` (skipped: ${noCluster})` : ''}`, () => {
  const onCluster = ['--runtime', 'kubernetes', '--kubeconfig', CLUSTER_KUBECONFIG, '-n', 'default'];
  beforeAll(() => {
    execFileSync('bash', [join(ROOT, 'e2e/cluster/import-images')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }, 300_000);

  it('a step OOM-killed by the kernel fails with OOMKilled; finally runs', async () => {
    const yaml = OOM_PIPELINE('e2e-kube-oom', CLUSTER_BUSYBOX_IMAGE);
    const r = await pipod('kube-oom', yaml, ['hog: started', 'hog: Failed'], undefined, onCluster);
    console.log(`cluster OOM: pipod run took ${secs(r.totalMs)}; hog reported Failed ${secs((r.seen['hog: Failed'] ?? 0) - (r.seen['hog: started'] ?? 0))} after its start`);
    expect(r.code).toBe(1);
    expect(r.summary.tasks.hog).toMatchObject({ status: 'Failed', reason: 'OOMKilled' });
    expect(r.summary.tasks.hog?.steps).toEqual([expect.objectContaining({ name: 'eat', status: 'Failed', exitCode: 137, reason: 'OOMKilled' })]);
    expect(r.summary.tasks.tidy).toMatchObject({ status: 'Succeeded', results: { saw: 'Failed' } });
  });

  it('a step container killed on the node (containerd) is noticed: its task fails with exit code 137', async () => {
    const yaml = SLEEPER_PIPELINE('e2e-kube-killed', CLUSTER_BUSYBOX_IMAGE);
    let killedAt: number | undefined;
    let started = false;
    const t0 = Date.now();
    const r = await pipod('kube-killed', yaml, ['sleeper: Failed'], (err) => {
      if (started || !err.includes('sleeper: started')) return;
      started = true;
      const ref = podOf(err);
      setTimeout(() => {
        const [ns, pod] = (ref ?? '').split('/');
        const id = kubectl(['get', 'pod', '-n', ns ?? '', pod ?? '', '-o', 'jsonpath={.status.containerStatuses[?(@.name=="sleeper-nap")].containerID}']).stdout.replace('containerd://', '').trim();
        if (id === '') return;
        killedAt = Date.now() - t0;
        spawnSync('ctr', ['--address', CLUSTER_CONTAINERD_SOCK, '-n', 'k8s.io', 'task', 'kill', '-s', 'SIGKILL', id]);
      }, 1000);
    }, onCluster);
    const noticed = r.seen['sleeper: Failed'];
    console.log(`cluster kill: killed at ${secs(killedAt)}, reported Failed at ${secs(noticed)}: noticed ${secs(noticed !== undefined && killedAt !== undefined ? noticed - killedAt : undefined)} after the kill; run took ${secs(r.totalMs)}`);
    expect(killedAt).toBeDefined();
    expect(r.summary.tasks.sleeper).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
    expect(r.summary.tasks.sleeper?.steps).toEqual([expect.objectContaining({ name: 'nap', status: 'Failed', exitCode: 137, reason: 'ContainerDied' })]);
  });
});
