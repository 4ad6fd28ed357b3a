/**
 * Containers that die under the supervisor, on a fake clock: the runtime's
 * dead fact ends the waiting step at once with the engine's reason, retries
 * and finally go on as usual, and a wrapper that never beats is given up
 * after `startupMs`.
 */
import { describe, expect, it } from 'vitest';
import { containerOf, eventsOf, makePlan, sidecar } from './harness.ts';
import { fakeRun, taskEnds, type Outcome, type Script } from './fake-pod.ts';

function script(ms: number, by: Readonly<Record<string, Outcome>> = {}): Script {
  return (container) => by[container] ?? { ms };
}

const step = (name = 's') => ({ name, command: ['run'], args: [] });
const task = (name: string, more: Record<string, unknown> = {}) => ({ name, steps: [step()], ...more });
const oom = { reason: 'OOMKilled', exitCode: 137 } as const;

describe('a container the runtime reports dead', () => {
  it('an OOM-killed step fails its task with OOMKilled at once; finally still runs', async () => {
    const plan = makePlan({ tasks: [task('t')], finally: [task('f')] });
    const r = await fakeRun(plan, script(10, { [containerOf('t', 's')]: { ms: 50, death: oom } }));
    expect(r.code).toBe(1);
    expect(r.summary.status).toBe('Failed');
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'OOMKilled', durationMs: 50, attempts: 1 });
    expect(r.summary.tasks.t?.steps).toEqual([expect.objectContaining({ name: 's', status: 'Failed', exitCode: 137, reason: 'OOMKilled' })]);
    expect(eventsOf(r.events, 'step.finished')[0]).toMatchObject({ task: 't', exitCode: 137, reason: 'OOMKilled' });
    expect(r.summary.tasks.f).toMatchObject({ status: 'Succeeded' });
  });

  it('a container that died before its step\'s turn fails that step the moment it starts', async () => {
    const plan = makePlan({ tasks: [task('a'), task('b', { dependsOn: ['a'] })] });
    const r = await fakeRun(plan, script(100), { deaths: [{ container: containerOf('b', 's'), at: 5, ...oom }] });
    expect(r.summary.tasks.a).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.b).toMatchObject({ status: 'Failed', reason: 'OOMKilled', durationMs: 0 });
    expect(taskEnds(r.events)).toEqual({ a: 100, b: 100 });
  });

  it('a step killed from outside fails with its exit code (ContainerDied) when the kill is reported', async () => {
    const plan = makePlan({ tasks: [task('t')] });
    const r = await fakeRun(plan, script(Infinity), { deaths: [{ container: containerOf('t', 's'), at: 700, reason: 'Error', exitCode: 137 }] });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'ContainerDied', durationMs: 700 });
    expect(r.summary.tasks.t?.steps[0]).toMatchObject({ status: 'Failed', exitCode: 137, reason: 'ContainerDied' });
    expect(eventsOf(r.events, 'step.finished')[0]).toMatchObject({ exitCode: 137, reason: 'Failed' });
  });

  it('a retried task gets every attempt, each ending at once on the dead container', async () => {
    const plan = makePlan({ tasks: [task('t', { retries: 2 })] });
    const r = await fakeRun(plan, script(10, { [containerOf('t', 's')]: { ms: 30, death: oom } }));
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'OOMKilled', attempts: 3, durationMs: 30 });
    expect(eventsOf(r.events, 'task.retrying').map((e) => [e.attempt, e.reason])).toEqual([[1, 'OOMKilled'], [2, 'OOMKilled']]);
  });

  it('the next step\'s container, dead while the step before runs, fails the task when its turn comes', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [step('one'), step('two')] }] });
    const r = await fakeRun(plan, script(100), { deaths: [{ container: 't-two', at: 1, ...oom }] });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'OOMKilled', durationMs: 100 });
    expect(r.summary.tasks.t?.steps.map((s) => [s.name, s.status, s.reason])).toEqual([['one', 'Succeeded', undefined], ['two', 'Failed', 'OOMKilled']]);
  });

  it('a done message written before the death wins: the step had ended well', async () => {
    const plan = makePlan({ tasks: [task('t')] });
    const r = await fakeRun(plan, script(100), { deaths: [{ container: containerOf('t', 's'), at: 150, reason: 'Completed', exitCode: 0 }] });
    expect(r.summary).toMatchObject({ status: 'Succeeded' });
    expect(r.summary.tasks.t?.steps[0]).toEqual(expect.not.objectContaining({ reason: expect.anything() as unknown }));
  });

  it('a cancel that stopped the task decides its outcome even when its container then dies', async () => {
    const plan = makePlan({ tasks: [task('t')] });
    const r = await fakeRun(plan, script(Infinity), { cancels: [{ at: 100, kind: 'graceful' }], deaths: [{ container: containerOf('t', 's'), at: 100, reason: 'Error', exitCode: 143 }] });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Cancelled', reason: 'TaskRunCancelled' });
    expect(r.summary.status).toBe('Cancelled');
  });

  it('a task sidecar\'s container that dies fails the task (SidecarFailed) with the engine\'s reason', async () => {
    const plan = makePlan({ tasks: [task('t', { sidecars: [sidecar('db', 't-db', ['db'])] })] });
    const r = await fakeRun(plan, script(Infinity), { sidecars: { 't-db': { readyMs: 0 } }, deaths: [{ container: 't-db', at: 80, ...oom }] });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed', durationMs: 80 });
    expect(eventsOf(r.events, 'sidecar.failed')).toEqual([expect.objectContaining({ sidecar: 'db', reason: 'container t-db was OOM-killed while the task ran' })]);
  });

  it('a sidecar whose container dies before it is ready fails its task before any step starts', async () => {
    const plan = makePlan({ tasks: [task('t', { sidecars: [sidecar('db', 't-db', ['db'])] })] });
    const r = await fakeRun(plan, script(10), { sidecars: { 't-db': {} }, deaths: [{ container: 't-db', at: 20, reason: 'StartFailed', exitCode: 128 }] });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'SidecarFailed' });
    expect(r.starts.map((s) => s.container)).toEqual(['t-db']);
    expect(eventsOf(r.events, 'sidecar.failed')[0]?.reason).toBe('container t-db could not start');
  });
});

describe('a wrapper that never beats', () => {
  it('is given up once the wait is older than startupMs (no runtime reported it)', async () => {
    const plan = makePlan({ tasks: [task('t')], staleMs: 100, startupMs: 1000 });
    const r = await fakeRun(plan, script(10), { neverStart: [containerOf('t', 's')] });
    expect(r.summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
    expect(r.summary.tasks.t?.steps[0]).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
    expect(r.summary.tasks.t?.steps[0]?.exitCode).toBeUndefined();
    const ended = taskEnds(r.events).t ?? 0;
    expect(ended).toBeGreaterThan(1000);
    expect(ended).toBeLessThanOrEqual(1050);
  });
});
