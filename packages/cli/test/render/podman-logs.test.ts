import { describe, expect, it } from 'vitest';
import { DeliveredCounts, parseTimedLine } from '../../src/output/podman-logs.ts';

describe('parseTimedLine', () => {
  it.each([
    ['2026-12-03T07:42:00.514549601Z out1', false, { time: '2026-12-03T07:42:00.514549601Z', text: 'out1' }],
    ['h5-ts-b 2026-12-03T07:42:02.018039392Z bee', true, { name: 'h5-ts-b', time: '2026-12-03T07:42:02.018039392Z', text: 'bee' }],
    ['p-step-a 2026-12-03T07:42:02.018039392Z ', true, { name: 'p-step-a', time: '2026-12-03T07:42:02.018039392Z', text: '' }],
    ['2026-12-03T07:42:02Z', false, { time: '2026-12-03T07:42:02Z', text: '' }],
    ['no time here', false, { text: 'no time here' }],
    ['x 2026-12-03T07:42:02.1+01:00 a b', true, { name: 'x', time: '2026-12-03T07:42:02.1+01:00', text: 'a b' }],
  ])('%j', (line, named, want) => {
    expect(parseTimedLine(line, named)).toEqual(want);
  });
});

describe('DeliveredCounts', () => {
  it('gives the lines of a complete log past those delivered', () => {
    const d = new DeliveredCounts();
    d.add('a/stdout');
    d.add('a/stdout');
    expect(d.missing('a/stdout', ['1', '2', '3', '4'])).toEqual(['3', '4']);
    expect(d.missing('a/stderr', ['e'])).toEqual(['e']);
    expect(d.missing('a/stdout', ['1'])).toEqual([]);
  });
});
