/** The supervisor's pure run facts, table by table. */
import { describe, expect, it } from 'vitest';
import type { PlanStep, PlanTask, TaskStatus } from '@pipod/plan';
import { DEFAULT_STARTUP_MS, afterStep, deathDone, diedReason, phaseDone, runOutcome, skipReason, startable, stepStatus, stopOutcome, wrapperGone, type RunFlags, type StopReason, type TaskRec } from '@pipod/entrypoint';
import { makePlan } from './harness.ts';

const flags = (more: Partial<RunFlags> = {}): RunFlags => ({ pipelineTimedOut: false, tasksTimedOut: false, finallyTimedOut: false, phase: 'dag', ...more });

function recs(plan: ReturnType<typeof makePlan>, states: Readonly<Record<string, [TaskRec['state'], TaskStatus?, string?]>> = {}): Map<string, TaskRec> {
  const out = new Map<string, TaskRec>();
  const add = (t: PlanTask, phase: 'dag' | 'finally'): void => {
    const [state, status, reason] = states[t.name] ?? ['pending'];
    out.set(t.name, { task: t, phase, state, ...(status !== undefined ? { status } : {}), reason: reason ?? '', attempts: 0, results: {}, steps: [], onStop: new Set() });
  };
  for (const t of plan.tasks) add(t, 'dag');
  for (const t of plan.finally) add(t, 'finally');
  return out;
}

describe('stopOutcome', () => {
  it.each<[StopReason, TaskStatus, string]>([
    ['Cancelled', 'Cancelled', 'TaskRunCancelled'],
    ['TaskRunTimeout', 'TimedOut', 'TaskRunTimeout'],
    ['PipelineRunTimeout', 'TimedOut', 'PipelineRunTimeout'],
    ['SidecarFailed', 'Failed', 'SidecarFailed'],
  ])('%s → %s / %s', (why, status, reason) => {
    expect(stopOutcome(why)).toEqual([status, reason]);
  });
});

describe('stepStatus', () => {
  it.each([
    [{ reason: 'Completed', exitCode: 0 }, undefined, 'Succeeded'],
    [{ reason: 'Completed', exitCode: 1 }, undefined, 'Failed'],
    [{ reason: 'Failed', exitCode: 2 }, undefined, 'Failed'],
    [{ reason: 'TimedOut', exitCode: 143 }, undefined, 'TimedOut'],
    [{ reason: 'Stopped', exitCode: 143 }, 'Cancelled', 'Cancelled'],
    [{ reason: 'Stopped', exitCode: 143 }, 'SidecarFailed', 'Failed'],
    [{ reason: 'Stopped', exitCode: 143 }, 'PipelineRunTimeout', 'TimedOut'],
  ] as const)('%o stopped by %s → %s', (done, why, status) => {
    expect(stepStatus(done, why)).toBe(status);
  });
});

describe('startable and phaseDone', () => {
  const plan = makePlan({ tasks: [{ name: 'a', steps: [] }, { name: 'b', steps: [], dependsOn: ['a'] }, { name: 'c', steps: [] }], finally: [{ name: 'f', steps: [] }] });
  it('offers pending tasks whose dependencies are done, phase by phase', () => {
    expect(startable(recs(plan), 'dag').map((r) => r.task.name)).toEqual(['a', 'c']);
    expect(startable(recs(plan, { a: ['running'] }), 'dag').map((r) => r.task.name)).toEqual(['c']);
    expect(startable(recs(plan, { a: ['done', 'Failed'], c: ['running'] }), 'dag').map((r) => r.task.name)).toEqual(['b']);
    expect(startable(recs(plan), 'finally').map((r) => r.task.name)).toEqual(['f']);
  });
  it('a phase is done once all its tasks are', () => {
    expect(phaseDone(recs(plan, { a: ['done'], b: ['done'], c: ['running'] }), 'dag')).toBe(false);
    expect(phaseDone(recs(plan, { a: ['done'], b: ['done'], c: ['done'] }), 'dag')).toBe(true);
  });
});

