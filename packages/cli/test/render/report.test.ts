import { describe, expect, it } from 'vitest';
import { TailCollector, buildReport, failures, inWrittenOrder, type RecordedLine } from '../../src/render/report.ts';
import { failedEvents, failedSummary } from './fixtures.ts';

const line = (container: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): RecordedLine => ({ container, stream, text });

describe('buildReport', () => {
  it('adds each step\'s end reason, message and log tail, stderr lines marked', () => {
    const r = buildReport(failedSummary, {
      events: failedEvents,
      logs: [line('step-unit-tests-run', 'ok 1'), line('step-unit-tests-run', 'not ok 3', 'stderr')],
      messages: { 'step-lint-shellcheck': 'cannot start "shellcheck-not-installed": not found (checked PATH)' },
      run: { id: 'failing-run-pod-abc123' },
    });
    expect(r.tasks['unit-tests']?.steps[1]).toMatchObject({ name: 'run', exitCode: 3, reason: 'Failed', logTail: ['ok 1', '! not ok 3'], logLines: 2 });
    expect(r.tasks['lint']?.steps[0]).toMatchObject({ reason: 'StartFailed', exitCode: 127, message: 'cannot start "shellcheck-not-installed": not found (checked PATH)' });
    expect(r.run).toEqual({ id: 'failing-run-pod-abc123' });
    // Still a RunSummary for readers of the summary.
    expect(r.status).toBe('Failed');
    expect(r.tasks['publish']).toMatchObject({ status: 'Skipped', reason: 'ParentTasksFailed' });
  });

  it('says why a step that could not start ended when the runtime gave no message', () => {
    const r = buildReport(failedSummary, { events: failedEvents });
    expect(r.tasks['lint']?.steps[0]?.message).toBe('the step\'s command could not be started (exit code 127)');
  });

  it('keeps the summary\'s reason for a step whose container died, and says what happened', () => {
    const summary = { ...failedSummary, tasks: { ...failedSummary.tasks, lint: { ...failedSummary.tasks['lint']!, steps: [{ name: 'shellcheck', container: 'step-lint-shellcheck', status: 'Failed' as const, exitCode: 137, reason: 'ContainerDied' }] } } };
    const r = buildReport(summary, { events: failedEvents });
    expect(r.tasks['lint']?.steps[0]).toMatchObject({ reason: 'ContainerDied', message: 'the step\'s container died (exit code 137)' });
    const oom = { ...summary, tasks: { ...summary.tasks, lint: { ...summary.tasks.lint, steps: [{ ...summary.tasks.lint.steps[0]!, reason: 'OOMKilled' }] } } };
    expect(buildReport(oom).tasks['lint']?.steps[0]?.message).toBe('the step\'s container ran out of memory and was killed (exit code 137)');
  });

  it('keeps only the last lines, and the count of all of them', () => {
    const tails = new TailCollector(3);
    for (let i = 1; i <= 10; i++) tails.add(line('step-unit-tests-run', `line ${i}`));
    const r = buildReport(failedSummary, { ...tails.inputs(), tailLines: 3 });
    expect(r.tasks['unit-tests']?.steps[1]).toMatchObject({ logTail: ['line 8', 'line 9', 'line 10'], logLines: 10 });
  });

  it('cuts a very long line in the tail', () => {
    const r = buildReport(failedSummary, { logs: [line('step-unit-tests-run', 'x'.repeat(5000))] });
    expect(r.tasks['unit-tests']?.steps[1]?.logTail?.[0]).toBe(`${'x'.repeat(1000)}…`);
  });
});

describe('failures', () => {
  it('names each task that did not succeed and its first failing step', () => {
    const f = failures(buildReport(failedSummary, { events: failedEvents }));
    expect(f.map((x) => [x.task, x.step?.name])).toEqual([['unit-tests', 'run'], ['lint', 'shellcheck']]);
  });

  it('a task that failed without a failing step (a sidecar, a result) has none', () => {
    const s = { ...failedSummary, tasks: { db: { status: 'Failed' as const, reason: 'SidecarFailed', attempts: 1, results: {}, steps: [] } } };
    expect(failures(buildReport(s))).toEqual([{ task: 'db', report: s.tasks.db }]);
  });
});

describe('inWrittenOrder', () => {
  it('sorts by time when every line has one, keeping ties in arrival order', () => {
    const a = { container: 'c', stream: 'stdout' as const, text: 'a', time: '2026-01-01T00:00:00.300Z' };
    const b = { container: 'c', stream: 'stderr' as const, text: 'b', time: '2026-01-01T00:00:00.100Z' };
    const c = { container: 'c', stream: 'stdout' as const, text: 'c', time: '2026-01-01T00:00:00.300Z' };
    expect(inWrittenOrder([a, b, c]).map((l) => l.text)).toEqual(['b', 'a', 'c']);
    expect(inWrittenOrder([a, { ...b, time: undefined }, c]).map((l) => l.text)).toEqual(['a', 'b', 'c']);
  });
});
