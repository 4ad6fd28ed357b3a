/**
 * Both `pipod run` runtimes over fakes of their engines (a fake podman, a
 * fake cluster): they read the same supervisor stream alike, and with the
 * controller, and share one run skeleton and one cancel escalation.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_SETTINGS, Layout, PLAN_API_VERSION, SUPERVISOR_CONTAINER, parseEvent, type ExecutionPlan, type RunEvent, type RunSummary } from '@pipod/plan';
import { KubeApiError, foldEvents, parseEventLine as controllerParse } from '@pipod/controller';
import { parseEventLine as cliParse } from '../../src/runtime/events.ts';
import { KubernetesRuntime, type KubeCalls } from '../../src/runtime/kubernetes.ts';
import { PodmanRuntime, type PodmanCommands, type PodmanResult } from '../../src/runtime/podman.ts';
import type { KubePod, LogLine, RunHandle, RunObserver, RunPhase, RunRequest } from '../../src/runtime/types.ts';

const T = '2026-12-03T07:00:00.000Z';
const summary: RunSummary = {
  status: 'Succeeded', reason: 'Succeeded', durationMs: 5, startedAt: T, finishedAt: T, results: {},
  tasks: { t1: { status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: { out: 'x' }, steps: [] } },
};
const ev = (e: Record<string, unknown>): string => JSON.stringify({ time: T, ...e });

/** A supervisor stream with everything a reader must tell apart. */
const LINES: readonly string[] = [
  ev({ type: 'run.started', pipeline: 'p', tasks: ['t1'], finally: [] }),
  'supervisor: warming up',
  JSON.stringify({ type: 'task.started', task: 't1', attempt: 0 }),
  `  ${ev({ type: 'task.started', task: 't1', attempt: 0 })}  `,
  '{"type":"step.started","time":"2026-12-03T07:00:00.000Z","task":"t1","st',
  ev({ type: 'task.started', task: 't1' }),
  ev({ type: 'something.else' }),
  '[1,2]',
  '{broken',
  '',
  ev({ type: 'task.finished', task: 't1', status: 'Succeeded', reason: 'Succeeded', attempts: 1, durationMs: 5, results: { out: 'x' } }),
  ev({ type: 'run.finished', summary }),
];

const plan: ExecutionPlan = {
  apiVersion: PLAN_API_VERSION, kind: 'ExecutionPlan', schemaVersion: 1,
  run: { pipelineRunName: 'r', namespace: 'default', uid: 'u', pipelineName: 'p' },
  timeouts: {}, params: {}, finally: [], results: [], sidecars: [], settings: DEFAULT_SETTINGS,
  tasks: [{ name: 't1', id: 't1', dependsOn: [], when: [], retries: 0, onError: 'stopAndFail', params: {}, results: [], sidecars: [], steps: [{ name: 'a', container: 'step-t1-a', image: 'busybox', command: [], args: [], env: [], onError: 'stopAndFail', results: [] }] }],
};
const pod: KubePod = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'r-pod' },
  spec: { volumes: [{ name: 'pipod', emptyDir: {} }], containers: [{ name: SUPERVISOR_CONTAINER, image: 'rt' }, { name: 'step-t1-a', image: 'busybox' }] },
};

/** What the fake engine's supervisor does: print these lines, then end, or hold until the pod is killed. */
interface Script {
  readonly lines: readonly string[];
  readonly hold?: boolean;
  /** Kubernetes only: the first connection drops after this many lines. */
  readonly dropAfter?: number;
  /** Kubernetes only: objects of these names already exist (creating one is a 409). */
  readonly existing?: readonly string[];
}

/** One fake engine: a runtime over it, and what it was asked to do. */
interface Engine {
  readonly name: string;
  readonly calls: string[];
  start(req: RunRequest, obs: RunObserver): RunHandle;
}

const runRoot = mkdtempSync(join(tmpdir(), 'pipod-unit-runs-'));
afterAll(() => rmSync(runRoot, { recursive: true, force: true }));

function held(): { promise: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const promise = new Promise<void>((r) => { release = r; });
  return { promise, release };
}