describe('skipReason', () => {
  const plan = makePlan({ tasks: [{ name: 'a', steps: [] }, { name: 'b', steps: [], dependsOn: ['a'] }], finally: [{ name: 'f', steps: [] }] });
  const yes = (): boolean => true;
  it.each<[string, Partial<RunFlags>, Readonly<Record<string, [TaskRec['state'], TaskStatus?, string?]>>, string | undefined]>([
    ['nothing in the way', {}, { a: ['done', 'Succeeded'] }, undefined],
    ['immediate cancel', { cancel: 'immediate' }, { a: ['done', 'Succeeded'] }, 'PipelineRunCancelled'],
    ['pipeline timeout', { pipelineTimedOut: true }, { a: ['done', 'Succeeded'] }, 'PipelineTimedOutSkip'],
    ['graceful cancel', { cancel: 'graceful' }, { a: ['done', 'Succeeded'] }, 'GracefullyCancelledSkip'],
    ['stop', { cancel: 'stop' }, { a: ['done', 'Succeeded'] }, 'GracefullyStoppedSkip'],
    ['tasks timeout', { tasksTimedOut: true }, { a: ['done', 'Succeeded'] }, 'TasksTimedOutSkip'],
    ['a failed task', {}, { a: ['done', 'Failed'] }, 'StoppingSkip'],
    ['a parent skipped for a reason other than when', {}, { a: ['done', 'Skipped', 'MissingResultsSkip'] }, 'ParentTasksSkip'],
    ['a parent skipped by its when', {}, { a: ['done', 'Skipped', 'WhenExpressionsSkip'] }, undefined],
  ])('a DAG task: %s', (_name, f, states, want) => {
    const rs = recs(plan, states);
    const b = rs.get('b');
    if (b === undefined) throw new Error('no b');
    expect(skipReason(b, rs, flags(f), yes)).toBe(want);
  });
  it('a finally task runs after a failure and a graceful cancel, not after the finally timeout', () => {
    const rs = recs(plan, { a: ['done', 'Failed'], b: ['done', 'Skipped', 'StoppingSkip'] });
    const f = rs.get('f');
    if (f === undefined) throw new Error('no f');
    expect(skipReason(f, rs, flags({ cancel: 'graceful', phase: 'finally' }), yes)).toBeUndefined();
    expect(skipReason(f, rs, flags({ finallyTimedOut: true, phase: 'finally' }), yes)).toBe('FinallyTimedOutSkip');
    expect(skipReason(f, rs, flags({ phase: 'finally' }), () => false)).toBe('WhenExpressionsSkip');
  });
});

describe('runOutcome', () => {
  const plan = makePlan({ tasks: [{ name: 'a', steps: [] }, { name: 'b', steps: [], onError: 'continue' }] });
  it.each<[string, Partial<RunFlags>, Readonly<Record<string, [TaskRec['state'], TaskStatus?, string?]>>, string | undefined, [string, string]]>([
    ['all succeeded', {}, { a: ['done', 'Succeeded'], b: ['done', 'Succeeded'] }, undefined, ['Succeeded', 'Succeeded']],
    ['one skipped', {}, { a: ['done', 'Skipped'], b: ['done', 'Succeeded'] }, undefined, ['Succeeded', 'Completed']],
    ['a failure that continues', {}, { a: ['done', 'Succeeded'], b: ['done', 'Failed'] }, undefined, ['Succeeded', 'Succeeded']],
    ['a failure', {}, { a: ['done', 'Failed'], b: ['done', 'Succeeded'] }, undefined, ['Failed', 'Failed']],
    ['a pipeline sidecar failure', {}, { a: ['done', 'Succeeded'], b: ['done', 'Succeeded'] }, 'sidecar x: ended', ['Failed', 'Failed']],
    ['a timeout', { finallyTimedOut: true }, { a: ['done', 'Failed'] }, undefined, ['TimedOut', 'PipelineRunTimeout']],
    ['a cancel, over a timeout', { cancel: 'stop', pipelineTimedOut: true }, {}, undefined, ['Cancelled', 'Cancelled']],
  ])('%s', (_name, f, states, sidecar, want) => {
    expect(runOutcome([...recs(plan, states).values()], flags(f), sidecar)).toEqual(want);
  });
});

