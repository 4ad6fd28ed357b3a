import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunEvent, RunSummary } from '@pipod/plan';
import {
  EMPTY_RUN, applyEvent, customRunStatus, foldEvents, parseEventLine, pipelineRunReason, pipelineRunStatus, podFailureApplies, progressMessage, taskRunStatus,
} from '@pipod/controller';

const T = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const trName = (t: string): string => `run-${t}`;

const started: RunEvent = { type: 'run.started', time: T(0), pipeline: 'p', tasks: ['a', 'b', 'c'], finally: ['f'] };
const aRuns: RunEvent[] = [
  { type: 'task.started', time: T(1), task: 'a', attempt: 0 },
  { type: 'step.started', time: T(1), task: 'a', step: 's1', container: 'a-s1', attempt: 0 },
  { type: 'step.finished', time: T(3), task: 'a', step: 's1', container: 'a-s1', attempt: 0, exitCode: 0, reason: 'Completed' },
  { type: 'task.finished', time: T(3), task: 'a', status: 'Succeeded', reason: 'All Steps have completed executing', attempts: 1, durationMs: 2000, results: { out: 'hello', list: ['x', 'y'] } },
];

function summary(over: Partial<RunSummary> = {}): RunSummary {
  return {
    status: 'Succeeded', reason: 'Completed', durationMs: 10_000, startedAt: T(0), finishedAt: T(10),
    tasks: {
      a: { status: 'Succeeded', reason: 'ok', attempts: 1, results: { out: 'hello', list: ['x', 'y'] }, startedAt: T(1), finishedAt: T(3), steps: [{ name: 's1', container: 'a-s1', status: 'Succeeded', exitCode: 0, startedAt: T(1), finishedAt: T(3) }] },
      b: { status: 'Skipped', reason: 'When Expressions evaluated to false', attempts: 0, results: {}, steps: [] },
      f: { status: 'Succeeded', reason: 'ok', attempts: 1, results: {}, startedAt: T(8), finishedAt: T(9), finally: true, steps: [{ name: 'x', container: 'f-x', status: 'Succeeded', exitCode: 0 }] },
    },
    results: { greeting: 'hello' },
    ...over,
  };
}

describe('parseEventLine', () => {
  it.each([
    ['{"type":"task.started","time":"t","task":"a","attempt":0}', 'task.started'],
    ['  {"type":"run.started","time":"t","pipeline":"p","tasks":[],"finally":[]}  ', 'run.started'],
    ['plain log text', undefined],
    ['{"type":"unknown","time":"t"}', undefined],
    ['{"type":"task.started"}', undefined],
    ['{broken', undefined],
    ['', undefined],
  ])('%s → %s', (line, type) => {
    expect(parseEventLine(line)?.type).toBe(type);
  });
});

