/**
 * Whole pipelines through the real supervisor with a fake clock and fake
 * wrappers (fake-pod.ts): no processes, exact virtual times. Ordering, when,
 * finally, retries, timeouts and cancel, as Tekton specifies them.
 */
import { describe, expect, it } from 'vitest';
import type { StartMessage } from '@pipod/plan';
import { containerOf, eventsOf, makePlan, sidecar } from './harness.ts';
import { fakeRun, taskEnds, taskStarts, type Outcome, type Script } from './fake-pod.ts';

/** Every step runs `ms` and succeeds, except where `by` says otherwise (keyed by container). */
function script(ms: number, by: Readonly<Record<string, Outcome | ((msg: StartMessage) => Outcome)>> = {}): Script {
  return (container, msg) => {
    const o = by[container];
    if (o === undefined) return { ms };
    return typeof o === 'function' ? o(msg) : o;
  };
}

const step = (name = 's', args: readonly string[] = []) => ({ name, command: ['run'], args });
const task = (name: string, more: Record<string, unknown> = {}) => ({ name, steps: [step()], ...more });

describe('ordering', () => {
  it('runs a diamond DAG in dependency order, the middle in parallel', async () => {
    const plan = makePlan({ tasks: [task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['a'] }), task('d', { dependsOn: ['b', 'c'] })] });
    const r = await fakeRun(plan, script(100));
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ status: 'Succeeded', reason: 'Succeeded', durationMs: 300 });
    expect(taskStarts(r.events)).toEqual({ a: 0, b: 100, c: 100, d: 200 });
    expect(taskEnds(r.events)).toEqual({ a: 100, b: 200, c: 200, d: 300 });
  });

  it('starts independent tasks together; a dependent waits for the slowest parent', async () => {
    const plan = makePlan({ tasks: [task('fast'), task('slow'), task('join', { dependsOn: ['fast', 'slow'] })] });
    const r = await fakeRun(plan, script(50, { [containerOf('slow', 's')]: { ms: 400 } }));
    expect(taskStarts(r.events)).toEqual({ fast: 0, slow: 0, join: 400 });
  });

  it('runs a task\'s steps back to back, the next start written ahead and run at the previous end', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [step('one'), step('two'), step('three')] }] });
    const r = await fakeRun(plan, script(70));
    expect(r.starts.map((s) => [s.container, s.at, s.msg.after?.container])).toEqual([
      ['t-one', 0, undefined],
      ['t-two', 70, 't-one'],
      ['t-three', 140, 't-two'],
    ]);
    expect(r.summary.tasks.t?.steps.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
  });

  it('without arming, every step is started by the supervisor after the previous one ended', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [step('one'), step('two')] }], armNextStep: false });
    const r = await fakeRun(plan, script(70));
    expect(r.starts.map((s) => [s.container, s.at, s.msg.after])).toEqual([['t-one', 0, undefined], ['t-two', 70, undefined]]);
  });

  it('a failed step skips the rest of its task and drops the start written ahead', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [step('one'), step('two'), step('three')] }] });
    const r = await fakeRun(plan, script(10, { 't-one': { ms: 10, exitCode: 3 } }));
    expect(r.starts.map((s) => s.container)).toEqual(['t-one']);
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'Failed' });
    expect(r.summary.tasks.t?.steps.map((s) => [s.status, s.exitCode])).toEqual([['Failed', 3], ['Skipped', undefined], ['Skipped', undefined]]);
  });

  it('wires a task result into its consumer and into the pipeline results', async () => {
    const plan = makePlan({
      tasks: [task('a', { results: [{ name: 'r', type: 'string' }] }), { name: 'b', dependsOn: ['a'], steps: [step('s', ['got $(tasks.a.results.r)'])] }],
      results: [{ name: 'out', type: 'string', value: '$(tasks.a.results.r)!' }],
    });
    const r = await fakeRun(plan, script(10, { 'a-s': { ms: 10, results: { r: 'hello' } } }));
    expect(r.starts.find((s) => s.container === 'b-s')?.msg.argv).toEqual(['run', 'got hello']);
    expect(r.summary.results).toEqual({ out: 'hello!' });
  });
});

