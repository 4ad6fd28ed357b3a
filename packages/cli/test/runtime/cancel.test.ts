import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CancelMode } from '@pipod/plan';
import { Escalation, FORCE_AFTER_MS, NO_CANCEL, nextCancel, type CancelEffect, type CancelInput, type CancelLevel, type CancelState } from '../../src/runtime/cancel.ts';

/** Feeds inputs one after the other from no cancel; returns each level reached and every effect. */
function drive(inputs: readonly CancelInput[], forceAfterMs = 1000): { levels: CancelLevel[]; effects: CancelEffect[]; state: CancelState } {
  let state = NO_CANCEL;
  const levels: CancelLevel[] = [];
  const effects: CancelEffect[] = [];
  for (const i of inputs) {
    const step = nextCancel(state, i, forceAfterMs);
    state = step.state;
    levels.push(state.level);
    effects.push(...step.effects);
  }
  return { levels, effects, state };
}

const req = (mode: CancelMode, now = 0): CancelInput => ({ kind: 'request', mode, now });
const timer = (now: number): CancelInput => ({ kind: 'timer', now });

describe('nextCancel: each request asks at least one level more', () => {
  it.each<[string, CancelMode[], CancelLevel[]]>([
    ['Ctrl-C once', ['graceful'], ['graceful']],
    ['Ctrl-C twice', ['graceful', 'graceful'], ['graceful', 'immediate']],
    ['Ctrl-C three times', ['graceful', 'graceful', 'graceful'], ['graceful', 'immediate', 'force']],
    ['stop, then the same again, and again', ['stop', 'stop', 'stop', 'stop'], ['stop', 'graceful', 'immediate', 'force']],
    ['a later request may jump ahead', ['stop', 'immediate'], ['stop', 'immediate']],
    ['graceful, then the watchdog\'s immediate', ['graceful', 'immediate'], ['graceful', 'immediate']],
    ['immediate first, then anything forces', ['immediate', 'stop'], ['immediate', 'force']],
    ['nothing after force', ['immediate', 'immediate', 'graceful'], ['immediate', 'force', 'force']],
  ])('%s', (_what, modes, levels) => {
    expect(drive(modes.map((m) => req(m))).levels).toEqual(levels);
  });

  it('delivers every level below force to the supervisor, and forces only once', () => {
    expect(drive([req('stop'), req('stop'), req('graceful'), req('stop'), req('stop')]).effects).toEqual([
      { kind: 'deliver', mode: 'stop' },
      { kind: 'deliver', mode: 'graceful' },
      { kind: 'arm', at: 1000 },
      { kind: 'deliver', mode: 'immediate' },
      { kind: 'force', reason: 'requested' },
    ]);
  });
});

describe('nextCancel: an immediate cancel that does not end the run is forced (fake clock)', () => {
  it('arms the timer once, at the first immediate, and forces when it is due', () => {
    const r = drive([req('graceful', 0), req('graceful', 200), timer(700), timer(1200)]);
    expect(r.levels).toEqual(['graceful', 'immediate', 'immediate', 'force']);
    expect(r.effects).toEqual([
      { kind: 'deliver', mode: 'graceful' },
      { kind: 'arm', at: 1200 },
      { kind: 'deliver', mode: 'immediate' },
      { kind: 'force', reason: 'overdue' },
    ]);
  });

  it.each<[string, CancelInput[], CancelLevel]>([
    ['a timer before any cancel does nothing', [timer(5000)], 'none'],
    ['a timer during a graceful cancel does nothing', [req('graceful'), timer(5000)], 'graceful'],
    ['an early timer does nothing', [req('immediate', 100), timer(1099)], 'immediate'],
    ['a timer after a requested force does nothing', [req('immediate'), req('immediate'), timer(5000)], 'force'],
  ])('%s', (_what, inputs, level) => {
    const r = drive(inputs);
    expect(r.state.level).toBe(level);
    expect(r.effects.filter((e) => e.kind === 'force').length).toBe(level === 'force' ? 1 : 0);
  });

  it('has one default force delay for every runtime', () => {
    expect(nextCancel(NO_CANCEL, req('immediate', 10)).state).toEqual({ level: 'immediate', forceAt: 10 + FORCE_AFTER_MS });
    expect(FORCE_AFTER_MS).toBe(30_000);
  });
});

describe('Escalation', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('runs the effects in order and forces an overdue immediate cancel on its timer', async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    const e = new Escalation({
      deliver: async (mode) => { calls.push(`deliver ${mode}`); },
      force: async (reason) => { calls.push(`force ${reason}`); },
    }, 1000);
    await e.request('graceful');
    await e.request('graceful');
    expect([e.level, calls]).toEqual(['immediate', ['deliver graceful', 'deliver immediate']]);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect([e.level, calls.at(-1)]).toEqual(['force', 'force overdue']);
  });

  it('never forces once disposed', async () => {
    vi.useFakeTimers();
    const force = vi.fn(async () => undefined);
    const e = new Escalation({ deliver: async () => undefined, force }, 1000);
    await e.request('immediate');
    e.dispose();
    await vi.advanceTimersByTimeAsync(5000);
    expect(force).not.toHaveBeenCalled();
  });
});
