/** Summaries made without the supervisor keep what its events said. */
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '@pipod/plan';
import { notRunReason, syntheticSummary } from '../../src/runtime/synthetic.ts';

const T = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number): string => new Date(T + ms).toISOString();
const plan = { tasks: [{ name: 'quick' }, { name: 'long' }, { name: 'later' }], finally: [{ name: 'tidy' }] };

const events: RunEvent[] = [
  { type: 'run.started', time: at(0), pipeline: 'p', tasks: ['quick', 'long', 'later'], finally: ['tidy'] },
  { type: 'task.started', time: at(10), task: 'quick', attempt: 0 },
  { type: 'task.started', time: at(10), task: 'long', attempt: 0 },
  { type: 'step.started', time: at(11), task: 'quick', step: 'say', container: 'quick-say', attempt: 0 },
  { type: 'step.started', time: at(11), task: 'long', step: 'nap', container: 'long-nap', attempt: 0 },
  { type: 'step.finished', time: at(60), task: 'quick', step: 'say', container: 'quick-say', attempt: 0, exitCode: 0, reason: 'Completed' },
  { type: 'task.finished', time: at(61), task: 'quick', status: 'Succeeded', reason: 'Succeeded', attempts: 1, durationMs: 51, results: { word: 'hi' } },
];

describe('syntheticSummary', () => {
  it('keeps a finished task\'s status, attempts and results; the running one ends with the run; never-run tasks are not run', () => {
    const s = syntheticSummary('Failed', 'the supervisor exited with code 137 without a summary', new Date(T), new Date(T + 1000), plan, events);
    expect(s).toMatchObject({ status: 'Failed', durationMs: 1000, results: {} });
    expect(s.tasks.quick).toEqual({ status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: { word: 'hi' }, startedAt: at(10), finishedAt: at(61), durationMs: 51, steps: [{ name: 'say', container: 'quick-say', status: 'Succeeded', exitCode: 0, startedAt: at(11), finishedAt: at(60) }] });
    expect(s.tasks.long).toEqual({ status: 'Failed', reason: 'the supervisor exited with code 137 without a summary', attempts: 1, results: {}, startedAt: at(10), finishedAt: at(1000), durationMs: 990, steps: [{ name: 'nap', container: 'long-nap', status: 'Failed', startedAt: at(11), finishedAt: at(1000) }] });
    expect(s.tasks.later).toEqual({ status: 'Skipped', reason: 'StoppingSkip', attempts: 0, results: {}, steps: [] });
    expect(s.tasks.tidy).toEqual({ status: 'Skipped', reason: 'StoppingSkip', attempts: 0, results: {}, steps: [], finally: true });
  });

  it('after a forced cancel: finished tasks keep their status, the running one is Cancelled', () => {
    const s = syntheticSummary('Cancelled', 'the pod was removed by force', new Date(T), new Date(T + 500), plan, events);
    expect([s.tasks.quick?.status, s.tasks.quick?.attempts, s.tasks.long?.status, s.tasks.later?.reason, s.tasks.tidy?.status]).toEqual(['Succeeded', 1, 'Cancelled', 'PipelineRunCancelled', 'Skipped']);
  });

  it('counts the attempts of a retried task and keeps only the last attempt\'s steps', () => {
    const retried: RunEvent[] = [
      { type: 'task.started', time: at(0), task: 'long', attempt: 0 },
      { type: 'step.started', time: at(1), task: 'long', step: 'nap', container: 'long-nap', attempt: 0 },
      { type: 'step.finished', time: at(5), task: 'long', step: 'nap', container: 'long-nap', attempt: 0, exitCode: 137, reason: 'OOMKilled' },
      { type: 'task.retrying', time: at(6), task: 'long', attempt: 1, reason: 'OOMKilled' },
      { type: 'step.started', time: at(7), task: 'long', step: 'nap', container: 'long-nap', attempt: 1 },
    ];
    const s = syntheticSummary('TimedOut', 'PipelineRunTimeout', new Date(T), new Date(T + 100), plan, retried);
    expect(s.tasks.long).toMatchObject({ status: 'TimedOut', attempts: 2, steps: [{ name: 'nap', status: 'TimedOut', startedAt: at(7) }] });
  });

  it('keeps a skip the supervisor reported, and a step\'s engine reason', () => {
    const s = syntheticSummary('Failed', 'gone', new Date(T), new Date(T + 100), plan, [
      { type: 'task.skipped', time: at(1), task: 'later', reason: 'WhenExpressionsSkip' },
      { type: 'task.started', time: at(1), task: 'quick', attempt: 0 },
      { type: 'step.started', time: at(1), task: 'quick', step: 'say', container: 'quick-say', attempt: 0 },
      { type: 'step.finished', time: at(2), task: 'quick', step: 'say', container: 'quick-say', attempt: 0, exitCode: 137, reason: 'OOMKilled' },
      { type: 'task.finished', time: at(3), task: 'quick', status: 'Failed', reason: 'OOMKilled', attempts: 1, durationMs: 2, results: {} },
    ]);
    expect(s.tasks.later).toMatchObject({ status: 'Skipped', reason: 'WhenExpressionsSkip', steps: [] });
    expect(s.tasks.quick?.steps).toEqual([expect.objectContaining({ status: 'Failed', exitCode: 137, reason: 'OOMKilled' })]);
  });

  it('a run that never started reports every task as not run', () => {
    const s = syntheticSummary('Cancelled', 'Cancelled before the pod started', new Date(T), new Date(T), plan);
    expect(Object.values(s.tasks).map((t) => [t.status, t.reason, t.attempts])).toEqual(Array(4).fill(['Skipped', 'PipelineRunCancelled', 0]));
  });

  it.each([['Cancelled', 'PipelineRunCancelled'], ['TimedOut', 'PipelineTimedOutSkip'], ['Failed', 'StoppingSkip']] as const)('notRunReason(%s) → %s', (status, reason) => {
    expect(notRunReason(status)).toBe(reason);
  });
});
