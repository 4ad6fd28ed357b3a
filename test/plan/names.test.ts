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
    expect(l.startFile('c', 3)).toBe('/tmp/r/run/containers/c/in/start-3.json');
    expect(l.doneFile('c', 3)).toBe('/tmp/r/run/containers/c/out/done-3.json');
    expect(l.subPathOf(l.outboxDir('c'))).toBe('run/containers/c/out');
    expect(() => l.subPathOf('/tmp/rx/a')).toThrow('/tmp/rx/a is not below /tmp/r');
    expect(l.stepExitCodeFile('t', 's')).toBe('/tmp/r/run/tasks/t/steps/s/exitCode');
    expect(`${l.root}/${l.subPathOf(l.taskResultsDir('t'))}`).toBe(l.taskResultsDir('t'));
  });
});
