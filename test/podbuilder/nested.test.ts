// Pipelines in pipelines: flattening into qualified names, and the exact errors of each rule.
import { describe, expect, it } from 'vitest';
import { type FieldError, build, validate } from '@pipod/podbuilder';

const step = '{steps: [{name: s, image: busybox, script: echo}]}';
const child = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: child}
spec:
  params: [{name: who}]
  workspaces: [{name: shared}]
  results: [{name: out, value: $(tasks.a.results.r)}]
  tasks:
    - name: a
      params: [{name: p, value: "hi $(params.who)"}]
      workspaces: [{name: w, workspace: shared, subPath: inner}]
      taskSpec: {params: [{name: p}], workspaces: [{name: w}], results: [{name: r}], steps: [{name: s, image: busybox, script: echo}]}
    - name: b
      runAfter: [a]
      taskSpec: ${step}
  finally:
    - name: f
      params: [{name: st, value: $(tasks.a.status)}]
      taskSpec: {params: [{name: st}], steps: [{name: s, image: busybox, script: echo}]}
`;
const parent = (tasks: string, fin = ''): string => `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl}
spec:
  workspaces: [{name: ws}]
  tasks:
${tasks}${fin}`;
const run = `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  pipelineRef: {name: pl}
  workspaces: [{name: ws, emptyDir: {}}]
`;
const sub = `    - name: sub
      pipelineRef: {name: child}
      params: [{name: who, value: $(tasks.up.results.r)}]
      workspaces: [{name: shared, workspace: ws, subPath: outer}]
`;
const up = `    - name: up
      taskSpec: {results: [{name: r}], steps: [{name: s, image: busybox, script: echo}]}
