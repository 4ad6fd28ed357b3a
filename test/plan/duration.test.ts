import { describe, expect, it } from 'vitest';
import { parseDuration as planTimeout, parseGoDuration } from '@pipod/plan';
import { parseDuration as builderTimeout } from '@pipod/podbuilder';
import { parseGoDuration as controllerTimeout } from '@pipod/controller';

// [text, what Go's time.ParseDuration gives (ms), what a timeout gives (ms)]; undefined = an error.
const rows: readonly [unknown, number | undefined, number | undefined][] = [
  ['.5s', 500, 500],
  ['5.s', 5000, 5000],
  ['1h30m', 5_400_000, 5_400_000],
  ['1.5h', 5_400_000, 5_400_000],
  ['2h0m0s', 7_200_000, 7_200_000],
  ['1m0.5s', 60_500, 60_500],
  ['0', 0, 0],
  ['+0', 0, 0],
  ['-0', 0, 0],
  ['0s', 0, 0],
  ['-1s', -1000, undefined],
  ['+90s', 90_000, 90_000],
  ['300ms', 300, 300],
  ['2us', 1, 1],
  ['2µs', 1, 1],
  ['2μs', 1, 1],
  ['1500000ns', 2, 2],
  ['2562047h47m16.854775807s', 9_223_372_036_855, 9_223_372_036_855],
  ['2562047h47m16.854775808s', undefined, undefined],
  ['', undefined, undefined],
  ['-', undefined, undefined],
  ['.', undefined, undefined],
  ['.s', undefined, undefined],
  ['10', undefined, undefined],
  ['1d', undefined, undefined],
  ['1sec', undefined, undefined],
  ['1h 30m', undefined, undefined],
  [' 1s', undefined, undefined],
  ['5s junk', undefined, undefined],
  ['abc', undefined, undefined],
  ['s', undefined, undefined],
  [42, undefined, undefined],
];

describe('one Go-duration parser', () => {
  it.each(rows)('%j → Go %s, timeout %s', (text, go, timeout) => {
    expect(parseGoDuration(text)).toBe(go);
    expect(planTimeout(text)).toBe(timeout);
  });

  it.each(rows)('%j reads the same in the builder and the controller', (text, _go, timeout) => {
    expect([typeof text === 'string' ? builderTimeout(text) : timeout, controllerTimeout(text)]).toEqual([timeout, timeout]);
  });
});