function podmanEngine(script: Script): Engine {
  const calls: string[] = [];
  const killed = held();
  const ok = (stdout = ''): Promise<PodmanResult> => Promise.resolve({ code: 0, stdout, stderr: '' });
  const commands: PodmanCommands = {
    exec: (args) => {
      calls.push(args.slice(0, 2).join(' '));
      if (args[0] === 'pod' && args[1] === 'rm') killed.release();
      return ok(args[0] === 'wait' ? '1\n' : '');
    },
    follow: (args, onLine) => {
      const supervisor = String(args.at(-1)).endsWith(SUPERVISOR_CONTAINER);
      const done = (async () => {
        if (!supervisor) return;
        await Promise.resolve();
        for (const l of script.lines) onLine(l, 'stdout');
        if (script.hold === true) await killed.promise;
      })();
      return { done, stop: () => killed.release() };
    },
  };
  return { name: 'podman', calls, start: (req, obs) => new PodmanRuntime({ runRoot, commands }).start(req, obs) };
}

function kubeEngine(script: Script): Engine {
  const calls: string[] = [];
  const killed = held();
  let connections = 0;
  let ended = false;
  const state = (): V1Pod => ({ status: { phase: 'Running', containerStatuses: [{ name: SUPERVISOR_CONTAINER, state: ended ? { terminated: { exitCode: 1 } } : { running: {} } }] } }) as unknown as V1Pod;
  const kube: KubeCalls = {
    currentNamespace: () => 'ns',
    createPod: (_ns, body) => { calls.push('createPod'); return Promise.resolve(body); },
    createCoreObject: (ns, body) => {
      if (script.existing?.includes(body.metadata.name)) return Promise.reject(new KubeApiError(409, 'create', 'exists'));
      calls.push(`create ${body.kind} ${ns}/${body.metadata.name} ${body.metadata.labels?.['pipod.dev/run'] !== undefined ? 'labelled' : 'unlabelled'}`);
      return Promise.resolve();
    },
    deleteCoreObject: (ns, kind, name) => { calls.push(`delete ${kind} ${ns}/${name}`); return Promise.resolve(); },
    getPod: () => Promise.resolve(state()),
    deletePod: (_ns, _name, grace) => { calls.push(`deletePod ${grace}`); killed.release(); return Promise.resolve(); },
    exec: (_ns, _pod, _c, command) => { calls.push(`exec ${command.at(-1)?.includes('"immediate"') ? 'immediate' : command.at(-1)?.includes('"graceful"') ? 'graceful' : 'stop'}`); return Promise.resolve({ status: 'Success', stderr: '' }); },
    followLog: (_ns, _pod, container, onLine) => {
      const done = (async () => {
        if (container !== SUPERVISOR_CONTAINER) return;
        const first = connections++ === 0;
        await Promise.resolve();
        const upTo = first && script.dropAfter !== undefined ? script.dropAfter : script.lines.length;
        for (const l of script.lines.slice(0, upTo)) onLine(l);
        if (upTo < script.lines.length) return;
        if (script.hold === true) await killed.promise;
        ended = true;
      })();
      return { done, abort: () => killed.release() };
    },
  };
  return { name: 'kubernetes', calls, start: (req, obs) => new KubernetesRuntime({ kube }).start(req, obs) };
}

interface Seen {
  readonly events: RunEvent[];
  readonly logs: LogLine[];
  readonly notes: string[];
  readonly phases: RunPhase[];
}

function observe(): { seen: Seen; obs: RunObserver } {
  const seen: Seen = { events: [], logs: [], notes: [], phases: [] };
  return {
    seen,
    obs: { onEvent: (e) => seen.events.push(e), onLog: (l) => seen.logs.push(l), onNote: (m) => seen.notes.push(m), onPhase: (p) => seen.phases.push(p) },
  };
}

const engines = [['podman', podmanEngine], ['kubernetes', kubeEngine]] as const;

