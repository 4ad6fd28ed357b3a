import { describe, expect, it } from 'vitest';
import { armedGoesOn, type DoneMessage, parseContainerDeath } from '@pipod/plan';

describe('armedGoesOn: whether a start written ahead runs after its predecessor ended', () => {
  const rows: readonly [string, boolean, Pick<DoneMessage, 'reason' | 'exitCode'>, boolean][] = [
    ['completed with 0', false, { reason: 'Completed', exitCode: 0 }, true],
    ['failed', false, { reason: 'Failed', exitCode: 1 }, false],
    ['failed, continue on error', true, { reason: 'Failed', exitCode: 1 }, true],
    ['timed out', false, { reason: 'TimedOut', exitCode: 143 }, false],
    ['timed out, continue on error', true, { reason: 'TimedOut', exitCode: 143 }, true],
    ['could not start, continue on error', true, { reason: 'StartFailed', exitCode: 127 }, true],
    ['stopped by the supervisor', false, { reason: 'Stopped', exitCode: 143 }, false],
    ['stopped, even with continue on error', true, { reason: 'Stopped', exitCode: 0 }, false],
  ];
  it.each(rows)('%s', (_name, continueOnError, done, want) => {
    expect(armedGoesOn({ container: 'c', seq: 1, continueOnError }, done)).toBe(want);
  });
});

describe('parseContainerDeath: only a whole fact is believed', () => {
  it('reads a fact', () => {
    expect(parseContainerDeath('{"container":"c","reason":"OOMKilled","exitCode":137,"finishedAt":"2026-01-01T00:00:00Z"}')).toEqual({ container: 'c', reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-01-01T00:00:00Z' });
  });
  it.each([
    ['', 'empty'],
    ['{"container":"c","reason":"OOMKill', 'half written'],
    ['[]', 'not an object'],
    ['{"reason":"OOMKilled","exitCode":137}', 'no container'],
    ['{"container":"c","reason":"Eaten","exitCode":137}', 'unknown reason'],
    ['{"container":"c","reason":"Error","exitCode":"137"}', 'exit code as text'],
    ['{"container":"c","reason":"Error","exitCode":1.5}', 'fractional exit code'],
    ['{"container":"c","reason":"Error","exitCode":1,"message":3}', 'message not text'],
  ])('%j (%s) → undefined', (text) => {
    expect(parseContainerDeath(text)).toBeUndefined();
  });
});