describe('applyEvent and taskRunStatus', () => {
  const cases: { name: string; events: RunEvent[]; task: string; want: Record<string, unknown> }[] = [
    {
      name: 'running task with a running step',
      events: [started, ...aRuns.slice(0, 2)],
      task: 'a',
      want: { condition: ['Unknown', 'Running'], startTime: T(1), completionTime: undefined, steps: [{ name: 's1', container: 'a-s1', running: { startedAt: T(1) } }], results: undefined },
    },
    {
      name: 'succeeded task with typed results',
      events: [started, ...aRuns],
      task: 'a',
      want: {
        condition: ['True', 'Succeeded'], startTime: T(1), completionTime: T(3),
        steps: [{ name: 's1', container: 'a-s1', terminated: { exitCode: 0, reason: 'Completed', startedAt: T(1), finishedAt: T(3) }, terminationReason: 'Completed' }],
        results: [{ name: 'out', type: 'string', value: 'hello' }, { name: 'list', type: 'array', value: ['x', 'y'] }],
      },
    },
    {
      name: 'failed step and failed task',
      events: [started, { type: 'task.started', time: T(1), task: 'b', attempt: 0 },
        { type: 'step.started', time: T(1), task: 'b', step: 'x', container: 'b-x', attempt: 0 },
        { type: 'step.finished', time: T(2), task: 'b', step: 'x', container: 'b-x', attempt: 0, exitCode: 3, reason: 'Failed' },
        { type: 'task.finished', time: T(2), task: 'b', status: 'Failed', reason: 'step x exited 3', attempts: 1, durationMs: 1000, results: {} }],
      task: 'b',
      want: { condition: ['False', 'Failed'], message: 'step x exited 3', steps: [{ name: 'x', container: 'b-x', terminated: { exitCode: 3, reason: 'Error', startedAt: T(1), finishedAt: T(2) }, terminationReason: 'Error' }] },
    },
    {
      name: 'OOM-killed step: the kubelet\'s reason is kept',
      events: [started, { type: 'task.started', time: T(1), task: 'b', attempt: 0 },
        { type: 'step.started', time: T(1), task: 'b', step: 'x', container: 'b-x', attempt: 0 },
        { type: 'step.finished', time: T(2), task: 'b', step: 'x', container: 'b-x', attempt: 0, exitCode: 137, reason: 'OOMKilled' },
        { type: 'task.finished', time: T(2), task: 'b', status: 'Failed', reason: 'OOMKilled', attempts: 1, durationMs: 1000, results: {} }],
      task: 'b',
      want: { condition: ['False', 'Failed'], message: 'OOMKilled', steps: [{ name: 'x', container: 'b-x', terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: T(1), finishedAt: T(2) }, terminationReason: 'OOMKilled' }] },
    },
    {
      name: 'timed out task',
      events: [started, { type: 'task.started', time: T(1), task: 'b', attempt: 0 },
        { type: 'step.started', time: T(1), task: 'b', step: 'x', container: 'b-x', attempt: 0 },
        { type: 'step.finished', time: T(5), task: 'b', step: 'x', container: 'b-x', attempt: 0, exitCode: 137, reason: 'TimedOut' },
        { type: 'task.finished', time: T(5), task: 'b', status: 'TimedOut', reason: 'timed out after 4s', attempts: 1, durationMs: 4000, results: {} }],
      task: 'b',
      want: { condition: ['False', 'TaskRunTimeout'], steps: [{ name: 'x', container: 'b-x', terminated: { exitCode: 137, reason: 'Error', startedAt: T(1), finishedAt: T(5) }, terminationReason: 'TimeoutExceeded' }] },
    },
    {
      name: 'task stopped by the pipeline timeout: Tekton cancels its TaskRun',
      events: [started, { type: 'task.started', time: T(1), task: 'b', attempt: 0 },
        { type: 'step.started', time: T(1), task: 'b', step: 'x', container: 'b-x', attempt: 0 },
        { type: 'step.finished', time: T(5), task: 'b', step: 'x', container: 'b-x', attempt: 0, exitCode: 143, reason: 'Stopped' },
        { type: 'task.finished', time: T(5), task: 'b', status: 'TimedOut', reason: 'PipelineRunTimeout', attempts: 1, durationMs: 4000, results: {} }],
      task: 'b',
      want: { condition: ['False', 'TaskRunCancelled'], message: 'TaskRun cancelled as the PipelineRun it belongs to has timed out.', completionTime: T(5) },
    },
    {
      name: 'cancelled task',
      events: [started, { type: 'task.started', time: T(1), task: 'c', attempt: 0 },
        { type: 'task.finished', time: T(2), task: 'c', status: 'Cancelled', reason: 'run cancelled', attempts: 1, durationMs: 1000, results: {} }],
      task: 'c',
      want: { condition: ['False', 'TaskRunCancelled'], completionTime: T(2) },
    },
    {
      name: 'retried task keeps the failed attempt in retriesStatus and restarts its steps',
      events: [started, { type: 'task.started', time: T(1), task: 'c', attempt: 0 },
        { type: 'step.started', time: T(1), task: 'c', step: 'x', container: 'c-x', attempt: 0 },
        { type: 'step.finished', time: T(2), task: 'c', step: 'x', container: 'c-x', attempt: 0, exitCode: 1, reason: 'Failed' },
        { type: 'task.retrying', time: T(2), task: 'c', attempt: 1, reason: 'step x exited 1' },
        { type: 'task.started', time: T(2), task: 'c', attempt: 1 }],
      task: 'c',
      want: { condition: ['Unknown', 'Running'], message: 'attempt 2', steps: [], retries: 1 },
    },
  ];
  it.each(cases)('$name', ({ events, task, want }) => {
    const s = foldEvents(events);
    const t = s.tasks[task];
    expect(t).toBeDefined();
    if (!t) return;
    const st = taskRunStatus(t, 'pod-1');
    const c = st.conditions[0];
    expect([c?.status, c?.reason]).toEqual(want['condition']);
    expect(st.podName).toBe('pod-1');
    if ('message' in want) expect(c?.message).toBe(want['message']);
    if ('startTime' in want) expect(st.startTime).toBe(want['startTime']);
    if ('completionTime' in want) expect(st.completionTime).toBe(want['completionTime']);
    if ('steps' in want) expect(st.steps).toEqual(want['steps']);
    if ('results' in want) expect(st.results).toEqual(want['results']);
    if ('retries' in want) expect(st.retriesStatus?.length).toBe(want['retries']);
  });

  it('fails a running task whose pod is gone, terminating its running steps', () => {
    const s = foldEvents([started, ...aRuns.slice(0, 2)]);
    const st = taskRunStatus(s.tasks['a']!, 'pod-1', { reason: 'PodDeleted', message: 'gone', time: T(9) });
    expect(st.conditions[0]).toMatchObject({ status: 'False', reason: 'Failed', message: 'gone' });
    expect(st.completionTime).toBe(T(9));
    expect(st.steps[0]?.terminated).toEqual({ exitCode: 1, reason: 'Error', startedAt: T(1), finishedAt: T(9) });
  });

  it('a replayed stream gives the same state as the first reading', () => {
    const events = [started, ...aRuns, { type: 'run.finished', time: T(10), summary: summary() } as RunEvent];
    const once = foldEvents(events);
    const twice = foldEvents(events);
    expect(twice).toEqual(once);
    expect(applyEvent(EMPTY_RUN, started).events).toBe(1);
  });
});

