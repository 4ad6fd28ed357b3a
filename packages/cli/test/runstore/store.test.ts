import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore, stateDir } from '../../src/runstore/store.ts';
import { readStepMessages } from '../../src/runstore/step-messages.ts';
import { Layout, PipodError } from '@pipod/plan';
import { buildReport } from '../../src/render/report.ts';
import { failedSummary } from '../render/fixtures.ts';
import { mkdirSync } from 'node:fs';

const base = { pipeline: 'p', runtime: 'podman', files: ['p.yaml'], keep: false };

function store(): RunStore {
  return new RunStore(mkdtempSync(join(tmpdir(), 'pipod-store-')));
}

describe('stateDir', () => {
  it('follows XDG_STATE_HOME, else ~/.local/state', () => {
    expect(stateDir({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/pipod');
    expect(stateDir({ HOME: '/home/u' })).toMatch(/\/\.local\/state\/pipod$/);
  });
});

describe('RunStore', () => {
  it('records a run\'s events, output and report and reads them back', () => {
    const s = store();
    const w = s.create({ ...base, id: 'p-run-pod-000001', startedAt: '2026-01-01T00:00:00.000Z' });
    expect(s.record(w.id)?.status).toBe('Running');
    w.event({ type: 'task.started', time: '2026-01-01T00:00:01.000Z', task: 'a', attempt: 0 });
    w.event({ type: 'run.finished', time: '2026-01-01T00:00:02.000Z', summary: failedSummary });
    w.log({ container: 'step-a-s', task: 'a', step: 's', stream: 'stderr', text: 'oops' });
    w.finish(buildReport(failedSummary));
    expect(s.events(w.id)).toEqual([
      { type: 'task.started', time: '2026-01-01T00:00:01.000Z', task: 'a', attempt: 0 },
      { type: 'run.finished', time: '2026-01-01T00:00:02.000Z' },
    ]);
    expect(s.logs(w.id)).toEqual([{ container: 'step-a-s', task: 'a', step: 's', stream: 'stderr', text: 'oops' }]);
    expect(s.report(w.id)?.status).toBe('Failed');
    expect(s.record(w.id)).toMatchObject({ status: 'Failed', durationMs: 3400, pid: process.pid });
  });

  it('resolves an id, a unique prefix and last; says what is wrong otherwise', () => {
    const s = store();
    expect(() => s.resolve(undefined)).toThrow(/no runs recorded/);
    s.create({ ...base, id: 'alpha-1', startedAt: '2026-01-01T00:00:00.000Z' }).error('x');
    s.create({ ...base, id: 'alpha-2', startedAt: '2026-01-02T00:00:00.000Z' }).error('x');
    s.create({ ...base, id: 'beta-1', startedAt: '2026-01-03T00:00:00.000Z' }).error('x');
    expect(s.resolve('last').id).toBe('beta-1');
    expect(s.resolve(undefined).id).toBe('beta-1');
    expect(s.resolve('alpha-1').id).toBe('alpha-1');
    expect(s.resolve('be').id).toBe('beta-1');
    expect(() => s.resolve('alpha')).toThrow('run "alpha" is ambiguous: alpha-2, alpha-1');
    const e = (() => { try { s.resolve('gamma'); } catch (x) { return x; } return undefined; })();
    expect(e).toBeInstanceOf(PipodError);
    expect((e as PipodError).code).toBe('NOT_FOUND');
  });

  it('lists newest first; a running run whose process died is Lost', () => {
    const s = store();
    s.create({ ...base, id: 'old', startedAt: '2026-01-01T00:00:00.000Z' }).error('could not start');
    s.create({ ...base, id: 'new', startedAt: '2026-01-02T00:00:00.000Z' });
    const f = join(s.dir('new'), 'run.json');
    writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), pid: 2 ** 22 + 1 }));
    expect(s.list().map((r) => [r.id, r.status])).toEqual([['new', 'Lost'], ['old', 'Error']]);
  });

  it('prunes the oldest finished runs but never kept or running ones', () => {
    const s = store();
    s.create({ ...base, id: 'kept', keep: true, startedAt: '2026-01-01T00:00:00.000Z' }).error('x');
    s.create({ ...base, id: 'running', startedAt: '2026-01-01T00:00:01.000Z' });
    for (let i = 0; i < 4; i++) s.create({ ...base, id: `done-${i}`, startedAt: `2026-01-02T00:00:0${i}.000Z` }).error('x');
    s.prune(2);
    expect(s.list().map((r) => r.id)).toEqual(['done-3', 'done-2', 'running', 'kept']);
  });
});

describe('readStepMessages', () => {
  it('takes the message of each container\'s last end', () => {
    const root = mkdtempSync(join(tmpdir(), 'pipod-vol-'));
    const l = new Layout(root);
    mkdirSync(l.outboxDir('a'), { recursive: true });
    mkdirSync(l.outboxDir('b'), { recursive: true });
    const done = (m?: string): string => JSON.stringify({ seq: 0, exitCode: 127, reason: 'StartFailed', ...(m ? { message: m } : {}), startedAt: '', finishedAt: '' });
    writeFileSync(l.doneFile('a', 1), done('first try'));
    writeFileSync(l.doneFile('a', 2), done('cannot start "x": not found (checked PATH)'));
    writeFileSync(l.doneFile('b', 1), done('old'));
    writeFileSync(l.doneFile('b', 10), done());
    expect(readStepMessages(root, ['a', 'b', 'missing'])).toEqual({ a: 'cannot start "x": not found (checked PATH)' });
  });
});
