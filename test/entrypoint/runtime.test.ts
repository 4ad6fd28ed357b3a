/**
 * Integration tests of the in-pod runtime: the real bundle, real processes,
 * real files. Each test writes a plan by hand, runs init + supervisor + one
 * wrapper per container, and checks events, summary and files.
 */
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, containerOf, eventsOf, makePlan, runPlan, startRun, waitForFile } from './harness.ts';

/** Where a step script writes a task result (the wrappers pass PIPOD_ROOT through). */
const res = (task: string, name: string): string => `$PIPOD_ROOT/run/tasks/${task}/results/${name}`;

beforeAll(async () => {
  await buildBundle();
}, 60_000);

describe('order and parallelism', () => {
  it('runs steps in order, tasks after their parents, and every wrapper exits 0 once released', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'a', results: [{ name: 'out', type: 'string' }], steps: [
          { name: 's1', script: `printf one > ${res('a', 'out')}` },
          { name: 's2', script: `printf "$(cat ${res('a', 'out')})-two" > ${res('a', 'out')}` },
        ] },
        { name: 'b', dependsOn: ['a'], results: [{ name: 'out', type: 'string' }], steps: [{ name: 's1', command: ['/bin/sh', '-c', `printf "%s" "$0" > ${res('b', 'out')}`, '$(tasks.a.results.out)-three'] }] },
      ],
      results: [{ name: 'final', type: 'string', value: '$(tasks.b.results.out)' }],
    });
    const { supervisor, wrappers, events, summary, run } = await runPlan(plan);
    expect(supervisor.code).toBe(0);
    expect(summary.status).toBe('Succeeded');
    expect(summary.reason).toBe('Succeeded');
    expect(summary.tasks.a?.results).toEqual({ out: 'one-two' });
    expect(summary.results).toEqual({ final: 'one-two-three' });
    expect(events.map((e) => e.type === 'step.started' ? `${e.task}/${e.step}` : undefined).filter(Boolean)).toEqual(['a/s1', 'a/s2', 'b/s1']);
    expect(events.at(-1)?.type).toBe('run.finished');
    expect([...wrappers.values()].map((w) => w.code)).toEqual([0, 0, 0]);
    // The events file is a copy of the stdout stream.
    expect(fs.readFileSync(run.layout.eventsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual(events);
  });

  it('fans out tasks that may run in parallel', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'root', steps: [{ name: 's', script: 'true' }] },
        { name: 'left', dependsOn: ['root'], steps: [{ name: 's', script: 'sleep 0.4' }] },
        { name: 'right', dependsOn: ['root'], steps: [{ name: 's', script: 'sleep 0.4' }] },
        { name: 'join', dependsOn: ['left', 'right'], steps: [{ name: 's', script: 'true' }] },
      ],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    const t = (type: 'step.started' | 'step.finished', task: string): number => Date.parse(eventsOf(events, type).find((e) => e.task === task)?.time ?? '');
    // Both branches started before either finished: they overlapped.
    expect(t('step.started', 'right')).toBeLessThan(t('step.finished', 'left'));
    expect(t('step.started', 'left')).toBeLessThan(t('step.finished', 'right'));
    expect(t('step.started', 'join')).toBeGreaterThanOrEqual(Math.max(t('step.finished', 'left'), t('step.finished', 'right')));
  });
});

describe('many containers at once', () => {
  it('loses no handoff when many tasks run and finish together', async () => {
    const n = 8;
    const names = Array.from({ length: n }, (_, i) => `t${i}`);
    const plan = makePlan({
      tasks: [
        ...names.map((t) => ({ name: t, results: [{ name: 'r', type: 'string' as const }], steps: [{ name: 'a', script: `printf ${t} > ${res(t, 'r')}` }, { name: 'b', script: `printf -- -b >> ${res(t, 'r')}` }] })),
        { name: 'join', dependsOn: names, results: [{ name: 'all', type: 'string' }], steps: [{ name: 's', script: `printf '${names.map((t) => `$(tasks.${t}.results.r)`).join(',')}' > ${res('join', 'all')}` }] },
      ],
    });
    const { summary, wrappers } = await runPlan(plan);
    expect(Object.entries(summary.tasks).filter(([, t]) => t.status !== 'Succeeded').map(([k, t]) => `${k}:${t.reason}`)).toEqual([]);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks.join?.results).toEqual({ all: names.map((t) => `${t}-b`).join(',') });
    expect(wrappers.size).toBe(2 * n + 1);
    expect([...wrappers.values()].every((w) => w.code === 0)).toBe(true);
  });
});

