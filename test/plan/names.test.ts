import { describe, expect, it } from 'vitest';
import { dnsLabel, isDnsLabel, Layout, MAX_LABEL } from '@pipod/plan';

describe('dnsLabel', () => {
  it('keeps a valid name as it is', () => {
    expect(dnsLabel(['build', 'compile'])).toBe('build-compile');
  });
  it('makes invalid names valid and keeps distinct inputs distinct', () => {
    const a = dnsLabel(['Build', 'step_1']);
    const b = dnsLabel(['build', 'step-1']);
    expect(isDnsLabel(a)).toBe(true);
    expect(a).not.toBe(b);
  });
  it('shortens long names with a stable hash', () => {
    const long = ['a'.repeat(40), 'b'.repeat(40)];
    const n = dnsLabel(long);
    expect(n.length).toBeLessThanOrEqual(MAX_LABEL);
    expect(isDnsLabel(n)).toBe(true);
    expect(dnsLabel(long)).toBe(n);
    expect(dnsLabel(['a'.repeat(40), 'b'.repeat(39) + 'c'])).not.toBe(n);
  });
  it.each([[''], ['-'], ['x'.repeat(64)], ['UPPER'], ['a.b']])('always returns a DNS-1123 label for %j', (s) => {
    expect(isDnsLabel(dnsLabel([s]))).toBe(true);
  });
});

describe('Layout', () => {
  it('derives every path from its root', () => {
    const l = new Layout('/tmp/r');
    expect(l.startFile('c', 3)).toBe('/tmp/r/run/containers/c/start-3.json');
    expect(l.stepExitCodeFile('t', 's')).toBe('/tmp/r/run/tasks/t/steps/step-s/exitCode');
    expect(`${l.root}/${l.taskResultsSubPath('t')}`).toBe(l.taskResultsDir('t'));
    expect(`${l.root}/${l.taskStepsSubPath('t')}`).toBe(l.stepsDir('t'));
    expect(`${l.root}/${l.taskHomeSubPath('t')}`).toBe(l.taskHomeDir('t'));
    expect(l.stepResultFile('t', 's', 'r')).toBe('/tmp/r/run/tasks/t/steps/step-s/results/r');
  });
});
