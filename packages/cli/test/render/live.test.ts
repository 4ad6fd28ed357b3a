import { describe, expect, it } from 'vitest';
import type { RunEvent } from '@pipod/plan';
import { LiveRenderer, logLineText } from '../../src/render/live.ts';
import { colors } from '../../src/render/text.ts';

function sink(): { out: { write: (s: string) => boolean }; text: () => string } {
  let buf = '';
  return { out: { write: (s: string) => { buf += s; return true; } }, text: () => buf };
}

const t = (ms: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString();
const started: RunEvent = { type: 'run.started', time: t(0), pipeline: 'p', tasks: ['build'], finally: [] };
const taskStarted: RunEvent = { type: 'task.started', time: t(10), task: 'build', attempt: 0 };
const stepStarted: RunEvent = { type: 'step.started', time: t(20), task: 'build', step: 'compile', container: 'step-build-compile', attempt: 0 };
const stepFinished: RunEvent = { type: 'step.finished', time: t(820), task: 'build', step: 'compile', container: 'step-build-compile', attempt: 0, exitCode: 3, reason: 'Failed' };
const taskFinished: RunEvent = { type: 'task.finished', time: t(830), task: 'build', status: 'Failed', reason: 'Failed', attempts: 1, durationMs: 820, results: {} };

describe('LiveRenderer in a pipe', () => {
  it('prints task and step lines with durations, output prefixed and stderr marked, no colour', () => {
    const s = sink();
    const r = new LiveRenderer({ out: s.out, tty: false, logs: true });
    for (const e of [started, taskStarted, stepStarted]) r.event(e);
    r.log({ container: 'step-build-compile', task: 'build', step: 'compile', stream: 'stdout', text: 'compiling' });
    r.log({ container: 'step-build-compile', task: 'build', step: 'compile', stream: 'stderr', text: 'error: x' });
    r.event(stepFinished);
    r.event(taskFinished);
    r.finish();
    expect(s.text()).toBe([
      'pipeline p: 1 task(s)',
      '  build: started',
      '[build/compile] compiling',
      '[build/compile]! error: x',
      '    build/compile: Failed in 800ms (exit code 3)',
      '  build: Failed in 820ms',
      '',
    ].join('\n'));
  });

  it('without --logs prints no output lines, and never an event line of the supervisor\'s', () => {
    const s = sink();
    const quiet = new LiveRenderer({ out: s.out, tty: false, logs: false });
    quiet.log({ container: 'step-build-compile', task: 'build', step: 'compile', stream: 'stdout', text: 'x' });
    const loud = new LiveRenderer({ out: s.out, tty: false, logs: true });
    loud.log({ container: 'pipod-supervisor', stream: 'stderr', text: '{"type":"run.finished","summary":{}}' });
    loud.log({ container: 'pipod-supervisor', stream: 'stderr', text: 'supervisor: something odd' });
    expect(s.text()).toBe('[pipod-supervisor]! supervisor: something odd\n');
  });

  it('prints a line at once, before any event', () => {
    const s = sink();
    new LiveRenderer({ out: s.out, tty: false, logs: false }).line('pipod: running x.yaml on podman');
    expect(s.text()).toBe('pipod: running x.yaml on podman\n');
  });
});

describe('logLineText', () => {
  it('cuts a very long line with where to read it whole', () => {
    const l = logLineText({ container: 'c', task: 't', step: 's', stream: 'stdout', text: 'y'.repeat(50) }, colors(false), 'r-1', 5);
    expect(l).toBe('[t/s] yyyyy… (50 B in all; full value: pipod logs r-1)');
  });

  it('colours the prefix and the stderr mark in a terminal', () => {
    expect(logLineText({ container: 'c', task: 't', step: 's', stream: 'stderr', text: 'e' }, colors(true))).toBe('\u001b[36m[t/s]\u001b[39m\u001b[31m!\u001b[39m e');
  });
});