describe('container deaths', () => {
  const T = Date.parse('2026-01-01T00:00:00.000Z');

  it.each([
    [{ reason: 'OOMKilled', exitCode: 137 }, 'OOMKilled', 137, 'container c was OOM-killed'],
    [{ reason: 'StartFailed', exitCode: 128, message: 'exec format error' }, 'StartFailed', 128, 'container c could not start: exec format error'],
    [{ reason: 'Error', exitCode: 137 }, 'Failed', 137, 'container c exited with code 137'],
    [{ reason: 'Completed', exitCode: 0 }, 'Failed', 0, 'container c exited with code 0'],
  ] as const)('deathDone(%j) → %s, exit %i', (d, reason, exitCode, message) => {
    const done = deathDone({ container: 'c', ...d }, 4, T);
    expect(done).toEqual({ seq: 4, exitCode, reason, message, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('keeps the time the engine saw the end, unless the container died before the step started', () => {
    const d = { container: 'c', reason: 'Error', exitCode: 1, finishedAt: '2026-01-01T00:00:01.000Z' } as const;
    expect(deathDone(d, 1, T + 2000, T + 500)).toMatchObject({ startedAt: '2026-01-01T00:00:00.500Z', finishedAt: '2026-01-01T00:00:01.000Z' });
    expect(deathDone(d, 1, T + 2000, T + 1500)).toMatchObject({ startedAt: '2026-01-01T00:00:01.500Z', finishedAt: '2026-01-01T00:00:02.000Z' });
  });

  it.each([
    [500, 0, undefined],
    [1500, 0, 'no heartbeat for 1500 ms'],
    [undefined, 900, undefined],
    [undefined, 2500, 'no heartbeat at all after 2500 ms'],
  ] as const)('wrapperGone(beat %s ms old, waited %i ms) with staleMs 1000, startupMs 2000 → %s', (age, waited, why) => {
    expect(wrapperGone(age, waited, { staleMs: 1000, startupMs: 2000 })).toBe(why);
  });

  it('without startupMs a missing beat is tolerated for DEFAULT_STARTUP_MS (image pulls of later containers)', () => {
    expect(wrapperGone(undefined, DEFAULT_STARTUP_MS, { staleMs: 1000 })).toBeUndefined();
    expect(wrapperGone(undefined, DEFAULT_STARTUP_MS + 1, { staleMs: 1000 })).toBe(`no heartbeat at all after ${DEFAULT_STARTUP_MS + 1} ms`);
  });

  it.each([['OOMKilled', 'OOMKilled'], ['StartFailed', 'StartFailed'], ['Failed', 'ContainerDied']] as const)('diedReason(%s) → %s', (reason, want) => {
    expect(diedReason({ reason })).toBe(want);
  });

  const step: PlanStep = { name: 's', container: 'c', image: 'i', command: ['x'], args: [], env: [], onError: 'stopAndFail', results: [] };
  it('a stop decides the outcome of a step whose container died; without one the death does', () => {
    expect(afterStep(step, { reason: 'OOMKilled', exitCode: 137 }, true, 'Cancelled')).toEqual(['Cancelled', 'TaskRunCancelled']);
    expect(afterStep(step, { reason: 'OOMKilled', exitCode: 137 }, true, undefined)).toEqual(['Failed', 'OOMKilled']);
    expect(afterStep({ ...step, onError: 'continue' }, { reason: 'Failed', exitCode: 137 }, true, undefined)).toEqual(['Failed', 'ContainerDied']);
  });
});
