// What the builder records in the plan so the runtime does not re-derive it:
// the task results each task consumes, and which steps read step results.
import { describe, expect, it } from 'vitest';
import { build } from '@pipod/podbuilder';

const PIPELINE = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl}
spec:
  tasks:
    - name: make
      taskSpec:
        results: [{name: list, type: array}, {name: one}]
        steps:
          - name: a
            image: busybox
            results: [{name: r}]
            script: echo
          - name: b
            image: busybox
            env: [{name: R, value: "$(steps.a.results.r)"}]
            script: echo "$R"
          - name: c
            image: busybox
            args: ["$(steps.a.exitCode.path)"]
            command: [cat]
    - name: m
      matrix: {params: [{name: x, value: [p, q]}]}
      taskSpec:
        params: [{name: x}]
        results: [{name: out}]
        steps: [{name: s, image: busybox, script: echo}]
    - name: use
      params:
        - {name: l, value: "$(tasks.make.results.list[*])"}
        - {name: o, value: "$(tasks.make.results.one) and $(tasks.make.results.one)"}
        - {name: g, value: "$(tasks.m.results.out[*])"}
      when: [{input: "$(tasks.make.results.one)", operator: in, values: ["x"]}]
      taskSpec:
        params: [{name: l, type: array}, {name: o}, {name: g, type: array}]
        steps: [{name: s, image: busybox, args: ["$(params.l[*])"], command: [echo]}]
    - name: plain
      runAfter: [make]
      taskSpec:
        steps: [{name: s, image: busybox, script: echo}]
`;

describe('plan facts', () => {
  const r = build([{ name: 'p.yaml', text: PIPELINE }]);
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
  const byName = new Map(r.plan.tasks.map((t) => [t.name, t]));

  it('records the task results a task consumes, each once, with matrix instances by their plan names', () => {
    expect(byName.get('use')?.consumes).toEqual([
      { task: 'make', result: 'list' },
      { task: 'make', result: 'one' },
      { task: 'm-0', result: 'out' },
      { task: 'm-1', result: 'out' },
    ]);
  });

  it('leaves consumes out of a task that reads no task result', () => {
    expect(byName.get('plain')).not.toHaveProperty('consumes');
    expect(byName.get('make')).not.toHaveProperty('consumes');
  });

  it('marks the steps that read a step result, and only those', () => {
    expect(byName.get('make')?.steps.map((s) => [s.name, s.readsStepResults ?? false])).toEqual([['a', false], ['b', true], ['c', false]]);
  });
});
