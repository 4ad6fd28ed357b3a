import { describe, expect, it } from 'vitest';
import type { RunEvent } from '@pipod/plan';
import { OrderedOutput, type OutputSource } from '../../src/output/ordered.ts';
import type { LogLine } from '../../src/runtime/types.ts';

const T = '2026-01-01T00:00:00.000Z';
const finished = (container: string): RunEvent => ({ type: 'step.finished', time: T, task: 't', step: container, container, attempt: 0, exitCode: 0, reason: 'Completed' });
const started = (container: string): RunEvent => ({ type: 'step.started', time: T, task: 't', step: container, container, attempt: 0 });
const line = (container: string, text: string, stream: 'stdout' | 'stderr' = 'stdout', time?: string): LogLine => ({ container, task: 't', step: container, stream, text, ...(time !== undefined ? { time } : {}) });

function record(): { seen: string[]; sink: { onEvent: (e: RunEvent) => void; onLog: (l: LogLine) => void } } {
  const seen: string[] = [];
  return { seen, sink: { onEvent: (e) => seen.push(`${e.type} ${'container' in e ? e.container : ''}`), onLog: (l) => seen.push(`${l.container} ${l.stream} ${l.text}`) } };
}

describe('OrderedOutput', () => {
  it('hands a step\'s end on after its output, reading the log when the follower is behind, and never a line twice', async () => {
    const { seen, sink } = record();
    const whole = [line('a', 'one', 'stdout', '2026-01-01T00:00:00.001Z'), line('a', 'err', 'stderr', '2026-01-01T00:00:00.002Z'), line('a', 'two', 'stdout', '2026-01-01T00:00:00.003Z')];
    const source: OutputSource = { written: (c) => (c === 'a' ? 3 : 0), read: () => Promise.resolve(whole) };
    const o = new OrderedOutput(sink, source, 0);
    o.event(started('a'));
    o.log(whole[0] as LogLine);
    o.event(finished('a'));
    await o.idle();
    // The follower catches up late: those lines were handed on already.
    o.log(whole[1] as LogLine);
    o.log(whole[2] as LogLine);
    o.log(line('a', 'three'));
    expect(seen).toEqual(['step.started a', 'a stdout one', 'a stderr err', 'a stdout two', 'step.finished a', 'a stdout three']);
  });

  it('waits for the follower when it is only a little behind', async () => {
    const { seen, sink } = record();
    let reads = 0;
    const o = new OrderedOutput(sink, { written: () => 1, read: () => { reads++; return Promise.resolve([]); } }, 10_000);
    o.event(finished('a'));
    await Promise.resolve();
    o.log(line('a', 'late'));
    await o.idle();
    expect([seen, reads]).toEqual([['a stdout late', 'step.finished a'], 0]);
  });

  it('without a source, events and lines go on as they come; complete adds only what is missing, then the follower is ignored', async () => {
    const { seen, sink } = record();
    const o = new OrderedOutput(sink);
    o.log(line('a', '1'));
    o.event(finished('a'));
    await o.idle();
    o.complete([line('a', '1'), line('a', '2'), line('b', 'x', 'stderr')]);
    o.log(line('a', '3'));
    expect(seen).toEqual(['a stdout 1', 'step.finished a', 'a stdout 2', 'b stderr x']);
  });

  it('while a step\'s end waits, its own lines go on and everything else queues behind the end', async () => {
    const { seen, sink } = record();
    const o = new OrderedOutput(sink, { written: (c) => (c === 'a' ? 1 : 0), read: () => Promise.resolve([]) }, 10_000);
    o.event(finished('a'));
    o.event(started('b'));
    o.log(line('b', 'b says'));
    await Promise.resolve();
    o.log(line('a', 'a last'));
    await o.idle();
    expect(seen).toEqual(['a stdout a last', 'step.finished a', 'step.started b', 'b stdout b says']);
  });

  it('holds a step\'s output that comes before the word that it started; sidecar output goes on at once', async () => {
    const { seen, sink } = record();
    const o = new OrderedOutput(sink, { written: () => 0, read: () => Promise.resolve([]) }, 0, new Set(['a']));
    o.log(line('a', 'early'));
    o.log(line('db', 'sidecar says'));
    o.event(started('a'));
    o.log(line('a', 'on time'));
    o.event(finished('a'));
    await o.idle();
    expect(seen).toEqual(['db stdout sidecar says', 'step.started a', 'a stdout early', 'a stdout on time', 'step.finished a']);
  });

  it('reads the log again while the engine\'s own log is behind too, and gives up after its bound', async () => {
    const { seen, sink } = record();
    let reads = 0;
    const late = line('a', 'late');
    // The first read misses the line (the engine has not written it yet); the second has it.
    const o = new OrderedOutput(sink, { written: () => 1, read: () => Promise.resolve(reads++ === 0 ? [] : [late]) }, 0, new Set(), 2000);
    o.event(started('a'));
    o.event(finished('a'));
    await o.idle();
    expect([seen, reads]).toEqual([['step.started a', 'a stdout late', 'step.finished a'], 2]);

    const never = record();
    let tries = 0;
    const p = new OrderedOutput(never.sink, { written: () => 1, read: () => { tries++; return Promise.resolve([]); } }, 0, new Set(), 600);
    p.event(finished('b'));
    await p.idle();
    expect([never.seen, tries]).toEqual([['step.finished b'], 4]);
  });

  it('a line queued behind its own step\'s end goes on before that end, not held as if its step had not started', async () => {
    const { seen, sink } = record();
    const o = new OrderedOutput(sink, { written: () => 1, read: () => Promise.resolve([]) }, 10_000, new Set(['a', 'b']));
    o.event(started('a'));
    o.event(started('b'));
    o.event(finished('b'));
    o.event(finished('a'));
    // a's line comes while b's end waits: it queues behind a's end.
    o.log(line('a', 'a says'));
    o.log(line('b', 'b says'));
    await o.idle();
    o.close();
    expect(seen).toEqual(['step.started a', 'step.started b', 'b stdout b says', 'step.finished b', 'a stdout a says', 'step.finished a']);
  });
});
