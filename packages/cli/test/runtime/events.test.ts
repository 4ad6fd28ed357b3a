import { describe, expect, it } from 'vitest';
import type { RunEvent, RunSummary } from '@pipod/plan';
import { formatDuration, parseEventLine, progressLine, startWatchdog, summaryText } from '../../src/runtime/events.ts';
import { cleanStderr } from '../../src/runtime/podman.ts';

const T = '2026-01-01T00:00:00.000Z';

describe('parseEventLine', () => {
  it('accepts the protocol event types only', () => {
    expect(parseEventLine(JSON.stringify({ type: 'task.started', time: T, task: 'a', attempt: 0 }))).toEqual({ type: 'task.started', time: T, task: 'a', attempt: 0 });
    expect(parseEventLine('  {"type":"run.started","time":"t","pipeline":"p","tasks":[],"finally":[]}  ')?.type).toBe('run.started');
    expect(parseEventLine('{"type":"something.else"}')).toBeUndefined();
    expect(parseEventLine('{"type":"task.started"')).toBeUndefined();
    expect(parseEventLine('supervisor: warming up')).toBeUndefined();
    expect(parseEventLine('[1,2]')).toBeUndefined();
  });
});

describe('progressLine', () => {
  const cases: [RunEvent, string | undefined][] = [
    [{ type: 'run.started', time: T, pipeline: 'p', tasks: ['a', 'b'], finally: ['f'] }, 'pipeline p: 2 task(s), 1 finally'],
    [{ type: 'task.started', time: T, task: 'a', attempt: 0 }, '  a: started'],
    [{ type: 'task.started', time: T, task: 'a', attempt: 2 }, '  a: started (attempt 3)'],
    [{ type: 'task.retrying', time: T, task: 'a', attempt: 1, reason: 'Failed' }, '  a: retrying (attempt 2): Failed'],
    [{ type: 'task.skipped', time: T, task: 'b', reason: 'WhenExpressionsSkip' }, '  b: skipped: WhenExpressionsSkip'],
    [{ type: 'task.finished', time: T, task: 'a', status: 'Succeeded', reason: 'Succeeded', attempts: 1, durationMs: 1234, results: {} }, '  a: Succeeded in 1.2s'],
    [{ type: 'task.finished', time: T, task: 'a', status: 'TimedOut', reason: 'TaskRunTimeout', attempts: 3, durationMs: 65_000, results: {} }, '  a: TimedOut in 1m05s after 3 attempts: TaskRunTimeout'],
    [{ type: 'step.started', time: T, task: 'a', step: 's', container: 'a-s', attempt: 0 }, undefined],
    [{ type: 'sidecar.failed', time: T, task: 'a', sidecar: 'db', container: 'a-db', reason: 'probe' }, '  sidecar a/db: failed: probe'],
  ];
  it.each(cases)('%o', (e, want) => expect(progressLine(e)).toBe(want));
});

describe('summaries', () => {
  it('formats durations', () => {
    expect([formatDuration(850), formatDuration(12_340), formatDuration(245_000)]).toEqual(['850ms', '12.3s', '4m05s']);
  });

  it('prints status, tasks and results', () => {
    const s: RunSummary = {
      status: 'Failed', reason: 'Failed', durationMs: 2500, startedAt: T, finishedAt: T,
      tasks: {
        a: { status: 'Failed', reason: 'Failed', attempts: 1, results: {}, steps: [] },
        f: { status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: { r: 'v' }, steps: [], finally: true },
      },
      results: { out: ['x', 'y'] },
    };
    expect(summaryText(s)).toBe('Failed in 2.5s\n  a: Failed\n  finally f: Succeeded  results: r\n  result out = ["x","y"]');
  });

  it('drops podman noise from stderr', () => {
    expect(cleanStderr('failed to connect to syslog: Initialization\nError: real problem\ntime="x" level=error msg="Removing container abc123 from database: gone"\n')).toBe('Error: real problem');
  });
});

describe('startWatchdog', () => {
  it('fires once its budget is spent', async () => {
    let calls = 0;
    const w = startWatchdog(20, () => calls++);
    await new Promise((r) => setTimeout(r, 60));
    expect([w.fired, calls]).toEqual([true, 1]);
  });
  it('never fires once stopped, nor without a budget', async () => {
    let calls = 0;
    const w = startWatchdog(20, () => calls++);
    w.stop();
    const none = startWatchdog(undefined, () => calls++);
    await new Promise((r) => setTimeout(r, 60));
    expect([w.fired, none.fired, calls]).toEqual([false, false, 0]);
  });
});
