import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/render/report.ts';
import { summaryText } from '../../src/render/summary.ts';
import { colors, truncate } from '../../src/render/text.ts';
import { failedEvents, failedSummary } from './fixtures.ts';

describe('summaryText', () => {
  it('names the failing task and step, reason, exit code and last lines of output, with where to read it all', () => {
    const r = buildReport(failedSummary, {
      events: failedEvents,
      logs: [
        { container: 'step-unit-tests-run', stream: 'stdout', text: 'ok 1 - parses the config' },
        { container: 'step-unit-tests-run', stream: 'stderr', text: 'not ok 3 - rounds to two places' },
      ],
      messages: { 'step-lint-shellcheck': 'cannot start "shellcheck-not-installed": not found (checked PATH)' },
      run: { id: 'failing-run-pod-abc123' },
    });
    expect(summaryText(r)).toBe([
      '✗ Failed in 3.4s  run failing-run-pod-abc123',
      '  TASK          STATUS     DURATION  DETAIL',
      '  ✗ unit-tests  Failed     1.2s      step run: exit code 3',
      '  ✗ lint        Failed     300ms     step shellcheck: exit code 127, StartFailed',
      '  ○ publish     Skipped              ParentTasksFailed',
      '  ✓ notify      Succeeded  100ms     finally',
      '',
      '✗ unit-tests/run: Failed (exit code 3)',
      '  last 2 of 2 lines (all: pipod logs failing-run-pod-abc123 --task unit-tests):',
      '  | ok 1 - parses the config',
      '  ! not ok 3 - rounds to two places',
      '',
      '✗ lint/shellcheck: Failed (exit code 127, StartFailed)',
      '  cannot start "shellcheck-not-installed": not found (checked PATH)',
      '  (no output)',
    ].join('\n'));
  });

  it('cuts a large result and says where to read it whole', () => {
    const big = 'a'.repeat(10 * 1024 * 1024);
    const r = buildReport({ ...failedSummary, status: 'Succeeded', reason: 'Succeeded', tasks: {}, results: { blob: big, small: 'ok', list: ['a', 'b'] } }, { run: { id: 'r-1' } });
    const text = summaryText(r, { maxValue: 10 });
    expect(text.split('\n')).toEqual([
      '✓ Succeeded in 3.4s  run r-1',
      '',
      'results:',
      '  blob = aaaaaaaaaa… (10.0 MiB in all; full value: pipod describe r-1 -o json)',
      '  small = ok',
      '  list = ["a","b"]',
    ]);
  });

  it('colours when asked', () => {
    const r = buildReport({ ...failedSummary, tasks: {} });
    expect(summaryText(r, { color: colors(true) })).toContain('\u001b[31m');
    expect(summaryText(r)).not.toContain('\u001b[');
  });
});

describe('truncate', () => {
  it('keeps short values and puts newlines on one line', () => {
    expect(truncate('a\nb', 10)).toBe('a\\nb');
    expect(truncate('abcdef', 3)).toBe('abc… (6 B in all)');
  });
});