describe('when and skipping', () => {
  it('skips a task whose when does not hold, and its dependents still run (WhenExpressionsSkip)', async () => {
    const plan = makePlan({ tasks: [task('a', { when: [{ input: 'x', operator: 'in', values: ['y'] }] }), task('b', { dependsOn: ['a'] })] });
    const r = await fakeRun(plan, script(10));
    expect(r.summary.tasks.a).toMatchObject({ status: 'Skipped', reason: 'WhenExpressionsSkip', attempts: 0 });
    expect(r.summary.tasks.b).toMatchObject({ status: 'Succeeded' });
    expect(r.summary).toMatchObject({ status: 'Succeeded', reason: 'Completed' });
    expect(eventsOf(r.events, 'task.skipped')).toEqual([expect.objectContaining({ task: 'a', reason: 'WhenExpressionsSkip' })]);
  });

  it('skips a task the builder marked (an empty matrix), and its dependents (ParentTasksSkip); a false when is named first', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'm', steps: [], skip: 'EmptyArrayInMatrixParams' },
        task('b', { dependsOn: ['m'] }),
        { name: 'w', steps: [], skip: 'EmptyArrayInMatrixParams', when: [{ input: 'x', operator: 'in', values: ['y'] }] },
        task('c', { dependsOn: ['w'] }),
      ],
    });
    const r = await fakeRun(plan, script(10));
    expect(Object.fromEntries(Object.entries(r.summary.tasks).map(([k, v]) => [k, [v.status, v.reason]]))).toEqual({
      m: ['Skipped', 'EmptyArrayInMatrixParams'], b: ['Skipped', 'ParentTasksSkip'], w: ['Skipped', 'WhenExpressionsSkip'], c: ['Succeeded', 'Succeeded'],
    });
    expect(r.summary).toMatchObject({ status: 'Succeeded', reason: 'Completed' });
  });

  it('skips a consumer of a missing result (MissingResultsSkip) and its dependents (ParentTasksSkip)', async () => {
    const plan = makePlan({
      tasks: [
        task('a', { when: [{ input: 'x', operator: 'notin', values: ['x'] }], results: [{ name: 'r', type: 'string' }] }),
        { name: 'b', steps: [step('s', ['$(tasks.a.results.r)'])], dependsOn: ['a'] },
        task('c', { dependsOn: ['b'] }),
      ],
    });
    const r = await fakeRun(plan, script(10));
    expect(Object.fromEntries(Object.entries(r.summary.tasks).map(([k, v]) => [k, v.reason]))).toEqual({ a: 'WhenExpressionsSkip', b: 'MissingResultsSkip', c: 'ParentTasksSkip' });
    expect(r.starts).toEqual([]);
  });

  it('a failure stops the DAG: tasks not yet started are skipped (StoppingSkip), running ones finish', async () => {
    const plan = makePlan({ tasks: [task('bad'), task('long'), task('next', { dependsOn: ['bad'] }), task('later', { dependsOn: ['long'] })] });
    const r = await fakeRun(plan, script(10, { 'bad-s': { ms: 10, exitCode: 1 }, 'long-s': { ms: 200 } }));
    expect(r.summary.tasks.long).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.next).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
    expect(r.summary.tasks.later).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
    expect(r.summary).toMatchObject({ status: 'Failed', reason: 'Failed' });
  });

  it('a task failing with onError: continue does not stop the DAG; the run succeeds', async () => {
    const plan = makePlan({ tasks: [task('a', { onError: 'continue' }), task('b', { dependsOn: ['a'] })] });
    const r = await fakeRun(plan, script(10, { 'a-s': { ms: 10, exitCode: 1 } }));
    expect(r.summary.tasks.a).toMatchObject({ status: 'Failed' });
    expect(r.summary.tasks.b).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.status).toBe('Succeeded');
  });

  it('a producer that succeeded without its result fails the consumer (InvalidTaskResultReference)', async () => {
    const plan = makePlan({ tasks: [task('a', { results: [{ name: 'r', type: 'string' }] }), { name: 'b', steps: [step('s', ['$(tasks.a.results.r)'])], dependsOn: ['a'] }] });
    const r = await fakeRun(plan, script(10));
    expect(r.summary.tasks.b).toMatchObject({ status: 'Failed', reason: 'InvalidTaskResultReference' });
    expect(r.summary.status).toBe('Failed');
  });

  it('a step when over the task\'s params skips only that step', async () => {
    const plan = makePlan({ tasks: [{ name: 't', params: { mode: 'fast' }, steps: [step('one'), step('two'), step('three')] }] });
    const plan2 = { ...plan, tasks: plan.tasks.map((t) => ({ ...t, steps: t.steps.map((s) => (s.name === 'two' ? { ...s, when: [{ input: '$(params.mode)', operator: 'in' as const, values: ['slow'] }] } : s)) })) };
    const r = await fakeRun(plan2, script(10));
    expect(r.starts.map((s) => s.container)).toEqual(['t-one', 't-three']);
    expect(r.summary.tasks.t?.steps.map((s) => s.status)).toEqual(['Succeeded', 'Skipped', 'Succeeded']);
  });
});