describe('failures', () => {
  it('a failing step stops its task (later steps Skipped) and the pipeline stops scheduling', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'bad', steps: [{ name: 's1', script: 'exit 3' }, { name: 's2', script: 'echo never' }] },
        { name: 'slow', steps: [{ name: 's', script: 'sleep 0.5' }] },
        { name: 'after', dependsOn: ['bad'], steps: [{ name: 's', script: 'true' }] },
        { name: 'later', dependsOn: ['slow'], steps: [{ name: 's', script: 'true' }] },
      ],
    });
    const { supervisor, summary, wrappers } = await runPlan(plan);
    expect(supervisor.code).toBe(1);
    expect(summary.status).toBe('Failed');
    expect(summary.tasks.bad).toMatchObject({ status: 'Failed', reason: 'Failed', attempts: 1 });
    expect(summary.tasks.bad?.steps.map((s) => [s.name, s.status, s.exitCode])).toEqual([['s1', 'Failed', 3], ['s2', 'Skipped', undefined]]);
    // A task already running finishes; nothing new starts once the run is stopping.
    expect(summary.tasks.slow?.status).toBe('Succeeded');
    expect(summary.tasks.after).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
    expect(summary.tasks.later).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
    expect([...wrappers.values()].every((w) => w.code === 0)).toBe(true);
  });

  it('onError continue records the exit code, exposes it at the exitCode path, and goes on', async () => {
    const plan = makePlan({
      tasks: [{
        name: 't', results: [{ name: 'code', type: 'string' }],
        steps: [
          { name: 'flaky', script: 'exit 5', onError: 'continue' },
          { name: 'next', script: `cp $PIPOD_ROOT/run/tasks/t/steps/flaky/exitCode ${res('t', 'code')}` },
        ],
      }],
    });
    const { summary } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks.t?.results).toEqual({ code: '5' });
    expect(summary.tasks.t?.steps.map((s) => [s.status, s.exitCode])).toEqual([['Failed', 5], ['Succeeded', 0]]);
  });

  it('a command that cannot start ends with StartFailed and exit code 127', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [{ name: 's', command: ['no-such-command-pipod'] }] }] });
    const { summary, events, wrappers } = await runPlan(plan);
    expect(summary.status).toBe('Failed');
    const fin = eventsOf(events, 'step.finished')[0];
    expect(fin).toMatchObject({ reason: 'StartFailed', exitCode: 127 });
    expect(wrappers.get(containerOf('t', 's'))?.code).toBe(0);
  });

  it('a start the kernel refuses (arguments too long) ends with StartFailed, not a dead wrapper', async () => {
    // Linux caps one argument at 128 KiB: exec fails with E2BIG, which Node throws synchronously.
    const plan = makePlan({ tasks: [{ name: 't', steps: [{ name: 's', command: ['echo', 'x'.repeat(200 * 1024)] }] }] });
    const { summary, events, wrappers } = await runPlan(plan);
    expect(summary.status).toBe('Failed');
    const fin = eventsOf(events, 'step.finished')[0];
    expect(fin).toMatchObject({ reason: 'StartFailed', exitCode: 127 });
    expect(summary.tasks.t?.reason).not.toBe('ContainerDied');
    expect(wrappers.get(containerOf('t', 's'))?.code).toBe(0);
  });

  it('task-level onError continue lets dependents run and the run succeed', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'bad', onError: 'continue', steps: [{ name: 's', script: 'exit 1' }] },
        { name: 'after', dependsOn: ['bad'], results: [{ name: 'st', type: 'string' }], steps: [{ name: 's', script: `printf '$(tasks.bad.status)' > ${res('after', 'st')}` }] },
      ],
    });
    const { summary } = await runPlan(plan);
    expect(summary.tasks.bad?.status).toBe('Failed');
    expect(summary.tasks.after?.results).toEqual({ st: 'Failed' });
    expect(summary.status).toBe('Succeeded');
  });
});