describe('one event parser for every reader of the supervisor stream', () => {
  const want = LINES.map(parseEvent).filter((e): e is RunEvent => e !== undefined);

  it('accepts only whole, timed events of a known type with their fields', () => {
    expect(want.map((e) => e.type)).toEqual(['run.started', 'task.started', 'task.finished', 'run.finished']);
    expect(LINES.map(controllerParse)).toEqual(LINES.map(parseEvent));
    expect(LINES.map(cliParse)).toEqual(LINES.map(parseEvent));
  });

  it('gives both runtimes the same events, the same other lines and the same summary as the controller', async () => {
    const results = [];
    for (const [, engine] of engines) {
      const { seen, obs } = observe();
      const s = await engine({ lines: LINES }).start({ pod, plan, logs: true }, obs).result;
      results.push({ events: seen.events, other: seen.logs.filter((l) => l.container === SUPERVISOR_CONTAINER).map((l) => l.text), summary: s, phases: seen.phases });
    }
    expect(results[0]?.events).toEqual(want);
    expect(results[0]?.summary).toEqual(summary);
    expect(results[0]?.other).toEqual(LINES.filter((l) => l.trim() !== '' && parseEvent(l) === undefined));
    expect(results[1]).toEqual(results[0]);
    expect(foldEvents(results[1]?.events ?? [])).toEqual(foldEvents(LINES.map(controllerParse).filter((e): e is RunEvent => e !== undefined)));
    expect(results[0]?.phases).toEqual(['preparing', 'creating', 'starting', 'running', 'cleaning']);
  });

  it('delivers nothing twice when the cluster connection drops and the log replays from its start', async () => {
    const { seen, obs } = observe();
    // The drop cuts the stream inside the partial step.started line: the replay must neither repeat nor lose an event.
    const s = await kubeEngine({ lines: LINES, dropAfter: 5 }).start({ pod, plan, logs: true }, obs).result;
    expect(seen.events).toEqual(want);
    expect(s).toEqual(summary);
    expect(seen.logs.map((l) => l.text).filter((t) => t === 'supervisor: warming up')).toHaveLength(1);
  });
});

describe.each(engines)('the shared run skeleton on %s', (name, engine) => {
  const removed = name === 'podman' ? 'removed' : 'deleted';

  it('ends a run cancelled before its pod exists without creating one', async () => {
    const e = engine({ lines: LINES });
    const { seen, obs } = observe();
    const h = e.start({ pod, plan, logs: false }, obs);
    await h.cancel('graceful');
    const s = await h.result;
    // Nothing ran: the task is reported as not run, not as cancelled while running.
    expect([s.status, s.reason, s.tasks['t1']?.status, s.tasks['t1']?.reason]).toEqual(['Cancelled', 'Cancelled before the pod started', 'Skipped', 'PipelineRunCancelled']);
    expect(e.calls.filter((c) => c === 'kube play' || c === 'createPod')).toEqual([]);
    expect(seen.events).toEqual([]);
  });

  it('escalates Ctrl-C to stop-now and then to a force kill, which ends the run Cancelled', async () => {
    const e = engine({ lines: LINES.slice(0, 1), hold: true });
    const { seen, obs } = observe();
    let h: RunHandle | undefined;
    const started = new Promise<void>((resolve) => {
      h = e.start({ pod, plan, logs: false }, { ...obs, onEvent: (ev) => { obs.onEvent?.(ev); resolve(); } });
    });
    await started;
    await h?.cancel('graceful');
    await h?.cancel('graceful');
    await h?.cancel('graceful');
    const s = await h?.result;
    expect([s?.status, s?.reason]).toEqual(['Cancelled', `the pod was ${removed} by force`]);
    expect(seen.notes.filter((n) => n.includes('cancel') || n.includes('force'))).toEqual([
      'cancelling (finally tasks still run); Ctrl-C again to stop at once',
      `cancelling immediately; Ctrl-C again to ${name === 'podman' ? 'remove' : 'delete'} the pod by force`,
      `${name === 'podman' ? 'removing' : 'deleting'} the pod by force`,
    ]);
    if (name === 'kubernetes') expect(e.calls.filter((c) => c.startsWith('exec'))).toEqual(['exec graceful', 'exec immediate']);
  });

  it('delivers a stop to the running supervisor through the cancel file', async () => {
    const e = engine({ lines: LINES.slice(0, 1), hold: true });
    let h: RunHandle | undefined;
    await new Promise<void>((resolve) => { h = e.start({ pod, plan, logs: false }, { onEvent: () => resolve() }); });
    await h?.cancel('stop');
    if (name === 'podman') {
      expect(readFileSync(new Layout(join(runRoot, h?.podName ?? '', 'volumes', 'pipod')).cancelFile, 'utf8')).toBe('stop');
    } else {
      expect(e.calls.filter((c) => c.startsWith('exec'))).toEqual(['exec stop']);
    }
    await h?.cancel('immediate');
    await h?.cancel('immediate');
    expect((await h?.result)?.status).toBe('Cancelled');
  });

  it('keeps the pod when asked to', async () => {
    const e = engine({ lines: LINES });
    const { seen, obs } = observe();
    await e.start({ pod, plan, logs: false, keep: true }, obs).result;
    expect(seen.notes.some((n) => n.startsWith('kept pod'))).toBe(true);
    expect(e.calls.filter((c) => c === 'pod rm' || c.startsWith('deletePod'))).toEqual([]);
  });

  it('fails with the supervisor\'s last words when the stream ends without a summary', async () => {
    const s = await engine({ lines: LINES.slice(0, 3) }).start({ pod, plan, logs: false }, {}).result;
    expect(s.status).toBe('Failed');
    expect(s.reason).toContain(name === 'podman' ? 'supervisor: warming up' : 'the supervisor ended without a summary');
  });

  it('keeps what the supervisor reported before its stream ended without a summary', async () => {
    const s = await engine({ lines: LINES.slice(0, -1) }).start({ pod, plan, logs: false }, {}).result;
    expect(s.status).toBe('Failed');
    expect(s.tasks['t1']).toMatchObject({ status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: { out: 'x' } });
  });
});

