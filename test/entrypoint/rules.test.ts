/** Table-driven tests of the pure scheduling rules. */
import { describe, expect, it } from 'vitest';
import { mapResolver, type PlanTask, type TaskStatus } from '@pipod/plan';
import { aggregateStatus, consumedResults, groupStatusVar, parseResult, runTimeSpent, taskStatusVar, whenHolds } from '@pipod/entrypoint';

describe('taskStatusVar', () => {
  it.each<[TaskStatus | undefined, string]>([
    ['Succeeded', 'Succeeded'],
    ['Failed', 'Failed'],
    ['TimedOut', 'Failed'],
    ['Cancelled', 'Failed'],
    ['Skipped', 'None'],
    [undefined, 'None'],
  ])('%s → %s', (status, want) => expect(taskStatusVar(status)).toBe(want));
});

describe('aggregateStatus', () => {
  it.each<[(TaskStatus | undefined)[], string]>([
    [['Succeeded', 'Succeeded'], 'Succeeded'],
    [['Succeeded', 'Skipped'], 'Completed'],
    [['Skipped', 'Failed'], 'Failed'],
    [['Succeeded', 'TimedOut'], 'Failed'],
    [['Succeeded', undefined], 'None'],
    [[], 'Succeeded'],
  ])('%j → %s', (statuses, want) => expect(aggregateStatus(statuses)).toBe(want));
});

describe('groupStatusVar (a matrix or child pipeline)', () => {
  it.each<[(TaskStatus | undefined)[], string]>([
    [['Succeeded', 'Succeeded'], 'Succeeded'],
    [['Succeeded', 'Skipped'], 'Succeeded'],
    [['Succeeded', 'Failed'], 'Failed'],
    [['Cancelled', 'Skipped'], 'Failed'],
    [['Skipped', 'Skipped'], 'None'],
    [['Succeeded', undefined], 'None'],
  ])('%j → %s', (statuses, want) => expect(groupStatusVar(statuses)).toBe(want));
});

describe('whenHolds', () => {
  const r = mapResolver({ 'params.branch': 'main', 'params.list': ['a', 'b'] });
  it.each<[string, 'in' | 'notin', string[], boolean]>([
    ['$(params.branch)', 'in', ['main', 'dev'], true],
    ['$(params.branch)', 'in', ['dev'], false],
    ['$(params.branch)', 'notin', ['dev'], true],
    ['a', 'in', ['$(params.list[*])'], true],
    ['c', 'notin', ['$(params.list[*])'], true],
    ['$(params.unknown)', 'in', ['x'], false],
  ])('%s %s %j → %s', (input, operator, values, want) => expect(whenHolds([{ input, operator, values }], r)).toBe(want));

  it('needs every expression to hold', () => {
    expect(whenHolds([{ input: 'a', operator: 'in', values: ['a'] }, { input: 'a', operator: 'in', values: ['b'] }], r)).toBe(false);
    expect(whenHolds([], r)).toBe(true);
  });
});

describe('parseResult', () => {
  it.each<[string, 'string' | 'array' | 'object', string, unknown]>([
    ['s', 'string', 'hi\n', { ok: true, value: 'hi\n' }],
    ['a', 'array', '["x","y"]', { ok: true, value: ['x', 'y'] }],
    ['a', 'array', '[1]', { ok: false, message: 'result "a" is declared array but is not a JSON array of strings' }],
    ['o', 'object', '{"k":"v"}', { ok: true, value: { k: 'v' } }],
    ['o', 'object', '["x"]', { ok: false, message: 'result "o" is declared object but is not a JSON object of strings' }],
    ['o', 'object', 'nope', { ok: false, message: 'result "o" is declared object but is not valid JSON' }],
  ])('%s (%s) %j', (name, type, text, want) => expect(parseResult({ name, type }, text)).toEqual(want));
});

describe('consumedResults', () => {
  const task = (args: string[]): PlanTask => ({
    name: 'c', id: 'c', dependsOn: [], when: [{ input: '$(tasks.w.results.flag)', operator: 'in', values: ['x'] }], retries: 0, onError: 'stopAndFail',
    params: { p: '$(tasks["a.b"].results.r)' }, results: [], sidecars: [],
    steps: [{ name: 's', container: 'c-s', image: 'i', command: [], args, env: [], onError: 'stopAndFail', results: [] }],
  });
  it('finds references in params, when and steps, with dotted task names, indexes and keys', () => {
    const names = new Set(['a', 'a.b', 'w']);
    expect(consumedResults(task(['$(tasks.a.results.list[*])', '$(tasks.a.results.obj.key)', '$(tasks.nope.results.x)']), names)).toEqual([
      ['a.b', 'r'],
      ['w', 'flag'],
      ['a', 'list'],
      ['a', 'obj'],
    ]);
  });
  it('reads the plan\'s consumes when the builder filled it, instead of re-deriving', () => {
    const t = { ...task(['$(tasks.a.results.list[*])']), consumes: [{ task: 'w', result: 'flag' }] };
    expect(consumedResults(t, new Set(['a', 'w']))).toEqual([['w', 'flag']]);
  });
});

describe('runTimeSpent: the run budget spent before the supervisor started', () => {
  const at = Date.parse('2026-11-22T10:00:10.000Z');
  it.each([
    ['no start time', undefined, 0],
    ['ten seconds before', '2026-11-22T10:00:00.000Z', 10_000],
    ['the same instant', '2026-11-22T10:00:10.000Z', 0],
    ['in the future (clock skew)', '2026-11-22T10:00:12.000Z', 0],
    ['not a time', 'yesterday-ish', 0],
  ] as const)('%s', (_name, start, want) => {
    expect(runTimeSpent(start, at)).toBe(want);
  });
});