describe('results and when', () => {
  it('wires string, array and object results into args, script, env and when', async () => {
    const plan = makePlan({
      tasks: [
        {
          name: 'a',
          results: [{ name: 'word', type: 'string' }, { name: 'list', type: 'array' }, { name: 'obj', type: 'object' }],
          steps: [{ name: 's', script: `printf hello > ${res('a', 'word')}\nprintf '["x","y z"]' > ${res('a', 'list')}\nprintf '{"k":"v1"}' > ${res('a', 'obj')}` }],
        },
        {
          name: 'b',
          dependsOn: ['a'],
          when: [{ input: '$(tasks.a.results.word)', operator: 'in', values: ['bye', 'hello'] }],
          results: [{ name: 'args', type: 'string' }, { name: 'script', type: 'string' }, { name: 'env', type: 'string' }, { name: 'step', type: 'string' }],
          steps: [
            { name: 'p', results: [{ name: 'r', type: 'string' }], script: `printf step-result > $PIPOD_ROOT/run/tasks/b/steps/p/results/r` },
            { name: 'q', command: ['/bin/sh', '-c', `printf '%s|' "$@" > ${res('b', 'args')}`, 'sh', '$(tasks.a.results.word)', '$(tasks.a.results.list[*])'] },
            { name: 'r', script: `printf '$(tasks.a.results.list[1])' > ${res('b', 'script')}\nprintf "$OBJ" > ${res('b', 'env')}\nprintf '$(steps.p.results.r)' > ${res('b', 'step')}`, env: { OBJ: '$(tasks.a.results.obj.k)' } },
          ],
        },
      ],
      results: [{ name: 'both', type: 'array', value: ['$(tasks.a.results.word)', '$(tasks.b.results.env)'] }],
    });
    const { summary } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks.a?.results).toEqual({ word: 'hello', list: ['x', 'y z'], obj: { k: 'v1' } });
    expect(summary.tasks.b?.results).toEqual({ args: 'hello|x|y z|', script: 'y z', env: 'v1', step: 'step-result' });
    expect(summary.results).toEqual({ both: ['hello', 'v1'] });
  });

  it('keeps a string result byte for byte, trailing newline included', async () => {
    const plan = makePlan({ tasks: [{ name: 'a', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: `echo hi > ${res('a', 'r')}` }] }] });
    const { summary } = await runPlan(plan);
    expect(summary.tasks.a?.results).toEqual({ r: 'hi\n' });
  });

  it('a when-skipped task skips only itself: ordering dependents run, result consumers and their children are skipped', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'guarded', results: [{ name: 'r', type: 'string' }], when: [{ input: 'no', operator: 'in', values: ['yes'] }], steps: [{ name: 's', script: `printf x > ${res('guarded', 'r')}` }] },
        { name: 'ordered', dependsOn: ['guarded'], steps: [{ name: 's', script: 'true' }] },
        { name: 'consumer', dependsOn: ['guarded'], steps: [{ name: 's', command: ['echo', '$(tasks.guarded.results.r)'] }] },
        { name: 'grandchild', dependsOn: ['consumer'], steps: [{ name: 's', script: 'true' }] },
        { name: 'notin', when: [{ input: 'a', operator: 'notin', values: ['b', 'c'] }], steps: [{ name: 's', script: 'true' }] },
      ],
    });
    const { summary, events, wrappers } = await runPlan(plan);
    expect(summary.tasks.guarded).toMatchObject({ status: 'Skipped', reason: 'WhenExpressionsSkip', attempts: 0 });
    expect(summary.tasks.ordered?.status).toBe('Succeeded');
    expect(summary.tasks.consumer).toMatchObject({ status: 'Skipped', reason: 'MissingResultsSkip' });
    expect(summary.tasks.grandchild).toMatchObject({ status: 'Skipped', reason: 'ParentTasksSkip' });
    expect(summary.tasks.notin?.status).toBe('Succeeded');
    expect(summary).toMatchObject({ status: 'Succeeded', reason: 'Completed' });
    expect(eventsOf(events, 'task.skipped').map((e) => e.task).sort()).toEqual(['consumer', 'grandchild', 'guarded']);
    // Wrappers of skipped tasks are released, not left waiting.
    expect(wrappers.get(containerOf('guarded', 's'))?.code).toBe(0);
  });
});

