/**
 * The podman runtime against hand-made pods whose supervisor is a small
 * stand-in that speaks the event protocol: unique names, per-run volumes,
 * the subPath workaround, log streaming, cancellation, start failures and
 * cleanup — independent of the real builder and supervisor.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, PLAN_API_VERSION, PipodError, type ExecutionPlan, type RunEvent } from '@pipod/plan';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { PodmanRuntime, staleRuntimeImageWarning, type KubePod, type LogLine } from '../packages/cli/src/runtime/index.ts';
import { BUSYBOX_IMAGE, ROOT, RUNTIME_IMAGE, containersNamed, ensureImages, nodeViaLoader, podman, podsNamed } from './helpers.ts';

const runRoot = mkdtempSync(join(tmpdir(), 'pipod-e2e-runs-'));
const runtime = new PodmanRuntime({ runRoot, forceAfterMs: 10_000 });

// Stand-in supervisor: reports the step's result, or a cancellation, as the real one would.
const SUPERVISOR = `const fs = require('fs');
const emit = (e) => console.log(JSON.stringify({ time: new Date().toISOString(), ...e }));
const started = new Date();
emit({ type: 'run.started', pipeline: 'fake', tasks: ['t1'], finally: [] });
emit({ type: 'task.started', task: 't1', attempt: 0 });
console.error('supervisor diagnostics');
const res = '/pipod/run/tasks/t1/results/out';
const tick = setInterval(() => {
  if (fs.existsSync('/pipod/run/cancel')) finish('Cancelled', 'cancel:' + fs.readFileSync('/pipod/run/cancel', 'utf8'));
  else if (process.env.WAIT !== '1' && fs.existsSync(res)) finish('Succeeded', fs.readFileSync(res, 'utf8'));
}, 50);
function finish(status, value) {
  clearInterval(tick);
  const now = new Date();
  const results = { out: value };
  emit({ type: 'task.finished', task: 't1', status, reason: status, attempts: 1, durationMs: now - started, results });
  const summary = { status, reason: status, durationMs: now - started, startedAt: started.toISOString(), finishedAt: now.toISOString(), tasks: { t1: { status, reason: status, attempts: 1, results, steps: [] } }, results };
  emit({ type: 'run.finished', summary });
  process.exit(status === 'Succeeded' ? 0 : 1);
}`;

function plan(): ExecutionPlan {
  return {
    apiVersion: PLAN_API_VERSION, kind: 'ExecutionPlan', schemaVersion: 1,
    run: { pipelineRunName: 'fake-run', namespace: 'default', uid: 'u', pipelineName: 'fake' },
    timeouts: {}, params: {}, finally: [], results: [], sidecars: [], settings: DEFAULT_SETTINGS,
    tasks: [{ name: 't1', id: 't1', dependsOn: [], when: [], retries: 0, onError: 'stopAndFail', params: {}, results: [], sidecars: [], steps: [{ name: 'a', container: 'step-t1-a', image: BUSYBOX_IMAGE, command: [], args: [], env: [], onError: 'stopAndFail', results: [] }] }],
  };
}

function pod(opts: { id: string; wait?: boolean; stepImage?: string }): KubePod {
  const stepScript = `const fs = require('fs'); fs.writeFileSync('/ws/' + process.env.RUN_ID, 'x'); console.log('hello from ' + process.env.RUN_ID); fs.writeFileSync('/tekton/results/out', fs.readdirSync('/ws').sort().join(','));`;
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'fake-run' },
    spec: {
      restartPolicy: 'Never',
      volumes: [{ name: 'pipod', emptyDir: {} }, { name: 'ws', emptyDir: {} }],
      initContainers: [{ name: 'pipod-init', image: RUNTIME_IMAGE, command: ['node', '-e', "require('fs').cpSync('/pipod-runtime', '/pipod/bin', { recursive: true })"], volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }] }],
      containers: [
        { name: 'pipod-supervisor', image: RUNTIME_IMAGE, command: ['node', '-e', SUPERVISOR], env: [{ name: 'WAIT', value: opts.wait ? '1' : '0' }], volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }] },
        {
          name: 'step-t1-a', image: opts.stepImage ?? BUSYBOX_IMAGE, command: [...nodeViaLoader(), '-e', stepScript], env: [{ name: 'RUN_ID', value: opts.id }],
          volumeMounts: [{ name: 'pipod', mountPath: '/pipod' }, { name: 'pipod', mountPath: '/tekton/results', subPath: 'run/tasks/t1/results' }, { name: 'ws', mountPath: '/ws' }],
        },
      ],
    },
  };
}

beforeAll(() => ensureImages());
afterAll(() => rmSync(runRoot, { recursive: true, force: true }));

describe('PodmanRuntime', () => {
  it('runs a pod, streams events and step logs, returns the summary and removes everything', async () => {
    const events: RunEvent[] = [];
    const logs: LogLine[] = [];
    const h = runtime.start({ pod: pod({ id: 'solo' }), plan: plan(), logs: true }, { onEvent: (e) => events.push(e), onLog: (l) => logs.push(l) });
    expect(h.podName).toMatch(/^fake-run-[0-9a-f]{6}$/);
    const s = await h.result;
    expect(s.status).toBe('Succeeded');
    // The step wrote /tekton/results/out: the subPath mount reached run/tasks/t1/results.
    expect(s.tasks.t1?.results).toEqual({ out: 'solo' });
    expect(events.map((e) => e.type)).toEqual(['run.started', 'task.started', 'task.finished', 'run.finished']);
    expect(logs).toContainEqual(expect.objectContaining({ container: 'step-t1-a', task: 't1', step: 'a', stream: 'stdout', text: 'hello from solo' }));
    expect(podsNamed(h.podName)).toEqual([]);
    expect(containersNamed(h.podName)).toEqual([]);
    expect(existsSync(join(runRoot, h.podName))).toBe(false);
  });

  it('isolates two runs of the same pod at once', async () => {
    const a = runtime.start({ pod: pod({ id: 'one' }), plan: plan(), logs: false }, {});
    const b = runtime.start({ pod: pod({ id: 'two' }), plan: plan(), logs: false }, {});
    expect(a.podName).not.toBe(b.podName);
    const [sa, sb] = await Promise.all([a.result, b.result]);
    expect(sa.tasks.t1?.results).toEqual({ out: 'one' });
    expect(sb.tasks.t1?.results).toEqual({ out: 'two' });
    expect(readdirSync(runRoot)).toEqual([]);
  });

  it('cancels through the cancel file on the run volume', async () => {
    const events: RunEvent[] = [];
    let h: ReturnType<typeof runtime.start> | undefined;
    const cancelled = new Promise<void>((resolve) => {
      h = runtime.start({ pod: pod({ id: 'c', wait: true }), plan: plan(), logs: false }, {
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'task.started') void h?.cancel('graceful').then(resolve);
        },
      });
    });
    // A run that fails to start never sends task.started: do not wait for it then.
    await Promise.race([cancelled, h!.result]);
    const s = await h!.result;
    expect(s.status).toBe('Cancelled');
    expect(s.tasks.t1?.results).toEqual({ out: 'cancel:graceful' });
    expect(podsNamed(h!.podName)).toEqual([]);
  });

  it('fails clearly when an image is missing, leaving nothing behind', async () => {
    const h = runtime.start({ pod: pod({ id: 'm', stepImage: 'localhost/pipod-test/does-not-exist:1' }), plan: plan(), logs: false }, {});
    const err = await h.result.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PipodError);
    expect((err as PipodError).code).toBe('IMAGE');
    expect((err as PipodError).message).toContain('localhost/pipod-test/does-not-exist:1');
    expect(podsNamed(h.podName)).toEqual([]);
    expect(existsSync(join(runRoot, h.podName))).toBe(false);
  });

  it('reports a failing init container with its output', async () => {
    const p = pod({ id: 'i' });
    const bad: KubePod = { ...p, spec: { ...p.spec, initContainers: [{ name: 'pipod-init', image: RUNTIME_IMAGE, command: ['node', '-e', "console.log('no plan here'); process.exit(4)"] }] } };
    const h = runtime.start({ pod: bad, plan: plan(), logs: false }, {});
    const err = await h.result.then(() => undefined, (e: unknown) => e);
    expect((err as PipodError).code).toBe('START');
    expect((err as PipodError).message).toContain('exited with code 4');
    expect((err as PipodError).message).toContain('no plan here');
    expect(podsNamed(h.podName)).toEqual([]);
    expect(containersNamed(h.podName)).toEqual([]);
  });

  it('notices a runtime image built from another entrypoint bundle', () => {
    expect(staleRuntimeImageWarning(RUNTIME_IMAGE, join(ROOT, 'packages/entrypoint/dist/entrypoint.js'))).toBeUndefined();
    const other = join(runRoot, 'other-entrypoint.js');
    writeFileSync(other, '// another bundle\n');
    expect(staleRuntimeImageWarning(RUNTIME_IMAGE, other)).toContain('carries another entrypoint bundle');
    expect(staleRuntimeImageWarning(BUSYBOX_IMAGE, other)).toBeUndefined();
  });

  it('removes the pod and files of a run whose pipod process died', async () => {
    const orphan = 'fake-run-0rphan';
    const dir = join(runRoot, orphan);
    mkdirSync(dir, { recursive: true });
    const dead = spawnSync('true').pid!;
    writeFileSync(join(dir, 'owner.pid'), String(dead));
    const podFile = join(dir, 'pod.yaml');
    writeFileSync(podFile, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: orphan }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sleep', '300'] }] } }));
    expect(podman('kube', 'play', podFile).code).toBe(0);
    const notes: string[] = [];
    const s = await runtime.start({ pod: pod({ id: 'after-orphan' }), plan: plan(), logs: false }, { onNote: (m) => notes.push(m) }).result;
    expect(s.status).toBe('Succeeded');
    expect(notes.some((n) => n.includes(`removing ${orphan}`))).toBe(true);
    expect(podsNamed(orphan)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
