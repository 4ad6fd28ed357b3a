// Matrix fan-out: combinations, instance names, gathered results, and the exact errors of each rule.
import { describe, expect, it } from 'vitest';
import { type FieldError, build, validate } from '@pipod/podbuilder';

const pipeline = (tasks: string, extra = ''): string => `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pl}
spec:
${extra}  tasks:
${tasks}`;
const spec = `      taskSpec:
        params: [{name: a}, {name: b, default: "-"}, {name: c, default: "-"}]
        results: [{name: r}]
        steps: [{name: s, image: busybox, script: echo}]
`;
const e = (path: string, message: string): FieldError => ({ source: 'Pipeline/pl', path, message });

function plan(text: string) {
  const r = build([{ name: 'p.yaml', text }]);
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

describe('matrix expansion', () => {
  it('fans params out with the first param varying fastest, then applies include entries', () => {
    const p = plan(pipeline(`    - name: m
      matrix:
        params: [{name: a, value: [x, y]}, {name: b, value: ["1", "2"]}]
        include:
          - params: [{name: a, value: x}, {name: c, value: added}]
          - params: [{name: a, value: z}, {name: b, value: "9"}]
${spec}`));
    expect(p.tasks.map((t) => [t.name, t.params])).toEqual([
      ['m-0', { a: 'x', b: '1', c: 'added' }],
      ['m-1', { a: 'y', b: '1', c: '-' }],
      ['m-2', { a: 'x', b: '2', c: 'added' }],
      ['m-3', { a: 'y', b: '2', c: '-' }],
      ['m-4', { a: 'z', b: '9', c: '-' }],
    ]);
    expect(new Set(p.tasks.map((t) => t.id)).size).toBe(5);
  });

  it('include without params: each entry is one combination; an entry with no matrix param joins every combination', () => {
    const p = plan(pipeline(`    - name: m
      matrix:
        include:
          - params: [{name: a, value: one}]
          - params: [{name: a, value: two}, {name: b, value: B}]
${spec}`));
    expect(p.tasks.map((t) => t.params)).toEqual([{ a: 'one', b: '-', c: '-' }, { a: 'two', b: 'B', c: '-' }]);
    const q = plan(pipeline(`    - name: m
      matrix:
        params: [{name: a, value: [x, y]}]
        include: [{params: [{name: c, value: all}]}]
${spec}`));
    expect(q.tasks.map((t) => t.params['c'])).toEqual(['all', 'all']);
  });

  it('consumers wait for every instance and get the results as an array; when and retries go to every instance', () => {
    const p = plan(pipeline(`    - name: m
      retries: 2
      when: [{input: $(params.go), operator: in, values: ["yes"]}]
      matrix:
        params: [{name: a, value: $(params.list)}]
${spec}    - name: use
      params:
        - {name: all, value: "$(tasks.m.results.r[*])"}
        - {name: n, value: $(tasks.m.matrix.length)}
        - {name: k, value: $(tasks.m.matrix.r.length)}
      taskSpec:
        params: [{name: all, type: array}, {name: n}, {name: k}]
        steps: [{name: s, image: busybox, script: echo}]
`, '  params: [{name: list, type: array, default: [p, q, r]}, {name: go, default: "yes"}]\n  results: [{name: all, type: array, value: $(tasks.m.results.r)}]\n'));
    expect(p.tasks.map((t) => t.name)).toEqual(['m-0', 'm-1', 'm-2', 'use']);
    expect(p.groups).toEqual({ m: ['m-0', 'm-1', 'm-2'] });
    expect(p.tasks.slice(0, 3).map((t) => [t.retries, t.when])).toEqual(Array(3).fill([2, [{ input: 'yes', operator: 'in', values: ['yes'] }]]));
    const use = p.tasks[3];
    expect(use?.dependsOn).toEqual(['m-0', 'm-1', 'm-2']);
    expect(use?.params).toEqual({ all: ['$(tasks.m-0.results.r)', '$(tasks.m-1.results.r)', '$(tasks.m-2.results.r)'], n: '3', k: '3' });
    expect(p.results).toEqual([{ name: 'all', type: 'array', value: ['$(tasks.m-0.results.r)', '$(tasks.m-1.results.r)', '$(tasks.m-2.results.r)'] }]);
  });
});

describe('a matrix with an empty param array', () => {
  it('becomes one skipped plan task without containers, its dependents wait for it, and its length is 0', () => {
    const p = plan(pipeline(`    - name: m
      matrix:
        params: [{name: a, value: $(params.none)}, {name: b, value: [x]}]
        include: [{params: [{name: c, value: inc}]}]
${spec}    - name: use
      runAfter: [m]
      params:
        - {name: n, value: $(tasks.m.matrix.length)}
      taskSpec:
        params: [{name: n}]
        steps: [{name: s, image: busybox, script: echo}]
`, '  params: [{name: none, type: array, default: []}]\n'));
    expect(p.tasks.map((t) => [t.name, t.skip, t.steps.length, t.sidecars.length])).toEqual([['m', 'EmptyArrayInMatrixParams', 0, 0], ['use', undefined, 1, 0]]);
    expect(p.tasks[1]?.dependsOn).toEqual(['m']);
    expect(p.tasks[1]?.params).toEqual({ n: '0' });
    expect(p.groups).toBeUndefined();
  });
});

const rows: { rule: string; text: string; errors: FieldError[] }[] = [
  {
    rule: 'matrix param the task does not declare',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: nope, value: [x]}]\n${spec}`),
    errors: [e('spec.tasks[0].matrix.params[0].name', 'task "m" declares no param "nope"')],
  },
  {
    rule: 'param in both params and matrix',
    text: pipeline(`    - name: m\n      params: [{name: a, value: x}]\n      matrix:\n        params: [{name: a, value: [x]}]\n${spec}`),
    errors: [e('spec.tasks[0].matrix.params[0].name', 'param "a" is given in both params and matrix')],
  },
  {
    rule: 'matrix param that is not an array',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: a, value: x}]\n${spec}`),
    errors: [e('spec.tasks[0].matrix.params[0].value', 'matrix param "a" must be an array (or a whole array param reference)')],
  },
  {
    rule: 'matrix param reference to a string param',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: a, value: $(params.s)}]\n${spec}`, '  params: [{name: s, default: x}]\n'),
    errors: [e('spec.tasks[0].matrix.params[0].value', 'matrix param "a" must be an array, but $(params.s) is string')],
  },
  {
    rule: 'matrix param filling an array param',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: a, value: [x]}]\n      taskSpec:\n        params: [{name: a, type: array}]\n        steps: [{name: s, image: busybox, script: echo}]\n`),
    errors: [e('spec.tasks[0].matrix.params[0].name', 'matrix param "a" fills array param "a" of task "m"; a matrix fans out string params')],
  },
  {
    rule: 'empty matrix',
    text: pipeline(`    - name: m\n      matrix: {}\n${spec}`),
    errors: [e('spec.tasks[0].matrix', 'a matrix needs params or include')],
  },
  {
    rule: 'more than 256 combinations',
    text: pipeline(`    - name: m\n      matrix:\n        params:\n          - {name: a, value: [${Array.from({ length: 17 }, (_, i) => `"${i}"`).join(', ')}]}\n          - {name: b, value: [${Array.from({ length: 16 }, (_, i) => `"${i}"`).join(', ')}]}\n${spec}`),
    errors: [e('spec.tasks[0].matrix', 'matrix of task "m" has 272 combinations; at most 256 are allowed')],
  },
  {
    rule: 'instance name taken by another task',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: a, value: [x]}]\n${spec}    - name: m-0\n${spec.replace('params: [{name: a}', 'params: [{name: a, default: d}')}`),
    errors: [e('spec.tasks[0].name', 'matrix instance "m-0" of task "m" has the name of another pipeline task')],
  },
  {
    rule: 'non-string result of a matrixed task',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: a, value: [x]}]\n      taskSpec:\n        params: [{name: a}]\n        results: [{name: r, type: array}]\n        steps: [{name: s, image: busybox, script: echo}]\n    - name: u\n      params: [{name: v, value: $(tasks.m.results.r)}]\n      taskSpec:\n        params: [{name: v, type: array}]\n        steps: [{name: s, image: busybox, script: echo}]\n`),
    errors: [e('spec.tasks[1].params[0].value', 'result "r" of matrixed task "m" is array; only string results of a matrix are gathered (into an array)')],
  },
  {
    rule: 'one instance of a matrixed task\'s result, by index or bare, in params (Tekton consumes them only whole)',
    text: pipeline(`    - name: m\n      matrix:\n        params: [{name: a, value: [x, y]}]\n      taskSpec:\n        params: [{name: a}]\n        results: [{name: r}]\n        steps: [{name: s, image: busybox, script: echo}]\n    - name: u\n      params: [{name: one, value: "$(tasks.m.results.r[1])"}, {name: bare, value: "x-$(tasks.m.results.r)"}, {name: all, value: "$(tasks.m.results.r[*])"}]\n      when: [{input: "$(tasks.m.results.r[0])", operator: in, values: [x]}]\n      taskSpec:\n        params: [{name: one}, {name: bare}, {name: all, type: array}]\n        steps: [{name: s, image: busybox, script: echo}]\n`),
    errors: [
      e('spec.tasks[1].params[0].value', 'result "r" of matrixed task "m" can only be consumed whole, as $(tasks.m.results.r[*]), not as $(tasks.m.results.r[1]) (as in Tekton)'),
      e('spec.tasks[1].params[1].value', 'result "r" of matrixed task "m" can only be consumed whole, as $(tasks.m.results.r[*]), not as $(tasks.m.results.r) (as in Tekton)'),
    ],
  },
  {
    rule: 'matrix length of a task without matrix',
    text: pipeline(`    - name: m\n      params: [{name: a, value: x}]\n${spec}    - name: u\n      params: [{name: a, value: $(tasks.m.matrix.length)}]\n${spec}`),
    errors: [e('spec.tasks[1].params[0].value', 'task "m" has no matrix')],
  },
  {
    rule: 'matrix from results stays rejected',
    text: pipeline(`    - name: p\n      params: [{name: a, value: x}]\n${spec}    - name: m\n      matrix:\n        params: [{name: a, value: [$(tasks.p.results.r)]}]\n${spec}`),
    errors: [e('spec.tasks[1].matrix', 'one pod cannot fan out a matrix from results: its containers must be known before it starts'), e('spec.tasks[1].params', 'missing value for required param "a" of task "m"')],
  },
];

describe('matrix validation', () => {
  for (const row of rows) {
    it(row.rule, () => {
      expect(validate([{ name: 'p.yaml', text: row.text }])).toEqual(row.errors);
    });
  }
});