describe('finally', () => {
  it('runs after a failure and sees task statuses, the aggregate status and produced results', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'ok', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: `printf fine > ${res('ok', 'r')}` }] },
        { name: 'bad', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: 'sleep 0.1; exit 1' }] },
      ],
      finally: [
        { name: 'report', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: `printf '$(tasks.ok.status) $(tasks.bad.status) $(tasks.status) $(tasks.ok.results.r)' > ${res('report', 'r')}` }] },
        { name: 'needs-missing', steps: [{ name: 's', command: ['echo', '$(tasks.bad.results.r)'] }] },
      ],
    });
    const { summary, supervisor } = await runPlan(plan);
    expect(supervisor.code).toBe(1);
    expect(summary.status).toBe('Failed');
    expect(summary.tasks.report).toMatchObject({ status: 'Succeeded', finally: true, results: { r: 'Succeeded Failed Failed fine' } });
    expect(summary.tasks['needs-missing']).toMatchObject({ status: 'Skipped', reason: 'MissingResultsSkip', finally: true });
  });

  it('reports Completed and None for skipped tasks', async () => {
    const plan = makePlan({
      tasks: [{ name: 'skipme', when: [{ input: 'a', operator: 'in', values: ['b'] }], steps: [{ name: 's', script: 'true' }] }],
      finally: [{ name: 'f', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: `printf '$(tasks.skipme.status) $(tasks.status)' > ${res('f', 'r')}` }] }],
    });
    const { summary } = await runPlan(plan);
    expect(summary.tasks.f?.results).toEqual({ r: 'None Completed' });
  });
});

