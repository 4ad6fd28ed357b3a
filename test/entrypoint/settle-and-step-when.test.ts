/**
 * The runtime's side of two plan fields: `finallyOf` (a child pipeline's
 * finally task runs once its dependencies settle, even after a failure) and
 * step `when` (a step whose expressions do not hold is Skipped, not run).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionPlan } from '@pipod/plan';
import { buildBundle, makePlan, runPlan } from './harness.ts';

const res = (task: string, name: string): string => `$PIPOD_ROOT/run/tasks/${task}/results/${name}`;

beforeAll(async () => {
  await buildBundle();
}, 60_000);

describe('finallyOf', () => {
  it('runs after a failed dependency where a plain dependent is skipped', async () => {
    const base = makePlan({
      tasks: [
        { name: 'sub-boom', steps: [{ name: 's', script: 'exit 2' }] },
        { name: 'sub-fin', dependsOn: ['sub-boom'], results: [{ name: 'st', type: 'string' }], steps: [{ name: 's', script: `printf "%s" "$(tasks.sub-boom.status)" > ${res('sub-fin', 'st')}` }] },
        { name: 'plain', dependsOn: ['sub-boom'], steps: [{ name: 's', script: 'true' }] },
      ],
    });
    const plan: ExecutionPlan = { ...base, tasks: base.tasks.map((t) => (t.name === 'sub-fin' ? { ...t, finallyOf: 'sub' } : t)) };
    const { summary } = await runPlan(plan);
    expect(summary.status).toBe('Failed');
    expect(summary.tasks['sub-fin']).toMatchObject({ status: 'Succeeded', results: { st: 'Failed' } });
    expect(summary.tasks['plain']).toMatchObject({ status: 'Skipped', reason: 'StoppingSkip' });
  });
});

describe('step when', () => {
  it('runs a step whose when holds over an earlier step result and skips one whose does not; the task still succeeds', async () => {
    const base = makePlan({
      tasks: [{
        name: 't', steps: [
          { name: 'a', script: 'printf no > $PIPOD_ROOT/run/tasks/t/steps/step-a/results/go', results: [{ name: 'go', type: 'string' }] },
          { name: 'b', script: 'true' },
          { name: 'c', script: 'exit 1' },
        ],
      }],
    });
    const plan: ExecutionPlan = {
      ...base,
      tasks: base.tasks.map((t) => ({ ...t, steps: t.steps.map((s) => (s.name === 'a' ? s : { ...s, when: [{ input: '$(steps.a.results.go)', operator: 'in' as const, values: [s.name === 'b' ? 'no' : 'yes'] }] })) })),
    };
    const { summary } = await runPlan(plan);
    expect(summary.status).toBe('Succeeded');
    expect(summary.tasks['t']?.steps.map((s) => [s.name, s.status])).toEqual([['a', 'Succeeded'], ['b', 'Succeeded'], ['c', 'Skipped']]);
  });
});