describe('finally', () => {
  it('runs after a failure and sees each task\'s status and the aggregate', async () => {
    const plan = makePlan({
      tasks: [task('a'), task('b')],
      finally: [{ name: 'f', steps: [step('s', ['$(tasks.a.status)', '$(tasks.b.status)', '$(tasks.status)', '$(tasks.b.reason)'])] }],
    });
    const r = await fakeRun(plan, script(10, { 'b-s': { ms: 30, exitCode: 2 } }));
    expect(r.starts.find((s) => s.container === 'f-s')).toMatchObject({ at: 30, msg: { argv: ['run', 'Succeeded', 'Failed', 'Failed', 'Failed'] } });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Succeeded', finally: true });
    expect(r.summary.status).toBe('Failed');
  });

  it('sees a skipped task as None and the aggregate as Completed', async () => {
    const plan = makePlan({
      tasks: [task('a', { when: [{ input: 'a', operator: 'in', values: ['b'] }] }), task('b')],
      finally: [{ name: 'f', steps: [step('s', ['$(tasks.a.status)', '$(tasks.status)'])] }],
    });
    const r = await fakeRun(plan, script(10));
    expect(r.starts.find((s) => s.container === 'f-s')?.msg.argv).toEqual(['run', 'None', 'Completed']);
  });

  it('a finally task that fails fails the run, and finally tasks run in their own order', async () => {
    const plan = makePlan({ tasks: [task('a')], finally: [task('f1'), task('f2', { dependsOn: ['f1'] })] });
    const r = await fakeRun(plan, script(10, { 'f1-s': { ms: 10, exitCode: 1 } }));
    expect(taskStarts(r.events)).toEqual({ a: 0, f1: 10, f2: 20 });
    expect(r.summary).toMatchObject({ status: 'Failed' });
  });
});