describe('retries', () => {
  it('re-runs all steps in place until an attempt succeeds, with retry-count and cleared results', async () => {
    const plan = makePlan({
      tasks: [{
        name: 'flaky', retries: 3, results: [{ name: 'seen', type: 'string' }, { name: 'stale', type: 'string' }],
        steps: [
          { name: 'first', script: `echo "$(context.task.retry-count)" >> $PIPOD_ROOT/attempts.log\n[ -f ${res('flaky', 'stale')} ] && printf dirty > ${res('flaky', 'seen')}\nprintf x > ${res('flaky', 'stale')}` },
          { name: 'second', script: `[ "$(context.task.retry-count)" = 2 ]` },
        ],
      }],
    });
    const { summary, events, run } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks.flaky?.attempts).toBe(3);
    expect(summary.tasks.flaky?.results).toEqual({ stale: 'x' });
    expect(fs.readFileSync(`${run.root}/attempts.log`, 'utf8')).toBe('0\n1\n2\n');
    expect(eventsOf(events, 'task.retrying').map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('fails after the last retry', async () => {
    const plan = makePlan({ tasks: [{ name: 't', retries: 1, steps: [{ name: 's', script: 'exit 2' }] }] });
    const { summary } = await runPlan(plan);
    expect(summary.tasks.t).toMatchObject({ status: 'Failed', attempts: 2 });
  });
});

/** A script that ignores SIGTERM, so only SIGKILL after the grace period ends it. */
const stubborn = (marker: string): string => `trap 'echo got-term >> ${marker}' TERM\nwhile true; do sleep 0.05 || true; done`;

describe('timeouts', () => {
  it('a step timeout sends SIGTERM, then SIGKILL after the grace period', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [{ name: 's', timeoutMs: 300, script: stubborn('$PIPOD_ROOT/term.log') }, { name: 'after', script: 'true' }] }] });
    const { summary, events, run } = await runPlan(plan);
    expect(summary.status).toBe('Failed');
    const fin = eventsOf(events, 'step.finished')[0];
    expect(fin).toMatchObject({ reason: 'TimedOut', exitCode: 137 });
    expect(summary.tasks.t?.steps.map((s) => s.status)).toEqual(['TimedOut', 'Skipped']);
    expect(fs.readFileSync(`${run.root}/term.log`, 'utf8')).toContain('got-term');
    const step = summary.tasks.t?.steps[0];
    // Timeout (300 ms) plus grace (300 ms) before the kill.
    expect(Date.parse(step?.finishedAt ?? '') - Date.parse(step?.startedAt ?? '')).toBeGreaterThanOrEqual(550);
  });

  it('a stop reaches the whole process tree, also a child orphaned by the first signal', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [{ name: 's', timeoutMs: 300, script: '(trap "" TERM; exec sleep 30) &\necho $! > $PIPOD_ROOT/child\nwait' }] }] });
    const { summary, run } = await runPlan(plan);
    expect(summary.tasks.t?.steps[0]?.status).toBe('TimedOut');
    const pid = Number(fs.readFileSync(`${run.root}/child`, 'utf8').trim());
    const alive = (): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(false);
  });

  it('a task timeout applies per attempt and is retried', async () => {
    const plan = makePlan({ tasks: [{ name: 't', timeoutMs: 300, retries: 1, steps: [{ name: 's', script: 'sleep 5' }] }] });
    const { summary, events } = await runPlan(plan);
    expect(summary.tasks.t).toMatchObject({ status: 'TimedOut', reason: 'TaskRunTimeout', attempts: 2 });
    expect(eventsOf(events, 'task.retrying')).toHaveLength(1);
    expect(summary.status).toBe('Failed');
  });

  it('the tasks timeout stops the DAG, skips what is left, and finally still runs', async () => {
    const plan = makePlan({
      timeouts: { tasksMs: 400 },
      tasks: [
        { name: 'long', steps: [{ name: 's', script: stubborn('/dev/null') }] },
        { name: 'next', dependsOn: ['long'], steps: [{ name: 's', script: 'true' }] },
      ],
      finally: [{ name: 'f', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: `printf '$(tasks.long.status) $(tasks.status)' > ${res('f', 'r')}` }] }],
    });
    const { summary, supervisor } = await runPlan(plan);
    expect(supervisor.code).toBe(1);
    expect(summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(summary.tasks.long).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(summary.tasks.next).toMatchObject({ status: 'Skipped', reason: 'TasksTimedOutSkip' });
    expect(summary.tasks.f).toMatchObject({ status: 'Succeeded', results: { r: 'Failed Failed' } });
  });

  it('the pipeline timeout stops everything and skips finally', async () => {
    const plan = makePlan({
      timeouts: { pipelineMs: 400 },
      tasks: [{ name: 'long', steps: [{ name: 's', script: 'sleep 5' }] }],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
    });
    const { summary } = await runPlan(plan);
    expect(summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(summary.tasks.long?.status).toBe('TimedOut');
    expect(summary.tasks.f).toMatchObject({ status: 'Skipped', reason: 'PipelineTimedOutSkip' });
    expect(summary.durationMs).toBeLessThan(4000);
  });

  it('the run budgets count from the plan\'s start time: time the pod waited to run is spent already', async () => {
    // 3 s of the 6 s were spent before: the step (5 s) times out only if they count. The 3 s left absorb a slow init and supervisor start.
    const base = makePlan({ timeouts: { pipelineMs: 6000 }, tasks: [{ name: 'long', steps: [{ name: 's', script: 'sleep 5' }] }] });
    const { summary } = await runPlan({ ...base, run: { ...base.run, startTime: new Date(Date.now() - 3000).toISOString() } });
    expect(summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(summary.tasks.long).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
  });

  it('a budget spent before the supervisor started: no task starts', async () => {
    const base = makePlan({
      timeouts: { tasksMs: 1000 },
      tasks: [{ name: 't', steps: [{ name: 's', script: 'touch $PIPOD_ROOT/ran' }] }],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
    });
    const { summary, run } = await runPlan({ ...base, run: { ...base.run, startTime: new Date(Date.now() - 10_000).toISOString() } });
    expect(summary).toMatchObject({ status: 'TimedOut', reason: 'PipelineRunTimeout' });
    expect(summary.tasks.t).toMatchObject({ status: 'Skipped', reason: 'TasksTimedOutSkip' });
    expect(summary.tasks.f?.status).toBe('Succeeded');
    expect(fs.existsSync(`${run.root}/ran`)).toBe(false);
  });

  it('the finally timeout stops finally tasks', async () => {
    const plan = makePlan({
      timeouts: { finallyMs: 300 },
      tasks: [{ name: 'a', steps: [{ name: 's', script: 'true' }] }],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'sleep 5' }] }],
    });
    const { summary } = await runPlan(plan);
    expect(summary.status).toBe('TimedOut');
    expect(summary.tasks.f).toMatchObject({ status: 'TimedOut', finally: true });
  });
});