`;
const e = (path: string, message: string, source = 'Pipeline/pl'): FieldError => ({ source, path, message });
const srcs = (...texts: string[]) => texts.map((text, i) => ({ name: `d${i}.yaml`, text }));

describe('pipelines in pipelines', () => {
  it('flattens the child under qualified names with its params, workspaces, dependencies, finally and results', () => {
    const r = build(srcs(child, parent(`${up}${sub}    - name: use\n      params: [{name: v, value: $(tasks.sub.results.out)}]\n      taskSpec: {params: [{name: v}], steps: [{name: s, image: busybox, script: echo}]}\n`), run));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const t = Object.fromEntries(r.plan.tasks.map((x) => [x.name, x]));
    expect(Object.keys(t)).toEqual(['up', 'sub.a', 'sub.b', 'sub.f', 'use']);
    expect(t['sub.a']?.params).toEqual({ p: 'hi $(tasks.up.results.r)' });
    expect(t['sub.a']?.dependsOn).toEqual(['up']);
    expect(t['sub.b']?.dependsOn).toEqual(['sub.a', 'up']);
    expect(t['sub.f']).toMatchObject({ finallyOf: 'sub', dependsOn: ['sub.a', 'sub.b'], params: { st: '$(tasks.sub.a.status)' } });
    expect(t['use']).toMatchObject({ dependsOn: ['sub.a', 'sub.b', 'sub.f'], params: { v: '$(tasks.sub.a.results.r)' } });
    const pod = JSON.stringify(r.pod);
    expect(pod).toContain('"subPath":"outer/inner"');
  });

  it("a child's result over its finally task's result reaches the parent as the qualified task's result", () => {
    const withFin = child.replace("results: [{name: out, value: $(tasks.a.results.r)}]", "results: [{name: out, value: $(tasks.a.results.r)}, {name: done, value: $(finally.f.results.d)}]")
      .replace("taskSpec: {params: [{name: st}], steps", "taskSpec: {params: [{name: st}], results: [{name: d}], steps");
    const r = build(srcs(withFin, parent(`${up}${sub}    - name: use\n      params: [{name: v, value: $(tasks.sub.results.done)}]\n      taskSpec: {params: [{name: v}], steps: [{name: s, image: busybox, script: echo}]}\n`), run));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks.find((x) => x.name === 'use')?.params).toEqual({ v: '$(tasks.sub.f.results.d)' });
  });

  it('the status of a child pipeline is that of its group: the plan lists the qualified tasks', () => {
    const r = build(srcs(child, parent(`${up}${sub}`, '  finally:\n    - name: fin\n      params: [{name: st, value: $(tasks.sub.status)}]\n      taskSpec: {params: [{name: st}], steps: [{name: s, image: busybox, script: echo}]}\n'), run));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.groups).toEqual({ sub: ['sub.a', 'sub.b', 'sub.f'] });
    expect(r.plan.finally[0]?.params).toEqual({ st: '$(tasks.sub.status)' });
  });

  it("an embedded taskSpec in the child sees the child's params it does not declare (propagated), run-time values included", () => {
    // b gets a taskSpec that uses the undeclared child param; its old one moves to a task "unused".
    const prop = child.replace("    - name: b\n      runAfter: [a]\n", "    - name: b\n      runAfter: [a]\n      taskSpec: {steps: [{name: s, image: busybox, script: 'echo $(params.who)', args: ['$(params.who)']}]}\n    - name: unused\n");
    const r = build(srcs(prop, parent(`${up}${sub}`), run));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    const b = r.plan.tasks.find((x) => x.name === 'sub.b');
    expect(b?.steps[0]?.script).toContain('echo $(tasks.up.results.r)');
    expect(b?.steps[0]?.args).toEqual(['$(tasks.up.results.r)']);
    expect(b?.dependsOn).toContain('up');
  });

  it('a when on the child goes to every child task, its finally included', () => {
    const r = build(srcs(child, parent(`${up}${sub.replace('      pipelineRef', '      when: [{input: x, operator: in, values: ["y"]}]\n      pipelineRef')}`), run));
    if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
    expect(r.plan.tasks.filter((x) => x.name.startsWith('sub.')).map((x) => x.when)).toEqual(Array(3).fill([{ input: 'x', operator: 'in', values: ['y'] }]));
  });
});

const rows: { rule: string; docs: string[]; errors: FieldError[] }[] = [
  {
    rule: 'unknown child pipeline',
    docs: [parent('    - name: sub\n      pipelineRef: {name: nope}\n'), run],
    errors: [e('spec.tasks[0].pipelineRef.name', 'unknown pipeline "nope": no Pipeline of that name among the documents given')],
  },
  {
    rule: 'timeout, retries and onError on a child pipeline',
    docs: [child, parent(`${up}${sub}      timeout: 1m\n      retries: 1\n`), run],
    errors: [
      e('spec.tasks[1].timeout', 'a timeout on a pipeline task that runs a pipeline is not supported yet (set timeouts on its tasks)'),
      e('spec.tasks[1].retries', 'retries apply to tasks, not to a pipeline task that runs a pipeline'),
    ],
  },
  {
    rule: 'child pipeline in finally',
    docs: [child, parent(up, '  finally:\n    - name: fin\n      pipelineRef: {name: child}\n'), run],
    errors: [e('spec.finally[0].pipelineRef', 'a finally task that runs a pipeline is not supported yet')],
  },
  {
    rule: 'missing child param and unbound child workspace',
    docs: [child, parent('    - name: sub\n      pipelineRef: {name: child}\n'), run],
    errors: [
      e('spec.tasks[0].params', 'missing value for required param "who" of pipeline "child"'),
      e('spec.tasks[0].workspaces', 'the child pipeline\'s task "a" needs workspace "shared" but pipeline task "sub" does not bind it'),
    ],
  },
  {
    rule: 'taskRef and pipelineRef together',
    docs: [child, parent(`${up}${sub}      taskRef: {name: t}\n`), run],
    errors: [e('spec.tasks[1]', 'set one of taskRef, taskSpec, pipelineRef or pipelineSpec')],
  },
  {
    rule: 'undeclared param inside an embedded child pipeline',
    docs: [parent(`    - name: sub\n      pipelineSpec:\n        tasks:\n          - name: a\n            params: [{name: p, value: $(params.nope)}]\n            taskSpec: {params: [{name: p}], steps: [{name: s, image: busybox, script: echo}]}\n`), run],
    errors: [e('spec.tasks[0].pipelineSpec.tasks[0].params[0].value', 'undeclared param "nope" of the child pipeline')],
  },
];

describe('pipelines in pipelines validation', () => {
  for (const row of rows) {
    it(row.rule, () => {
      expect(validate(srcs(...row.docs))).toEqual(row.errors);
    });
  }
});