describe('groups (matrix instances, child pipelines)', () => {
  it('$(tasks.<group>.status) and .reason answer for all members', async () => {
    const base = makePlan({ tasks: [task('m-0'), task('m-1')], finally: [{ name: 'f', steps: [step('s', ['$(tasks.m.status)', '$(tasks.m.reason)'])] }] });
    const r = await fakeRun({ ...base, groups: { m: ['m-0', 'm-1'] } }, script(10, { 'm-1-s': { ms: 10, exitCode: 1 } }));
    expect(r.starts.find((s) => s.container === 'f-s')?.msg.argv).toEqual(['run', 'Failed', 'Failed']);
  });

  it('a child pipeline\'s finally task runs once the child\'s tasks settle, and sees only their aggregate', async () => {
    const base = makePlan({ tasks: [task('other'), task('child.a'), task('child.f', { dependsOn: ['child.a'] }), task('after', { dependsOn: ['child.f'] })] });
    const plan = {
      ...base,
      groups: { child: ['child.a', 'child.f'] },
      tasks: base.tasks.map((t) => (t.name === 'child.f' ? { ...t, finallyOf: 'child', steps: t.steps.map((st) => ({ ...st, args: ['$(tasks.status)'] })) } : t)),
    };
    const r = await fakeRun(plan, script(10, { 'child.a-s': { ms: 10, exitCode: 1 } }));
    expect(r.starts.find((s) => s.container === 'child.f-s')?.msg.argv).toEqual(['run', 'Failed']);
    expect(r.summary.tasks['child.f']).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.after).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
  });
});

describe('retries', () => {
  it('retries a failing task, counting attempts; $(context.task.retry-count) is the attempt', async () => {
    const plan = makePlan({ tasks: [{ name: 't', retries: 3, steps: [step('s', ['$(context.task.retry-count)', '$(context.pipelineTask.retries)'])] }] });
    const r = await fakeRun(plan, script(10, { 't-s': (msg) => ({ ms: 10, exitCode: msg.argv[1] === '2' ? 0 : 1 }) }));
    expect(r.starts.map((s) => [s.msg.attempt, s.msg.argv[1], s.msg.argv[2], s.at])).toEqual([[0, '0', '3', 0], [1, '1', '3', 10], [2, '2', '3', 20]]);
    expect(r.summary.tasks.t).toMatchObject({ status: 'Succeeded', attempts: 3 });
    expect(eventsOf(r.events, 'task.retrying').map((e) => [e.attempt, e.reason])).toEqual([[1, 'Failed'], [2, 'Failed']]);
  });

  it('gives up after the last retry with the last attempt\'s outcome', async () => {
    const plan = makePlan({ tasks: [task('t', { retries: 1 })] });
    const r = await fakeRun(plan, script(10, { 't-s': { ms: 10, exitCode: 4 } }));
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'Failed', attempts: 2 });
    expect(r.summary.tasks.t?.steps).toEqual([expect.objectContaining({ status: 'Failed', exitCode: 4 })]);
  });

  it('an attempt sees none of the previous attempt\'s results', async () => {
    const plan = makePlan({ tasks: [task('t', { retries: 1, results: [{ name: 'r', type: 'string' }] })] });
    const r = await fakeRun(plan, script(10, { 't-s': (msg) => (msg.attempt === 0 ? { ms: 10, exitCode: 1, results: { r: 'first' } } : { ms: 10 }) }));
    expect(r.summary.tasks.t).toMatchObject({ status: 'Succeeded', attempts: 2, results: {} });
  });
});