describe('cancel', () => {
  it('graceful: stops running tasks, skips the rest, runs finally', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'long', steps: [{ name: 's', script: 'touch $PIPOD_ROOT/started; sleep 5' }] },
        { name: 'next', dependsOn: ['long'], steps: [{ name: 's', script: 'true' }] },
      ],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
    });
    const r = await startRun(plan);
    await waitForFile(`${r.root}/started`);
    fs.writeFileSync(`${r.layout.cancelFile}.tmp`, 'graceful');
    fs.renameSync(`${r.layout.cancelFile}.tmp`, r.layout.cancelFile);
    const { summary, supervisor } = await r.finished();
    expect(supervisor.code).toBe(1);
    expect(summary.status).toBe('Cancelled');
    expect(summary.tasks.long).toMatchObject({ status: 'Cancelled', reason: 'TaskRunCancelled' });
    expect(summary.tasks.long?.steps[0]?.status).toBe('Cancelled');
    expect(summary.tasks.next).toMatchObject({ status: 'Skipped', reason: 'GracefullyCancelledSkip' });
    expect(summary.tasks.f?.status).toBe('Succeeded');
  });

  it('stop (StoppedRunFinally): running tasks finish, no new ones start, finally runs', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'long', results: [{ name: 'done', type: 'string' }], steps: [{ name: 's', script: `touch $PIPOD_ROOT/started; sleep 1; printf yes > ${res('long', 'done')}` }] },
        { name: 'next', dependsOn: ['long'], steps: [{ name: 's', script: 'true' }] },
      ],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
    });
    const r = await startRun(plan);
    await waitForFile(`${r.root}/started`);
    fs.writeFileSync(`${r.layout.cancelFile}.tmp`, 'stop');
    fs.renameSync(`${r.layout.cancelFile}.tmp`, r.layout.cancelFile);
    const { summary, supervisor } = await r.finished();
    expect(supervisor.code).toBe(1);
    expect(summary.status).toBe('Cancelled');
    expect(summary.tasks.long).toMatchObject({ status: 'Succeeded', results: { done: 'yes' } });
    expect(summary.tasks.next).toMatchObject({ status: 'Skipped', reason: 'GracefullyStoppedSkip' });
    expect(summary.tasks.f?.status).toBe('Succeeded');
  });

  it('immediate: stops everything and runs no finally', async () => {
    const plan = makePlan({
      tasks: [{ name: 'long', steps: [{ name: 's', script: 'touch $PIPOD_ROOT/started; sleep 5' }] }],
      finally: [{ name: 'f', steps: [{ name: 's', script: 'true' }] }],
    });
    const r = await startRun(plan);
    await waitForFile(`${r.root}/started`);
    fs.writeFileSync(r.layout.cancelFile, 'immediate');
    const { summary } = await r.finished();
    expect(summary.status).toBe('Cancelled');
    expect(summary.tasks.long?.status).toBe('Cancelled');
    expect(summary.tasks.f).toMatchObject({ status: 'Skipped', reason: 'PipelineRunCancelled' });
  });
});