describe('the kubernetes runtime reports container deaths to the supervisor', () => {
  it('writes the dead fact of a step container the kubelet saw OOM-killed, by exec, once', async () => {
    const execs: string[][] = [];
    let wrote: () => void = () => undefined;
    const written = new Promise<void>((r) => { wrote = r; });
    const kube: KubeCalls = {
      currentNamespace: () => 'ns',
      createPod: (_ns, body) => Promise.resolve(body),
      createCoreObject: () => Promise.resolve(),
      deleteCoreObject: () => Promise.resolve(),
      getPod: () => Promise.resolve({ status: { phase: 'Running', containerStatuses: [
        { name: SUPERVISOR_CONTAINER, state: { running: {} } },
        { name: 'step-t1-a', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
      ] } } as unknown as V1Pod),
      deletePod: () => Promise.resolve(),
      exec: (_ns, _pod, c, command) => {
        execs.push([c, ...command]);
        wrote();
        return Promise.resolve({ status: 'Success', stderr: '' });
      },
      followLog: (_ns, _pod, container, onLine) => ({
        done: (async () => {
          if (container !== SUPERVISOR_CONTAINER) return;
          onLine(LINES[0] ?? '');
          // The supervisor goes on only once it was told (two more looks must not write it again).
          await written;
          await new Promise((r) => setTimeout(r, 2500));
          onLine(LINES.at(-1) ?? '');
        })(),
        abort: () => undefined,
      }),
    };
    const s = await new KubernetesRuntime({ kube }).start({ pod, plan, logs: false }, {}).result;
    expect(s.status).toBe('Succeeded');
    expect(execs).toHaveLength(1);
    const [container, ...command] = execs[0] ?? [];
    expect(container).toBe(SUPERVISOR_CONTAINER);
    const script = command.at(-1) ?? '';
    expect(script).toContain(JSON.stringify(new Layout().deadFile('step-t1-a')));
    expect(script).toContain(JSON.stringify(JSON.stringify({ container: 'step-t1-a', reason: 'OOMKilled', exitCode: 137 })));
  }, 15_000);
});

describe('the input\'s ConfigMaps, Secrets and ServiceAccounts on a cluster', () => {
  const objects = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { a: 'b' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } },
  ] as const;

  it('are created before the pod and deleted after the run', async () => {
    const e = kubeEngine({ lines: LINES });
    await e.start({ pod, plan, logs: false, objects }, {}).result;
    expect(e.calls.filter((c) => !c.startsWith('exec'))).toEqual([
      'create ConfigMap ns/cfg labelled', 'create ServiceAccount ns/robot labelled', 'createPod', 'deletePod 5', 'delete ConfigMap ns/cfg', 'delete ServiceAccount ns/robot',
    ]);
  });

  it('one that already exists stops the run before its pod, and only what the run created is deleted', async () => {
    const e = kubeEngine({ lines: LINES, existing: ['robot'] });
    await expect(e.start({ pod, plan, logs: false, objects }, {}).result).rejects.toThrow('ServiceAccount ns/robot already exists: pipod run creates the ServiceAccounts of its input with the run and deletes them after it');
    expect(e.calls).toEqual(['create ConfigMap ns/cfg labelled', 'delete ConfigMap ns/cfg']);
  });
});