describe('timeouts', () => {
  it('a task timeout stops its step and is retried; each attempt gets the whole timeout', async () => {
    const plan = makePlan({ tasks: [task('t', { timeoutMs: 500, retries: 1 })] });
    const r = await fakeRun(plan, script(Infinity));
    expect(r.summary.tasks.t).toMatchObject({ status: 'TimedOut', reason: 'TaskRunTimeout', attempts: 2, durationMs: 1000 });
    expect(r.summary.tasks.t?.steps).toEqual([expect.objectContaining({ status: 'TimedOut' })]);
    expect(r.summary.status).toBe('Failed');
  });

  it('a step timeout fails its step and task', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [{ ...step('s'), timeoutMs: 80 }] }] });
    const r = await fakeRun(plan, script(Infinity));
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', durationMs: 80 });
    expect(r.summary.tasks.t?.steps[0]?.status).toBe('TimedOut');
  });

  it('the pipeline timeout stops running tasks, skips the rest and finally (PipelineTimedOutSkip)', async () => {
    const plan = makePlan({ tasks: [task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['b'] })], finally: [task('f')], timeouts: { pipelineMs: 1000 } });
    const r = await fakeRun(plan, script(600, { 'b-s': { ms: Infinity } }));
    expect(r.summary.tasks.a).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.b).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout', durationMs: 400 });
    expect(r.summary.tasks.c).toMatchObject({ status: 'Skipped', reason: 'PipelineTimedOutSkip' });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Skipped', reason: 'PipelineTimedOutSkip' });
    expect(r.summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout', durationMs: 1000 });
  });

  it('counts the pipeline timeout from the run\'s start time, not the supervisor\'s', async () => {
    const base = makePlan({ tasks: [task('a')], timeouts: { pipelineMs: 1000 } });
    const plan = { ...base, run: { ...base.run, startTime: '2025-12-31T23:59:59.300Z' } };
    const r = await fakeRun(plan, script(Infinity));
    expect(r.summary.tasks.a).toMatchObject({ status: 'TimedOut', durationMs: 300 });
  });

  it('the tasks timeout stops the DAG (TasksTimedOutSkip) and finally still runs', async () => {
    const plan = makePlan({ tasks: [task('a'), task('b', { dependsOn: ['a'] })], finally: [{ name: 'f', steps: [step('s', ['$(tasks.a.status)'])] }], timeouts: { tasksMs: 500 } });
    const r = await fakeRun(plan, script(Infinity, { 'f-s': { ms: 10 } }));
    expect(r.summary.tasks.a).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(r.summary.tasks.b).toMatchObject({ status: 'Skipped', reason: 'TasksTimedOutSkip' });
    expect(r.starts.find((s) => s.container === 'f-s')).toMatchObject({ at: 500, msg: { argv: ['run', 'Failed'] } });
    expect(r.summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
  });

  it('the finally timeout, counted from when finally starts, stops finally tasks (FinallyTimedOutSkip)', async () => {
    const plan = makePlan({ tasks: [task('a')], finally: [task('f1'), task('f2', { dependsOn: ['f1'] })], timeouts: { finallyMs: 300 } });
    const r = await fakeRun(plan, script(100, { 'f1-s': { ms: Infinity } }));
    expect(taskEnds(r.events)).toMatchObject({ a: 100, f1: 400 });
    expect(r.summary.tasks.f1).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(r.summary.tasks.f2).toMatchObject({ status: 'Skipped', reason: 'FinallyTimedOutSkip' });
    expect(r.summary.status).toBe('TimedOut');
  });
});

