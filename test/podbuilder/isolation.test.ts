// Least privilege inside the pod: what each container of every golden case
// mounts of the run volume. A step or sidecar sees the runtime and the
// supervisor's broadcast read-only, its own inbox read-only, its own outbox
// writable, its own task's directories, and the outbox of the step before it
// in its task (read-only); never another task's files, another container's
// inbox, or the plan. Only init and the supervisor mount the whole volume.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INIT_CONTAINER, RUNTIME_VOLUME, SUPERVISOR_CONTAINER, TEKTON_RESULTS_DIR, podLayout, type ExecutionPlan } from '@pipod/plan';
import { build, validate } from '@pipod/podbuilder';
import { fixturesDir, loadCase } from './fixtures.ts';

interface Mount { readonly name: string; readonly mountPath: string; readonly subPath?: string; readonly readOnly?: boolean }
interface Container { readonly name: string; readonly volumeMounts?: readonly Mount[] }
interface PodSpec { readonly containers: readonly Container[]; readonly initContainers: readonly Container[]; readonly shareProcessNamespace?: boolean }

const cases = readdirSync(fixturesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** Each wrapped container's task id ('' for a pipeline sidecar) and, for a step, the step container before it. */
function owners(plan: ExecutionPlan): Map<string, { task: string; previous?: string }> {
  const out = new Map<string, { task: string; previous?: string }>();
  for (const t of [...plan.tasks, ...plan.finally]) {
    t.steps.forEach((s, i) => out.set(s.container, { task: t.id, ...(i > 0 ? { previous: t.steps[i - 1]?.container } : {}) }));
    for (const s of t.sidecars) out.set(s.container, { task: t.id });
  }
  for (const s of plan.sidecars) out.set(s.container, { task: '' });
  return out;
}

/** Every way a subPath of the run volume is allowed for a container, with its mode; anything else is a leak. */
function allowed(container: string, task: string, previous: string | undefined, isStep: boolean): Map<string, 'ro' | 'rw'> {
  const l = podLayout;
  const sub = (p: string): string => l.subPathOf(p);
  const m = new Map<string, 'ro' | 'rw'>([
    [sub(l.binDir), 'ro'], [sub(l.broadcastDir), 'ro'], [sub(l.inboxDir(container)), 'ro'], [sub(l.outboxDir(container)), 'rw'],
  ]);
  if (isStep) {
    if (previous !== undefined) m.set(sub(l.outboxDir(previous)), 'ro');
    m.set(sub(l.stepsDir(task)), 'rw');
    m.set(sub(l.taskResultsDir(task)), 'rw');
    m.set(sub(l.taskWorkspaceDir(task)), 'rw');
  }
  return m;
}

describe('run volume mounts', () => {
  for (const name of cases) {
    it(`${name}: no wrapped container mounts another task's or container's files`, () => {
      const { sources, options } = loadCase(name);
      const r = build(sources, options);
      if (r.kind !== 'ok') throw new Error(`${name} is invalid`);
      const spec = r.pod['spec'] as unknown as PodSpec;
      expect(spec.shareProcessNamespace).toBeUndefined();
      const own = owners(r.plan);
      const taskIds = [...r.plan.tasks, ...r.plan.finally].map((t) => t.id);
      for (const c of [...spec.initContainers, ...spec.containers]) {
        const mounts = (c.volumeMounts ?? []).filter((m) => m.name === RUNTIME_VOLUME);
        if (c.name === INIT_CONTAINER || c.name === SUPERVISOR_CONTAINER) {
          expect(mounts, c.name).toEqual([{ name: RUNTIME_VOLUME, mountPath: podLayout.root }]);
          continue;
        }
        const o = own.get(c.name);
        expect(o, `${c.name} is in the plan`).toBeDefined();
        const isStep = r.plan.tasks.concat(r.plan.finally).some((t) => t.steps.some((s) => s.container === c.name));
        const ok = allowed(c.name, o?.task ?? '', o?.previous, isStep);
        for (const m of mounts) {
          const where = `${name}: ${c.name} mounts ${m.mountPath}`;
          expect(m.subPath, `${where} (the whole volume)`).toBeDefined();
          const mode = ok.get(m.subPath ?? '');
          expect(mode, `${where} from ${m.subPath}`).toBeDefined();
          expect(m.readOnly === true ? 'ro' : 'rw', where).toBe(mode === 'ro' ? 'ro' : 'rw');
          // A mount is where the supervisor sees the same directory, except Tekton's own paths.
          if (m.mountPath !== TEKTON_RESULTS_DIR && m.mountPath !== '/workspace') expect(m.mountPath, where).toBe(`${podLayout.root}/${m.subPath ?? ''}`);
          for (const id of taskIds) {
            if (id !== o?.task) expect(m.subPath?.startsWith(podLayout.subPathOf(podLayout.taskDir(id)) + '/'), `${where}: task ${id}'s files`).toBe(false);
          }
        }
        // Writable: the own outbox and, for a step, the own task's directories; nothing else.
        const writable = mounts.filter((m) => m.readOnly !== true).map((m) => m.subPath);
        expect(writable).toContain(podLayout.subPathOf(podLayout.outboxDir(c.name)));
        for (const w of writable) {
          expect(w === podLayout.subPathOf(podLayout.outboxDir(c.name)) || (isStep && w?.startsWith(podLayout.subPathOf(podLayout.taskDir(o?.task ?? '')) + '/')), `${c.name} writes ${w}`).toBe(true);
        }
      }
    });
  }

  it('gives a step exactly its own part of the volume, the step before it read-only', () => {
    const r = build([{ name: 'p.yaml', text: `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  tasks:
    - name: a
      taskSpec:
        steps:
          - {name: one, image: busybox, script: 'true'}
          - {name: two, image: busybox, script: 'true'}
` }]);
    if (r.kind !== 'ok') throw new Error('invalid');
    const two = (r.pod['spec'] as unknown as PodSpec).containers.find((c) => c.name === 'a-two');
    expect(two?.volumeMounts).toEqual([
      { name: 'pipod', mountPath: '/pipod/bin', subPath: 'bin', readOnly: true },
      { name: 'pipod', mountPath: '/pipod/run/broadcast', subPath: 'run/broadcast', readOnly: true },
      { name: 'pipod', mountPath: '/pipod/run/containers/a-two/in', subPath: 'run/containers/a-two/in', readOnly: true },
      { name: 'pipod', mountPath: '/pipod/run/containers/a-two/out', subPath: 'run/containers/a-two/out' },
      { name: 'pipod', mountPath: '/pipod/run/containers/a-one/out', subPath: 'run/containers/a-one/out', readOnly: true },
      { name: 'pipod', mountPath: '/pipod/run/tasks/a/steps', subPath: 'run/tasks/a/steps' },
      { name: 'pipod', mountPath: '/tekton/results', subPath: 'run/tasks/a/results' },
      { name: 'pipod', mountPath: '/workspace', subPath: 'run/tasks/a/workspace' },
    ]);
  });

  it('refuses shareProcessNamespace in a pod template: every task would see every other one', () => {
    const errors = validate([{ name: 'r.yaml', text: `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  pipelineSpec:
    tasks: [{name: a, taskSpec: {steps: [{name: s, image: busybox, script: 'true'}]}}]
  taskRunTemplate:
    podTemplate: {shareProcessNamespace: true}
` }]);
    expect(errors.map((e) => ({ path: e.path, message: e.message }))).toEqual([
      { path: 'spec.taskRunTemplate.podTemplate.shareProcessNamespace', message: 'not allowed: in the one pod every task would see the processes, environment and files of every other (/proc/<pid>/root)' },
    ]);
  });
});
