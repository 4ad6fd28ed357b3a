/**
 * The supervisor writes the next step's start while the current step runs
 * (`StartMessage.after`) and the next wrapper starts it itself: real bundle,
 * real processes. What must hold: only steps whose start cannot change are
 * armed, a start whose predecessor stops the task is dropped unrun and
 * unreported, a dead predecessor's follower is withdrawn, and outcomes are
 * the same as with every handoff through the supervisor.
 */
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Layout, type StartMessage } from '@pipod/plan';
import { buildBundle, containerOf, makePlan, runPlan, startRun, waitForFile, type TaskSpec } from './harness.ts';

const stepResult = (task: string, step: string, name: string): string => `$PIPOD_ROOT/run/tasks/${task}/steps/${step}/results/${name}`;

beforeAll(async () => {
  await buildBundle();
}, 60_000);

/** Every start message a container got, by file name. */
function starts(root: string, container: string): Record<string, StartMessage> {
  const dir = new Layout(root).inboxDir(container);
  return Object.fromEntries(fs.readdirSync(dir).filter((n) => /^start-\d+\.json$/.test(n)).sort().map((n) => [n, JSON.parse(fs.readFileSync(`${dir}/${n}`, 'utf8')) as StartMessage]));
}

const doneFiles = (root: string, container: string): string[] => fs.readdirSync(new Layout(root).outboxDir(container)).filter((n) => /^done-\d+\.json$/.test(n));

describe('starts written ahead', () => {
  it('arm a step after one that continues on error, and not one that reads a step result', async () => {
    const plan = makePlan({
      tasks: [{
        name: 't', results: [{ name: 'out', type: 'string' }],
        steps: [
          { name: 'a', script: 'exit 4', onError: 'continue' },
          { name: 'b', script: `printf hi > ${stepResult('t', 'b', 'word')}`, results: [{ name: 'word', type: 'string' }] },
          { name: 'c', script: 'printf "%s" "$(steps.b.results.word)" > $PIPOD_ROOT/run/tasks/t/results/out' },
        ],
      }],
    });
    const { summary, run, wrappers } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks.t?.results).toEqual({ out: 'hi' });
    expect(summary.tasks.t?.steps.map((s) => [s.name, s.status, s.exitCode])).toEqual([['a', 'Failed', 4], ['b', 'Succeeded', 0], ['c', 'Succeeded', 0]]);
    expect(Object.values(starts(run.root, containerOf('t', 'a'))).map((m) => m.after)).toEqual([undefined]);
    expect(Object.values(starts(run.root, containerOf('t', 'b'))).map((m) => m.after)).toEqual([{ container: containerOf('t', 'a'), seq: 1, continueOnError: true }]);
    // Its value exists only once b ended, so the supervisor writes c's start then.
    expect(Object.values(starts(run.root, containerOf('t', 'c'))).map((m) => m.after)).toEqual([undefined]);
    expect([...wrappers.values()].every((w) => w.code === 0)).toBe(true);
  });

  it('a failed step: the start written ahead is dropped, never run and never reported', async () => {
    const plan = makePlan({
      tasks: [{ name: 't', steps: [{ name: 'a', script: 'exit 3' }, { name: 'b', script: 'touch $PIPOD_ROOT/b-ran' }] }],
    });
    const { summary, run, wrappers } = await runPlan(plan);
    expect(summary.tasks.t?.steps.map((s) => [s.name, s.status, s.exitCode])).toEqual([['a', 'Failed', 3], ['b', 'Skipped', undefined]]);
    expect(Object.values(starts(run.root, containerOf('t', 'b'))).map((m) => m.after?.container)).toEqual([containerOf('t', 'a')]);
    expect(doneFiles(run.root, containerOf('t', 'b'))).toEqual([]);
    expect(fs.existsSync(`${run.root}/b-ran`)).toBe(false);
    expect([...wrappers.values()].every((w) => w.code === 0)).toBe(true);
  });

  it('a dead step wrapper: the follower is withdrawn by its stop file and released, not left waiting', async () => {
    const plan = makePlan({
      staleMs: 1500,
      tasks: [{ name: 't', steps: [{ name: 'a', script: 'touch $PIPOD_ROOT/a-up; sleep 5' }, { name: 'b', script: 'touch $PIPOD_ROOT/b-ran' }] }],
    });
    const r = await startRun(plan);
    await waitForFile(`${r.root}/a-up`);
    r.wrappers.get(containerOf('t', 'a'))?.child.kill('SIGKILL');
    const { summary, wrappers } = await r.finished();
    expect(summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
    expect(summary.tasks.t?.steps.map((s) => [s.name, s.status])).toEqual([['a', 'Failed'], ['b', 'Skipped']]);
    const b = containerOf('t', 'b');
    const seq = Number(Object.keys(starts(r.root, b))[0]?.match(/\d+/)?.[0]);
    expect(fs.readFileSync(r.layout.stopFile(b, seq), 'utf8')).toBe('step a died');
    expect(doneFiles(r.root, b)).toEqual([]);
    expect(fs.existsSync(`${r.root}/b-ran`)).toBe(false);
    expect(wrappers.get(b)?.code).toBe(0);
  });

  it('give the same outcome as handoffs through the supervisor', async () => {
    const tasks: TaskSpec[] = [
      { name: 'ok', steps: [{ name: 'a', script: 'echo a' }, { name: 'b', command: ['sh', '-c', 'exit 0'] }, { name: 'c', script: 'exit 2', onError: 'continue' }, { name: 'd', script: 'true' }] },
      { name: 'bad', steps: [{ name: 'a', script: 'true' }, { name: 'b', script: 'exit 7' }, { name: 'c', script: 'true' }] },
      { name: 'retried', retries: 1, steps: [{ name: 'a', script: 'test "$(context.task.retry-count)" = 1' }, { name: 'b', script: 'true' }] },
    ];
    const outcome = async (armNextStep: boolean): Promise<unknown> => {
      const { summary } = await runPlan(makePlan({ tasks, armNextStep }));
      return { status: summary.status, tasks: Object.fromEntries(Object.entries(summary.tasks).map(([n, t]) => [n, [t.status, t.attempts, t.steps.map((s) => [s.name, s.status, s.exitCode])]])) };
    };
    const armed = await outcome(true);
    expect(armed).toEqual(await outcome(false));
    expect(armed).toMatchObject({ status: 'Failed', tasks: { retried: ['Succeeded', 2, [['a', 'Succeeded', 0], ['b', 'Succeeded', 0]]] } });
  });
});