describe('dying processes', () => {
  it('a killed step process fails its task', async () => {
    const plan = makePlan({ tasks: [{ name: 't', steps: [{ name: 's', script: 'echo $$ > $PIPOD_ROOT/pid.tmp; mv $PIPOD_ROOT/pid.tmp $PIPOD_ROOT/pid; sleep 5' }] }] });
    const r = await startRun(plan);
    await waitForFile(`${r.root}/pid`);
    process.kill(Number(fs.readFileSync(`${r.root}/pid`, 'utf8').trim()), 'SIGKILL');
    const { summary } = await r.finished();
    expect(summary.tasks.t).toMatchObject({ status: 'Failed' });
    expect(summary.tasks.t?.steps[0]).toMatchObject({ status: 'Failed', exitCode: 137 });
  });

  it('a killed step wrapper fails its task instead of hanging the run', async () => {
    const plan = makePlan({
      staleMs: 1500,
      tasks: [{ name: 't', steps: [{ name: 's1', script: 'sleep 0.3' }, { name: 's2', script: 'true' }] }],
    });
    const r = await startRun(plan);
    await waitForFile(r.layout.beatFile(containerOf('t', 's2')));
    r.wrappers.get(containerOf('t', 's2'))?.child.kill('SIGKILL');
    const { summary, supervisor } = await r.finished();
    expect(supervisor.code).toBe(1);
    expect(summary.tasks.t).toMatchObject({ status: 'Failed', reason: 'ContainerDied' });
  });

  it('a killed supervisor makes every waiting wrapper exit non-zero', async () => {
    const plan = makePlan({
      staleMs: 1500,
      tasks: [{ name: 't', steps: [{ name: 's', script: 'sleep 10' }] }, { name: 'u', dependsOn: ['t'], steps: [{ name: 's', script: 'true' }] }],
    });
    const r = await startRun(plan);
    await waitForFile(r.layout.startFile(containerOf('t', 's'), 1));
    r.supervisor.child.kill('SIGKILL');
    const started = Date.now();
    const running = await r.wrappers.get(containerOf('t', 's'))?.exit;
    const waiting = await r.wrappers.get(containerOf('u', 's'))?.exit;
    expect(running?.code).toBe(3);
    expect(waiting?.code).toBe(3);
    expect(waiting?.stderr).toMatch(/supervisor stopped/);
    // The running wrapper stops its own step: its inbox is read-only in a pod, so no stop file.
    expect(running?.stderr).toMatch(/stopped the step and giving up/);
    expect(fs.existsSync(r.layout.stopFile(containerOf('t', 's'), 1))).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('missing results', () => {
  it('a DAG task consuming a result its succeeded producer never wrote fails the run (InvalidTaskResultReference)', async () => {
    const plan = makePlan({
      tasks: [
        { name: 'p', results: [{ name: 'r', type: 'string' }], steps: [{ name: 's', script: 'true' }] },
        { name: 'c', dependsOn: ['p'], steps: [{ name: 's', command: ['echo', '$(tasks.p.results.r)'] }] },
      ],
    });
    const { summary, events } = await runPlan(plan);
    expect(summary.status).toBe('Failed');
    expect(summary.tasks.c).toMatchObject({ status: 'Failed', reason: 'InvalidTaskResultReference' });
    expect(eventsOf(events, 'step.started')).toHaveLength(1);
  });

  it('a result that does not match its declared type fails the producing task', async () => {
    const plan = makePlan({ tasks: [{ name: 'p', results: [{ name: 'r', type: 'array' }], steps: [{ name: 's', script: `printf 'not json' > ${res('p', 'r')}` }] }] });
    const { summary } = await runPlan(plan);
    expect(summary.tasks.p).toMatchObject({ status: 'Failed', reason: 'InvalidTaskResult' });
  });
});

describe('Kubernetes $(VAR) references', () => {
  it('the wrapper expands them in the step command against the container env and the run-time env; $$ escapes, unknown names stay', async () => {
    const home = process.env['HOME'] ?? '';
    const plan = makePlan({
      tasks: [{ name: 'k', results: [{ name: 'out', type: 'string' }], steps: [{
        name: 's', env: { W: 'w-$(HOME)' },
        command: ['/bin/sh', '-c', `printf "%s|%s|%s|%s" "$W" "$0" "$1" "$2" > ${res('k', 'out')}`, '$(HOME)', '$$(HOME)', '$(NOPE_X)'],
      }] }],
    });
    const { summary } = await runPlan(plan);
    expect(summary.tasks.k?.results).toEqual({ out: `w-${home}|${home}|$(HOME)|$(NOPE_X)` });
  });
});