describe('pipelineRunStatus', () => {
  it('while running: Unknown/Running, child references in start order, progress counts', () => {
    const s = foldEvents([started, ...aRuns, { type: 'task.started', time: T(4), task: 'c', attempt: 0 }, { type: 'task.skipped', time: T(4), task: 'b', reason: 'When Expressions evaluated to false' }]);
    const st = pipelineRunStatus(s, {}, trName);
    expect(st.conditions[0]).toMatchObject({ status: 'Unknown', reason: 'Running', message: 'Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 1' });
    expect(st.childReferences).toEqual([
      { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', name: 'run-a', pipelineTaskName: 'a' },
      { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', name: 'run-c', pipelineTaskName: 'c' },
    ]);
    expect(st.skippedTasks).toEqual([{ name: 'b', reason: 'When Expressions evaluated to false' }]);
    expect(st.startTime).toBe(T(0));
    expect(st.completionTime).toBeUndefined();
  });

  it.each([
    ['Succeeded', 0, 'Succeeded'],
    ['Succeeded', 1, 'Completed'],
    ['Failed', 0, 'Failed'],
    ['TimedOut', 0, 'PipelineRunTimeout'],
    ['Cancelled', 0, 'Cancelled'],
  ] as const)('final %s with %d skipped → %s', (status, skipped, reason) => {
    expect(pipelineRunReason(status, skipped)).toBe(reason);
  });

  it.each([
    [undefined, 'Running'],
    ['Cancelled', 'PipelineRunStopping'],
    ['CancelledRunFinally', 'CancelledRunningFinally'],
    ['StoppedRunFinally', 'StoppedRunningFinally'],
  ] as const)('in flight with cancel %s → %s', (cancel, reason) => {
    const st = pipelineRunStatus(foldEvents([started]), cancel ? { cancel } : {}, trName);
    expect(st.conditions[0]).toMatchObject({ status: 'Unknown', reason });
  });

  it('a pod that waits to start says why in the Running condition; a summary or failure wins over it', () => {
    const pending = 'not scheduled (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu.';
    const waiting = pipelineRunStatus(EMPTY_RUN, { pending }, trName);
    expect(waiting.conditions[0]).toMatchObject({ status: 'Unknown', reason: 'Running' });
    expect(waiting.conditions[0]?.message).toMatch(/; pod waiting: not scheduled \(Unschedulable\): 0\/1 nodes are available: 1 Insufficient cpu\.$/);
    expect(pipelineRunStatus(EMPTY_RUN, {}, trName).conditions[0]?.message).not.toContain('pod waiting');
    const failed = pipelineRunStatus(EMPTY_RUN, { pending, podFailure: { reason: 'PodEvicted', message: 'evicted', time: T(7) } }, trName);
    expect(failed.conditions[0]).toMatchObject({ status: 'False', message: 'evicted' });
  });

  it('finished: summary decides, results and completion time come from it, skipped tasks listed', () => {
    const s = foldEvents([started, ...aRuns, { type: 'run.finished', time: T(10), summary: summary() }]);
    const st = pipelineRunStatus(s, {}, trName);
    expect(st.conditions[0]).toMatchObject({ status: 'True', reason: 'Completed', message: 'Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 1' });
    expect(st.results).toEqual([{ name: 'greeting', value: 'hello' }]);
    expect(st.completionTime).toBe(T(10));
    expect(st.childReferences.map((c) => c.pipelineTaskName)).toEqual(['a', 'f']);
    expect(st.skippedTasks).toEqual([{ name: 'b', reason: 'When Expressions evaluated to false' }]);
    expect(s.tasks['f']?.finally).toBe(true);
  });

  it('a summary alone (stream read late) still yields every started task', () => {
    const s = foldEvents([{ type: 'run.finished', time: T(10), summary: summary({ status: 'Failed', reason: 'task a failed' }) }]);
    const st = pipelineRunStatus(s, {}, trName);
    expect(st.conditions[0]).toMatchObject({ status: 'False', reason: 'Failed' });
    expect(st.startTime).toBe(T(0));
    expect(Object.keys(s.tasks).sort()).toEqual(['a', 'f']);
    expect(taskRunStatus(s.tasks['a']!, 'p').conditions[0]?.reason).toBe('Succeeded');
  });

  it('pod failure without a summary fails the run with the pod reason', () => {
    const s = foldEvents([started, ...aRuns.slice(0, 1)]);
    const st = pipelineRunStatus(s, { podFailure: { reason: 'PodEvicted', message: 'evicted', time: T(7) } }, trName);
    expect(st.conditions[0]).toMatchObject({ status: 'False', reason: 'PodEvicted', message: 'evicted' });
    expect(st.completionTime).toBe(T(7));
  });

  it('progress message counts failures and cancellations', () => {
    const s = foldEvents([started,
      { type: 'task.started', time: T(1), task: 'a', attempt: 0 },
      { type: 'task.finished', time: T(2), task: 'a', status: 'Failed', reason: 'x', attempts: 1, durationMs: 1, results: {} },
      { type: 'task.started', time: T(1), task: 'b', attempt: 0 },
      { type: 'task.finished', time: T(2), task: 'b', status: 'Cancelled', reason: 'x', attempts: 1, durationMs: 1, results: {} }]);
    expect(progressMessage(s)).toBe('Tasks Completed: 2 (Failed: 1, Cancelled 1), Incomplete: 2, Skipped: 0');
  });
});

describe('customRunStatus', () => {
  it.each([
    ['Succeeded', 'True', 'Succeeded'],
    ['Failed', 'False', 'Failed'],
    ['TimedOut', 'False', 'CustomRunTimedOut'],
    ['Cancelled', 'False', 'CustomRunCancelled'],
  ] as const)('%s → %s/%s, results as strings', (status, cs, reason) => {
    const s = foldEvents([started, ...aRuns, { type: 'run.finished', time: T(10), summary: summary({ status, results: { greeting: 'hello', list: ['a', 'b'] } }) }]);
    const st = customRunStatus(s, {}, 'pod-1', 0, trName);
    expect(st.conditions[0]).toMatchObject({ status: cs, reason });
    expect(st.results).toEqual([{ name: 'greeting', value: 'hello' }, { name: 'list', value: '["a","b"]' }]);
    expect(st.extraFields?.podName).toBe('pod-1');
  });
});

describe('a real supervisor event stream (fan-out, results, when, finally; recorded from a podman run)', () => {
  const lines = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fanout-events.jsonl'), 'utf8').split('\n');
  const events = lines.map(parseEventLine).filter((e): e is RunEvent => e !== undefined);
  const s = foldEvents(events);

  it('yields one TaskRun per started task, the skipped one in skippedTasks, and pipeline results', () => {
    const st = pipelineRunStatus(s, {}, trName);
    expect(st.conditions[0]).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(st.childReferences.map((c) => c.pipelineTaskName).sort()).toEqual(['gen', 'left', 'report', 'right']);
    expect(st.skippedTasks).toEqual([{ name: 'only-in-debug', reason: 'WhenExpressionsSkip' }]);
    expect(st.results).toEqual([{ name: 'joined', value: 'hi-L+hi-R' }, { name: 'first', value: 'hi' }]);
  });

  it.each([
    ['gen', [{ name: 'word', type: 'string', value: 'hi' }], ['emit']],
    ['left', [{ name: 'out', type: 'string', value: 'hi-L' }], ['append', 'check']],
    ['right', [{ name: 'out', type: 'string', value: 'hi-R' }], ['append', 'check']],
    ['report', undefined, ['show']],
  ])('TaskRun %s: Succeeded with results %j and steps %j all Completed', (task, results, steps) => {
    const t = s.tasks[task];
    expect(t).toBeDefined();
    if (!t) return;
    const st = taskRunStatus(t, 'pod');
    expect(st.conditions[0]).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(st.results).toEqual(results);
    expect(st.steps.map((x) => [x.name, x.terminated?.reason, x.terminated?.exitCode])).toEqual(steps.map((n) => [n, 'Completed', 0]));
    expect(st.startTime && st.completionTime && st.startTime <= st.completionTime).toBe(true);
  });

  it('every prefix of the stream maps to a consistent in-flight status (what the controller writes as events arrive)', () => {
    for (let i = 1; i < events.length; i++) {
      const p = foldEvents(events.slice(0, i));
      const st = pipelineRunStatus(p, {}, trName);
      expect(st.conditions[0]?.status).toBe('Unknown');
      for (const name of p.order) expect(taskRunStatus(p.tasks[name]!, 'pod').conditions).toHaveLength(1);
    }
    expect(s.tasks['report']?.finally).toBe(true);
  });
});

describe('pod loss versus the supervisor\'s own summary', () => {
  const gone = { reason: 'PodDeleted', message: 'the run\'s pod was deleted before the run finished', time: T(9) };
  const cancelledBySigterm = foldEvents([started,
    { type: 'task.started', time: T(1), task: 'a', attempt: 0 },
    { type: 'task.finished', time: T(8), task: 'a', status: 'Cancelled', reason: 'Cancelled', attempts: 1, durationMs: 7000, results: {} },
    { type: 'run.finished', time: T(8), summary: summary({ status: 'Cancelled', reason: 'Cancelled', tasks: { a: { status: 'Cancelled', reason: 'Cancelled', attempts: 1, results: {}, steps: [] } } }) }]);

  it.each([
    ['no summary: the pod decides', foldEvents([started]), {}, 'PodDeleted'],
    ['a Cancelled summary nobody asked for (SIGTERM): the pod decides', cancelledBySigterm, {}, 'PodDeleted'],
    ['a Cancelled summary the user asked for: Cancelled', cancelledBySigterm, { cancel: 'Cancelled' as const }, 'Cancelled'],
    ['a Succeeded summary: Succeeded', foldEvents([started, { type: 'run.finished', time: T(10), summary: summary() }]), {}, 'Completed'],
  ])('%s', (_n, s, extra, reason) => {
    const st = pipelineRunStatus(s, { ...extra, podFailure: gone }, trName);
    expect(st.conditions[0]?.reason).toBe(reason);
  });

  it('fails (not cancels) the TaskRuns a pod deletion stopped', () => {
    const ctx = { podFailure: gone };
    const applied = podFailureApplies(cancelledBySigterm, ctx);
    expect(applied).toEqual(gone);
    expect(taskRunStatus(cancelledBySigterm.tasks['a']!, 'p', applied).conditions[0]).toMatchObject({ status: 'False', reason: 'Failed' });
    expect(customRunStatus(cancelledBySigterm, ctx, 'p', 0, trName).conditions[0]?.reason).toBe('PodDeleted');
  });
});
