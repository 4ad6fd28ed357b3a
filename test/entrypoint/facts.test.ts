/** The supervisor's pure run facts, table by table. */
import { describe, expect, it } from 'vitest';
import type { PlanTask, TaskStatus } from '@pipod/plan';
import { phaseDone, runOutcome, skipReason, startable, stepStatus, stopOutcome, type RunFlags, type StopReason, type TaskRec } from '@pipod/entrypoint';
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
