/** A failed run as the supervisor reports it, shared by the render tests. */
import type { RunEvent, RunSummary } from '@pipod/plan';

export const failedSummary: RunSummary = {
  status: 'Failed', reason: 'Failed', durationMs: 3400, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:03.400Z',
  tasks: {
    'unit-tests': {
      status: 'Failed', reason: 'Failed', attempts: 1, results: {}, durationMs: 1200, startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:02.200Z',
      steps: [
        { name: 'prepare', container: 'step-unit-tests-prepare', status: 'Succeeded', exitCode: 0, startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:01.100Z' },
        { name: 'run', container: 'step-unit-tests-run', status: 'Failed', exitCode: 3, startedAt: '2026-01-01T00:00:01.100Z', finishedAt: '2026-01-01T00:00:02.100Z' },
      ],
    },
    lint: {
      status: 'Failed', reason: 'Failed', attempts: 1, results: {}, durationMs: 300,
      steps: [{ name: 'shellcheck', container: 'step-lint-shellcheck', status: 'Failed', exitCode: 127 }],
    },
    publish: { status: 'Skipped', reason: 'ParentTasksFailed', attempts: 0, results: {}, steps: [] },
    notify: { status: 'Succeeded', reason: 'Succeeded', attempts: 1, results: {}, durationMs: 100, finally: true, steps: [{ name: 'notify', container: 'step-notify-notify', status: 'Succeeded', exitCode: 0 }] },
  },
  results: {},
};

export const failedEvents: RunEvent[] = [
  { type: 'step.finished', time: '2026-01-01T00:00:02.100Z', task: 'unit-tests', step: 'run', container: 'step-unit-tests-run', attempt: 0, exitCode: 3, reason: 'Failed' },
  { type: 'step.finished', time: '2026-01-01T00:00:01.300Z', task: 'lint', step: 'shellcheck', container: 'step-lint-shellcheck', attempt: 0, exitCode: 127, reason: 'StartFailed' },
];
