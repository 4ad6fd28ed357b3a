import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeText } from '../../src/commands/describe.ts';
import { listText, shortTime } from '../../src/commands/list.ts';
import { matches, readFrom } from '../../src/commands/logs.ts';
import type { RunRecord } from '../../src/runstore/store.ts';
import { buildReport } from '../../src/render/report.ts';
import { failedSummary } from '../render/fixtures.ts';

const rec: RunRecord = {
  id: 'failing-run-pod-abc123', pipeline: 'failing', runtime: 'podman', files: ['examples/failing.yaml'], startedAt: '2026-01-01T00:00:00.123Z',
  pid: 1, host: 'h', keep: true, status: 'Failed', reason: 'Failed', finishedAt: '2026-01-01T00:00:03.523Z', durationMs: 3400,
};

describe('pipod list', () => {
  it('prints a table, newest first as given', () => {
    expect(shortTime('2026-01-01T00:00:00.123Z')).toBe('2026-01-01 00:00:00');
    expect(listText([rec, { ...rec, id: 'r2', status: 'Running', keep: false, durationMs: undefined }]).split('\n')).toEqual([
      'RUN                     PIPELINE  STATUS     STARTED              DURATION  RUNTIME',
      'failing-run-pod-abc123  failing   ✗ Failed   2026-01-01 00:00:00  3.4s      podman   kept',
      'r2                      failing   · Running  2026-01-01 00:00:00            podman',
    ]);
  });

  it('says how to start when there is nothing yet', () => {
    expect(listText([])).toBe('no runs recorded yet: start one with pipod run -f FILE');
  });
});

describe('pipod describe', () => {
  it('prints the record, then the summary with every step', () => {
    const text = describeText(rec, buildReport(failedSummary, { run: { id: rec.id } }));
    expect(text.split('\n').slice(0, 7)).toEqual([
      'Run:       failing-run-pod-abc123',
      'Pipeline:  failing',
      'Status:    Failed',
      'Started:   2026-01-01 00:00:00 UTC, took 3.4s',
      'Runtime:   podman, pod kept (--keep)',
      'Files:     examples/failing.yaml',
      '',
    ]);
    expect(text).toContain('\n      ✗ run         Failed     1.0s      exit code 3\n');
  });

  it('a run still going on points at logs -f', () => {
    expect(describeText({ ...rec, status: 'Running' }, undefined)).toContain('still running: pipod logs failing-run-pod-abc123 -f');
  });
});

describe('pipod logs', () => {
  it('filters by task and step', () => {
    const l = { container: 'c', task: 'build', step: 'make', stream: 'stdout' as const, text: 'x' };
    expect([matches(l, undefined, undefined), matches(l, 'build', undefined), matches(l, 'build', 'make'), matches(l, 'test', undefined), matches(l, undefined, 'lint')]).toEqual([true, true, true, false, false]);
  });

  it('reads only complete lines, from where it left off', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'pipod-logs-')), 'logs.jsonl');
    writeFileSync(f, 'one\ntwo\nthr');
    const a = readFrom(f, 0);
    expect(a).toEqual({ lines: ['one', 'two'], next: 8 });
    writeFileSync(f, 'one\ntwo\nthree\n');
    expect(readFrom(f, a.next)).toEqual({ lines: ['three'], next: 14 });
    expect(readFrom(join(f, 'missing'), 3)).toEqual({ lines: [], next: 3 });
  });
});
