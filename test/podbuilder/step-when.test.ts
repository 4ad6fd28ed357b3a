// Step when expressions reach the plan with static references substituted; an unknown reference is an error naming the field.
import { describe, expect, it } from 'vitest';
import { build, validate } from '@pipod/podbuilder';

const task = (input: string): string => `apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: mode, default: fast}]
  steps:
    - {name: a, image: busybox, script: echo, results: [{name: go}]}
    - name: b
      image: busybox
      script: echo
      when: [{input: "${input}", operator: notin, values: [$(params.mode), slow]}]
`;

describe('step when', () => {
  it('keeps run-time references and substitutes params', () => {
    const r = build([{ name: 't.yaml', text: task('$(steps.a.results.go)') }]);
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks[0]?.steps.map((s) => s.when)).toEqual([undefined, [{ input: '$(steps.a.results.go)', operator: 'notin', values: ['fast', 'slow'] }]]);
  });

  it('names an undeclared param in a step when', () => {
    expect(validate([{ name: 't.yaml', text: task('$(params.nope)') }])).toEqual([
      { source: 'Task/t', path: 'spec.steps[1].when[0].input', message: 'undeclared param "nope" (the task declares "mode")' },
    ]);
  });
});