describe('cancel', () => {
  const plan = () => makePlan({ tasks: [task('a'), task('b', { dependsOn: ['a'] })], finally: [{ name: 'f', steps: [step('s', ['$(tasks.a.status)'])] }] });

  it('stop: running tasks finish, nothing new starts (GracefullyStoppedSkip), finally runs', async () => {
    const r = await fakeRun(plan(), script(100), { cancels: [{ at: 50, kind: 'stop' }] });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.b).toMatchObject({ status: 'Skipped', reason: 'GracefullyStoppedSkip' });
    expect(r.starts.find((s) => s.container === 'f-s')).toMatchObject({ at: 100, msg: { argv: ['run', 'Succeeded'] } });
    expect(r.summary).toMatchObject({ status: 'Cancelled', reason: 'Cancelled' });
    expect(r.code).toBe(1);
  });

  it('graceful: running tasks are stopped (TaskRunCancelled), finally runs', async () => {
    const r = await fakeRun(plan(), script(100), { cancels: [{ at: 50, kind: 'graceful' }] });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Cancelled', reason: 'TaskRunCancelled', durationMs: 50 });
    expect(r.summary.tasks.a?.steps[0]?.status).toBe('Cancelled');
    expect(r.summary.tasks.b).toMatchObject({ status: 'Skipped', reason: 'GracefullyCancelledSkip' });
    expect(r.starts.find((s) => s.container === 'f-s')).toMatchObject({ at: 50, msg: { argv: ['run', 'Failed'] } });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.status).toBe('Cancelled');
  });

  it('immediate: everything stops and finally is skipped (PipelineRunCancelled)', async () => {
    const r = await fakeRun(plan(), script(100), { cancels: [{ at: 50, kind: 'immediate' }] });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Cancelled', reason: 'TaskRunCancelled' });
    expect(r.summary.tasks.b).toMatchObject({ status: 'Skipped', reason: 'PipelineRunCancelled' });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Skipped', reason: 'PipelineRunCancelled' });
    expect(r.summary).toMatchObject({ status: 'Cancelled', durationMs: 50 });
  });

  it('a later, stronger request escalates: stop, then immediate stops the running finally task', async () => {
    const r = await fakeRun(plan(), script(100, { 'f-s': { ms: Infinity } }), { cancels: [{ at: 50, kind: 'stop' }, { at: 150, kind: 'immediate' }] });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Cancelled', reason: 'TaskRunCancelled', durationMs: 50 });
    expect(r.summary.durationMs).toBe(150);
  });

  it('a weaker request after a stronger one changes nothing', async () => {
    const r = await fakeRun(plan(), script(100), { cancels: [{ at: 50, kind: 'graceful' }, { at: 60, kind: 'stop' }] });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Cancelled', durationMs: 50 });
    expect(r.summary.tasks.b).toMatchObject({ reason: 'GracefullyCancelledSkip' });
  });
});

describe('dead wrappers', () => {
  it('a step whose wrapper stops beating fails its task (ContainerDied); the start written ahead is withdrawn', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [step('one'), step('two')] }, task('u', { dependsOn: ['t'] })], staleMs: 1000 });
    const r = await fakeRun(plan, script(10, { 't-one': { ms: Infinity, dies: true } }));
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
    expect(r.summary.tasks.t?.steps.map((s) => [s.status, s.exitCode])).toEqual([['Failed', undefined], ['Skipped', undefined]]);
    expect(r.summary.tasks.t?.durationMs).toBeGreaterThan(1000);
    expect(r.withdrawn).toEqual(['t-two/1']);
    expect(r.summary.tasks.u).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
  });
});

describe('sidecars', () => {
  it('a task\'s steps start once its sidecar is ready', async () => {
    const plan = makePlan({ tasks: [task('t', { sidecars: [sidecar('db', 't-db', ['db'])] })] });
    const r = await fakeRun(plan, script(10), { sidecars: { 't-db': { readyMs: 40 } } });
    expect(r.starts.map((s) => [s.container, s.at])).toEqual([['t-db', 0], ['t-s', 40]]);
    expect(r.summary.tasks.t).toMatchObject({ status: 'Succeeded', durationMs: 50 });
  });

  it('a sidecar that ends while its task runs fails the task (SidecarFailed) and stops its step', async () => {
    const plan = makePlan({ tasks: [task('t', { sidecars: [sidecar('db', 't-db', ['db'])] })] });
    const r = await fakeRun(plan, script(Infinity), { sidecars: { 't-db': { readyMs: 0, endMs: 70 } } });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed', durationMs: 70 });
    expect(eventsOf(r.events, 'sidecar.failed')).toEqual([expect.objectContaining({ task: 't', sidecar: 'db', reason: 'crashed while the task ran' })]);
  });

  it('a pipeline sidecar that never gets ready skips every task and fails the run', async () => {
    const plan = makePlan({ tasks: [task('a')], finally: [task('f')], sidecars: [sidecar('svc', 'svc', ['svc'])] });
    const r = await fakeRun(plan, script(10), { sidecars: { svc: { endMs: 30 } } });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Skipped', reason: 'ParentTasksSkip' });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Skipped', reason: 'ParentTasksSkip' });
    expect(r.summary.status).toBe('Failed');
  });
});
