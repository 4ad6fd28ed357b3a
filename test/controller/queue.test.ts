import { describe, expect, it } from 'vitest';
import { WorkQueue } from '@pipod/controller';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('WorkQueue', () => {
  it('handles a key once however often it is queued, and once more when queued while in flight', async () => {
    const calls: string[] = [];
    let release: (() => void) | undefined;
    const q = new WorkQueue(async (k) => {
      calls.push(k);
      if (k === 'a' && calls.filter((c) => c === 'a').length === 1) await new Promise<void>((r) => { release = r; });
    }, 2);
    q.add('a');
    q.add('a');
    q.add('b');
    await tick();
    expect(calls).toEqual(['a', 'b']);
    q.add('a');
    q.add('a');
    release?.();
    await tick();
    await tick();
    expect(calls).toEqual(['a', 'b', 'a']);
  });

  it('keeps only the soonest delayed re-queue of a key, and none after stop', async () => {
    const calls: string[] = [];
    const q = new WorkQueue(async (k) => { calls.push(k); });
    q.addAfter('a', 60_000);
    q.addAfter('a', 1);
    q.addAfter('a', 30_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['a']);
    q.addAfter('b', 1);
    q.stop();
    q.add('c');
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['a']);
  });
});
