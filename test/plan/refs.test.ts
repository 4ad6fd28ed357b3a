import { describe, expect, it } from 'vitest';
import { isRunTimeRef, paramOf, parseRef, readsStepResult, runTimeRefs, singleRef, taskResultRefs } from '@pipod/plan';

describe('parseRef', () => {
  it.each([
    ['tasks.a.results.r', { kind: 'taskResult', task: 'a', result: 'r' }],
    ['tasks.a.results.r[*]', { kind: 'taskResult', task: 'a', result: 'r', selector: { kind: 'star' } }],
    ['tasks.a.results.r[2]', { kind: 'taskResult', task: 'a', result: 'r', selector: { kind: 'index', index: 2 } }],
    ['tasks.a.results.r.key', { kind: 'taskResult', task: 'a', result: 'r', selector: { kind: 'key', key: 'key' } }],
    // a flattened child task's name holds dots; the first keyword ends it
    ['tasks.sub.build.results.r', { kind: 'taskResult', task: 'sub.build', result: 'r' }],
    ['tasks.a.status', { kind: 'taskStatus', task: 'a', field: 'status' }],
    ['tasks.a.reason', { kind: 'taskStatus', task: 'a', field: 'reason' }],
    ['tasks.status', { kind: 'tasksStatus' }],
    ['tasks.m.matrix.length', { kind: 'matrixLength', task: 'm' }],
    ['tasks.m.matrix.r.length', { kind: 'matrixLength', task: 'm', result: 'r' }],
    ['tasks.a.outputs', { kind: 'taskOther', task: 'a' }],
    ['tasks.a', { kind: 'taskOther', task: '' }],
    ['finally.f.results.r', { kind: 'finallyResult', task: 'f', result: 'r' }],
    ['steps.s.results.r', { kind: 'stepResult', step: 's', result: 'r' }],
    ['steps.s.results.r[0]', { kind: 'stepResult', step: 's', result: 'r', selector: { kind: 'index', index: 0 } }],
    ['steps.s.exitCode.path', { kind: 'stepExitCodePath', step: 's' }],
    ['steps.s.other', { kind: 'stepOther', step: 's' }],
    ['step.results.r.path', { kind: 'ownStepResultPath', result: 'r' }],
    ['step.results.r', { kind: 'ownStepResultPath' }],
    ['results.r.path', { kind: 'resultPath', result: 'r' }],
    ['params.a.b', { kind: 'param', rest: 'a.b' }],
    ['context.pipelineRun.name', { kind: 'context', name: 'pipelineRun.name' }],
    ['workspaces.src.path', { kind: 'workspace', workspace: 'src', attr: 'path' }],
    ['inputs.x', { kind: 'unknown' }],
  ])('%s', (ref, want) => {
    expect(parseRef(ref)).toEqual(want);
  });

  it('picks the split whose task is known', () => {
    const known = new Set(['a.results.b']);
    expect(parseRef('tasks.a.results.b.results.r', (n) => known.has(n))).toEqual({ kind: 'taskResult', task: 'a.results.b', result: 'r' });
    expect(parseRef('tasks.a.results.b.results.r')).toEqual({ kind: 'taskResult', task: 'a', result: 'b' });
  });
});

describe('classification', () => {
  it.each([
    ['tasks.a.results.r', true], ['tasks.a.status', true], ['tasks.status', true], ['tasks.x', true],
    ['steps.s.results.r', true], ['steps.s.exitCode.path', false], ['context.task.retry-count', true],
    ['context.taskRun.name', false], ['params.p', false], ['workspaces.w.path', false],
  ])('isRunTimeRef(%s) is %s', (ref, want) => {
    expect(isRunTimeRef(ref)).toBe(want);
  });

  it('finds run-time refs, step-result reads and consumed results in text', () => {
    expect(runTimeRefs('$(params.p) $(tasks.a.results.r) $(context.task.retry-count)')).toEqual(['tasks.a.results.r', 'context.task.retry-count']);
    expect(readsStepResult('echo $(steps.s.results.r)')).toBe(true);
    expect(readsStepResult('echo $(steps.s.exitCode.path)')).toBe(false);
    const known = new Set(['a', 'sub.b']);
    expect(taskResultRefs('$(tasks.a.results.x) $(tasks.sub.b.results.y[*]) $(tasks.zz.results.q) $(tasks.a.status)', (n) => known.has(n)))
      .toEqual([{ task: 'a', result: 'x' }, { task: 'sub.b', result: 'y' }]);
  });

  it('names the longest declared param and its selector', () => {
    expect(paramOf('params.a.b[0]', ['a', 'a.b'])).toEqual({ name: 'a.b', suffix: '[0]' });
    expect(paramOf('params.x', ['a'])).toBeUndefined();
    expect(singleRef(' $(params.a) ')).toBeUndefined();
    expect(singleRef('$( params.a )')).toBe('params.a');
  });
});
